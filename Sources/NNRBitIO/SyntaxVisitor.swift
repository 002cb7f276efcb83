/// One definition of each syntax structure serves reading, writing and tracing: a structure's
/// `visit` calls these methods with `inout` fields; a reader fills them, a writer emits them.
public protocol SyntaxVisitor {
    /// True when fields are filled from the bitstream.
    var isReading: Bool { get }
    /// Absolute bit position in the file.
    var bitPosition: Int { get }
    /// Bits left in the current unit (reader) or Int.max (writer).
    var remainingBits: Int { get }
    var limits: NNRLimits { get }

    /// u(n): n-bit unsigned, MSB first, n ≤ 32.
    mutating func u(_ name: String, _ n: Int, _ value: inout Int) throws
    /// i(n): n-bit two's complement, n ≤ 32.
    mutating func i(_ name: String, _ n: Int, _ value: inout Int) throws
    /// ue(k): k-th order Exp-Golomb.
    mutating func ue(_ name: String, _ k: Int, _ value: inout Int) throws
    /// ie(k): signed k-th order Exp-Golomb.
    mutating func ie(_ name: String, _ k: Int, _ value: inout Int) throws
    /// flt(32): IEEE-754 binary32, bytes little-endian (as NNCodec).
    mutating func flt(_ name: String, _ value: inout Float) throws
    /// st(v): NUL-terminated UTF-8 string, byte-aligned.
    mutating func st(_ name: String, _ value: inout String) throws
    /// u(n) for n a multiple of 8 larger than 32 (e.g. SHA-256 ids), as bytes.
    mutating func bits(_ name: String, _ n: Int, _ value: inout [UInt8]) throws
    /// bs(v): the remaining bytes of the unit (byte-aligned).
    mutating func remainingBytes(_ name: String, _ value: inout [UInt8]) throws
    /// byte_alignment(): a 1 bit, then 0 bits to the byte boundary.
    mutating func byteAlignment() throws
    /// A reserved field that must be zero (a reader warns when it is not).
    mutating func reserved(_ name: String, _ n: Int, _ value: inout Int) throws
}

extension SyntaxVisitor {
    /// u(1) as a Bool.
    @inlinable
    public mutating func flag(_ name: String, _ value: inout Bool) throws {
        var v = value ? 1 : 0
        try u(name, 1, &v)
        value = v != 0
    }

    public func error(_ reason: NNRError.Reason, _ element: String) -> NNRError {
        NNRError(reason, element: element, position: BitPosition(absoluteBit: bitPosition))
    }

    /// Checks a count read from the stream against a limit before anything is allocated from it.
    public func checkCount(_ count: Int, _ element: String, limit: Int) throws {
        if count < 0 || count > limit {
            throw error(.limitExceeded("\(element) = \(count) exceeds the limit \(limit)"), element)
        }
    }

    /// Checks a list length read from the stream before anything is allocated from it: against
    /// the configured `limit` (limitExceeded), then against the bits that remain, when each of the
    /// entries after the first `freeEntries` takes at least `bitsPerEntry` bits (truncated). The
    /// second is a truncation, not a limit: a reader of a bounded prefix (the NDU header probe)
    /// reads further and tries again, so any list the unit really holds is read.
    public func checkCount(_ count: Int, _ element: String, limit: Int, bitsPerEntry: Int, freeEntries: Int = 0) throws {
        try checkCount(count, element, limit: limit)
        let costly = Swift.max(0, count - freeEntries)
        let (needed, overflow) = costly.multipliedReportingOverflow(by: bitsPerEntry)
        let available = remainingBits
        if overflow || needed > available {
            throw error(.truncated(neededBits: overflow ? Int.max : needed, availableBits: available), element)
        }
    }
}
