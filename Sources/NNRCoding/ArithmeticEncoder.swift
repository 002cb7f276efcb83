// The DeepCABAC arithmetic encoder (spec notes 5.6): 9-bit range, 32-bit low register,
// byte-wise output with carry resolution through a buffered byte and a count of pending 0xFF bytes.

/// Constant tables of the coder and the estimator, copied once into raw memory so that the
/// encoder's hot loops read them without bounds checks or lazy-global checks. Never freed.
@usableFromInline
final class EncoderTables: @unchecked Sendable {
    @usableFromInline static let shared = EncoderTables()

    /// rLPS indexed by 64·((range >> 5) & 7) + (S01 >> 7) (signed; the pointer is offset by 32, the
    /// table holds RPS[32·class + |S01 >> 7|]).
    @usableFromInline let rangeLPSSigned: UnsafeMutablePointer<UInt32>
    /// The renormalisation shift after an LPS, beside `rangeLPSSigned` with the same index: the
    /// shifts that bring that rLPS to ≥ 256. (After an MPS the shift is 0 or 1: rMPS ≥ 128 in
    /// every range class, see `mpsShiftIsAtMostOne`.)
    @usableFromInline let lpsShiftSigned: UnsafeMutablePointer<UInt32>
    /// The eight rLPS of one estimator state, one byte per range class (byte c: class c), indexed
    /// by S01 >> 7 (signed; the pointer is offset by 32). The rLPS of a bin is a shift of this word
    /// by 8·((range >> 5) & 7): no table load on the range's dependency chain.
    @usableFromInline let rangeLPSPacked: UnsafeMutablePointer<UInt64>
    /// The LPS renormalisation shifts beside `rangeLPSPacked`, packed the same way.
    @usableFromInline let lpsShiftPacked: UnsafeMutablePointer<UInt64>
    /// Renormalisation shift count by r >> 1 for r in 2…511 (the shifts that bring r to ≥ 256).
    @usableFromInline let renorm: UnsafeMutablePointer<UInt32>
    /// Next 16·S0 by shift sh0 = 0…7, indexed by S0: [256·bin + S0] (pointer offset by 128; S0 in
    /// −128…127), 1 KiB per shift. Keeping S0 scaled by 16 saves a shift when forming
    /// S01 = S1 + 16·S0.
    @usableFromInline let nextS0x16: [UnsafeMutablePointer<Int16>]
    /// Next S1 by shift sh1 = 4…7: [4096·bin + S1] (pointer offset by 2048; S1 in −2048…2047).
    @usableFromInline let nextS1: [UnsafeMutablePointer<Int16>]

    private init() {
        let rps = nnrRangeLPSTable
        let base = UnsafeMutablePointer<UInt32>.allocate(capacity: 512)
        for cls in 0..<8 {
            for m in -32..<32 {
                let mag = Swift.min(abs(m), 31)
                let k = 32 * cls + mag
                base[64 * cls + 32 + m] = k < rps.count ? UInt32(rps[k]) : 2
            }
        }
        rangeLPSSigned = base + 32
        renorm = .allocate(capacity: 256)
        for h in 0..<256 {
            var r = Swift.max(h << 1, 2)
            var n: UInt32 = 0
            while r < 256 { r <<= 1; n += 1 }
            renorm[h] = n
        }
        let shifts = UnsafeMutablePointer<UInt32>.allocate(capacity: 512)
        for i in 0..<512 { shifts[i] = renorm[Int(base[i] >> 1)] }
        lpsShiftSigned = shifts + 32
        let packed = UnsafeMutablePointer<UInt64>.allocate(capacity: 64)
        let packedShifts = UnsafeMutablePointer<UInt64>.allocate(capacity: 64)
        for m in 0..<64 {
            var p: UInt64 = 0, q: UInt64 = 0
            for cls in 0..<8 {
                p |= UInt64(base[64 * cls + m]) << (8 * cls)
                q |= UInt64(shifts[64 * cls + m]) << (8 * cls)
            }
            packed[m] = p
            packedShifts[m] = q
        }
        rangeLPSPacked = packed + 32
        lpsShiftPacked = packedShifts + 32
        // S += σ·(C[16 + ((σ·S) >> k)] >> sh), σ = +1 for bin 1, −1 for bin 0 (spec 5.2). The
        // domains are closed under the update (|S0| ≤ 123, |S1| ≤ 1923 from any state inside them).
        var n0: [UnsafeMutablePointer<Int16>] = []
        var n1: [UnsafeMutablePointer<Int16>] = []
        let table = nnrCurveTable
        for sh in 0..<8 {
            let t0 = UnsafeMutablePointer<Int16>.allocate(capacity: 512)
            let t1 = UnsafeMutablePointer<Int16>.allocate(capacity: 8192)
            func step(_ v: Int, _ bin: Bool, _ k: Int32) -> Int {
                Int(ContextModel.step(Int32(v), bin: bin, precision: k, shift: Int32(sh), curve: { ContextModel.curve($0, in: table) }))
            }
            for v in -128..<128 {
                t0[128 + v] = Int16(16 * Swift.min(Swift.max(step(v, false, 3), -128), 127))
                t0[256 + 128 + v] = Int16(16 * Swift.min(Swift.max(step(v, true, 3), -128), 127))
            }
            for v in -2048..<2048 {
                t1[2048 + v] = Int16(clamping: step(v, false, 7))
                t1[4096 + 2048 + v] = Int16(clamping: step(v, true, 7))
            }
            n0.append(t0 + 128)
            n1.append(t1 + 2048)
        }
        nextS0x16 = n0
        nextS1 = n1
    }
}

