import NNRBitIO

// The DeepCABAC arithmetic decoder (9-bit range, byte-wise input), spec section 5.5.
//
// `CABACReader` is the register file used by the hot loops (a plain struct of integers and
// pointers, so it lives in registers once inlined); `ArithmeticDecoder` is a safe public wrapper
// for tests and tools.

/// Context state as the decoder keeps it: the packed dual-rate state and its shifts
/// (same arithmetic as `ContextModel`, laid out for the hot loop).
@usableFromInline
struct DecoderContext {
    @usableFromInline var s01: Int32
    @usableFromInline var s0: Int32
    @usableFromInline var shift0: Int32
    @usableFromInline var shift1: Int32

    @inline(__always)
    init(set index: Int) {
        let p = nnrEstimatorParameterSets[index]
        s01 = p.initialS01
        s0 = p.initialS0
        shift0 = p.shift0
        shift1 = p.shift1
    }

    /// Restores the initial state of set `index`, shifts unchanged.
    @inline(__always)
    mutating func reset(set index: Int) {
        let p = nnrEstimatorParameterSets[index]
        s01 = p.initialS01
        s0 = p.initialS0
    }
}

/// Constant tables copied once into raw memory so the hot loop reads them without array
/// bounds checks or lazy-global checks.
@usableFromInline
enum DecoderTables {
    /// 256 entries: rLPS by ((range & 0xE0) | |S01 >> 7|).
    static let rangeLPS: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        for i in 0..<256 { p[i] = UInt8(truncatingIfNeeded: nnrRangeLPSTable[i]) }
        return UnsafePointer(p)
    }()

    /// 32 entries: the adaptation curve.
    static let curve: UnsafePointer<Int32> = {
        let p = UnsafeMutablePointer<Int32>.allocate(capacity: 32)
        for i in 0..<32 { p[i] = nnrCurveTable[i] }
        return UnsafePointer(p)
    }()
}

/// The arithmetic decoder's registers plus its input. `base` must hold `count + 1` bytes with
/// `base[count] == 0`: reads past the end return 0 and are detected through `overread`.
@usableFromInline
struct CABACReader {
    @usableFromInline let base: UnsafePointer<UInt8>
    @usableFromInline let count: Int
    /// Bytes fetched so far (index of the next byte).
    @usableFromInline var pos: Int
    @usableFromInline var range: UInt32
    @usableFromInline var value: UInt32
    @usableFromInline var bitsNeeded: Int32
    @usableFromInline let lps: UnsafePointer<UInt8>
    @usableFromInline let curve: UnsafePointer<Int32>

    /// Starts decoding at the first byte (value = first two bytes, range 510, bitsNeeded −8).
    @inline(__always)
    init(base: UnsafePointer<UInt8>, count: Int) {
        self.base = base
        self.count = count
        pos = 0
        range = 510
        value = 0
        bitsNeeded = -8
        lps = DecoderTables.rangeLPS
        curve = DecoderTables.curve
        let b0 = fetch()
        let b1 = fetch()
        value = (b0 &<< 8) | b1
    }

    /// true once a byte beyond the payload has been fetched.
    @inline(__always)
    var overread: Bool { pos > count }

    /// P = number of value shifts since init (spec 5.8).
    @inline(__always)
    var bitOffset: Int { 8 &* pos &- 8 &+ Int(bitsNeeded) }

    @inline(__always)
    mutating func fetch() -> UInt32 {
        let b = base[pos < count ? pos : count]
        pos &+= 1
        return UInt32(b)
    }

