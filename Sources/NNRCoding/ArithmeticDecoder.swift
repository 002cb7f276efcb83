import CDecoderTables
import NNRBitIO

// The DeepCABAC arithmetic decoder (9-bit range, byte-wise input), spec section 5.5.
//
// `CABACReader` is the register file used by the hot loops (a plain struct of integers and
// pointers, so it lives in registers once inlined); `ArithmeticDecoder` is a safe public wrapper
// for tests and tools.

/// Context state as the decoder keeps it (16 bytes): the two halves of the dual-rate state (S0
/// fast, S1 slow; S01 = S1 + 16·S0, spec 5.2) stored biased, u0 = S0 + 128 and u1 = S1 + 2048, each
/// as an index into its update table (which holds the next index), the MPS and the rLPS of all
/// eight range classes for the current state (so the bin decision loads no table). Same arithmetic
/// as `ContextModel`: every state the decoder can reach comes from an initial state through the
/// update, and those have |S0| ≤ 123, |S1| ≤ 1923 (the tables wrap u0 mod 256 and u1 mod 4096 for
/// the others, which keeps every index inside its table).
@usableFromInline
struct DecoderContext {
    /// Byte i = rLPS for range class i = (range >> 5) & 7 at the current |S01 >> 7|.
    @usableFromInline var lps: UInt64
    /// Slow half: row · 4096 + u1, u1 = S1 + 2048 (0…4095), row = the context's shift1 among the
    /// filled rows of the slow table (`DecoderTables.slowRow`).
    @usableFromInline var slow: UInt16
    /// Fast half: shift0 · 256 + u0, u0 = S0 + 128 (0…255).
    @usableFromInline var fast: UInt16
    /// The more probable symbol (S01 ≥ 0).
    @usableFromInline var mps: UInt8

    /// The initial state of estimator parameter set `index` (0…8).
    @inline(__always)
    init(set index: Int) {
        self = DecoderTables.initial(set: index)
    }

    /// Any state, with `tables` (`DecoderTables.base`, or the allocation being filled: only the
    /// rLPS rows are read).
    @inline(__always)
    init(s01: Int32, s0: Int32, shift0: Int32, shift1: Int32, tables: UnsafeRawPointer = DecoderTables.base) {
        let u0 = (Int(s0) &+ 128) & 255
        let u1 = (Int(s01) &- (Int(s0) &<< 4) &+ 2048) & 4095
        fast = UInt16(truncatingIfNeeded: Int(shift0 & 7) &<< 8 | u0)
        slow = UInt16(truncatingIfNeeded: DecoderTables.slowRow(shift1: shift1) &<< 12 | u1)
        // h = u0 + (u1 >> 4): the rLPS row is h >> 3 (= (S01 >> 7) + 32), the MPS h >> 8
        let h = u0 &+ (u1 &>> 4)
        mps = UInt8(truncatingIfNeeded: h &>> 8)
        lps = tables.load(fromByteOffset: DecoderTables.rowOffset &+ ((h &>> 3) &<< 3), as: UInt64.self)
    }

    /// S0.
    @inline(__always)
    var s0: Int { Int(fast & 255) &- 128 }

    /// S01 = S1 + 16·S0.
    @inline(__always)
    var s01: Int { Int(slow & 4095) &- 2048 &+ (s0 &<< 4) }
}