extension EncoderTables {
    /// Whether every rMPS = range − rLPS is at least 128 (one renormalisation shift at most), the
    /// property `ArithmeticEncoder.encodeBin` relies on. A test checks it.
    static var mpsShiftIsAtMostOne: Bool {
        let rps = nnrRangeLPSTable
        for range in 256..<512 {
            let cls = (range >> 5) & 7
            for m in 0..<32 where Int(rps[32 * cls + m]) > range - 128 { return false }
        }
        return true
    }
}

/// The state of one context as the encoder keeps it: the SBMP estimator with its two halves kept
/// apart as 16·S0 and S1 (S01 = S1 + 16·S0), the next-state tables of its parameter set's shifts, and
/// the set's initial state (for block-row resets).
@usableFromInline
struct EncoderContext {
    /// 16·S0.
    @usableFromInline var s0: Int
    @usableFromInline var s1: Int
    @usableFromInline var next0: UnsafeMutablePointer<Int16>
    @usableFromInline var next1: UnsafeMutablePointer<Int16>
    @usableFromInline var initS0: Int
    @usableFromInline var initS1: Int

    @inline(__always) @usableFromInline
    init(set index: Int, tables t: EncoderTables) {
        let p = nnrEstimatorParameterSets[index]
        s0 = Int(p.initialS0) << 4
        s1 = Int(p.initialS01) - (Int(p.initialS0) << 4)
        initS0 = s0
        initS1 = s1
        next0 = t.nextS0x16[Int(p.shift0) & 7]
        next1 = t.nextS1[Int(p.shift1) & 7]
    }

    @inline(__always) @usableFromInline
    mutating func reset() {
        s0 = initS0
        s1 = initS1
    }

    /// S01 = S1 + 16·S0.
    @inline(__always) @usableFromInline
    var s01: Int { s1 &+ s0 }

    /// Adapts the state to `bin` (spec 5.2) by table lookup.
    @inline(__always) @usableFromInline
    mutating func update(_ bin: UInt32) {
        s0 = Int(next0[(Int(bin) &<< 8) &+ (s0 &>> 4)])
        s1 = Int(next1[(Int(bin) &<< 12) &+ s1])
    }
}

/// The output side of the arithmetic encoder: the byte buffer, the buffered byte and the count of
/// pending 0xFF bytes (carry resolution). Only touched once per output byte.
@usableFromInline
struct EncoderByteSink: Sendable {
    @usableFromInline var bufferedByte: UInt32 = 0xFF
    @usableFromInline var numBuffered: UInt32 = 0
    @usableFromInline var writeOuts: Int = 0
    @usableFromInline var bytes: [UInt8] = []

    @usableFromInline init() {}

    /// Takes the next lead byte (8 bits plus a possible carry bit).
    @inline(never) @usableFromInline
    mutating func put(_ lead: UInt32) {
        writeOuts &+= 1
        if lead == 0xFF {
            numBuffered &+= 1
        } else if numBuffered > 0 {
            let carry = lead &>> 8
            bytes.append(UInt8(truncatingIfNeeded: bufferedByte &+ carry))
            bufferedByte = lead & 0xFF
            let fill = UInt8(truncatingIfNeeded: 0xFF &+ carry)
            while numBuffered > 1 {
                bytes.append(fill)
                numBuffered &-= 1
            }
        } else {
            numBuffered = 1
            bufferedByte = lead & 0xFF
        }
    }
}

