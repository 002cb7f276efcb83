import Foundation
import NNRBitIO
import NNRCoding
#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Everything a core quantizer pass needs besides the values. Built and validated by `Quantizer`.
struct CoreRequest {
    /// Δ as the decoder uses it (float32).
    var stepSize: Float
    /// Largest allowed |q| for positive and for negative values (bit depth or Int32 safety).
    var maxPositive: Int64
    var maxNegative: Int64
    /// Error bound on |w − Float(Δ)·Float(q)|, or nil.
    var maxError: Double?
    /// NNCodec's lambda_scale; ≤ 0 disables the rate term.
    var lambdaScale: Double
    /// L = cabac_unary_length_minus1 + 1, for the rate model.
    var gtCount: Int
    /// Scan of the tensor (split into row segments when row skipping is on).
    var segments: [ScanSegment]
    /// Rows forced to zero and treated as skipped (row_skip_flag = 1), or nil.
    var skipRows: [Bool]?
    /// Layer width w (DQ state advance of a skipped segment).
    var width: Int
    /// max |w| of the values (+∞ when unknown).
    var largestMagnitude: Float = .infinity
}

/// Outcome of one core pass.
enum CoreOutcome: Equatable {
    case ok
    /// Some value has no admissible level (error bound or level range).
    case infeasible
}

/// Error of the decoder's reconstruction Float(Δ)·Float(m) of |w| = `absw` (magnitude m ≥ 0).
@inline(__always)
func reconstructionError(absw: Double, magnitude m: Int64, step: Float) -> Double {
    let rec = Double(step * Float(m))
    return abs(absw - rec)
}

// MARK: - URQ, nearest

/// q = round(w / Δ) exactly as NNCodec's URQ without RDOQ: the float32 product
/// (Float(1) / Δ) · w rounded half away from zero; then limited to the level range.
func quantizeNearest(_ values: UnsafeBufferPointer<Float>, _ req: CoreRequest,
                     into q: UnsafeMutableBufferPointer<Int32>) -> CoreOutcome {
    let scale = Float(1) / req.stepSize
    // Limits compared in Double: Float(Int32.max) would round up to 2^31.
    let maxPos = Double(req.maxPositive)
    let maxNeg = -Double(req.maxNegative)
    for i in 0..<values.count {
        var r = Double((scale * values[i]).rounded(.toNearestOrAwayFromZero))
        if r > maxPos { r = maxPos }
        if r < maxNeg { r = maxNeg }
        q[i] = Int32(r)
    }
    if let rows = req.skipRows {
        for seg in req.segments where rows[seg.row] {
            for i in seg.start..<(seg.start + seg.length) { q[i] = 0 }
        }
    }
    if let e = req.maxError {
        for i in 0..<values.count {
            let w = values[i]
            let m = q[i] < 0 ? -Int64(q[i]) : Int64(q[i])
            if reconstructionError(absw: abs(Double(w)), magnitude: m, step: req.stepSize) > e { return .infeasible }
        }
    }
    return .ok
}

// MARK: - URQ, rate-distortion optimised

