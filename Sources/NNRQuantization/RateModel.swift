import NNRCoding

// Rate model of the DeepCABAC level binarization (spec-notes 5.1, 5.2, 5.4) for rate-distortion
// decisions. Costs are NNCodec's scaled bit estimates (BitCost.swift: 1 bit = 2^15 units, table
// index 512 + (S01 >> 3)); the state update is the SBMP update of ContextModel. Only the contexts
// a plain (non-TCA, non-HDSP) tensor uses are ever touched; the contexts are numbered as the coder
// numbers them (ContextLayout), each as two Int16 (S0, S01), so that a trellis can keep one copy per
// DQ state and copy it cheaply.

/// Shared read-only tables and estimator parameters for the rate model hot loops.
/// Pointers stay valid for the lifetime of this object.
final class RateTables {
    let layout: ContextLayout
    let bits: UnsafeMutablePointer<UInt32>
    let curve: UnsafeMutablePointer<Int32>
    let shift0: Int32
    let shift1: Int32
    let initS0: Int16
    let initS01: Int16

    init(gtCount: Int, estimatorSet: Int = 0) {
        layout = ContextLayout(cabacUnaryLengthMinus1: gtCount - 1)
        bits = .allocate(capacity: nnrScaledEstimatedBits.count)
        for (i, v) in nnrScaledEstimatedBits.enumerated() { bits[i] = v }
        curve = .allocate(capacity: nnrCurveTable.count)
        for (i, v) in nnrCurveTable.enumerated() { curve[i] = v }
        let p = nnrEstimatorParameterSets[estimatorSet]
        shift0 = p.shift0
        shift1 = p.shift1
        initS0 = Int16(truncatingIfNeeded: p.initialS0)
        initS01 = Int16(truncatingIfNeeded: p.initialS01)
    }

    deinit {
        bits.deallocate()
        curve.deallocate()
    }

    /// Number of Int16 slots of one store.
    var storeStride: Int { 2 * layout.count }

    /// Puts every context of the store at `p` into its initial state.
    @inline(__always)
    func reset(_ p: UnsafeMutablePointer<Int16>) {
        for i in 0..<layout.count {
            p[2 &* i] = initS0
            p[2 &* i &+ 1] = initS01
        }
    }

    /// Scaled cost of `bin` with context `ctx` of store `p` (same values as
    /// `ContextModel.scaledBits(for:)`).
    @inline(__always)
    func cost(_ p: UnsafeMutablePointer<Int16>, _ ctx: Int, _ bin: Int) -> UInt32 {
        let s01 = Int(p[2 &* ctx &+ 1])
        return bits[((512 &+ (s01 >> 3)) &<< 1) | bin]
    }

    /// SBMP state update of context `ctx` (same arithmetic as `ContextModel.update(bin:)`).
    @inline(__always)
    func update(_ p: UnsafeMutablePointer<Int16>, _ ctx: Int, _ bin: Int) {
        let curve = self.curve
        let n = ContextModel.updated(s0: Int32(p[2 &* ctx]), s01: Int32(p[2 &* ctx &+ 1]), bin: bin != 0,
                                     shift0: shift0, shift1: shift1) { curve[$0] }
        p[2 &* ctx] = Int16(truncatingIfNeeded: n.s0)
        p[2 &* ctx &+ 1] = Int16(truncatingIfNeeded: n.s01)
    }

    /// Neighbour class c of spec 5.1: 0 if the previous k is 0, 1 if negative, 2 if positive.
    @inline(__always)
    static func neighbourClass(_ k: Int32) -> Int { k == 0 ? 0 : (k < 0 ? 1 : 2) }

    // MARK: unbounded binarization (no codebook): sig, sign, L gt flags, EG0 remainder

    /// Scaled cost of coding k ≠ 0 after its sig flag (sign, gt flags, remainder), unbounded.
    @inline(__always)
    func costNonZeroTail(_ p: UnsafeMutablePointer<Int16>, k: Int32, neighbour c: Int) -> UInt32 {
        let neg = k < 0
        let a = neg ? 0 &- Int64(k) : Int64(k)
        var total = cost(p, ContextLayout.signContext(neighbour: c, parent: 0), neg ? 1 : 0)
        let gtCtx = ContextLayout.gtBase &+ (neg ? 1 : 0)
        let L = layout.gtCount
        var j = 0
        while j < L {
            let flag = a > Int64(j &+ 1) ? 1 : 0
            total &+= cost(p, gtCtx &+ 2 &* j, flag)
            if flag == 0 { return total }
            j &+= 1
        }
        return total &+ remainderCost(p, a &- Int64(L) &- 1)
    }

