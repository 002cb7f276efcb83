import NNRModelIO

/// The UTF-8 output of the dump renderers (text, JSON, XML): numbers, names and escaped strings are
/// appended as bytes, without a `String` per field. The streamed dump renders unit by unit into
/// one of these and hands it over in chunks.
///
/// Noncopyable: it owns its memory and appends in place, with no uniqueness check or generic
/// append per piece (the dump of a million units appends a few hundred million of them).
struct DumpBytes: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 1 << 12) {
        self.capacity = Swift.max(64, capacity)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// Room for `n` more bytes.
    @inline(__always) private mutating func reserve(_ n: Int) {
        if n > capacity - count { grow(n) }
    }

    @inline(never) private mutating func grow(_ n: Int) {
        let larger = Swift.max(capacity * 2, count + n)
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: larger)
        p.initialize(from: base, count: count)
        base.deallocate()
        base = p
        capacity = larger
    }

    /// A copy of the bytes written so far.
    var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// The bytes written so far; the buffer starts empty again (keeping its memory).
    mutating func take() -> [UInt8] {
        let out = bytes
        count = 0
        return out
    }

    var string: String { String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self) }

    /// Drops the last `n` bytes.
    mutating func removeLast(_ n: Int) {
        count -= Swift.min(count, Swift.max(0, n))
    }

    /// Whether a byte from `start` on is not ASCII.
    func hasNonASCII(from start: Int) -> Bool {
        var i = Swift.max(0, start)
        while i < count {
            if base[i] >= 0x80 { return true }
            i += 1
        }
        return false
    }

    @inline(__always) mutating func byte(_ b: UInt8) {
        reserve(1)
        base[count] = b
        count += 1
    }

    @inline(__always) mutating func append(_ p: UnsafeBufferPointer<UInt8>) {
        guard let src = p.baseAddress, p.count > 0 else { return }
        let n = p.count
        reserve(n)
        let dst = UnsafeMutableRawPointer(base + count)
        let from = UnsafeRawPointer(src)
        // Names and keys are short: two overlapping word copies instead of a call to memmove.
        if n >= 8 && n <= 16 {
            let head = from.loadUnaligned(as: UInt64.self)
            let tail = from.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            dst.storeBytes(of: head, as: UInt64.self)
            dst.storeBytes(of: tail, toByteOffset: n - 8, as: UInt64.self)
        } else if n >= 4 && n < 8 {
            let head = from.loadUnaligned(as: UInt32.self)
            let tail = from.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
            dst.storeBytes(of: head, as: UInt32.self)
            dst.storeBytes(of: tail, toByteOffset: n - 4, as: UInt32.self)
        } else if n < 4 {
            for i in 0..<n { base[count + i] = src[i] }
        } else {
            (base + count).initialize(from: src, count: n)
        }
        count += n
    }

    @inline(__always) mutating func append(_ s: StaticString) {
        s.withUTF8Buffer { append($0) }
    }

    @inline(__always) mutating func append(_ s: String) {
        if s.utf8.withContiguousStorageIfAvailable({ append($0) }) == nil {
            for b in s.utf8 { byte(b) }
        }
    }

    mutating func append(_ b: [UInt8]) {
        b.withUnsafeBufferPointer { append($0) }
    }

    /// `n` copies of `b`.
    @inline(__always) mutating func repeated(_ b: UInt8, _ n: Int) {
        guard n > 0 else { return }
        reserve(n)
        (base + count).initialize(repeating: b, count: n)
        count += n
    }

    mutating func spaces(_ n: Int) { repeated(0x20, n) }

    /// `,` (when `comma`), a line break and `n` spaces.
    @inline(__always) mutating func lineBreak(comma: Bool, spaces n: Int) {
        reserve(2)
        if comma {
            base[count] = UInt8(ascii: ",")
            count += 1
        }
        base[count] = UInt8(ascii: "\n")
        count += 1
        repeated(0x20, n)
    }

    /// Decimal digits, as `String(v)` writes them.
    mutating func int(_ v: Int) {
        if v >= 0 && v < 10 {
            byte(UInt8(truncatingIfNeeded: v) &+ 0x30)
            return
        }
        reserve(20)
        var m = v.magnitude
        let n = DumpBytes.decimalCount(v)
        var i = count + n
        repeat {
            i -= 1
            base[i] = UInt8(truncatingIfNeeded: m % 10) &+ 0x30
            m /= 10
        } while m > 0
        if v < 0 { base[count] = UInt8(ascii: "-") }
        count += n
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
        reserve(2)
        base[count] = DumpBytes.hexDigit(b >> 4)
        base[count + 1] = DumpBytes.hexDigit(b & 15)
        count += 2
    }

    @inline(__always) static func hexDigit(_ d: UInt8) -> UInt8 {
        d < 10 ? d &+ 0x30 : d &+ (0x61 - 10)
    }

    /// `s` as a quoted JSON string, byte for byte as `JSONWriter.escape` writes it.
    mutating func jsonString(_ s: String) {
        byte(UInt8(ascii: "\""))
        let plain: Bool? = s.utf8.withContiguousStorageIfAvailable { u in
            guard !JSONWriter.needsEscaping(u) else { return false }
            append(u)
            return true
        }
        if plain != true {
            for b in s.utf8 { jsonEscaped(b) }
        }
        byte(UInt8(ascii: "\""))
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
        default: byte(b)
        }
    }
}