/// Constant tables, precomputed once into one raw allocation so the hot loop reaches all of them
/// through a single base pointer (no bounds checks, no lazy-global checks).
@usableFromInline
enum DecoderTables {
    /// 64 UInt64 by h >> 3 = (S01 >> 7) + 32: byte i = RPS table entry [range class i][|S01 >> 7|].
    static let rowOffset = 0
    /// 8 × 256 × 2 UInt32 by [fast][bin]: the new state of the fast half, (n0 << 16) | new fast, for
    /// S0 + sign·(C[16 + ((sign·S0) >> 3)] >> shift0), n0 = its u0.
    static let fastOffset = 512
    /// 3 × 4096 × 2 UInt32 by [slow][bin]: the new state of the slow half, ((n1 >> 4) << 16) | new
    /// slow, for S1 + sign·(C[16 + ((sign·S1) >> 7)] >> shift1), n1 = its u1. Only the shift1 values
    /// of the estimator parameter sets (`slowShifts`; the decoder's contexts take their shifts from
    /// those sets) have a row: 3 rows instead of 8.
    /// The sum of the two entries is (h << 16) | (fast + slow) with h = n0 + (n1 >> 4) (no carry:
    /// fast + slow < 2^16): one add gives the row (sum >> 19) and the MPS (sum >> 24).
    static let slowOffset = 512 + 8 * 256 * 8
    static let slowRows = 3
    static let byteCount = slowOffset + slowRows * 4096 * 8
    /// Bit `shift1` set for every shift1 (0…7) of the estimator parameter sets.
    static let slowShifts: Int = nnrEstimatorParameterSets.reduce(0) { $0 | 1 << Int($1.shift1 & 7) }

    /// The slow-half row of `shift1` is filled.
    @inline(__always)
    static func hasSlowTable(shift1: Int32) -> Bool { slowShifts & (1 << Int(shift1 & 7)) != 0 }

    /// The row of `shift1` in the slow table: the number of filled shifts below it (for a shift1
    /// without a row, 0: such a context is only decided, never updated, by table).
    @inline(__always)
    static func slowRow(shift1: Int32) -> Int {
        hasSlowTable(shift1: shift1) ? (slowShifts & ((1 << Int(shift1 & 7)) - 1)).nonzeroBitCount : 0
    }

    /// The tables: the copy precomputed into the binary (CDecoderTables, generated from `fill` and
    /// checked against it by DecoderTablesTests) when its size matches this layout on a
    /// little-endian machine, else built here. Building them took 0.71M instructions and 28 fresh
    /// pages at every start (a tenth of a small file's decode start-up).
    static let base: UnsafeRawPointer = {
        #if _endian(little)
        if nnr_decoder_tables_size() == byteCount { return nnr_decoder_tables() }
        #endif
        let raw = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
        fill(raw)
        return UnsafeRawPointer(raw)
    }()

    /// Writes the `byteCount` bytes of the tables at `raw` (the rLPS rows, then the fast and slow
    /// update tables, each entry from `ContextModel.step`, the one definition of the update).
    static func fill(_ raw: UnsafeMutableRawPointer) {
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        let rows = (raw + rowOffset).bindMemory(to: UInt64.self, capacity: 64)
        for j in 0..<64 {
            let mag = Swift.min(abs(j - 32), 31)      // |S01 >> 7| (reachable states: ≤ 31)
            var row: UInt64 = 0
            for rangeClass in 0..<8 { row |= UInt64(nnrRangeLPSTable[rangeClass * 32 + mag]) << (8 * rangeClass) }
            rows[j] = row
        }
        let fast = (raw + fastOffset).bindMemory(to: UInt32.self, capacity: 8 * 256 * 2)
        let slow = (raw + slowOffset).bindMemory(to: UInt32.self, capacity: slowRows * 4096 * 2)
        let table = nnrCurveTable
        for sh in 0..<8 {
            let row = slowRow(shift1: Int32(sh))
            for bin in 0..<2 {
                for u0 in 0..<256 {
                    let v = ContextModel.step(Int32(u0 - 128), bin: bin == 1, precision: 3, shift: Int32(sh),
                                              curve: { ContextModel.curve($0, in: table) })
                    let n0 = Int(v + 128) & 255
                    fast[(sh * 256 + u0) * 2 + bin] = UInt32(n0 << 16 | sh << 8 | n0)
                }
                guard hasSlowTable(shift1: Int32(sh)) else { continue }
                for u1 in 0..<4096 {
                    let v = ContextModel.step(Int32(u1 - 2048), bin: bin == 1, precision: 7, shift: Int32(sh),
                                              curve: { ContextModel.curve($0, in: table) })
                    let n1 = Int(v + 2048) & 4095
                    slow[(row * 4096 + u1) * 2 + bin] = UInt32((n1 >> 4) << 16 | row << 12 | n1)
                }
            }
        }
    }

