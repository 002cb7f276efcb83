/// Characters XML 1.0 cannot carry, for the dump's XML and the JUnit report (libxml2's writer
/// escapes markup characters but writes control characters through as they are).
enum XMLText {
    /// What to write for a character XML 1.0 cannot carry (C0 controls other than tab, newline and
    /// carriage return; U+FFFE; U+FFFF).
    enum Unrepresentable {
        /// The text `\uXXXX` (the dump keeps the code point visible).
        case codePoint
        /// U+FFFD.
        case replacementCharacter
    }

    static func isUnrepresentable(_ u: Unicode.Scalar) -> Bool {
        (u.value < 0x20 && u != "\t" && u != "\n" && u != "\r") || u.value == 0xFFFE || u.value == 0xFFFF
    }

    /// Whether UTF-8 text may hold a character XML 1.0 cannot carry: a byte below 0x20 or 0xEF (the
    /// lead byte of U+FFFE and U+FFFF), looked for eight bytes at a time. False means none.
    static func mayNeedReplacing(_ u: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = u.baseAddress else { return false }
        let raw = UnsafeRawPointer(base)
        let n = u.count
        var i = 0
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        // a byte below 0x20 in x, or a zero byte in x ^ 0xEFEF… (a byte 0xEF in x)
        @inline(__always) func hit(_ x: UInt64) -> Bool {
            let y = x ^ (0xEF &* ones)
            return ((x &- 0x20 &* ones) & ~x | (y &- ones) & ~y) & highs != 0
        }
        while i + 8 <= n {
            if hit(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) { return true }
            i += 8
        }
        if n >= 8 && i < n {
            // the last eight bytes (overlapping what was looked at)
            return hit(raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self))
        }
        while i < n {
            if base[i] < 0x20 || base[i] == 0xEF { return true }
            i += 1
        }
        return false
    }

    /// `s` with every character XML 1.0 cannot carry replaced as `unrepresentable` says.
    static func replacingUnrepresentable(_ s: String, with unrepresentable: Unrepresentable) -> String {
        guard s.unicodeScalars.contains(where: isUnrepresentable) else { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count + 8)
        for u in s.unicodeScalars {
            guard isUnrepresentable(u) else {
                out.unicodeScalars.append(u)
                continue
            }
            switch unrepresentable {
            case .codePoint:
                let h = String(u.value, radix: 16, uppercase: true)
                out += "\\u" + String(repeating: "0", count: Swift.max(0, 4 - h.count)) + h
            case .replacementCharacter:
                out.unicodeScalars.append("\u{FFFD}")
            }
        }
        return out
    }
}
