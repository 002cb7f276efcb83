import NNRBitIO

// The DeepCABAC arithmetic decoder (9-bit range, byte-wise input), spec section 5.5.
//
// `CABACReader` is the register file used by the hot loops (a plain struct of integers and
// pointers, so it lives in registers once inlined); `ArithmeticDecoder` is a safe public wrapper
// for tests and tools.

/// Context state as the decoder keeps it: the two halves of the dual-rate state (S0 fast, S1
/// slow; S01 = S1 + 16·S0) plus byte offsets into the decoder's precomputed update tables for the
/// context's shifts. Same arithmetic as `ContextModel` (spec 5.2). Word-sized fields so the hot
/// loop indexes tables without conversions.
@usableFromInline
struct DecoderContext {
    /// S1 (|S1| ≤ 1923 for every reachable state)
    @usableFromInline var s1: Int
    /// S0 (|S0| ≤ 123 for every reachable state)
    @usableFromInline var s0: Int
    /// Byte offset of this context's fast-half table in `DecoderTables.base`.
    @usableFromInline var fastTable: Int
    /// Byte offset of this context's slow-half table in `DecoderTables.base`.
    @usableFromInline var slowTable: Int

    @inline(__always)
    init(set index: Int) {
        let p = nnrEstimatorParameterSets[index]
        self.init(s01: p.initialS01, s0: p.initialS0, shift0: p.shift0, shift1: p.shift1)
    }

    @inline(__always)
    init(s01: Int32, s0: Int32, shift0: Int32, shift1: Int32) {
        self.s0 = Int(s0)
        s1 = Int(s01) &- (Int(s0) &<< 4)
        fastTable = DecoderTables.fastOffset &+ Int(shift0 & 7) &* 512
        slowTable = DecoderTables.slowOffset &+ Int(shift1 & 7) &* 16384
    }

    /// Restores the initial state of set `index`, shifts unchanged.
    @inline(__always)
    mutating func reset(set index: Int) {
        let p = nnrEstimatorParameterSets[index]
        s0 = Int(p.initialS0)
        s1 = Int(p.initialS01) &- (Int(p.initialS0) &<< 4)
    }

    /// S01 = S1 + 16·S0.
    @inline(__always)
    var s01: Int { s1 &+ (s0 &<< 4) }
}

/// Constant tables, precomputed once into one raw allocation so the hot loop reaches all of them
/// through a single base pointer (no bounds checks, no lazy-global checks).
@usableFromInline
enum DecoderTables {
    /// Bytes 0…2047: 8 × 64 UInt32 by [(range >> 5) & 7][(S01 >> 7) & 63], i.e. the RPS table with
    /// the column |S01 >> 7| for the signed value S01 >> 7 (−32…31): bits 0–7 rLPS, bits 8–16 rLPS
    /// renormalised (shifted left until ≥ 256), bits 24–27 that shift count.
    static let lpsOffset = 0
    /// 8 × 512 Int8: [shift0][bin][S0 & 255] = the new S0: S0 + sign·(C[16 + ((sign·S0) >> 3)] >> shift0).
    static let fastOffset = 2048
    /// 8 × 8192 Int16: [shift1][bin][S1 & 4095] = the new S1 (S1 as 12-bit signed):
    /// S1 + sign·(C[16 + ((sign·S1) >> 7)] >> shift1).
    static let slowOffset = 2048 + 8 * 512
    static let byteCount = slowOffset + 8 * 8192 * 2

