/// Reads the descriptors of ISO/IEC 15938-17 from a byte buffer, MSB first. Every read checks the
/// bits left before it consumes them and throws `NNRError` with the element name and position.
public struct BitReader: SyntaxVisitor {
    public let bytes: [UInt8]
    /// File offset of `bytes[0]`.
    public let fileOffset: Int
    /// Bit index (relative to `bytes[0]`) one past the last readable bit.
    public let endBit: Int
    /// Current bit index relative to `bytes[0]`.
    public private(set) var bit: Int
    public let limits: NNRLimits
    /// When non-nil, every element read is appended here.
    public var trace: [SyntaxTraceEntry]?
    /// Non-fatal deviations (reserved bits set, alignment bits wrong).
    public private(set) var warnings: [SyntaxWarning] = []
    /// Longest Exp-Golomb prefix accepted (leading zero bits).
    public static let maxExpGolombPrefix = 32

    public var isReading: Bool { true }

    /// - Parameters:
    ///   - bytes: the buffer (typically one whole NNR unit).
    ///   - fileOffset: file offset of `bytes[0]`, for error positions.
    ///   - range: the byte range that may be read (default: all).
    public init(bytes: [UInt8], fileOffset: Int = 0, startByte: Int = 0, endByte: Int? = nil,
                limits: NNRLimits = .default, tracing: Bool = false) {
        self.bytes = bytes
        self.fileOffset = fileOffset
        let end = Swift.min(endByte ?? bytes.count, bytes.count)
        self.endBit = Swift.max(0, end) &* 8
        self.bit = Swift.max(0, Swift.min(startByte, end)) &* 8
        self.limits = limits
        self.trace = tracing ? [] : nil
    }

    public var bitPosition: Int { fileOffset &* 8 &+ bit }
    public var remainingBits: Int { endBit - bit }
    /// Byte index (relative to `bytes[0]`) of the next unread byte, rounding up.
    public var byteIndex: Int { (bit + 7) >> 3 }
    public var isByteAligned: Bool { bit & 7 == 0 }

    @inline(__always)
    private func fail(_ reason: NNRError.Reason, _ name: String, at b: Int) -> NNRError {
        NNRError(reason, element: name, position: BitPosition(absoluteBit: fileOffset &* 8 &+ b))
    }

    @inline(__always)
    private mutating func readBits(_ n: Int, _ name: String) throws -> UInt64 {
        if n > remainingBits { throw fail(.truncated(neededBits: n, availableBits: remainingBits), name, at: bit) }
        var v: UInt64 = 0
        var left = n
        while left > 0 {
            let byte = UInt64(bytes[bit >> 3])
            let used = bit & 7
            let avail = 8 - used
            let take = Swift.min(avail, left)
            let chunk = (byte >> UInt64(avail - take)) & ((1 << UInt64(take)) - 1)
            v = (v << UInt64(take)) | chunk
            left -= take
            bit += take
        }
        return v
    }

    private mutating func record(_ name: String, _ d: SyntaxDescriptor, _ p: Int, start: Int, _ value: SyntaxValue) {
        if trace != nil {
            trace?.append(SyntaxTraceEntry(name: name, descriptor: d, parameter: p,
                                           bitPosition: fileOffset &* 8 &+ start, bitWidth: bit - start, value: value))
        }
    }

    public mutating func u(_ name: String, _ n: Int, _ value: inout Int) throws {
        precondition(n >= 0 && n <= 32, "u(n) supports n ≤ 32")
        let start = bit
        value = Int(try readBits(n, name))
        record(name, .u, n, start: start, .int(value))
    }

    public mutating func i(_ name: String, _ n: Int, _ value: inout Int) throws {
        precondition(n >= 1 && n <= 32, "i(n) supports 1 ≤ n ≤ 32")
        let start = bit
        let raw = Int(try readBits(n, name))
        value = raw >= (1 << (n - 1)) ? raw - (1 << n) : raw
        record(name, .i, n, start: start, .int(value))
    }

    private mutating func readUE(_ name: String, _ k: Int) throws -> Int {
        let start = bit
        var zeros = 0
        while true {
            if remainingBits < 1 { throw fail(.truncated(neededBits: 1, availableBits: 0), name, at: bit) }
            let b = try readBits(1, name)
            if b == 1 { break }
            zeros += 1
            if zeros > BitReader.maxExpGolombPrefix {
                throw fail(.expGolombPrefixTooLong(limit: BitReader.maxExpGolombPrefix), name, at: start)
            }
        }
        // value = 2^k (2^zeros − 1) + next (k + zeros) bits
        let prefix = ((1 << zeros) - 1) << k
        let suffix = Int(try readBits(k + zeros, name))
        return prefix + suffix
    }