/// Sequential RDOQ as NNCodec's `quantizeURQ` with lambda_scale > 0: candidates 0 and
/// max(1, n − 1)…n with n = round(|w|/Δ), cost (err/Δ)²·2^15/λ + scaled bits, λ = lambda_scale·ln2/6,
/// contexts adapted along the scan. Differences from NNCodec (deliberate, all make the estimate
/// match what is coded): the rate is that of the signed level (gt contexts depend on the sign), L gt
/// flags (NNCodec's estimator uses L − 1), contexts and neighbour reset at block-row boundaries,
/// skipped rows cost nothing.
func quantizeRDOQ(_ values: UnsafeBufferPointer<Float>, _ req: CoreRequest,
                  into q: UnsafeMutableBufferPointer<Int32>) -> CoreOutcome {
    let lambdaFactor = req.lambdaScale * (log(2.0) / 6.0)
    let dscale = Double(1 << 15) / lambdaFactor
    let qscale = 1.0 / Double(req.stepSize)
    let t = RateTables(gtCount: req.gtCount)
    let store = UnsafeMutablePointer<Int16>.allocate(capacity: t.storeStride)
    defer { store.deallocate() }
    t.reset(store)
    var neighbour: Int32 = 0
    let maxErr = req.maxError ?? .infinity
    for seg in req.segments {
        if seg.startsBlockRow {
            t.reset(store)
            neighbour = 0
        }
        if let rows = req.skipRows, rows[seg.row] {
            for i in seg.start..<(seg.start + seg.length) { q[i] = 0 }
            continue
        }
        for i in seg.start..<(seg.start + seg.length) {
            let w = values[i]
            let neg = w < 0
            let absw = neg ? -Double(w) : Double(w)
            let org = absw * qscale
            let c = RateTables.neighbourClass(neighbour)
            let sigCtx = ContextLayout.sigContext(state: 0, neighbour: c, parent: 0, history: false)
            var best: Int64 = 0
            var minCost = Double.infinity
            if absw <= maxErr {
                minCost = dscale * org * org + Double(t.cost(store, sigCtx, 0))
            }
            let limit = neg ? req.maxNegative : req.maxPositive
            let top = org >= Double(limit) ? limit : Swift.min(Int64(org.rounded(.toNearestOrAwayFromZero)), limit)
            if top >= 1 {
                let sigOne = Double(t.cost(store, sigCtx, 1))
                for m in Swift.max(1, top - 1)...top {
                    if maxErr.isFinite,
                       reconstructionError(absw: absw, magnitude: m, step: req.stepSize) > maxErr { continue }
                    let d = org - Double(m)
                    let k = Int32(truncatingIfNeeded: neg ? -m : m)
                    let cost = dscale * d * d + sigOne + Double(t.costNonZeroTail(store, k: k, neighbour: c))
                    if cost < minCost {
                        minCost = cost
                        best = m
                    }
                }
            }
            if !minCost.isFinite { return .infeasible }
            let k = Int32(truncatingIfNeeded: neg ? -best : best)
            q[i] = k
            t.updateLevel(store, k: k, sigCtx: sigCtx, neighbour: c)
            neighbour = k
        }
    }
    return .ok
}

// MARK: - Dependent quantization: 8-state trellis (TCQ)

// Trellis branches (NNCodec's TCQ): a state p of quantizer p & 1 reaches T[p][0] with an even k
// (the candidate multiple of Δ ≡ 0 mod 4 for quantizer 0, ≡ 3 for quantizer 1, or zero) and
// T[p][1] with an odd k (≡ 2 resp. ≡ 1 mod 4). Candidate slots 0…3 hold the multiple ≡ slot mod 4,
// slot 4 is zero. NNCodec lists the branches into a state by ascending predecessor, the level
// before zero, and keeps the first minimum; the vector code below keeps exactly that order.
//
// With T = {0:(0,2), 1:(7,5), 2:(1,3), 3:(6,4), 4:(2,0), 5:(5,7), 6:(3,1), 7:(4,6)} (spec 6):
// the state reaching c with parity 0 is into0[c], with parity 1 into1[c]; the parity-1 branch
// comes first in NNCodec's list where into1[c] < into0[c]. The trellis loop spells these out as
// constants (`pick(c, into0[c], into1[c])`); `TrellisTopology.isConsistent` checks them against
// `DependentQuantization.transition` (a test calls it).
enum TrellisTopology {
    static let into0: [Int] = [0, 2, 4, 6, 7, 5, 3, 1]
    static let into1: [Int] = [4, 6, 0, 2, 3, 1, 7, 5]

    /// The packed decision word of a distortion-only trellis step: bit c (0…7) = state c was
    /// reached by its parity-1 branch; bit `zeroWinBit(p)` (8…15) = zero won the parity-0 branch of
    /// predecessor p. Unreachable states are not marked: a path back from a state of finite cost
    /// only meets states of finite cost. The zero-win bits follow the trellis loop's state pairs
    /// (0, 2), (4, 6), (3, 1), (7, 5).
    @inline(__always)
    static func zeroWinBit(_ p: UInt32) -> UInt32 {
        8 &+ ((0x6372_4150 as UInt32) &>> (p &<< 2)) & 7
    }

    static var isConsistent: Bool {
        for p in 0..<8 {
            if into0[DependentQuantization.nextState(p, parity: 0)] != p { return false }
            if into1[DependentQuantization.nextState(p, parity: 1)] != p { return false }
        }
        return true
    }
}