    static let base: UnsafeRawPointer = {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 16)
        let lps = (raw + lpsOffset).bindMemory(to: UInt32.self, capacity: 512)
        for row in 0..<8 {
            for col in 0..<64 {
                let m = col >= 32 ? col - 64 : col        // the signed S01 >> 7
                let mag = Swift.min(abs(m), 31)           // reachable states have |S01 >> 7| ≤ 31
                let r = UInt32(nnrRangeLPSTable[row * 32 + mag])
                let n = UInt32(r.leadingZeroBitCount - 23)
                lps[row * 64 + col] = r | ((r << n) << 8) | (n << 24)
            }
        }
        let fast = (raw + fastOffset).bindMemory(to: Int8.self, capacity: 8 * 512)
        let slow = (raw + slowOffset).bindMemory(to: Int16.self, capacity: 8 * 8192)
        let table = nnrCurveTable
        for sh in 0..<8 {
            for bin in 0..<2 {
                for rawS0 in 0..<256 {
                    let s0 = Int32(Int8(truncatingIfNeeded: rawS0))
                    let v = ContextModel.step(s0, bin: bin == 1, precision: 3, shift: Int32(sh), curve: { ContextModel.curve($0, in: table) })
                    fast[sh * 512 + bin * 256 + rawS0] = Int8(truncatingIfNeeded: v)
                }
                for rawS1 in 0..<4096 {
                    let s1 = Int32(rawS1 >= 2048 ? rawS1 - 4096 : rawS1)
                    let v = ContextModel.step(s1, bin: bin == 1, precision: 7, shift: Int32(sh), curve: { ContextModel.curve($0, in: table) })
                    slow[sh * 8192 + bin * 4096 + rawS1] = Int16(truncatingIfNeeded: v)
                }
            }
        }
        return UnsafeRawPointer(raw)
    }()
}

/// The arithmetic decoder's registers plus its input (spec 5.5). The input buffer holds `count`
/// payload bytes followed by `PayloadBytes.padding` zero bytes, so fetching needs no bounds check;
/// callers test `overread` often enough (at least once per coded position) that the padding is never
/// exhausted.
@usableFromInline
struct CABACReader {
    /// The next byte to fetch.
    @usableFromInline var ptr: UnsafePointer<UInt8>
    @usableFromInline let start: UnsafePointer<UInt8>
    @usableFromInline let count: Int
    /// 9-bit range (256…510 between bins).
    @usableFromInline var range: Int
    /// The value window scaled by 2^7 (always < range << 7).
    @usableFromInline var value: Int
    /// −8…−1.
    @usableFromInline var bitsNeeded: Int
    @usableFromInline let tables: UnsafeRawPointer

    /// Starts decoding at the first byte (value = first two bytes, range 510, bitsNeeded −8).
    @inline(__always)
    init(base: UnsafePointer<UInt8>, count: Int) {
        start = base
        ptr = base
        self.count = count
        range = 510
        value = 0
        bitsNeeded = -8
        tables = DecoderTables.base
        let b0 = fetch()
        let b1 = fetch()
        value = (b0 &<< 8) | b1
    }

    /// Bytes fetched so far.
    @inline(__always)
    var pos: Int { ptr - start }

    /// true once a byte beyond the payload has been fetched.
    @inline(__always)
    var overread: Bool { ptr - start > count }

    /// P = number of value shifts since init (spec 5.8).
    @inline(__always)
    var bitOffset: Int { 8 &* pos &- 8 &+ bitsNeeded }

    @inline(__always)
    mutating func fetch() -> Int {
        let b = ptr.pointee
        ptr += 1
        return Int(b)
    }

    /// One context-coded bin (0 or 1); updates the context.
    @inline(__always)
    mutating func decodeBin(_ c: UnsafeMutablePointer<DecoderContext>) -> Int {
        let s0 = c.pointee.s0
        let s1 = c.pointee.s1
        let s01 = s1 &+ (s0 &<< 4)
        // rLPS by range class and |S01 >> 7| (the table's 64 columns are indexed by the signed S01 >> 7)
        let e = Int(tables.load(fromByteOffset: (((range & 0xE0) &<< 1) | ((s01 &>> 7) & 63)) &<< 2, as: UInt32.self))
        let rlps = e & 0xFF
        let rmps = range &- rlps
        let mps = ~(s01 &>> 63) & 1
        let bin: Int
        let n: Int
        if value < rmps &<< 7 {
            bin = mps
            n = (rmps &>> 8) ^ 1
            range = rmps &<< n
        } else {
            bin = mps ^ 1
            value = value &- (rmps &<< 7)
            n = e &>> 24
            range = (e &>> 8) & 0x1FF
        }
        value = value &<< n
        bitsNeeded &+= n
        if bitsNeeded >= 0 {
            value = value &+ (fetch() &<< bitsNeeded)
            bitsNeeded &-= 8
        }
        // estimator update (spec 5.2), both halves by table
        c.pointee.s0 = Int(tables.load(fromByteOffset: c.pointee.fastTable &+ (bin &<< 8) &+ (s0 & 255), as: Int8.self))
        c.pointee.s1 = Int(tables.load(fromByteOffset: c.pointee.slowTable &+ (bin &<< 13) &+ ((s1 & 4095) &<< 1),
                                       as: Int16.self))
        return bin
    }

