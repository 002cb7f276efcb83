// The DeepCABAC arithmetic encoder (spec notes 5.6): 9-bit range, 32-bit low register,
// byte-wise output with carry resolution through a buffered byte and a count of pending 0xFF bytes.

/// Constant tables of the estimator and the bit-cost table, copied once into raw memory so that the
/// encoder's hot loops read them without bounds checks or lazy-global checks. Never freed.
@usableFromInline
final class EncoderTables: @unchecked Sendable {
    @usableFromInline static let shared = EncoderTables()

    /// rLPS by 32·((range >> 5) & 7) + |S01 >> 7| (256 entries).
    @usableFromInline let rangeLPS: UnsafeMutablePointer<UInt32>
    /// Adaptation curve, 32 entries.
    @usableFromInline let curve: UnsafeMutablePointer<Int32>
    /// Scaled bit costs, 2048 entries: [2·(512 + (S01 >> 3)) + bin].
    @usableFromInline let bits: UnsafeMutablePointer<UInt32>
    /// DQ transitions: [2·state + parity].
    @usableFromInline let dqNext: UnsafeMutablePointer<Int32>
    /// The curve shifted right by 4, 5, 6, 7 (C >> sh), pointers offset by 16 so that they are indexed
    /// with the signed (state >> k) directly.
    @usableFromInline let curveShifted4: UnsafeMutablePointer<Int32>
    @usableFromInline let curveShifted5: UnsafeMutablePointer<Int32>
    @usableFromInline let curveShifted6: UnsafeMutablePointer<Int32>
    @usableFromInline let curveShifted7: UnsafeMutablePointer<Int32>

    private init() {
        rangeLPS = .allocate(capacity: 256)
        for i in 0..<256 { rangeLPS[i] = i < nnrRangeLPSTable.count ? UInt32(nnrRangeLPSTable[i]) : 2 }
        curve = .allocate(capacity: 32)
        for i in 0..<32 { curve[i] = i < nnrCurveTable.count ? nnrCurveTable[i] : 0 }
        bits = .allocate(capacity: 2048)
        for i in 0..<2048 { bits[i] = i < nnrScaledEstimatedBits.count ? nnrScaledEstimatedBits[i] : 0 }
        dqNext = .allocate(capacity: 16)
        for i in 0..<16 { dqNext[i] = i < DependentQuantization.transition.count ? Int32(DependentQuantization.transition[i]) : 0 }
        func shifted(_ sh: Int32) -> UnsafeMutablePointer<Int32> {
            let p = UnsafeMutablePointer<Int32>.allocate(capacity: 32)
            for i in 0..<32 { p[i] = (i < nnrCurveTable.count ? nnrCurveTable[i] : 0) >> sh }
            return p + 16
        }
        curveShifted4 = shifted(4)
        curveShifted5 = shifted(5)
        curveShifted6 = shifted(6)
        curveShifted7 = shifted(7)
    }

    /// The pre-shifted curve for a shift of 4…7.
    @inline(__always) @usableFromInline
    func curveShifted(_ sh: Int32) -> UnsafeMutablePointer<Int32> {
        switch sh {
        case 4: return curveShifted4
        case 5: return curveShifted5
        case 6: return curveShifted6
        default: return curveShifted7
        }
    }
}

/// The state of one context as the encoder keeps it: the SBMP estimator with its two halves S0 and
/// S1 unpacked (S01 = S1 + 16·S0), the pre-shifted curves of its parameter set, and the set's initial
/// state (for block-row resets).
@usableFromInline
struct EncoderContext {
    @usableFromInline var s0: Int32
    @usableFromInline var s1: Int32
    /// C >> sh0 and C >> sh1, indexed by the signed (S0 >> 3) and (S1 >> 7).
    @usableFromInline var curve0: UnsafeMutablePointer<Int32>
    @usableFromInline var curve1: UnsafeMutablePointer<Int32>
    @usableFromInline var initS0: Int32
    @usableFromInline var initS1: Int32

    @inline(__always) @usableFromInline
    init(set index: Int, tables t: EncoderTables) {
        let p = nnrEstimatorParameterSets[index]
        s0 = p.initialS0
        s1 = p.initialS01 &- (p.initialS0 &<< 4)
        initS0 = s0
        initS1 = s1
        curve0 = t.curveShifted(p.shift0)
        curve1 = t.curveShifted(p.shift1)
    }

    @inline(__always) @usableFromInline
    mutating func reset() {
        s0 = initS0
        s1 = initS1
    }

    /// S01 = S1 + 16·S0.
    @inline(__always) @usableFromInline
    var s01: Int32 { s1 &+ (s0 &<< 4) }

    /// Adapts the state to `bin` (spec 5.2), branch-free: with σ = +1 for bin 1 and −1 for bin 0,
    /// S += σ·(C[16 + ((σ·S) >> k)] >> sh) for both halves.
    @inline(__always) @usableFromInline
    mutating func update(_ bin: UInt32) {
        let mask = Int32(bitPattern: bin) &- 1          // 0 for bin 1, −1 for bin 0
        let t0 = (s0 ^ mask) &- mask
        let t1 = (s1 ^ mask) &- mask
        let d0 = curve0[Int(t0 &>> 3)]
        let d1 = curve1[Int(t1 &>> 7)]
        s0 = s0 &+ ((d0 ^ mask) &- mask)
        s1 = s1 &+ ((d1 ^ mask) &- mask)
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

    /// Encodes a context-coded bin with an encoder context, then adapts it (hot path). Branch-free
    /// apart from the byte output: the MPS and LPS cases share one renormalisation (the shift count
    /// is 0 or 1 after an MPS, 1…7 after an LPS).
    @inline(__always) @usableFromInline
    mutating func encodeBin(_ bin: UInt32, _ c: UnsafeMutablePointer<EncoderContext>, _ rangeLPS: UnsafeMutablePointer<UInt32>) {
        let s01 = c.pointee.s01
        let m = s01 &>> 7
        let mag = (m ^ (m &>> 31)) &- (m &>> 31)
        let rlps = rangeLPS[Int(range & 0xE0) | Int(mag)]
        let rmps = range &- rlps
        // The MPS is 1 when S01 ≥ 0: the bin is the LPS when it equals the sign bit of S01.
        let isLPS = bin == UInt32(truncatingIfNeeded: s01) &>> 31
        let r = isLPS ? rlps : rmps
        low &+= isLPS ? rmps : 0
        let n = UInt32(truncatingIfNeeded: r.leadingZeroBitCount &- 23)
        range = r &<< n
        low &<<= n
        bitsLeft &-= Int32(bitPattern: n)
        if bitsLeft < 12 { writeOut() }
        c.pointee.update(bin)
    }

    /// Encodes one context-coded bin with `context` and adapts the context.
    public mutating func encodeBin(_ bin: UInt32, context: inout ContextModel) {
        let t = EncoderTables.shared
        var c = EncoderContext(set: 0, tables: t)
        c.s0 = context.s0
        c.s1 = context.s01 &- (context.s0 &<< 4)
        c.curve0 = t.curveShifted(context.shift0)
        c.curve1 = t.curveShifted(context.shift1)
        withUnsafeMutablePointer(to: &c) { encodeBin(bin & 1, $0, t.rangeLPS) }
        context.s0 = c.s0
        context.s01 = c.s01
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
