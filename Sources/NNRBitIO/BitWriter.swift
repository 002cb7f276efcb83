/// Writes the descriptors of ISO/IEC 15938-17, MSB first; the mirror of `BitReader`.
public struct BitWriter: SyntaxVisitor {
    public private(set) var bytes: [UInt8] = []
    /// Number of bits written.
    public private(set) var bitCount: Int = 0
    public let limits: NNRLimits
    /// File offset the first written byte will have (only used for positions in errors/traces).
    public var fileOffset: Int

    public var isReading: Bool { false }
    public var bitPosition: Int { fileOffset &* 8 &+ bitCount }
    public var remainingBits: Int { Int.max }
    public var isByteAligned: Bool { bitCount & 7 == 0 }

    public init(limits: NNRLimits = .default, fileOffset: Int = 0) {
        self.limits = limits
        self.fileOffset = fileOffset
    }

    /// Appends the low `n` bits of `v`, MSB first.
    public mutating func writeBits(_ v: UInt64, _ n: Int) {
        var left = n
        while left > 0 {
            if bitCount & 7 == 0 { bytes.append(0) }
            let used = bitCount & 7
            let room = 8 - used
            let take = Swift.min(room, left)
            let chunk = UInt8(truncatingIfNeeded: (v >> UInt64(left - take)) & ((1 << UInt64(take)) - 1))
            bytes[bytes.count - 1] |= chunk << UInt8(room - take)
            left -= take
            bitCount += take
        }
    }

    /// Appends whole bytes (must be byte-aligned).
    public mutating func writeBytes(_ b: [UInt8]) {
        if isByteAligned {
            bytes.append(contentsOf: b)
            bitCount += b.count * 8
        } else {
            for x in b { writeBits(UInt64(x), 8) }
        }
    }

    private func fail(_ reason: NNRError.Reason, _ name: String) -> NNRError {
        NNRError(reason, element: name, position: BitPosition(absoluteBit: bitPosition))
    }

    public mutating func u(_ name: String, _ n: Int, _ value: inout Int) throws {
        guard n >= 0 && n <= 32 else { throw fail(.invalidValue("u(\(n)) not supported"), name) }
        guard value >= 0 && (n == 64 || value >> n == 0) else {
            throw fail(.invalidValue("\(value) does not fit u(\(n))"), name)
        }
        writeBits(UInt64(value), n)
    }

    public mutating func i(_ name: String, _ n: Int, _ value: inout Int) throws {
        guard n >= 1 && n <= 32 else { throw fail(.invalidValue("i(\(n)) not supported"), name) }
        let lo = -(1 << (n - 1)), hi = (1 << (n - 1)) - 1
        guard value >= lo && value <= hi else { throw fail(.invalidValue("\(value) does not fit i(\(n))"), name) }
        writeBits(UInt64(bitPattern: Int64(value)) & ((1 << UInt64(n)) - 1), n)
    }

    private mutating func writeUE(_ name: String, _ k: Int, _ v: Int) throws {
        guard v >= 0 else { throw fail(.invalidValue("ue(\(k)) cannot code \(v)"), name) }
        // n zeros with 2^k (2^n − 1) ≤ v < 2^k (2^(n+1) − 1)
        var n = 0
        while n <= BitReader.maxExpGolombPrefix && v >= ((1 << (n + 1)) - 1) << k { n += 1 }
        guard n <= BitReader.maxExpGolombPrefix else { throw fail(.invalidValue("\(v) too large for ue(\(k))"), name) }
        writeBits(0, n)
        writeBits(1, 1)
        writeBits(UInt64(v - (((1 << n) - 1) << k)), k + n)
    }

    public mutating func ue(_ name: String, _ k: Int, _ value: inout Int) throws {
        try writeUE(name, k, value)
    }

    public mutating func ie(_ name: String, _ k: Int, _ value: inout Int) throws {
        let x = value > 0 ? 2 * value - 1 : -2 * value
        try writeUE(name, k, x)
    }

    public mutating func flt(_ name: String, _ value: inout Float) throws {
        let p = value.bitPattern
        for j in 0..<4 { writeBits(UInt64((p >> UInt32(8 * j)) & 0xFF), 8) }
    }

    public mutating func st(_ name: String, _ value: inout String) throws {
        guard isByteAligned else { throw fail(.stringNotAligned, name) }
        let utf8 = Array(value.utf8)
        guard !utf8.contains(0) else { throw fail(.invalidValue("string contains a NUL byte"), name) }
        writeBytes(utf8)
        writeBytes([0])
    }

    public mutating func bits(_ name: String, _ n: Int, _ value: inout [UInt8]) throws {
        guard value.count * 8 == n else { throw fail(.invalidValue("expected \(n / 8) bytes"), name) }
        for b in value { writeBits(UInt64(b), 8) }
    }

    public mutating func remainingBytes(_ name: String, _ value: inout [UInt8]) throws {
        guard isByteAligned else { throw fail(.invalidValue("bs(v) must start byte-aligned"), name) }
        writeBytes(value)
    }

    public mutating func byteAlignment() throws {
        writeBits(1, 1)
        let pad = (8 - (bitCount & 7)) & 7
        writeBits(0, pad)
    }

    public mutating func reserved(_ name: String, _ n: Int, _ value: inout Int) throws {
        try u(name, n, &value)
    }
}