    /// One context-coded bin; updates the context.
    @inline(__always)
    mutating func decodeBin(_ c: UnsafeMutablePointer<DecoderContext>) -> UInt32 {
        let s01 = c.pointee.s01
        let m = s01 &>> 7
        let sm = m &>> 31
        let mag = UInt32(bitPattern: (m ^ sm) &- sm) & 31
        let rlps = UInt32(lps[Int((range & 0xE0) | mag)])
        let rmps = range &- rlps
        // all ones when the bin is the LPS (value >= rmps << 7)
        let lpsMask = UInt32(bitPattern: Int32(bitPattern: rmps &+ ~(value &>> 7)) &>> 31)
        range = rmps ^ ((rmps ^ rlps) & lpsMask)
        value = value &- ((rmps &<< 7) & lpsMask)
        let mps = UInt32(bitPattern: ~(s01 &>> 31)) & 1
        let bin = (mps ^ lpsMask) & 1
        let n = UInt32(truncatingIfNeeded: range.leadingZeroBitCount) &- 23
        range = range &<< n
        value = value &<< n
        bitsNeeded &+= Int32(bitPattern: n)
        if bitsNeeded >= 0 {
            value = value &+ (fetch() &<< UInt32(bitPattern: bitsNeeded))
            bitsNeeded &-= 8
        }
        // estimator update: sign·x computed as (x ^ neg) − neg with neg = 0 (bin 1) or −1 (bin 0)
        let neg = Int32(bitPattern: bin) &- 1
        let s0 = c.pointee.s0
        var s1 = s01 &- (s0 &<< 4)
        let i0 = Int((16 &+ (((s0 ^ neg) &- neg) &>> 3)) & 31)
        let d0 = curve[i0] &>> c.pointee.shift0
        let ns0 = s0 &+ ((d0 ^ neg) &- neg)
        let i1 = Int((16 &+ (((s1 ^ neg) &- neg) &>> 7)) & 31)
        let d1 = curve[i1] &>> c.pointee.shift1
        s1 = s1 &+ ((d1 ^ neg) &- neg)
        c.pointee.s0 = ns0
        c.pointee.s01 = s1 &+ (ns0 &<< 4)
        return bin
    }

    /// One bypass bin.
    @inline(__always)
    mutating func decodeBypass() -> UInt32 {
        value = value &<< 1
        bitsNeeded &+= 1
        if bitsNeeded >= 0 {
            value = value &+ fetch()
            bitsNeeded = -8
        }
        let sr = range &<< 7
        if value >= sr {
            value = value &- sr
            return 1
        }
        return 0
    }

    /// `n` (0…32) bypass bins, MSB first.
    @inline(__always)
    mutating func decodeBypassBins(_ n: Int) -> UInt32 {
        var bins: UInt32 = 0
        var i = 0
        while i < n {
            bins = (bins &<< 1) | decodeBypass()
            i &+= 1
        }
        return bins
    }

    /// The terminating bin (1 = end of the arithmetic-coded data).
    @inline(__always)
    mutating func decodeTerminate() -> UInt32 {
        range = range &- 2
        let sr = range &<< 7
        if value >= sr { return 1 }
        if range < 256 {
            range = range &<< 1
            value = value &<< 1
            bitsNeeded &+= 1
            if bitsNeeded == 0 {
                value = value &+ fetch()
                bitsNeeded = -8
            }
        }
        return 0
    }

    /// Jumps to an entry point: bit offset P (relative to the start of the payload), ep_value;
    /// range := 256. Returns false if P lies outside the payload.
    @inline(__always)
    mutating func seek(bitOffset p: Int, epValue: Int) -> Bool {
        guard p >= 0, p <= 8 &* count else { return false }
        let byteOff = (p &+ 9) >> 3
        let bitOff = (p &+ 9) & 7
        if bitOff != 0 {
            pos = byteOff &+ 1
            bitsNeeded = Int32(bitOff) &- 9
        } else {
            pos = byteOff
            bitsNeeded = -1
        }
        guard pos >= 1, pos <= count else { return false }
        range = 256
        let prev = UInt32(base[pos &- 1])
        value = (UInt32(epValue & 0xFF) &<< 7) &+ ((prev &<< UInt32(8 &+ bitsNeeded)) & 127)
        return true
    }