    /// One bypass bin.
    @inline(__always)
    mutating func decodeBypass() -> Int {
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

    /// `n` (0…32) bypass bins, MSB first, up to 8 at a time: the value takes the next m bits at once
    /// (at most one byte fetch), then each bin compares it with the range scaled to its bit
    /// (V ≥ R·2^j exactly when ⌊V / 2^j⌋ ≥ R, so this equals m single bypass bins).
    @inline(__always)
    mutating func decodeBypassBins(_ n: Int) -> UInt32 {
        var bins: UInt32 = 0
        var left = n
        while left > 0 {
            let m = left < 8 ? left : 8
            value = value &<< m
            bitsNeeded &+= m
            if bitsNeeded >= 0 {
                value = value &+ (fetch() &<< bitsNeeded)
                bitsNeeded &-= 8
            }
            var scaled = range &<< (7 &+ m)
            var i = 0
            while i < m {
                scaled = scaled &>> 1
                let bin = value >= scaled ? 1 : 0
                value = value &- (scaled & (0 &- bin))
                bins = (bins &<< 1) | UInt32(truncatingIfNeeded: bin)
                i &+= 1
            }
            left &-= m
        }
        return bins
    }

    /// The terminating bin (1 = end of the arithmetic-coded data).
    @inline(__always)
    mutating func decodeTerminate() -> Int {
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
        let newPos: Int
        if bitOff != 0 {
            newPos = byteOff &+ 1
            bitsNeeded = bitOff &- 9
        } else {
            newPos = byteOff
            bitsNeeded = -1
        }
        guard newPos >= 1, newPos <= count else { return false }
        ptr = start + newPos
        range = 256
        let prev = Int(start[newPos &- 1])
        value = ((epValue & 0xFF) &<< 7) &+ ((prev &<< (8 &+ bitsNeeded)) & 127)
        return true
    }

    /// Absolute bit position in the file of the next bit to enter the value register.
    @inline(__always)
    func filePosition(fileOffset: Int) -> BitPosition {
        let p = min(pos, count)
        let bit = (fileOffset &+ p) &* 8 &+ bitsNeeded
        return BitPosition(absoluteBit: Swift.max(bit, fileOffset &* 8))
    }
}

/// Owns a copy of the payload bytes at a stable address, followed by `padding` zero bytes.
@usableFromInline
final class PayloadBytes {
    /// Zero bytes after the payload: more than the decoder can fetch between two overread checks
    /// (one coded position needs at most 1 + 1 + 256 + 31 context bins and 31 bypass bins; the
    /// estimator-selection list at most 1114 flags with 3 bypass bins each).
    static let padding = 4096
    @usableFromInline let base: UnsafeMutablePointer<UInt8>
    @usableFromInline let count: Int

    init(_ bytes: [UInt8]) {
        count = bytes.count
        base = UnsafeMutablePointer<UInt8>.allocate(capacity: bytes.count + PayloadBytes.padding)
        bytes.withUnsafeBufferPointer { src in
            if let s = src.baseAddress, src.count > 0 { base.initialize(from: s, count: src.count) }
        }
        (base + bytes.count).initialize(repeating: 0, count: PayloadBytes.padding)
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
        guard reader.value < reader.range << 7 else {
            throw NNRError(.payload("first two bytes \(bytes[0]) \(bytes[1]) exceed the initial range"),
                           element: "cabac_init", byteOffset: fileOffset)
        }
    }

    /// Current 9-bit range.
    public var range: Int { reader.range }
    /// The value register (window scaled by 2^7).
    public var value: Int { reader.value }
    /// −8…−1.
    public var bitsNeeded: Int { reader.bitsNeeded }
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
        var c = DecoderContext(s01: context.s01, s0: context.s0, shift0: context.shift0, shift1: context.shift1)
        let bin = withUnsafeMutablePointer(to: &c) { reader.decodeBin($0) }
        context.s01 = Int32(truncatingIfNeeded: c.s01)
        context.s0 = Int32(truncatingIfNeeded: c.s0)
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