    public mutating func ue(_ name: String, _ k: Int, _ value: inout Int) throws {
        let start = bit
        value = try readUE(name, k)
        record(name, .ue, k, start: start, .int(value))
    }

    public mutating func ie(_ name: String, _ k: Int, _ value: inout Int) throws {
        let start = bit
        let x = try readUE(name, k)
        value = (x & 1) == 1 ? (x + 1) >> 1 : -(x >> 1)
        record(name, .ie, k, start: start, .int(value))
    }

    public mutating func flt(_ name: String, _ value: inout Float) throws {
        let start = bit
        var pattern: UInt32 = 0
        for j in 0..<4 { pattern |= UInt32(try readBits(8, name)) << UInt32(8 * j) }
        value = Float(bitPattern: pattern)
        record(name, .flt, 32, start: start, .float(value))
    }

    public mutating func st(_ name: String, _ value: inout String) throws {
        guard isByteAligned else { throw fail(.stringNotAligned, name, at: bit) }
        let start = bit
        let first = bit >> 3
        let end = endBit >> 3
        var j = first
        while j < end && bytes[j] != 0 {
            j += 1
            if j - first > limits.maxStringLength {
                throw fail(.limitExceeded("string longer than \(limits.maxStringLength) bytes"), name, at: start)
            }
        }
        guard j < end else { throw fail(.unterminatedString, name, at: start) }
        guard let s = String(validating: bytes[first..<j], as: UTF8.self) else {
            throw fail(.invalidUTF8, name, at: start)
        }
        value = s
        bit = (j + 1) << 3
        record(name, .st, 0, start: start, .string(s))
    }

    public mutating func bits(_ name: String, _ n: Int, _ value: inout [UInt8]) throws {
        precondition(n % 8 == 0, "bits(n) needs a multiple of 8")
        if n > remainingBits { throw fail(.truncated(neededBits: n, availableBits: remainingBits), name, at: bit) }
        let start = bit
        var out: [UInt8] = []
        out.reserveCapacity(n / 8)
        for _ in 0..<(n / 8) { out.append(UInt8(try readBits(8, name))) }
        value = out
        record(name, .u, n, start: start, .bytes(out))
    }

    public mutating func remainingBytes(_ name: String, _ value: inout [UInt8]) throws {
        guard isByteAligned else { throw fail(.invalidValue("bs(v) must start byte-aligned"), name, at: bit) }
        let start = bit
        value = Array(bytes[(bit >> 3)..<(endBit >> 3)])
        bit = endBit
        record(name, .bs, 0, start: start, .bytes(value))
    }

    public mutating func byteAlignment() throws {
        let start = bit
        let one = try readBits(1, "byte_alignment")
        if one != 1 {
            warnings.append(SyntaxWarning(element: "alignment_bit_equal_to_one", position: BitPosition(absoluteBit: bitPosition - 1),
                                          message: "byte_alignment() must start with a 1 bit"))
        }
        let pad = (8 - (bit & 7)) & 7
        let zeros = try readBits(pad, "alignment_bit_equal_to_zero")
        if zeros != 0 {
            warnings.append(SyntaxWarning(element: "alignment_bit_equal_to_zero", position: BitPosition(absoluteBit: fileOffset * 8 + start + 1),
                                          message: "byte_alignment() padding bits must be 0"))
        }
        record("byte_alignment", .alignment, 0, start: start, .int(Int(one << UInt64(pad) | zeros)))
    }

    public mutating func reserved(_ name: String, _ n: Int, _ value: inout Int) throws {
        let start = bit
        try u(name, n, &value)
        if value != 0 {
            warnings.append(SyntaxWarning(element: name, position: BitPosition(absoluteBit: fileOffset * 8 + start),
                                          message: "reserved bits must be 0, found \(value)"))
        }
    }

    /// Skips to an absolute bit index relative to `bytes[0]` (used by container code).
    public mutating func seek(toBit b: Int) {
        bit = Swift.max(0, Swift.min(b, endBit))
    }
}