    /// Absolute bit position in the file of the next bit to enter the value register.
    @inline(__always)
    func filePosition(fileOffset: Int) -> BitPosition {
        let p = min(pos, count)
        let bit = (fileOffset &+ p) &* 8 &+ Int(bitsNeeded)
        return BitPosition(absoluteBit: Swift.max(bit, fileOffset &* 8))
    }
}

/// Owns a zero-terminated copy of the payload bytes at a stable address.
@usableFromInline
final class PayloadBytes {
    @usableFromInline let base: UnsafeMutablePointer<UInt8>
    @usableFromInline let count: Int

    init(_ bytes: [UInt8]) {
        count = bytes.count
        base = UnsafeMutablePointer<UInt8>.allocate(capacity: bytes.count + 1)
        bytes.withUnsafeBufferPointer { src in
            if let s = src.baseAddress, src.count > 0 { base.initialize(from: s, count: src.count) }
        }
        (base + bytes.count).initialize(to: 0)
    }

    deinit { base.deallocate() }
}

/// A stand-alone DeepCABAC arithmetic decoder over a byte string (for tests and tools; the
/// payload decoder uses the same engine internally).
public struct ArithmeticDecoder {
    let bytes: PayloadBytes
    var reader: CABACReader
    /// File offset of the first byte (for error positions).
    public let fileOffset: Int

    /// Starts decoding at `bytes[0]` (needs at least two bytes).
    public init(bytes: [UInt8], fileOffset: Int = 0) throws {
        guard bytes.count >= 2 else {
            throw NNRError(.truncated(neededBits: 16, availableBits: bytes.count * 8),
                           element: "cabac_init", byteOffset: fileOffset)
        }
        self.bytes = PayloadBytes(bytes)
        self.fileOffset = fileOffset
        reader = CABACReader(base: self.bytes.base, count: self.bytes.count)
    }

    /// Current 9-bit range.
    public var range: Int { Int(reader.range) }
    /// The value register (window scaled by 2^7).
    public var value: Int { Int(reader.value) }
    /// −8…−1.
    public var bitsNeeded: Int { Int(reader.bitsNeeded) }
    /// Bytes fetched from the input so far.
    public var bytesFetched: Int { reader.pos }
    /// P, the number of value shifts since init.
    public var bitOffset: Int { reader.bitOffset }

    private func checkOverread(_ element: String) throws {
        if reader.overread {
            throw NNRError(.payload("read past end of payload"), element: element,
                           byteOffset: fileOffset + bytes.count)
        }
    }

    /// Decodes one context-coded bin with `context`, updating it.
    public mutating func decodeBin(context: inout ContextModel) throws -> Int {
        var c = DecoderContext(set: 0)
        c.s01 = context.s01
        c.s0 = context.s0
        c.shift0 = context.shift0
        c.shift1 = context.shift1
        let bin = withUnsafeMutablePointer(to: &c) { reader.decodeBin($0) }
        context.s01 = c.s01
        context.s0 = c.s0
        try checkOverread("decision_bin")
        return Int(bin)
    }

    /// Decodes one bypass bin.
    public mutating func decodeBypass() throws -> Int {
        let b = reader.decodeBypass()
        try checkOverread("bypass_bin")
        return Int(b)
    }

    /// Decodes `count` (0…32) bypass bins, MSB first.
    public mutating func decodeBypassBins(_ count: Int) throws -> UInt32 {
        guard count >= 0, count <= 32 else {
            throw NNRError(.invalidValue("bypass bin count \(count)"), element: "bypass_bins", byteOffset: fileOffset)
        }
        let b = reader.decodeBypassBins(count)
        try checkOverread("bypass_bins")
        return b
    }

    /// Decodes the terminating bin.
    public mutating func decodeTerminate() throws -> Int {
        let b = reader.decodeTerminate()
        try checkOverread("terminating_bin")
        return Int(b)
    }

    /// Sets range := 256 (start of an entry point).
    public mutating func startEntryPoint() { reader.range = 256 }
}