/// Smallest of the four consecutive candidate multiples of Δ around org = |w|/Δ (NNCodec's
/// PreQuant: max(1, ⌊org⌋ − 1)), pulled down so that all four stay within `limit` when possible.
@inline(__always)
func trellisCandidateBase(org: Double, limit: Int64) -> Int64 {
    let t = org >= Double(limit) ? limit : Int64(org)
    // 0 ≤ t ≤ limit ≤ 2^31: no overflow to check.
    return Swift.max(1, Swift.min(t &- 1, limit &- 3))
}

/// The trellis candidate ≡ r (mod 4) among base…base+3: its magnitude m and its distortion
/// scale·(org − m)·(org − m), +∞ where m exceeds `limit` or (with `checkError`) its reconstruction
/// misses `maxError`.
@inline(__always)
func trellisCandidate(_ r: Int64, base: Int64, org: Double, absw: Double, limit: Int64, scale: Double,
                      step: Float, checkError: Bool, maxError: Double) -> (magnitude: Int64, distortion: Double) {
    let m = base + ((r - base) & 3)
    var d = org - Double(m)
    d = scale * d * d
    if m > limit { d = .infinity }
    if checkError, reconstructionError(absw: absw, magnitude: m, step: step) > maxError { d = .infinity }
    return (m, d)
}