    /// The context of each estimator parameter set in its initial state (index 0…8).
    static let initialContexts: UnsafePointer<DecoderContext> = {
        let initial = UnsafeMutablePointer<DecoderContext>.allocate(capacity: nnrEstimatorParameterSets.count)
        for (i, p) in nnrEstimatorParameterSets.enumerated() {
            initial[i] = DecoderContext(s01: p.initialS01, s0: p.initialS0, shift0: p.shift0, shift1: p.shift1, tables: base)
        }
        return UnsafePointer(initial)
    }()

    /// The initial context of estimator parameter set `index` (0…8).
    @inline(__always)
    static func initial(set index: Int) -> DecoderContext {
        initialContexts[index]
    }
}

/// The arithmetic decoder's registers plus its input (spec 5.5), with a 64-bit value window.
///
/// `window` holds the arithmetic offset scaled by 2^54 (always < range · 2^54): its integer part
/// (the 9 bits compared with the range) in bits 54…62 and `avail` further fetched bits below them;
/// bits below those are zero. A refill inserts as many whole bytes as fit (at least 6), so bytes
/// are fetched about every 50 value shifts. The byte-wise register view of spec 5.5 (value scaled
/// by 2^7, bitsNeeded, bytes fetched) is derived from P = value shifts since init.
///
/// The input buffer holds `count` payload bytes followed by `PayloadBytes.padding` zero bytes, so
/// fetching needs no bounds check; callers check `ptr` against `start + count + fetchAhead` often
/// enough (at least once per coded position) that the padding is never exhausted.
@usableFromInline
struct CABACReader {
    /// Bit position of the window's integer part.
    @usableFromInline static let scale = 54
    /// Bytes a refill may fetch beyond the byte-wise decoder (a pointer beyond
    /// `start + count + fetchAhead` means the byte-wise decoder has read past the payload).
    @usableFromInline static let fetchAhead = 8

    /// The next byte to fetch.
    @usableFromInline var ptr: UnsafePointer<UInt8>
    @usableFromInline let start: UnsafePointer<UInt8>
    @usableFromInline let count: Int
    /// 9-bit range (256…510 between bins).
    @usableFromInline var range: Int
    /// The offset scaled by 2^54.
    @usableFromInline var window: UInt64
    /// Fetched bits below the integer part (≥ 0 between bins).
    @usableFromInline var avail: Int
    @usableFromInline let tables: UnsafeRawPointer

    /// Starts decoding at the first byte (range 510, the first 9 bits as the offset).
    @inline(__always)
    init(base: UnsafePointer<UInt8>, count: Int) {
        start = base
        ptr = base
        self.count = count
        range = 510
        window = 0
        avail = -9
        tables = DecoderTables.base
        refill()
    }

    /// Inserts the next whole bytes that fit below the fetched bits (1…7 bytes; at least 6 when
    /// `avail` < 0).
    @inline(__always)
    mutating func refill() {
        let free = CABACReader.scale &- avail               // bits 0 ..< free are not fetched (8…63)
        let bytes = free &>> 3
        let w = UInt64(bigEndian: UnsafeRawPointer(ptr).loadUnaligned(as: UInt64.self))
        let bits = bytes &<< 3
        window |= (w &>> UInt64(truncatingIfNeeded: 64 &- bits)) &<< UInt64(truncatingIfNeeded: free &- bits)
        ptr += bytes
        avail &+= bits
    }

    /// P = number of value shifts since init (spec 5.8).
    @inline(__always)
    var bitOffset: Int { ((ptr - start) &<< 3) &- 9 &- avail }

    /// Bytes the byte-wise decoder of spec 5.5 has fetched so far (2 at init, one more every 8 shifts).
    @inline(__always)
    var pos: Int { (bitOffset &>> 3) &+ 2 }

