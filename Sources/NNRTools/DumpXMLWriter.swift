/// The XML dump's writer: elements written straight to bytes in the layout of `XMLStreamWriter`
/// (libxml2's `xmlTextWriter`, which the JUnit report keeps using) and escaped byte for byte as it
/// escapes them — attribute values: `<` `>` `&` `"` as entities, tab, newline and carriage return
/// as character references; character data: `<` `>` `&` `"` as entities, carriage return as a
/// character reference; UTF-8 as it is — after the characters XML 1.0 cannot carry are replaced
/// by the text `\uXXXX` (`XMLText.Unrepresentable.codePoint`). A test holds the two writers to
/// the same output for every ASCII character and non-ASCII text. libxml2 costs a call, a C string
/// and an allocation per attribute; a dump of a million units writes tens of millions of them.
///
/// An element: `begin(name)`, `attribute`s, then `openEnd()` (children follow, `close()` ends
/// it), `emptyEnd()` (`<name …/>`) or `textEnd(content)` (`<name …>content</name>`); each on its
/// own line, indented two spaces per level.
struct XMLBytesWriter: ~Copyable {
    var out = DumpBytes()
    private(set) var depth = 0
    private var names: [StaticString] = []
    private var pending: StaticString = ""

    init() { names.reserveCapacity(16) }

    /// `<?xml version="1.0" encoding="UTF-8"?>` and a newline.
    mutating func startDocument() {
        out.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
    }

    /// Closes what is open; ends with a newline.
    mutating func endDocument() {
        while let n = names.popLast() {
            out.append("</")
            out.append(n)
            out.byte(UInt8(ascii: ">"))
        }
        depth = 0
        out.byte(UInt8(ascii: "\n"))
    }

    /// Indentation and `<name`.
    mutating func begin(_ name: StaticString) {
        out.spaces(2 * depth)
        out.byte(UInt8(ascii: "<"))
        out.append(name)
        pending = name
    }

    @inline(__always) private mutating func attributeName(_ k: StaticString) {
        out.byte(0x20)
        out.append(k)
        out.append("=\"")
    }

    mutating func attribute(_ k: StaticString, _ v: String) {
        attributeName(k)
        escaped(v, attribute: true)
        out.byte(UInt8(ascii: "\""))
    }

    mutating func attribute(_ k: StaticString, _ v: Int) {
        attributeName(k)
        out.int(v)
        out.byte(UInt8(ascii: "\""))
    }

    mutating func attribute(_ k: StaticString, _ v: Bool) {
        attributeName(k)
        out.append(v ? "true\"" : "false\"")
    }

    /// `>` and a newline: the element's children follow, one level deeper.
    mutating func openEnd() {
        out.append(">\n")
        names.append(pending)
        depth += 1
    }

    /// `/>` and a newline.
    mutating func emptyEnd() {
        out.append("/>\n")
    }

    /// `>content</name>` (`/>` for no content) and a newline.
    mutating func textEnd(_ content: String) {
        if content.isEmpty {
            emptyEnd()
            return
        }
        out.byte(UInt8(ascii: ">"))
        escaped(content, attribute: false)
        out.append("</")
        out.append(pending)
        out.append(">\n")
    }

    /// `</name>` of the element `openEnd` left open (the root's newline comes from `endDocument`).
    mutating func close() {
        guard let n = names.popLast() else { return }
        depth -= 1
        out.spaces(2 * depth)
        out.append("</")
        out.append(n)
        out.byte(UInt8(ascii: ">"))
        if depth > 0 { out.byte(UInt8(ascii: "\n")) }
    }

    /// A line of character data at the current indentation.
    mutating func textLine(_ content: String) {
        out.spaces(2 * depth)
        escaped(content, attribute: false)
        out.byte(UInt8(ascii: "\n"))
    }

    /// Whether a byte needs more than copying: markup, controls, and 0xEF (U+FFFE and U+FFFF).
    private static let special: [Bool] = (0...255).map { b in
        b < 0x20 || b == 0x22 || b == 0x26 || b == 0x3C || b == 0x3E || b == 0xEF
    }

    /// Escaped text: copied as it is when nothing in it needs escaping.
    mutating func escaped(_ s: String, attribute: Bool) {
        let copied: Bool? = s.utf8.withContiguousStorageIfAvailable { u in
            var hit = false
            Self.special.withUnsafeBufferPointer { t in
                for b in u where t[Int(b)] {
                    hit = true
                    break
                }
            }
            if !hit { out.append(u) }
            return !hit
        }
        if copied == true { return }
        for u in s.unicodeScalars {
            if XMLText.isUnrepresentable(u) {
                let h = String(u.value, radix: 16, uppercase: true)
                out.append("\\u")
                out.repeated(UInt8(ascii: "0"), 4 - h.utf8.count)
                out.append(h)
                continue
            }
            switch u {
            case "<": out.append("&lt;")
            case ">": out.append("&gt;")
            case "&": out.append("&amp;")
            case "\"": out.append("&quot;")
            case "\r": out.append("&#13;")
            case "\n" where attribute: out.append("&#10;")
            case "\t" where attribute: out.append("&#9;")
            default:
                if u.isASCII {
                    out.byte(UInt8(truncatingIfNeeded: u.value))
                } else {
                    out.append(String(Character(u)))
                }
            }
        }
    }
}