/// The arithmetic encoder of an NNR payload (one per NDU payload).
///
/// `bitPosition` counts the bits the decoder has shifted into its value register at the matching point
/// (spec 5.8, "P"), which is what entry points are measured in.
public struct ArithmeticEncoder: Sendable {
    @usableFromInline var low: UInt32 = 0
    @usableFromInline var range: UInt32 = 510
    @usableFromInline var bitsLeft: Int32 = 23
    @usableFromInline var out = EncoderByteSink()

    /// Bytes output so far (not yet including pending bytes; complete after `finish()`).
    public var bytes: [UInt8] { out.bytes }

    public init() {}

    public init(reservingCapacity n: Int) {
        out.bytes.reserveCapacity(n)
    }

    /// The current 9-bit range.
    public var currentRange: UInt32 { range }

    /// Total number of range renormalisation shifts and bypass bins so far: the decoder's bit
    /// position P at the same point of the payload (0 at the start).
    @inline(__always)
    public var bitPosition: Int { out.writeOuts &* 8 &+ 23 &- Int(bitsLeft) }

    /// The low 9 bits of the code interval's lower end (aligned with the range's LSB), used to derive
    /// ep_value once the final bytes are known.
    @inline(__always)
    var lowBits9: UInt32 { low & 511 }

    @inline(__always) @usableFromInline
    mutating func writeOut() {
        let lead = low &>> UInt32(truncatingIfNeeded: 24 &- bitsLeft)
        bitsLeft &+= 8
        low &= 0xFFFF_FFFF &>> UInt32(truncatingIfNeeded: bitsLeft)
        out.put(lead)
    }

    /// Encodes a context-coded bin with an encoder context, then adapts it (hot path). The MPS and
    /// LPS cases share one renormalisation (the shift count is 0 or 1 after an MPS, 1…7 after an
    /// LPS). The LPS shift is read with rLPS, the MPS shift comes from rMPS, so the range's
    /// dependency chain holds one table load per bin. The compiler branches on MPS/LPS, which is
    /// cheapest when the outcome is predictable (significance and greater-than flags).
    @inline(__always) @usableFromInline
    mutating func encodeBin(_ bin: UInt32, _ c: UnsafeMutablePointer<EncoderContext>, _ t: EncoderTables) {
        encodeBin(bin, c, t, selecting: false)
    }

    /// `encodeBin` for a bin whose MPS/LPS outcome is unpredictable (the sign): both outcomes are
    /// computed and selected without a branch.
    @inline(__always) @usableFromInline
    mutating func encodeUnpredictableBin(_ bin: UInt32, _ c: UnsafeMutablePointer<EncoderContext>, _ t: EncoderTables) {
        encodeBin(bin, c, t, selecting: true)
    }

    @inline(__always) @usableFromInline
    mutating func encodeBin(_ bin: UInt32, _ c: UnsafeMutablePointer<EncoderContext>, _ t: EncoderTables,
                            selecting: Bool) {
        let s01 = c.pointee.s01
        let state = s01 &>> 7
        let byte = UInt64(truncatingIfNeeded: (range &>> 2) & 0x38)
        let rlps = UInt32(truncatingIfNeeded: t.rangeLPSPacked[state] &>> byte) & 0xFF
        let lpsShift = UInt32(truncatingIfNeeded: t.lpsShiftPacked[state] &>> byte) & 0xFF
        let rmps = range &- rlps
        // The MPS is 1 when S01 ≥ 0: the bin is the LPS when it equals the sign bit of S01.
        let isLPS = bin == UInt32(truncatingIfNeeded: UInt(bitPattern: s01) &>> 63)
        // After an MPS, rMPS (128…511) is doubled if below 256: 2·rMPS >> (rMPS >> 8), two shifts
        // on the range's dependency chain (the count 1 − (rMPS >> 8) is off it).
        let n: UInt32
        if selecting {
            // every value computed first: the selections below have nothing left to branch over
            let lpsRange = rlps &<< lpsShift
            let mpsRange = (rmps &<< 1) &>> (rmps &>> 8)
            let mpsShift = 1 &- (rmps &>> 8)
            let lowAdd = isLPS ? rmps : 0
            n = isLPS ? lpsShift : mpsShift
            range = isLPS ? lpsRange : mpsRange
            low &+= lowAdd
        } else {
            let r = isLPS ? rlps &<< lpsShift : (rmps &<< 1) &>> (rmps &>> 8)
            low &+= isLPS ? rmps : 0
            n = isLPS ? lpsShift : 1 &- (rmps &>> 8)
            range = r
        }
        low &<<= n
        bitsLeft &-= Int32(bitPattern: n)
        if bitsLeft < 12 { writeOut() }
        c.pointee.update(bin)
    }