    /// The byte-wise decoder's bitsNeeded (−8…−1).
    @inline(__always)
    var bitsNeeded: Int { (bitOffset & 7) &- 8 }

    /// The byte-wise decoder's value register (the offset scaled by 2^7, the bits it has not
    /// fetched yet zero).
    @inline(__always)
    var value: Int {
        let v = Int(truncatingIfNeeded: window &>> UInt64(CABACReader.scale &- 7))
        return v & ~((1 &<< (bitOffset & 7)) &- 1)
    }

    /// true once the byte-wise decoder would have fetched a byte beyond the payload.
    @inline(__always)
    var overread: Bool { pos > count }

    @inline(__always)
    mutating func shift(_ n: Int) {
        window = window &<< UInt64(truncatingIfNeeded: n)
        avail &-= n
        if avail < 0 { refill() }
    }

    /// One context-coded bin (0 or 1); updates the context.
    @inline(__always)
    mutating func decodeBin(_ c: UnsafeMutablePointer<DecoderContext>) -> Int {
        let bin = decodeDecision(c)
        update(c, bin: bin)
        return bin
    }

    /// One context-coded bin (0 or 1) without the context update.
    @inline(__always)
    mutating func decodeDecision(_ c: UnsafeMutablePointer<DecoderContext>) -> Int {
        let rlps = Int(truncatingIfNeeded: c.pointee.lps &>> UInt64(truncatingIfNeeded: (range &>> 2) & 0x38)) & 0xFF
        let rmps = range &- rlps
        var bin = Int(c.pointee.mps)
        let n: Int
        // window < rmps · 2^54 exactly when its integer part is < rmps
        if Int(truncatingIfNeeded: window &>> UInt64(CABACReader.scale)) < rmps {
            let small = rmps < 256
            n = small ? 1 : 0
            range = small ? rmps &+ rmps : rmps
        } else {
            bin ^= 1
            window = window &- (UInt64(truncatingIfNeeded: rmps) &<< UInt64(CABACReader.scale))
            n = rlps.leadingZeroBitCount &- (Int.bitWidth &- 9)
            range = rlps &<< n
        }
        shift(n)
        return bin
    }

    /// The estimator update (spec 5.2), both halves by table.
    @inline(__always)
    func update(_ c: UnsafeMutablePointer<DecoderContext>, bin: Int) {
        let e0 = tables.load(fromByteOffset: DecoderTables.fastOffset &+ (Int(c.pointee.fast) &* 2 &+ bin) &* 4,
                             as: UInt32.self)
        let e1 = tables.load(fromByteOffset: DecoderTables.slowOffset &+ (Int(c.pointee.slow) &* 2 &+ bin) &* 4,
                             as: UInt32.self)
        c.pointee.fast = UInt16(truncatingIfNeeded: e0)
        c.pointee.slow = UInt16(truncatingIfNeeded: e1)
        let sum = Int(e0 &+ e1)
        c.pointee.mps = UInt8(truncatingIfNeeded: sum &>> 24)
        c.pointee.lps = tables.load(fromByteOffset: DecoderTables.rowOffset &+ ((sum &>> 19) &<< 3), as: UInt64.self)
    }

    /// One bypass bin.
    @inline(__always)
    mutating func decodeBypass() -> Int {
        shift(1)
        let sr = UInt64(truncatingIfNeeded: range) &<< UInt64(CABACReader.scale)
        if window >= sr {
            window = window &- sr
            return 1
        }
        return 0
    }

    /// `n` (0…32) bypass bins, MSB first.
    @inline(__always)
    mutating func decodeBypassBins(_ n: Int) -> UInt32 {
        var bins: UInt32 = 0
        var left = n
        let sr = UInt64(truncatingIfNeeded: range) &<< UInt64(CABACReader.scale)
        while left > 0 {
            if avail < left { refill() }
            let m = Swift.min(left, avail)
            var i = 0
            while i < m {
                window = window &<< 1
                let bin: UInt64 = window >= sr ? 1 : 0
                window = window &- (sr & (0 &- bin))
                bins = (bins &<< 1) | UInt32(truncatingIfNeeded: bin)
                i &+= 1
            }
            avail &-= m
            left &-= m
        }
        return bins
    }

