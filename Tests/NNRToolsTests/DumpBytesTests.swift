import XCTest
import NNRModelIO
@testable import NNRTools

/// The dump's writers: XML through libxml2's xmlTextWriter (`XMLStreamWriter`) in the dump's layout
/// and escaping, JSON strings as `JSONWriter`, numbers as `String`.
final class DumpBytesTests: XCTestCase {
    /// Every ASCII character, and non-ASCII text (including the two noncharacters XML cannot carry).
    static let samples: [String] = (1...0x7F).map { String(Character(Unicode.Scalar(UInt8($0)))) }
        + ["", "plain", "a<b>&c\"d'e", "tab\there\nnew\rcr", "é", "日本語", "\u{2028}", "\u{FFFD}", "\u{FFFE}x\u{FFFF}", "🙂",
           "\u{0}\u{1}\u{1F}\u{7F}", "]]>", "&amp;", "x\u{EF}y", "ï¿¾", String(repeating: "<&>", count: 40),
           "a long name without anything to escape, longer than sixteen bytes", "eight by\u{1}", "\u{FFFF}nine bytes"]

    /// What the dump's XML holds for `s`: characters XML 1.0 cannot carry as `\uXXXX` (or U+FFFD),
    /// then `& < > "` as entities; in attributes tab, newline and carriage return as references
    /// (attribute normalization keeps them), in character data carriage return; `'` and UTF-8 as
    /// they are.
    static func escaped(_ s: String, attribute: Bool, replacement: Bool = false) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "\r": out += "&#13;"
            case "\n" where attribute: out += "&#10;"
            case "\t" where attribute: out += "&#9;"
            case "\t", "\n": out.unicodeScalars.append(u)
            case _ where u.value < 0x20 || u.value == 0xFFFE || u.value == 0xFFFF:
                out += replacement ? "\u{FFFD}" : "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count)
                    + String(u.value, radix: 16, uppercase: true)
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// libxml2's writer in the dump's layout, on every sample: attributes, character data, empty
    /// elements, nesting; numbers as `String` writes them; names of one character.
    func testXMLWriterLayoutAndEscaping() {
        for replacement in [false, true] {
            for s in Self.samples {
                let w = XMLStreamWriter(unrepresentable: replacement ? .replacementCharacter : .codePoint)
                w.startDocument()
                w.begin("root")
                w.attribute("a", s)
                w.attribute("b", 1)
                w.attribute("c", Int.min)
                w.attribute("d", true)
                w.openEnd()
                w.begin("e")
                w.attribute("v", s)
                w.attribute("n", Int.max)
                w.attribute("z", false)
                w.emptyEnd()
                w.begin("t")
                w.attribute("k", s)
                w.textEnd(s)
                w.textLine(s)
                w.begin("inner")
                w.openEnd()
                w.begin("empty")
                w.textEnd("")
                w.begin("y")
                w.start("x")
                w.text(s)
                w.end()
                w.emptyEnd()
                w.close()
                w.close()
                w.endDocument()
                let a = Self.escaped(s, attribute: true, replacement: replacement)
                let t = Self.escaped(s, attribute: false, replacement: replacement)
                let expected = """
                <?xml version="1.0" encoding="UTF-8"?>
                <root a="\(a)" b="1" c="\(Int.min)" d="true">
                  <e v="\(a)" n="\(Int.max)" z="false"/>
                  <t k="\(a)"\(s.isEmpty ? "/>" : ">\(t)</t>")
                  \(t)
                  <inner>
                    <empty/>
                    <y><x\(s.isEmpty ? "/>" : ">\(t)</x>")</y>
                  </inner>
                </root>

                """
                XCTAssertEqual(w.take(), expected, "\(replacement) \(Array(s.unicodeScalars.map(\.value)))")
            }
        }
    }

    /// Indentation deeper than the writer's run of spaces, and output taken in pieces.
    func testXMLWriterDeepNestingInPieces() {
        let w = XMLStreamWriter(unrepresentable: .codePoint)
        var expected = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        var taken = w.take()
        w.startDocument()
        for level in 0..<100 {
            w.begin("level")
            w.attribute("n", level)
            w.openEnd()
            expected += String(repeating: "  ", count: level) + "<level n=\"\(level)\">\n"
            if level % 7 == 0 { taken += w.take() }
        }
        for level in (0..<100).reversed() {
            w.close()
            expected += String(repeating: "  ", count: level) + "</level>" + (level > 0 ? "\n" : "")
        }
        w.endDocument()
        XCTAssertEqual(taken + w.take(), expected + "\n")
    }

