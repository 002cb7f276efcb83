/// Dual-rate probability estimator of one context ("SBMP"): a fast state S0 and a slow state S1,
/// packed as S01 = S1 + 16·S0, with per-context shifts chosen by the estimator-selection syntax.
///
/// All arithmetic is on small bounded values (|S0| ≤ 123, |S1| ≤ 1923 for every reachable state),
/// so wrapping operators are used deliberately in the hot path.
public struct ContextModel: Sendable, Equatable {
    public var s0: Int32
    public var s01: Int32
    public var shift0: Int32
    public var shift1: Int32
    /// The parameter set the context was last initialised with (restored by `reset()`).
    public var setIndex: UInt8

    @inline(__always)
    public init(set index: Int = 0) {
        let p = nnrEstimatorParameterSets[index]
        s0 = p.initialS0
        s01 = p.initialS01
        shift0 = p.shift0
        shift1 = p.shift1
        setIndex = UInt8(truncatingIfNeeded: index)
    }

    /// Re-initialises with parameter set `index` (0…8).
    @inline(__always)
    public mutating func initialize(set index: Int) {
        self = ContextModel(set: index)
    }

    /// Restores the initial state of the selected set (block-row boundaries); shifts unchanged.
    @inline(__always)
    public mutating func reset() {
        let p = nnrEstimatorParameterSets[Int(setIndex)]
        s0 = p.initialS0
        s01 = p.initialS01
    }

    /// The more probable symbol: 1 if S01 ≥ 0.
    @inline(__always)
    public var mps: UInt32 { s01 >= 0 ? 1 : 0 }

    /// Index into `nnrRangeLPSTable` for a 9-bit range.
    @inline(__always)
    public func lpsTableIndex(range: UInt32) -> Int {
        let m = s01 >> 7
        let mag = m < 0 ? -m : m
        return Int(((range >> 5) & 7) << 5) &+ Int(mag)
    }

    /// Adapts the state to the coded bin.
    @inline(__always)
    public mutating func update(bin: UInt32) {
        (s0, s01) = ContextModel.updated(s0: s0, s01: s01, bin: bin != 0, shift0: shift0, shift1: shift1) {
            nnrCurveTable[$0]
        }
    }

    /// The estimator update of spec 5.2, the one definition (the decoder's and the encoder's
    /// precomputed tables and the quantizer's rate model use it): each half moves towards the bin
    /// by the adaptation curve C (`curve(i)` = nnrCurveTable[i]) at its own shift,
    /// S += σ·(C[16 + ((σ·S) >> k)] >> shift), σ = ±1, k = 3 for S0 and 7 for S1.
    @inlinable @inline(__always)
    public static func updated(s0: Int32, s01: Int32, bin: Bool, shift0: Int32, shift1: Int32,
                               curve: (Int) -> Int32) -> (s0: Int32, s01: Int32) {
        let n0 = step(s0, bin: bin, precision: 3, shift: shift0, curve: curve)
        let n1 = step(s01 &- (s0 &<< 4), bin: bin, precision: 7, shift: shift1, curve: curve)
        return (n0, n1 &+ (n0 &<< 4))
    }

    /// One half of the update: S + σ·(C[16 + ((σ·S) >> k)] >> shift) with k = `precision`.
    @inlinable @inline(__always)
    public static func step(_ s: Int32, bin: Bool, precision k: Int32, shift: Int32, curve: (Int) -> Int32) -> Int32 {
        let sign: Int32 = bin ? 1 : -1
        return s &+ sign &* (curve(Int(16 &+ ((sign &* s) >> k))) >> shift)
    }

    /// The adaptation curve C[i], 0 outside the table (only states outside the reachable
    /// ranges |S0| ≤ 123, |S1| ≤ 1923 reach outside it; the precomputed tables cover them too).
    @inline(__always)
    public static func curve(_ i: Int, in table: [Int32] = nnrCurveTable) -> Int32 {
        i >= 0 && i < table.count ? table[i] : 0
    }
}
