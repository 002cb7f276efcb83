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

    private init() {
        rangeLPS = .allocate(capacity: 256)
        for i in 0..<256 { rangeLPS[i] = i < nnrRangeLPSTable.count ? UInt32(nnrRangeLPSTable[i]) : 2 }
        curve = .allocate(capacity: 32)
        for i in 0..<32 { curve[i] = i < nnrCurveTable.count ? nnrCurveTable[i] : 0 }
        bits = .allocate(capacity: 2048)
        for i in 0..<2048 { bits[i] = i < nnrScaledEstimatedBits.count ? nnrScaledEstimatedBits[i] : 0 }
        dqNext = .allocate(capacity: 16)
        for i in 0..<16 { dqNext[i] = i < DependentQuantization.transition.count ? Int32(DependentQuantization.transition[i]) : 0 }
    }
}

/// The state of one context as the encoder keeps it: the SBMP estimator plus the initial values of
/// its selected parameter set (for block-row resets).
@usableFromInline
struct EncoderContext {
    @usableFromInline var s0: Int32
    @usableFromInline var s01: Int32
    @usableFromInline var shift0: Int32
    @usableFromInline var shift1: Int32
    @usableFromInline var initS0: Int32
    @usableFromInline var initS01: Int32
    @usableFromInline var set: Int32

    @inline(__always) @usableFromInline
    init(set index: Int) {
        let p = nnrEstimatorParameterSets[index]
        s0 = p.initialS0
        s01 = p.initialS01
        shift0 = p.shift0
        shift1 = p.shift1
        initS0 = p.initialS0
        initS01 = p.initialS01
        set = Int32(index)
    }

    @inline(__always) @usableFromInline
    mutating func reset() {
        s0 = initS0
        s01 = initS01
    }
}

/// Adapts a packed estimator state (S0, S01) to a bin, with shifts sh0/sh1 (spec 5.2).
@inline(__always) @usableFromInline
func nnrUpdateEstimator(_ s0: inout Int32, _ s01: inout Int32, bin: UInt32, sh0: Int32, sh1: Int32,
                        curve: UnsafeMutablePointer<Int32>) {
    var s1 = s01 &- (s0 &<< 4)
    if bin != 0 {
        s0 = s0 &+ (curve[Int(16 &+ (s0 &>> 3))] &>> sh0)
        s1 = s1 &+ (curve[Int(16 &+ (s1 &>> 7))] &>> sh1)
    } else {
        s0 = s0 &- (curve[Int(16 &+ ((0 &- s0) &>> 3))] &>> sh0)
        s1 = s1 &- (curve[Int(16 &+ ((0 &- s1) &>> 7))] &>> sh1)
    }
    s01 = s1 &+ (s0 &<< 4)
}

/// The arithmetic encoder of an NNR payload (one per NDU payload).
///
/// `bitPosition` counts the bits the decoder has shifted into its value register at the matching point
/// (spec 5.8, "P"), which is what entry points are measured in.
public struct ArithmeticEncoder: Sendable {
    @usableFromInline var low: UInt32 = 0
    @usableFromInline var range: UInt32 = 510
    @usableFromInline var bitsLeft: Int32 = 23
    @usableFromInline var bufferedByte: UInt32 = 0xFF
    @usableFromInline var numBuffered: UInt32 = 0
    @usableFromInline var writeOuts: Int = 0
    /// Bytes output so far (not yet including pending bytes; complete after `finish()`).
    public internal(set) var bytes: [UInt8] = []

    public init() {}

    public init(reservingCapacity n: Int) {
        bytes.reserveCapacity(n)
    }

    /// The current 9-bit range.
    public var currentRange: UInt32 { range }

    /// Total number of range renormalisation shifts and bypass bins so far: the decoder's bit
    /// position P at the same point of the payload (0 at the start).
    @inline(__always)
    public var bitPosition: Int { writeOuts &* 8 &+ 23 &- Int(bitsLeft) }

    /// The low 9 bits of the code interval's lower end (aligned with the range's LSB), used to derive
    /// ep_value once the final bytes are known.
    @inline(__always)
    var lowBits9: UInt32 { low & 511 }

    @inline(__always) @usableFromInline
    mutating func writeOut() {
        let lead = low &>> UInt32(truncatingIfNeeded: 24 &- bitsLeft)
        bitsLeft &+= 8
        low &= 0xFFFF_FFFF &>> UInt32(truncatingIfNeeded: bitsLeft)
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

    /// Encodes a context-coded bin with a raw estimator state, then adapts it (hot path).
    @inline(__always) @usableFromInline
    mutating func encodeBin(_ bin: UInt32, _ c: UnsafeMutablePointer<EncoderContext>, _ t: EncoderTables) {
        let s01 = c.pointee.s01
        let m = s01 &>> 7
        let mag = m < 0 ? 0 &- m : m
        let rlps = t.rangeLPS[Int(((range &>> 5) & 7) &<< 5) | Int(mag)]
        range &-= rlps
        let mps: UInt32 = s01 >= 0 ? 1 : 0
        if bin == mps {
            if range < 256 {
                range &<<= 1
                low &<<= 1
                bitsLeft &-= 1
                if bitsLeft < 12 { writeOut() }
            }
        } else {
            let n = Int32(truncatingIfNeeded: rlps.leadingZeroBitCount &- 23)
            low &+= range
            range = rlps &<< UInt32(truncatingIfNeeded: n)
            low &<<= UInt32(truncatingIfNeeded: n)
            bitsLeft &-= n
            if bitsLeft < 12 { writeOut() }
        }
        nnrUpdateEstimator(&c.pointee.s0, &c.pointee.s01, bin: bin, sh0: c.pointee.shift0, sh1: c.pointee.shift1,
                           curve: t.curve)
    }

    /// Encodes one context-coded bin with `context` and adapts the context.
    public mutating func encodeBin(_ bin: UInt32, context: inout ContextModel) {
        var c = EncoderContext(set: Int(context.setIndex))
        c.s0 = context.s0
        c.s01 = context.s01
        c.shift0 = context.shift0
        c.shift1 = context.shift1
        withUnsafeMutablePointer(to: &c) { encodeBin(bin & 1, $0, EncoderTables.shared) }
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
            bytes.append(UInt8(truncatingIfNeeded: bufferedByte &+ 1))
            while numBuffered > 1 {
                bytes.append(0x00)
                numBuffered &-= 1
            }
            low &-= 1 &<< carryShift
        } else {
            if numBuffered > 0 { bytes.append(UInt8(truncatingIfNeeded: bufferedByte)) }
            while numBuffered > 1 {
                bytes.append(0xFF)
                numBuffered &-= 1
            }
        }
        numBuffered = 0
        low &>>= 8
        low &<<= 1
        low &+= 1
        bitsLeft &-= 1
        let remaining = Int(24 &- bitsLeft)
        low &<<= UInt32(truncatingIfNeeded: 32 &- remaining)
        var i = 0
        while i < remaining {
            bytes.append(UInt8(truncatingIfNeeded: low &>> UInt32(truncatingIfNeeded: 24 &- i)))
            i &+= 8
        }
        return bytes
    }

    /// Number of bytes `finish()` would produce now (after a terminating bin), without changing this
    /// encoder.
    public func finishedByteCount() -> Int {
        var copy = self
        copy.bytes = []
        let before = bytes.count
        return before &+ copy.finish().count
    }
}