/// 8-state trellis quantization with the decoder's state machine (spec 6): every q it returns is
/// representable in the state the decoder is in at that position, including the `width`
/// transitions of each skipped row segment (unlike NNCodec with block scan, spec 6 [NNCodec] bug).
///
/// Candidates and tie-breaking as NNCodec's TCQ (`Quant.cpp`): per position the multiples
/// max(1,⌊|w|/Δ⌋−1)…+3 and zero; distortion (|w|/Δ − m)²; with lambda_scale > 0 the cost is
/// distortion·2^15/λ + scaled bits, λ = lambda_scale·4·ln2/6·0.7; with lambda_scale ≤ 0 pure
/// distortion (NNCodec's default). The rate of each state path uses its own adapted contexts, with
/// the sig context of the state the level is coded in (NNCodec updates with the successor state's
/// context, an estimator inaccuracy not reproduced), contexts and neighbour reset at block-row
/// boundaries, and nothing for skipped rows.
func quantizeDependent(_ values: UnsafeBufferPointer<Float>, _ req: CoreRequest,
                       into q: UnsafeMutableBufferPointer<Int32>) -> CoreOutcome {
    let useRate = req.lambdaScale > 0
    let dscale = useRate ? Double(1 << 15) / (req.lambdaScale * 4.0 * (log(2.0) / 6.0) * 0.7) : 1.0
    let step = req.stepSize
    let qscale = 1.0 / Double(step)
    let maxErr = req.maxError ?? .infinity
    let checkErr = maxErr.isFinite
    let skip = SkipPermutation(width: req.width)
    let skipRows = req.skipRows

    var coded = 0
    for seg in req.segments where !(skipRows?[seg.row] ?? false) { coded += seg.length }

    // Per step: 8 decision bytes with the rate term, one packed 16-bit word without.
    let decisions = HugePages.allocate(UInt8.self, capacity: Swift.max(8, coded * (useRate ? 8 : 2)))
    defer { decisions.deallocate() }

    var cost = SIMD8<Double>(repeating: .infinity)
    cost[0] = 0
    var rate = TrellisRateStores(gtCount: req.gtCount, enabled: useRate)
    defer { rate.deallocate() }

    // Without a rate term or an error bound, and with every |w|/Δ more than 4 below both limits,
    // trellisCandidateBase is max(1, ⌊org⌋ − 1) and the four candidates are always within the
    // limits: the loops drop the limit logic (the same levels).
    let unbounded = !useRate && !checkErr && req.largestMagnitude.isFinite
        && qscale * Double(req.largestMagnitude) + 4 < Double(Swift.min(req.maxPositive, req.maxNegative))

    var stepIndex = 0
    for seg in req.segments {
        if useRate && seg.startsBlockRow { rate.resetLiveStores() }
        if let rows = skipRows, rows[seg.row] {
            // a skipped segment permutes the states (costs and stores move with them)
            var nc = cost
            for s in 0..<8 { nc[skip.forward[s]] = cost[s] }
            cost = nc
            rate.permute(skip.forward)
            continue
        }
        if !useRate {
            let segmentDecisions = UnsafeMutableRawPointer(decisions + stepIndex * 2).assumingMemoryBound(to: UInt16.self)
            cost = unbounded
                ? trellisSegmentDistortionOnly(UnboundedLevels.self, values, start: seg.start, count: seg.length,
                                               cost: cost, decisions: segmentDecisions, req: req, qscale: qscale)
                : trellisSegmentDistortionOnly(BoundedLevels.self, values, start: seg.start, count: seg.length,
                                               cost: cost, decisions: segmentDecisions, req: req, qscale: qscale)
            stepIndex += seg.length
            continue
        }
        for i in seg.start..<(seg.start + seg.length) {
            let w = values[i]
            let neg = w < 0
            let absw = neg ? -Double(w) : Double(w)
            let org = qscale * absw
            let limit = neg ? req.maxNegative : req.maxPositive
            let base = trellisCandidateBase(org: org, limit: limit)
            let dZeroScalar = (checkErr && absw > maxErr) ? Double.infinity : dscale * org * org
            // The candidate ≡ r (mod 4) among base…base+3, its distortion and its k.
            @inline(__always) func candidate(_ r: Int64) -> (Double, Int32) {
                let (m, d) = trellisCandidate(r, base: base, org: org, absw: absw, limit: limit, scale: dscale,
                                              step: step, checkError: checkErr, maxError: maxErr)
                let k = Int32(truncatingIfNeeded: (m + 1) >> 1)
                return (d, neg ? -k : k)
            }
            let (d0, k0) = candidate(0)   // quantizer 0, even k
            let (d2, k2) = candidate(2)   // quantizer 0, odd k
            let (d3, k3) = candidate(3)   // quantizer 1, even k
            let (d1, k1) = candidate(1)   // quantizer 1, odd k
            let dLevel = SIMD8(d0, d3, d0, d3, d0, d3, d0, d3)
            let dZero = SIMD8<Double>(repeating: dZeroScalar)
            let dOdd = SIMD8(d2, d1, d2, d1, d2, d1, d2, d1)
            var vLevel = cost + dLevel
            var vZero = cost + dZero
            var vOdd = cost + dOdd
            if useRate {
                let r = rate.rates(cost: cost, candidates: (d0, k0, d1, k1, d2, k2, d3, k3))
                vLevel += r.level
                vZero += r.zero
                vOdd += r.odd
            }
            // Per predecessor: the parity-0 branch keeps the level unless zero is strictly cheaper.
            let zeroWins = vZero .< vLevel
            let par0 = vLevel.replacing(with: vZero, where: zeroWins)
            // Per state: first minimum of its two predecessor branches in NNCodec's order
            // (scalar with constant lanes: the compiler keeps it in registers).
            var newCost = cost
            let dec = decisions + stepIndex * 8
            @inline(__always) func pick(_ c: Int, _ a: Int, _ b: Int) {
                // a: predecessor by parity 0, b: by parity 1.
                let va = par0[a], vb = vOdd[b]
                let odd = b < a ? !(va < vb) : vb < va
                let v = odd ? vb : va
                newCost[c] = v
                let choice: Int = odd ? b | ((2 - (b & 1)) << 3) : a | ((zeroWins[a] ? 4 : 3 * (a & 1)) << 3)
                dec[c] = v < .infinity ? UInt8(truncatingIfNeeded: choice) : 0xFF
            }
            // pick(c, into0[c], into1[c]) for every state c (TrellisTopology).
            pick(0, 0, 4)
            pick(1, 2, 6)
            pick(2, 4, 0)
            pick(3, 6, 2)
            pick(4, 7, 3)
            pick(5, 5, 1)
            pick(6, 3, 7)
            pick(7, 1, 5)

            if useRate { rate.advance(decisions: dec, levels: (k0, k1, k2, k3)) }
            cost = newCost
            stepIndex += 1
        }
    }

    return trellisBacktrack(values, req, into: q, cost: cost, decisions: decisions, steps: stepIndex,
                            useRate: useRate, unbounded: unbounded, qscale: qscale, skip: skip)
}

/// The rate model of the trellis (lambda_scale > 0): one context store per live state (16 slots:
/// 8 live plus spares), moved or copied along the chosen branches, and the neighbour per state.
struct TrellisRateStores {
    let t: RateTables
    let stride: Int
    let stores: UnsafeMutablePointer<Int16>
    var slotOf = SIMD8<Int64>(0, 1, 2, 3, 4, 5, 6, 7)
    var free = SIMD8<Int64>(8, 9, 10, 11, 12, 13, 14, 15)    // stack of spare store slots
    var freeCount = 8
    var neighbour = SIMD8<Int32>(repeating: 0)