    /// The eight-bytes-at-a-time look for characters XML cannot carry finds each byte that may
    /// start one (every byte value) at every position of strings of 0–24 bytes.
    func testMayNeedReplacingAtEveryPosition() {
        for n in 0...24 {
            for position in 0..<max(n, 1) {
                for special in UInt8.min...UInt8.max {
                    var bytes = [UInt8](repeating: position % 2 == 0 ? UInt8(ascii: "a") : 0xBF, count: n)
                    if position < n { bytes[position] = special }
                    let expected = bytes.contains { $0 < 0x20 || $0 == 0xEF }
                    XCTAssertEqual(bytes.withUnsafeBufferPointer(XMLText.mayNeedReplacing), expected, "\(n) \(position) \(special)")
                }
            }
        }
    }

    func testJSONStringsMatchJSONWriter() {
        for s in Self.samples + ["\\", "\"", "a\u{8}b\u{C}"] {
            var b = DumpBytes()
            b.jsonString(s)
            XCTAssertEqual(b.string, JSONWriter.quoted(s), "\(Array(s.unicodeScalars.map(\.value)))")
        }
    }

    /// The word-at-a-time check finds each escaped byte at every position of strings of 0–24 bytes.
    func testNeedsEscapingAtEveryPosition() {
        for n in 0...24 {
            for position in 0..<max(n, 1) {
                for special: UInt8 in [0x00, 0x01, 0x1F, 0x22, 0x5C, 0x20, 0x21, 0x23, 0x5B, 0x5D, 0x7F, 0x80, 0xA2, 0xDC, 0xFF] {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: n)
                    if position < n { bytes[position] = special }
                    let expected = bytes.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }
                    XCTAssertEqual(bytes.withUnsafeBufferPointer(JSONWriter.needsEscaping), expected, "\(n) \(position) \(special)")
                }
            }
        }
    }

    func testIntegersAsStringWritesThem() {
        for v in [0, 1, 9, 10, 11, 99, 100, 12345, -1, -9, -10, -12345, Int.max, Int.min, Int.max - 1, Int.min + 1] {
            var b = DumpBytes()
            b.int(v)
            XCTAssertEqual(b.string, String(v))
            XCTAssertEqual(DumpBytes.decimalCount(v), String(v).count)
        }
    }

    /// The emitter's layout, pinned: objects one key per line, arrays of scalars on one line, empty
    /// containers as `{}`/`[]`, nothing but separators without indentation.
    func testJSONLayout() {
        let v: JSONValue = .object([
            ("a", .int(-3)), ("s", .string("x\"y")), ("empty", .object([])), ("none", .array([])),
            ("ints", .array([.int(1), .double(2.5), .null, .bool(true)])),
            ("objects", .array([.object([("k", .bool(false))]), .array([.int(1)])])),
        ])
        XCTAssertEqual(v.serialized(indent: 1), """
        {
         "a": -3,
         "s": "x\\"y",
         "empty": {},
         "none": [],
         "ints": [1, 2.5, null, true],
         "objects": [
          {
           "k": false
          },
          [1]
         ]
        }
        """)
        XCTAssertEqual(v.serialized(indent: 0), #"{"a":-3,"s":"x\"y","empty":{},"none":[],"ints":[1,2.5,null,true],"objects":[{"k":false},[1]]}"#)
        XCTAssertEqual(v.serialized(indent: 2, level: 1), [
            "{", "    \"a\": -3,", "    \"s\": \"x\\\"y\",", "    \"empty\": {},", "    \"none\": [],",
            "    \"ints\": [1, 2.5, null, true],", "    \"objects\": [", "      {", "        \"k\": false", "      },", "      [1]", "    ]", "  }",
        ].joined(separator: "\n"))
        // The tree builder rebuilds what it is given.
        XCTAssertEqual(JSONTreeBuilder.build { v.emit(&$0) }, v)
    }
}
