/// Dependent quantization (dq_flag = 1): the 8-state machine driven by the parity of each
/// quantization index k. The quantizer of a state is `state & 1`.
public enum DependentQuantization {
    /// next = transition[state * 2 + (k & 1)]
    public static let transition: [UInt8] = [0, 2, 7, 5, 1, 3, 6, 4, 2, 0, 5, 7, 3, 1, 4, 6]

    @inlinable @inline(__always)
    public static func nextState(_ state: Int, parity: Int) -> Int {
        // `transition` packed 4 bits per entry (no lazy-global access in hot loops; the shift count
        // is taken mod 64, so any state gives a state).
        Int(truncatingIfNeeded: (0x6413_7502_4631_5720 as UInt64) &>> UInt64(truncatingIfNeeded: ((state &<< 1) | (parity & 1)) &<< 2)) & 7
    }

    /// The DQ state after a skipped row segment, per state: `width` transitions with parity 0 (the
    /// full width even for a B-wide block-scan segment, spec 4.3 and 6). The parity-0 transitions
    /// form a permutation with cycles of lengths 1, 4, 2, 1, so width mod 4 steps suffice.
    public static func stateAfterSkippedSegment(width: Int) -> [Int] {
        (0..<8).map { s in
            var t = s
            for _ in 0..<(width & 3) { t = nextState(t, parity: 0) }
            return t
        }
    }

    /// Reconstruction index q from quantization index k in `state` (before the transition):
    /// q = 2k − sgn(k)·(state & 1).
    @inlinable @inline(__always)
    public static func reconstructionIndex(k: Int, state: Int) -> Int {
        if k == 0 { return 0 }
        let odd = state & 1
        return k > 0 ? (k &<< 1) &- odd : (k &<< 1) &+ odd
    }

    /// The same for int32 indices (wrapping as the int32 level would).
    @inlinable @inline(__always)
    public static func reconstructionIndex(k: Int32, state: Int) -> Int32 {
        Int32(truncatingIfNeeded: reconstructionIndex(k: Int(k), state: state))
    }

    /// Quantization indices k of the `count` reconstruction indices `q` coded from `state` on
    /// (written to `out` when `store`), advancing `state`; false if some q is not representable in
    /// the state it is coded in (or is Int32.min), and then `out` and `state` are unspecified.
    /// A representable q has |q| ≡ state (mod 2), so |k| = (|q| + (|q| & 1)) / 2 whatever the
    /// state: the state chain only carries the check and the transitions, four positions per table
    /// lookup (`blockTransitions`).
    @inlinable @inline(__always)
    public static func quantizationIndices(_ q: UnsafePointer<Int32>, count: Int, state: inout Int,
                                           into out: UnsafeMutablePointer<Int32>, store: Bool) -> Bool {
        let table = blockTransitions
        var st = state
        var bad: UInt32 = 0
        var i = 0
        // One position: |k|, and the bits of its k parity, |q| parity and q ≠ 0 at bit j.
        @inline(__always) func position(_ i: Int, _ j: UInt32, _ parity: inout UInt32, _ odd: inout UInt32,
                                        _ nonZero: inout UInt32) {
            let v = q[i]
            let a = v.magnitude
            let o = a & 1
            let m = (a &+ o) &>> 1
            if store {
                let s = UInt32(bitPattern: v &>> 31)
                out[i] = Int32(bitPattern: (m ^ s) &- s)
            }
            parity |= (m & 1) &<< j
            odd |= o &<< j
            nonZero |= (v != 0 ? 1 : 0) &<< j
            bad |= v == Int32.min ? 1 : 0
        }
        while i &+ 4 <= count {
            var parity: UInt32 = 0, odd: UInt32 = 0, nonZero: UInt32 = 0
            position(i, 0, &parity, &odd, &nonZero)
            position(i &+ 1, 1, &parity, &odd, &nonZero)
            position(i &+ 2, 2, &parity, &odd, &nonZero)
            position(i &+ 3, 3, &parity, &odd, &nonZero)
            let index = (st &<< 4) | Int(parity)
            bad |= (UInt32(table[128 &+ index]) ^ odd) & nonZero
            st = Int(table[index])
            i &+= 4
        }
        while i < count {
            var parity: UInt32 = 0, odd: UInt32 = 0, nonZero: UInt32 = 0
            position(i, 0, &parity, &odd, &nonZero)
            bad |= (odd ^ UInt32(truncatingIfNeeded: st)) & nonZero & 1
            st = nextState(st, parity: Int(parity))
            i &+= 1
        }
        state = st & 7
        return bad == 0
    }

    /// Four transitions at once: entry 16·state + p (p: the four k parities, first at bit 0) is the
    /// state after them; entry 128 + 16·state + p has bit j = the quantizer (state & 1) of the
    /// j-th position.
    public nonisolated(unsafe) static let blockTransitions: UnsafePointer<UInt8> = {
        let t = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        for s in 0..<8 {
            for p in 0..<16 {
                var st = s, quantizers = 0
                for j in 0..<4 {
                    quantizers |= (st & 1) << j
                    st = nextState(st, parity: (p >> j) & 1)
                }
                t[16 * s + p] = UInt8(st)
                t[128 + 16 * s + p] = UInt8(quantizers)
            }
        }
        return UnsafePointer(t)
    }()

    /// Quantization index k from a reconstruction index q in `state`; nil if q is not
    /// representable in that state (its parity does not match the state's quantizer).
    @inlinable @inline(__always)
    public static func quantizationIndex(q: Int32, state: Int) -> Int32? {
        if q == 0 { return 0 }
        let odd = Int32(state & 1)
        let a = q > 0 ? q : 0 &- q
        if odd == 0 {
            guard a & 1 == 0 else { return nil }
            return q > 0 ? a >> 1 : 0 &- (a >> 1)
        } else {
            guard a & 1 == 1 else { return nil }
            return q > 0 ? (a &+ 1) >> 1 : 0 &- ((a &+ 1) >> 1)
        }
    }
}
