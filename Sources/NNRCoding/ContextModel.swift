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
        let sign: Int32 = bin != 0 ? 1 : -1
        var s1 = s01 &- (s0 &<< 4)
        s0 = s0 &+ sign &* (nnrCurveTable[Int(16 &+ ((sign &* s0) >> 3))] >> shift0)
        s1 = s1 &+ sign &* (nnrCurveTable[Int(16 &+ ((sign &* s1) >> 7))] >> shift1)
        s01 = s1 &+ (s0 &<< 4)
    }
}
