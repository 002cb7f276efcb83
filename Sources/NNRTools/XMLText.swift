/// XML text for attribute values and character data, shared by the dump's XML and the JUnit report.
enum XMLText {
    /// What to write for a character XML 1.0 cannot carry (C0 controls other than tab, newline and
    /// carriage return; U+FFFE; U+FFFF).
    enum Unrepresentable {
        /// The text `\uXXXX` (the dump keeps the code point visible).
        case codePoint
        /// U+FFFD.
        case replacementCharacter
    }

    /// Markup characters as entities, tab / newline / carriage return as character references
    /// (kept through attribute normalization), unrepresentable characters per `unrepresentable`.
    static func escape(_ s: String, unrepresentable: Unrepresentable) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t": out += "&#9;"
            case "\n": out += "&#10;"
            case "\r": out += "&#13;"
            default:
                if u.value < 0x20 || u.value == 0xFFFE || u.value == 0xFFFF {
                    switch unrepresentable {
                    case .codePoint:
                        let h = String(u.value, radix: 16, uppercase: true)
                        out += "\\u" + String(repeating: "0", count: Swift.max(0, 4 - h.count)) + h
                    case .replacementCharacter:
                        out.unicodeScalars.append("\u{FFFD}")
                    }
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out
    }
}