    init(gtCount: Int, enabled: Bool) {
        t = RateTables(gtCount: gtCount)
        stride = t.storeStride
        stores = .allocate(capacity: enabled ? 16 * stride : 1)
        if enabled { for s in 0..<16 { t.reset(stores + s * stride) } }
    }

    func deallocate() { stores.deallocate() }

    /// Block-row start: the live stores back to their initial states, neighbours 0.
    mutating func resetLiveStores() {
        for s in 0..<8 { t.reset(stores + Int(slotOf[s]) * stride) }
        neighbour = SIMD8(repeating: 0)
    }

    /// State s becomes state forward[s] (a skipped segment).
    mutating func permute(_ forward: [Int]) {
        var ns = slotOf, nn = neighbour
        for s in 0..<8 {
            ns[forward[s]] = slotOf[s]
            nn[forward[s]] = neighbour[s]
        }
        slotOf = ns
        neighbour = nn
    }

    /// Per state p of finite cost: the scaled bits of its level branch (k0 or k3), its zero branch
    /// and its odd branch (k2 or k1), each coded with p's store and sig context.
    @inline(__always)
    func rates(cost: SIMD8<Double>, candidates c: (d0: Double, k0: Int32, d1: Double, k1: Int32, d2: Double, k2: Int32,
                                                   d3: Double, k3: Int32))
        -> (level: SIMD8<Double>, zero: SIMD8<Double>, odd: SIMD8<Double>) {
        var rLevel = SIMD8<Double>(repeating: 0), rZero = SIMD8<Double>(repeating: 0), rOdd = SIMD8<Double>(repeating: 0)
        for p in 0..<8 where cost[p].isFinite {
            let st = stores + Int(slotOf[p]) * stride
            let nc = RateTables.neighbourClass(neighbour[p])
            let sigCtx = ContextLayout.sigContext(state: p, neighbour: nc, parent: 0, history: false)
            let odd = p & 1 != 0
            let (dl, kl) = odd ? (c.d3, c.k3) : (c.d0, c.k0)
            let (dd, kd) = odd ? (c.d1, c.k1) : (c.d2, c.k2)
            rZero[p] = Double(t.cost(st, sigCtx, 0))
            let sigOne = t.cost(st, sigCtx, 1)
            rLevel[p] = dl.isFinite ? Double(sigOne &+ t.costNonZeroTail(st, k: kl, neighbour: nc)) : 0
            rOdd[p] = dd.isFinite ? Double(sigOne &+ t.costNonZeroTail(st, k: kd, neighbour: nc)) : 0
        }
        return (rLevel, rZero, rOdd)
    }

    /// After a step with decision bytes `dec` (predecessor | slot << 3, 0xFF unreachable): each new
    /// state takes its predecessor's store (moved on first use, copied otherwise; copies read the
    /// stores before any update), then codes its chosen level (slot 0…3: `levels`, 4: zero) in it.
    @inline(__always)
    mutating func advance(decisions dec: UnsafeMutablePointer<UInt8>, levels: (Int32, Int32, Int32, Int32)) {
        var claimed: UInt8 = 0
        var newSlotOf = slotOf
        var copyMask: UInt8 = 0
        for c in 0..<8 where dec[c] != 0xFF {
            let p = Int(dec[c] & 7)
            if claimed & (1 << p) == 0 {
                claimed |= 1 << p
                newSlotOf[c] = slotOf[p]
            } else {
                copyMask |= 1 << c
            }
        }
        for c in 0..<8 where dec[c] == 0xFF || copyMask & (1 << c) != 0 {
            freeCount -= 1
            let s = free[freeCount]
            newSlotOf[c] = s
            if dec[c] != 0xFF {
                let from = slotOf[Int(dec[c] & 7)]
                (stores + Int(s) * stride).update(from: stores + Int(from) * stride, count: stride)
            }
        }
        for p in 0..<8 where claimed & (1 << p) == 0 {
            free[freeCount] = slotOf[p]
            freeCount += 1
        }
        var newNeighbour = SIMD8<Int32>(repeating: 0)
        for c in 0..<8 where dec[c] != 0xFF {
            let p = Int(dec[c] & 7), s = Int(dec[c] >> 3)
            let nc = RateTables.neighbourClass(neighbour[p])
            let k: Int32 = s == 0 ? levels.0 : s == 1 ? levels.1 : s == 2 ? levels.2 : s == 3 ? levels.3 : 0
            t.updateLevel(stores + Int(newSlotOf[c]) * stride, k: k,
                          sigCtx: ContextLayout.sigContext(state: p, neighbour: nc, parent: 0, history: false),
                          neighbour: nc)
            newNeighbour[c] = k
        }
        slotOf = newSlotOf
        neighbour = newNeighbour
    }
}