    /// Scaled cost of the EG0 remainder r ≥ 0 (context-coded unary prefix, bypass suffix).
    @inline(__always)
    func remainderCost(_ p: UnsafeMutablePointer<Int16>, _ r: Int64) -> UInt32 {
        let base = layout.remainderBase
        if r == 0 { return cost(p, base, 0) }
        var total = cost(p, base, 1)
        var start: Int64 = 1
        var n = 1
        var m = 1
        while r >= start &+ (Int64(1) << n) && m < 31 {
            total &+= cost(p, base &+ m, 1)
            start &+= Int64(1) << n
            n &+= 1
            m &+= 1
        }
        if m < 31 { total &+= cost(p, base &+ m, 0) }
        return total &+ UInt32(n) &* nnrScaledBypassBits
    }

    /// Applies the context updates of coding k (with sig context `sigCtx`), unbounded.
    @inline(__always)
    func updateLevel(_ p: UnsafeMutablePointer<Int16>, k: Int32, sigCtx: Int, neighbour c: Int) {
        if k == 0 {
            update(p, sigCtx, 0)
            return
        }
        update(p, sigCtx, 1)
        let neg = k < 0
        let a = neg ? 0 &- Int64(k) : Int64(k)
        update(p, ContextLayout.signContext(neighbour: c, parent: 0), neg ? 1 : 0)
        let gtCtx = ContextLayout.gtBase &+ (neg ? 1 : 0)
        let L = layout.gtCount
        var j = 0
        while j < L {
            let flag = a > Int64(j &+ 1) ? 1 : 0
            update(p, gtCtx &+ 2 &* j, flag)
            if flag == 0 { return }
            j &+= 1
        }
        let r = a &- Int64(L) &- 1
        let base = layout.remainderBase
        if r == 0 {
            update(p, base, 0)
            return
        }
        update(p, base, 1)
        var start: Int64 = 1
        var n = 1
        var m = 1
        while r >= start &+ (Int64(1) << n) && m < 31 {
            update(p, base &+ m, 1)
            start &+= Int64(1) << n
            n &+= 1
            m &+= 1
        }
        if m < 31 { update(p, base &+ m, 0) }
    }

    // MARK: general binarization (codebook bounds, inferred sign), cost and update together

    /// Codes k with the profile-1 codebook binarization of spec 5.4 (maxAbs per sign, sign
    /// inferred when the codebook's zero is at an end) or unbounded when `bounds` is nil; updates
    /// the contexts and returns the scaled cost.
    func codeLevel(_ p: UnsafeMutablePointer<Int16>, k: Int32, sigCtx: Int, neighbour c: Int,
                   bounds: NNRCodebook?) -> UInt64 {
        var total: UInt64 = 0
        @inline(__always) func bin(_ ctx: Int, _ b: Int) {
            total &+= UInt64(cost(p, ctx, b))
            update(p, ctx, b)
        }
        if let bd = bounds, bd.codebookSize == 1 { return 0 }
        bin(sigCtx, k != 0 ? 1 : 0)
        if k == 0 { return total }
        let neg = k < 0
        let target = neg ? 0 &- Int64(k) : Int64(k)
        var maxAbs: Int64 = -1
        if let bd = bounds {
            maxAbs = Int64(neg ? bd.maxNegative : bd.maxPositive)
            if !bd.signInferred { bin(ContextLayout.signContext(neighbour: c, parent: 0), neg ? 1 : 0) }
        } else {
            bin(ContextLayout.signContext(neighbour: c, parent: 0), neg ? 1 : 0)
        }
        let unbounded = maxAbs < 0
        var cur: Int64 = 1
        var lastFlag = 0
        if unbounded || maxAbs > 1 {
            let gtCtx = ContextLayout.gtBase &+ (neg ? 1 : 0)
            var j = 0
            while true {
                let flag = target > cur ? 1 : 0
                bin(gtCtx &+ 2 &* j, flag)
                lastFlag = flag
                if flag == 0 { break }
                cur &+= 1
                j &+= 1
                if j == layout.gtCount || (!unbounded && cur >= maxAbs) { break }
            }
        }
        if lastFlag == 1 && (unbounded || cur < maxAbs) {
            var n = 0
            var m = -1
            var g = 0
            repeat {
                m &+= 1
                g = target >= cur &+ (Int64(1) << n) ? 1 : 0
                bin(layout.remainderBase &+ m, g)
                if g == 1 && (unbounded || cur < maxAbs) {
                    cur &+= Int64(1) << n
                    n &+= 1
                }
            } while g == 1 && m < 30 && (unbounded || maxAbs >= cur &+ (Int64(1) << n))
            total &+= UInt64(n) &* UInt64(nnrScaledBypassBits)
        }
        return total
    }
}