    /// Encodes one context-coded bin with `context` and adapts the context.
    public mutating func encodeBin(_ bin: UInt32, context: inout ContextModel) {
        let t = EncoderTables.shared
        var c = EncoderContext(set: 0, tables: t)
        c.s0 = Int(context.s0) << 4
        c.s1 = Int(context.s01) - (Int(context.s0) << 4)
        c.next0 = t.nextS0x16[Int(context.shift0) & 7]
        c.next1 = t.nextS1[Int(context.shift1) & 7]
        withUnsafeMutablePointer(to: &c) { encodeBin(bin & 1, $0, t) }
        context.s0 = Int32(truncatingIfNeeded: c.s0 >> 4)
        context.s01 = Int32(truncatingIfNeeded: c.s01)
    }

    /// Encodes one bypass (equiprobable) bin.
    @inline(__always)
    public mutating func encodeBypass(_ bin: UInt32) {
        low &<<= 1
        if bin != 0 { low &+= range }
        bitsLeft &-= 1
        if bitsLeft < 12 { writeOut() }
    }

    /// Encodes the `count` low bits of `value` as bypass bins, most significant first (count ≤ 32).
    @inline(__always)
    public mutating func encodeBypassBins(_ value: UInt32, count: Int) {
        var n = count
        var v = n >= 32 ? value : value & ((1 &<< UInt32(truncatingIfNeeded: n)) &- 1)
        while n > 8 {
            n &-= 8
            let pattern = v &>> UInt32(truncatingIfNeeded: n)
            low = (low &<< 8) &+ range &* pattern
            v &-= pattern &<< UInt32(truncatingIfNeeded: n)
            bitsLeft &-= 8
            if bitsLeft < 12 { writeOut() }
        }
        if n > 0 {
            low = (low &<< UInt32(truncatingIfNeeded: n)) &+ range &* v
            bitsLeft &-= Int32(truncatingIfNeeded: n)
            if bitsLeft < 12 { writeOut() }
        }
    }

    /// Encodes a terminating bin (1 ends the payload; only 1 is used by NNR).
    public mutating func encodeTerminatingBin(_ bin: UInt32) {
        range &-= 2
        if bin != 0 {
            low &+= range
            low &<<= 7
            range = 256
            bitsLeft &-= 7
        } else if range >= 256 {
            return
        } else {
            low &<<= 1
            range &<<= 1
            bitsLeft &-= 1
        }
        if bitsLeft < 12 { writeOut() }
    }

    /// Sets range := 256 (block-row start, spec 5.8): a narrowing of the interval, not a restart.
    @inline(__always)
    public mutating func entryPointStart() {
        range = 256
    }

    /// Flushes the coder: resolves the pending bytes and appends the stop bit. Call once, after the
    /// terminating bin. Returns the complete byte stream.
    public mutating func finish() -> [UInt8] {
        let carryShift = UInt32(truncatingIfNeeded: 32 &- bitsLeft)
        if (low &>> carryShift) != 0 {
            out.bytes.append(UInt8(truncatingIfNeeded: out.bufferedByte &+ 1))
            while out.numBuffered > 1 {
                out.bytes.append(0x00)
                out.numBuffered &-= 1
            }
            low &-= 1 &<< carryShift
        } else {
            if out.numBuffered > 0 { out.bytes.append(UInt8(truncatingIfNeeded: out.bufferedByte)) }
            while out.numBuffered > 1 {
                out.bytes.append(0xFF)
                out.numBuffered &-= 1
            }
        }
        out.numBuffered = 0
        low &>>= 8
        low &<<= 1
        low &+= 1
        bitsLeft &-= 1
        let remaining = Int(24 &- bitsLeft)
        low &<<= UInt32(truncatingIfNeeded: 32 &- remaining)
        var i = 0
        while i < remaining {
            out.bytes.append(UInt8(truncatingIfNeeded: low &>> UInt32(truncatingIfNeeded: 24 &- i)))
            i &+= 8
        }
        return out.bytes
    }

    /// Number of bytes `finish()` would produce now (after a terminating bin), without changing this
    /// encoder.
    public func finishedByteCount() -> Int {
        var copy = self
        copy.out.bytes = []
        return out.bytes.count &+ copy.finish().count
    }
}