/// The path of the best final state (lowest cost, lowest index on ties), traced back through the
/// decisions in reverse scan order: the levels q. Infeasible if no finite path starts in state 0.
func trellisBacktrack(_ values: UnsafeBufferPointer<Float>, _ req: CoreRequest, into q: UnsafeMutableBufferPointer<Int32>,
                      cost: SIMD8<Double>, decisions: UnsafeMutablePointer<UInt8>, steps stepIndex: Int,
                      useRate: Bool, unbounded: Bool, qscale: Double, skip: SkipPermutation) -> CoreOutcome {
    let skipRows = req.skipRows
    var state = 0
    for s in 1..<8 where cost[s] < cost[state] { state = s }
    if !cost[state].isFinite { return .infeasible }

    // Backtrack in reverse scan order.
    var k = stepIndex
    for seg in req.segments.reversed() {
        if let rows = skipRows, rows[seg.row] {
            state = skip.backward[state]
            for i in seg.start..<(seg.start + seg.length) { q[i] = 0 }
            continue
        }
        var i = seg.start + seg.length
        if !useRate {
            let words = UnsafeRawPointer(decisions).assumingMemoryBound(to: UInt16.self)
            if unbounded {
                trellisBacktrackDistortionOnly(UnboundedLevels.self, values, req, into: q, range: seg.start..<i,
                                               lastStep: k, decisions: words, qscale: qscale, state: &state)
            } else {
                trellisBacktrackDistortionOnly(BoundedLevels.self, values, req, into: q, range: seg.start..<i,
                                               lastStep: k, decisions: words, qscale: qscale, state: &state)
            }
            k -= seg.length
            continue
        }
        while i > seg.start {
            i -= 1
            k -= 1
            let d = decisions[k * 8 + state]
            if d == 0xFF { return .infeasible }
            let p = Int(d & 7), s = Int(d >> 3)
            if s == 4 {
                q[i] = 0
            } else {
                let w = values[i]
                // 0 or −1 by the sign of w: q = (m ^ sign) − sign without a branch on the sign.
                let sign = Int32(bitPattern: w.bitPattern) >> 31
                let org = qscale * Double(w.magnitude)
                let base = trellisCandidateBase(org: org, limit: sign != 0 ? req.maxNegative : req.maxPositive)
                let m = base + Int64((s - Int(base & 3)) & 3)
                q[i] = (Int32(truncatingIfNeeded: m) ^ sign) &- sign
            }
            state = p
        }
    }
    return state == 0 && k == 0 ? .ok : .infeasible
}

/// `trellisBacktrack` over the positions `range` (steps lastStep − range.count ..< lastStep) of a
/// distortion-only trellis, from its packed decision words (`TrellisTopology.zeroWinBit`),
/// branch-free. States 0…3 come from even predecessors, 4…7 from odd ones, so the slot of a
/// non-zero level is 2 − (c >> 2) on the parity-1 branch and 3·(c >> 2) on the parity-0 branch.
@inline(__always)
func trellisBacktrackDistortionOnly<B: TrellisLevelBounds>(_ bounds: B.Type, _ values: UnsafeBufferPointer<Float>,
                                    _ req: CoreRequest,
                                    into q: UnsafeMutableBufferPointer<Int32>, range: Range<Int>, lastStep: Int,
                                    decisions: UnsafePointer<UInt16>, qscale: Double, state: inout Int) {
    var c = UInt32(truncatingIfNeeded: state)
    var k = lastStep
    var i = range.upperBound
    let limits = SIMD2<Int64>(req.maxPositive, req.maxNegative)
    while i > range.lowerBound {
        i &-= 1
        k &-= 1
        let w = UInt32(decisions[k])
        let odd = (w &>> c) & 1
        let p1 = (0x5713_2064 as UInt32) &>> (c &<< 2) & 7      // into1[c]
        let p0 = (0x1357_6420 as UInt32) &>> (c &<< 2) & 7      // into0[c]
        let pOdd = c &>> 2
        let zero = (w &>> TrellisTopology.zeroWinBit(p0)) & 1 & ~odd
        let slot = odd != 0 ? 2 &- pOdd : 3 &* pOdd
        let v = values[i]
        // 0 or −1 by the sign of w: q = (m ^ sign) − sign without a branch on the sign.
        let sign = Int32(bitPattern: v.bitPattern) >> 31
        let org = qscale * Double(v.magnitude)
        // The limit by an index and zero by a mask, not conditionals (the compiler would branch on
        // the sign and on zero).
        let base: Int64
        if B.unbounded {
            base = Swift.max(1, Int64(org) &- 1)
        } else {
            base = trellisCandidateBase(org: org, limit: limits[Int(truncatingIfNeeded: sign & 1)])
        }
        let m = base &+ Int64((Int(slot) &- Int(base & 3)) & 3)
        let level = (Int32(truncatingIfNeeded: m) ^ sign) &- sign
        q[i] = level & (Int32(bitPattern: zero) &- 1)
        c = odd != 0 ? p1 : p0
    }
    state = Int(c)
}