    /// The terminating bin (1 = end of the arithmetic-coded data).
    @inline(__always)
    mutating func decodeTerminate() -> Int {
        range = range &- 2
        let sr = UInt64(truncatingIfNeeded: range) &<< UInt64(CABACReader.scale)
        if window >= sr { return 1 }
        if range < 256 {
            range = range &<< 1
            shift(1)
        }
        return 0
    }

    /// Jumps to an entry point: bit offset P (relative to the start of the payload), ep_value;
    /// range := 256. Returns false if P lies outside the payload.
    @inline(__always)
    mutating func seek(bitOffset p: Int, epValue: Int) -> Bool {
        guard p >= 0, p <= 8 &* count else { return false }
        // the byte-wise decoder's registers at P
        let byteOff = (p &+ 9) >> 3
        let bitOff = (p &+ 9) & 7
        let newPos: Int
        let bitsNeeded: Int
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
        let value = ((epValue & 0xFF) &<< 7) &+ ((prev &<< (8 &+ bitsNeeded)) & 127)
        window = UInt64(truncatingIfNeeded: value) &<< UInt64(CABACReader.scale &- 7)
        avail = -1 &- bitsNeeded
        return true
    }

    /// Absolute bit position in the file of the next bit to enter the byte-wise value register.
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

    /// Copies `bytes` (e.g. straight from a mapped file, without an intermediate array).
    init(_ bytes: UnsafeRawBufferPointer) {
        count = bytes.count
        base = PayloadBytes.padded(bytes)
    }

    init(_ bytes: [UInt8]) {
        count = bytes.count
        base = bytes.withUnsafeBytes { PayloadBytes.padded($0) }
    }

    /// A new allocation holding `bytes` and then `padding` zero bytes.
    private static func padded(_ bytes: UnsafeRawBufferPointer) -> UnsafeMutablePointer<UInt8> {
        // (a payload of 256 KiB or more on 2 MiB pages: 114 fewer page faults for the 0.47 MB of
        // the 1024x1024 vector)
        let base = HugePages.allocate(UInt8.self, capacity: bytes.count + PayloadBytes.padding)
        if let s = bytes.baseAddress, bytes.count > 0 {
            UnsafeMutableRawPointer(base).copyMemory(from: s, byteCount: bytes.count)
        }
        (base + bytes.count).initialize(repeating: 0, count: PayloadBytes.padding)
        return base
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
        if DecoderTables.hasSlowTable(shift1: context.shift1) {
            let bin = withUnsafeMutablePointer(to: &c) { reader.decodeBin($0) }
            context.s01 = Int32(truncatingIfNeeded: c.s01)
            context.s0 = Int32(truncatingIfNeeded: c.s0)
            try checkOverread("decision_bin")
            return bin
        }
        // a shift1 no parameter set has: the update the tables would hold (same wrapping)
        let bin = withUnsafeMutablePointer(to: &c) { reader.decodeDecision($0) }
        let s0 = Int32(truncatingIfNeeded: c.s0)
        let s1 = Int32(truncatingIfNeeded: c.s01) &- (s0 &<< 4)
        let n0 = ContextModel.step(s0, bin: bin == 1, precision: 3, shift: context.shift0 & 7, curve: { ContextModel.curve($0) })
        let n1 = ContextModel.step(s1, bin: bin == 1, precision: 7, shift: context.shift1 & 7, curve: { ContextModel.curve($0) })
        let w0 = ((n0 &+ 128) & 255) &- 128
        context.s0 = w0
        context.s01 = ((n1 &+ 2048) & 4095) &- 2048 &+ (w0 &<< 4)
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
