import NNRModelIO

/// The UTF-8 output of the dump renderers (text, JSON, XML): numbers, names and escaped strings are
/// appended as bytes, without a `String` per field. The streamed dump renders unit by unit into
/// one of these and hands it over in chunks.
struct DumpBytes {
    var bytes: [UInt8] = []

    init(capacity: Int = 1 << 12) {
        bytes.reserveCapacity(capacity)
    }

    var count: Int { bytes.count }

    /// The bytes written so far; the buffer starts empty again (keeping its capacity).
    mutating func take() -> [UInt8] {
        guard !bytes.isEmpty else { return [] }
        let out = bytes
        bytes.removeAll(keepingCapacity: true)
        return out
    }

    var string: String { String(decoding: bytes, as: UTF8.self) }

    @inline(__always) mutating func byte(_ b: UInt8) {
        bytes.append(b)
    }

    @inline(__always) mutating func append(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    @inline(__always) mutating func append(_ s: String) {
        if s.utf8.withContiguousStorageIfAvailable({ bytes.append(contentsOf: $0) }) == nil {
            bytes.append(contentsOf: s.utf8)
        }
    }

    mutating func append(_ b: [UInt8]) {
        bytes.append(contentsOf: b)
    }

    /// `n` copies of `b`.
    @inline(__always) mutating func repeated(_ b: UInt8, _ n: Int) {
        guard n > 0 else { return }
        bytes.append(contentsOf: repeatElement(b, count: n))
    }

    /// A line break, spaces and commas, for indentation: `blank[2...]` is spaces.
    private static let blank: [UInt8] = [UInt8(ascii: ","), UInt8(ascii: "\n")] + [UInt8](repeating: 0x20, count: 256)

    mutating func spaces(_ n: Int) {
        guard n > 0 else { return }
        guard n <= 256 else { return repeated(0x20, n) }
        DumpBytes.blank.withUnsafeBufferPointer { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: $0[2..<(2 + n)])) }
    }

    /// `,` (when `comma`), a line break and `n` spaces.
    mutating func lineBreak(comma: Bool, spaces n: Int) {
        guard n <= 256 else {
            append(comma ? ",\n" : "\n")
            return repeated(0x20, n)
        }
        DumpBytes.blank.withUnsafeBufferPointer {
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: $0[(comma ? 0 : 1)..<(2 + Swift.max(0, n))]))
        }
    }

    /// Decimal digits, as `String(v)` writes them.
    mutating func int(_ v: Int) {
        if v >= 0 && v < 10 {
            bytes.append(UInt8(truncatingIfNeeded: v) &+ 0x30)
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: sign and 20 digits fit
        var m = v.magnitude
        withUnsafeMutableBytes(of: &digits) { d in
            var i = d.count
            repeat {
                i -= 1
                d[i] = UInt8(truncatingIfNeeded: m % 10) &+ 0x30
                m /= 10
            } while m > 0
            if v < 0 {
                i -= 1
                d[i] = UInt8(ascii: "-")
            }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: d[i...]))
        }
    }

    /// The characters of `String(v)`.
    static func decimalCount(_ v: Int) -> Int {
        var n = v < 0 ? 2 : 1
        var m = v.magnitude
        while m >= 10 {
            m /= 10
            n += 1
        }
        return n
    }

    /// Two lowercase hex digits.
    @inline(__always) mutating func hex2(_ b: UInt8) {
        bytes.append(DumpBytes.hexDigits[Int(b >> 4)])
        bytes.append(DumpBytes.hexDigits[Int(b & 15)])
    }

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// `s` padded with spaces to `width` bytes (the dump pads ASCII columns only).
    mutating func padded(_ s: String, _ width: Int) {
        let start = bytes.count
        append(s)
        spaces(width - (bytes.count - start))
    }

    /// `s` as a quoted JSON string, byte for byte as `JSONWriter.escape` writes it.
    mutating func jsonString(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        let plain: Bool? = s.utf8.withContiguousStorageIfAvailable { u in
            guard !JSONWriter.needsEscaping(u) else { return false }
            bytes.append(contentsOf: u)
            return true
        }
        if plain != true {
            if plain == nil && !JSONWriter.needsEscaping(s) {
                bytes.append(contentsOf: s.utf8)
            } else {
                for b in s.utf8 { jsonEscaped(b) }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// One byte of a JSON string: only ASCII is ever escaped, so escaping UTF-8 bytes one by one
    /// writes what escaping the scalars writes.
    @inline(__always) private mutating func jsonEscaped(_ b: UInt8) {
        switch b {
        case UInt8(ascii: "\""): append("\\\"")
        case UInt8(ascii: "\\"): append("\\\\")
        case UInt8(ascii: "\n"): append("\\n")
        case UInt8(ascii: "\r"): append("\\r")
        case UInt8(ascii: "\t"): append("\\t")
        case 0..<0x20:
            append("\\u00")
            hex2(b)
        default: bytes.append(b)
        }
    }
}