/// The trellis steps of one segment without a rate term (lambda_scale ≤ 0, NNCodec's default): the
/// same costs, comparisons and tie-breaking as the general loop of `quantizeDependent`, vectorised
/// over pairs of states and branch-free (the decisions are data-dependent). States 0…3 are reached
/// from the even states (level slot 0, odd slot 2), states 4…7 from the odd ones (slots 3 and 1),
/// as the general loop's `pick` calls list them. Each step writes one packed decision word
/// (`TrellisTopology.zeroWinBit`).
func trellisSegmentDistortionOnly<B: TrellisLevelBounds>(_ bounds: B.Type, _ values: UnsafeBufferPointer<Float>,
                                  start: Int, count: Int,
                                  cost: SIMD8<Double>, decisions: UnsafeMutablePointer<UInt16>,
                                  req: CoreRequest, qscale: Double) -> SIMD8<Double> {
    typealias V = SIMD2<Double>
    let step = req.stepSize
    let maxErr = req.maxError ?? .infinity
    let checkErr = maxErr.isFinite
    // Path costs by state pairs laid out so that no lane ever swaps: even states A = (0, 2),
    // B = (4, 6); odd states C = (3, 1), D = (7, 5).
    var a = V(cost[0], cost[2]), b = V(cost[4], cost[6])
    var c = V(cost[3], cost[1]), d = V(cost[7], cost[5])
    // x where x < y, else y (the first minimum when y is listed first): one minpd.
    @inline(__always) func less(_ x: V, _ y: V) -> V {
        V(x[0] < y[0] ? x[0] : y[0], x[1] < y[1] ? x[1] : y[1])
    }
    var dec = decisions
    let maxLimit = Swift.min(req.maxPositive, req.maxNegative)
    // Per base & 3 = b: the offsets j = (r − b) & 3 from base of the candidates in slots r = 0, 1
    // and r = 2, 3 (entries 2b and 2b + 1).
    let slotOffsets = UnsafeMutablePointer<V>.allocate(capacity: 8)
    defer { slotOffsets.deallocate() }
    for r in 0..<4 {
        slotOffsets[2 * r] = V(Double((0 - r) & 3), Double((1 - r) & 3))
        slotOffsets[2 * r + 1] = V(Double((2 - r) & 3), Double((3 - r) & 3))
    }
    for i in start..<(start + count) {
        let w = values[i]
        let absw = Double(w.magnitude)
        let org = qscale * absw
        let limit = w.bitPattern >> 31 != 0 ? req.maxNegative : req.maxPositive
        let base = B.unbounded ? Swift.max(1, Int64(org) &- 1) : trellisCandidateBase(org: org, limit: limit)
        let dz = (!B.unbounded && checkErr && absw > maxErr) ? Double.infinity : org * org
        let d0: V, d1: V, d2: V, d3: V
        if B.unbounded || (!checkErr && base < maxLimit &- 2) {
            // All four candidates base…base+3 are within the limit: slot r holds the candidate
            // base + ((r − base) & 3), whose distance from org is f − ((r − base) & 3).
            // (j for slots 0, 1) and (j for slots 2, 3) from the table: two vector subtractions.
            let f = V(repeating: org - Double(base))
            let b3 = Int(truncatingIfNeeded: base & 3) &<< 1
            let e01 = f - slotOffsets[b3], e23 = f - slotOffsets[b3 &+ 1]
            let x01 = e01 * e01, x23 = e23 * e23
            d0 = V(repeating: x01[0]); d1 = V(repeating: x01[1]); d2 = V(repeating: x23[0]); d3 = V(repeating: x23[1])
        } else {
            @inline(__always) func distortion(_ r: Int64) -> Double {
                trellisCandidate(r, base: base, org: org, absw: absw, limit: limit, scale: 1,
                                 step: step, checkError: checkErr, maxError: maxErr).distortion
            }
            d0 = V(repeating: distortion(0)); d2 = V(repeating: distortion(2))
            d3 = V(repeating: distortion(3)); d1 = V(repeating: distortion(1))
        }
        let dZ = V(repeating: dz)
        // Parity-0 branch of each predecessor: the level unless zero is strictly cheaper.
        let za = a + dZ, la = a + d0, zwA = za .< la
        let zb = b + dZ, lb = b + d0, zwB = zb .< lb
        let zc = c + dZ, lc = c + d3, zwC = zc .< lc
        let zd = d + dZ, ld = d + d3, zwD = zd .< ld
        let pa = less(za, la), pb = less(zb, lb), pc = less(zc, lc), pd = less(zd, ld)
        // Parity-1 branches.
        let qa = a + d2, qb = b + d2, qc = c + d1, qd = d + d1
        // States (0, 1): parity 0 from A, parity 1 from B, parity 0 listed first (the parity-1
        // branch must be strictly cheaper). (2, 3): parity 0 from B, 1 from A, parity 1 first (it
        // wins ties). (4, 5): 0 from D, 1 from C, parity 1 first. (6, 7): 0 from C, 1 from D,
        // parity 0 first.
        let odd01 = qb .< pa, odd23 = .!(pb .< qa), odd45 = .!(pd .< qc), odd67 = qd .< pc
        let n01 = less(qb, pa), n23 = less(pb, qa), n45 = less(pd, qc), n67 = less(qd, pc)
        // Packed decisions: mask j of [odd01, odd23, odd45, odd67, zwA, zwB, zwC, zwD] to bits 2j
        // (lane 0) and 2j + 1 (lane 1), so bit c for state c and `TrellisTopology.zeroWinBit(p)`
        // for predecessor p.
        let packed = trellisMaskBits(odd01) | trellisMaskBits(odd23) &<< 2 | trellisMaskBits(odd45) &<< 4
            | trellisMaskBits(odd67) &<< 6 | trellisMaskBits(zwA) &<< 8 | trellisMaskBits(zwB) &<< 10
            | trellisMaskBits(zwC) &<< 12 | trellisMaskBits(zwD) &<< 14
        dec.pointee = UInt16(truncatingIfNeeded: packed)
        dec += 1
        a = V(n01[0], n23[0]); b = V(n45[0], n67[0])
        c = V(n23[1], n01[1]); d = V(n67[1], n45[1])
    }
    return SIMD8(a[0], c[1], a[1], c[0], b[0], d[1], b[1], d[0])
}

/// The two lanes of a comparison mask as bits 0 (lane 0) and 1 (lane 1): one movmskpd on x86-64.
@inline(__always)
func trellisMaskBits(_ m: SIMDMask<SIMD2<Int64>>) -> UInt32 {
    #if arch(x86_64)
    UInt32(truncatingIfNeeded: _mm_movemask_pd(unsafeBitCast(m, to: SIMD2<Double>.self)))
    #else
    (m[0] ? 1 : 0) | (m[1] ? 2 : 0)
    #endif
}

/// Compile-time switch of the distortion-only trellis loops: `UnboundedLevels` when no error bound
/// applies and every |w|/Δ is more than 4 below both level limits (`quantizeDependent` checks it), so
/// that the candidate base is max(1, ⌊org⌋ − 1) and no candidate needs a limit check.
protocol TrellisLevelBounds {
    static var unbounded: Bool { get }
}

enum BoundedLevels: TrellisLevelBounds {
    static var unbounded: Bool { false }
}

enum UnboundedLevels: TrellisLevelBounds {
    static var unbounded: Bool { true }
}
