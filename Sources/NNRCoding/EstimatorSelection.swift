// Estimator selection (spec notes 5.3): which contexts carry a sel_flag, and the encoder-side choice of
// each context's parameter set by pseudo-coding the tensor with all nine sets at once (NNCodec's
// `param_opt`).

/// How the encoder chooses the estimator parameter set of each listed context.
public enum EstimatorSelectionMode: Sendable, Equatable {
    /// Every sel_flag is 0 (NNCodec `param_opt=False`).
    case none
    /// NNCodec's `param_opt`: pseudo-code the tensor with all nine sets in parallel and take the
    /// cheapest per context; a non-zero set must beat the best so far by more than 3 bits.
    case optimize
    /// Use the given set (0…8) per context index (missing entries are 0). For tests and experiments.
    case explicit([UInt8])
    /// `optimize` on a sample: a tensor of more than `values` values is pseudo-coded only in
    /// `values / window` windows of `window` consecutive scan positions spread evenly over it (the
    /// estimators run on through the gaps, and reset where a block row started in one); smaller
    /// tensors are pseudo-coded whole, exactly as `optimize` does. The choice costs a fixed time
    /// per large tensor instead of time proportional to its size.
    case sampled(values: Int, window: Int)

    /// `sampled` with at most `values` values per tensor in windows of 2048 (or one window of
    /// `values` when smaller); `optimize` (every value) for 0.
    public static func sample(values: Int) -> EstimatorSelectionMode {
        values > 0 ? .sampled(values: values, window: Swift.min(2048, values)) : .optimize
    }

    /// The scan-position ranges the selection pseudo-codes for a tensor of `count` values: ascending,
    /// disjoint, inside 0..<count.
    func pseudoCodedWindows(count n: Int) -> [Range<Int>] {
        guard case .sampled(let values, let window) = self, window > 0, values >= window, n > values else {
            return [0..<n]
        }
        let windows = values / window
        guard windows > 1 else { return [0..<window] }
        // Starts j·(n − window)/(windows − 1): the first at 0, the last ending at n; the spacing is
        // more than `window` because n > windows·window.
        let span = n - window
        return (0..<windows).map { j in
            let start = Int((Double(span) * Double(j) / Double(windows - 1)).rounded(.down))
            let s = Swift.min(Swift.max(start, 0), span)
            return s..<(s + window)
        }
    }
}

/// Nine estimator states per context (one per parameter set) with their accumulated bit costs:
/// the pseudo-coder of NNCodec's parameter optimisation. The bins are first recorded per context
/// (`BinRecorder`), then each context's sequence is replayed through the nine estimators at once,
/// with the states in registers.
struct EstimatorOptimizer {
    /// Per context: accumulated scaled bits per set, stride 9.
    let costs: UnsafeMutablePointer<UInt64>
    let count: Int

    init(contextCount: Int) {
        count = contextCount
        costs = .allocate(capacity: contextCount * 9)
        costs.initialize(repeating: 0, count: contextCount * 9)
    }

    func deallocate() {
        costs.deallocate()
    }

    /// The set NNCodec picks for context `c` (`SBMPCtxOptimizer::getBestIdx`): the cheapest, where a
    /// set other than 0 pays 3 bits more.
    func bestSet(_ c: Int) -> Int {
        let acc = costs + c * 9
        var best = 0
        var minBits = acc[0]
        for e in 1..<9 {
            let v = acc[e] &+ 3 &* 32768
            if v < minBits {
                best = e
                minBits = v
            }
        }
        return best
    }

    /// Runs every context's recorded bin sequence through the nine estimators, accumulating costs.
    ///
    /// The sets are processed in three groups that share their S1 shift ({0, 1, 2}: SH0 + 4 = 5,
    /// SH1 = 4; {4, 5, 6}: 6, 6; {3, 8, 7}: SH1 = 5), so that each pass touches one S1 next-state
    /// table (`SelectionTables`, 16 KiB) plus the 8 KiB cost table and stays in the L1 cache, with
    /// states and sums in registers. Two estimators with the same shifts that reach the same state
    /// stay equal for the rest of the sequence (until a block-row reset), and on real tensors they
    /// soon do: at each 64-bin word the replay checks which of them coincide and runs only the
    /// distinct ones. In the third group, set 7 (S0 = 0, SH0 + 4 = 7) never moves its S0 and its S1
    /// (initially 0, shift 5) is set 3's, so it only needs its cost looked up; set 8 (SH0 + 4 = 7)
    /// stops moving its S0 once |S0| ≤ 8 and then, when its S1 has met set 3's, needs only a lookup
    /// too.
    func accumulate(_ rec: BinRecorder) {
        let t = SelectionTables.shared
        let sets = nnrEstimatorParameterSets
        // Initial compact states (A = 2·(S0 + 128), b = S1 + 2048) of set e.
        func a(_ e: Int) -> Int { (Int(sets[e].initialS0) &+ 128) &<< 1 }
        func b(_ e: Int) -> Int { Int(sets[e].initialS01) &- (Int(sets[e].initialS0) &<< 4) &+ 2048 }
        for c in 0..<Swift.min(count, rec.contextCount) {
            let total = rec.counts[c]
            if total == 0 { continue }
            let acc = costs + c * 9
            let resets = rec.resets[c]
            rec.words[c].withUnsafeBufferPointer { words in
                let bins = BinWords(words: words, current: rec.current[c], total: total, resets: resets)
                let sum = EstimatorOptimizer.replay(bins, t, initial: (
                    (a(0), b(0), a(1), b(1), a(2), b(2)), (a(4), b(4), a(5), b(5), a(6), b(6)),
                    (a(3), b(3), a(8), b(8)), a(7)))
                for e in 0..<9 { acc[e] &+= sum[e] }
            }
        }
    }

    /// One context's recorded bins: completed words, the word being filled, the count and the
    /// block-row reset positions.
    struct BinWords {
        let words: UnsafeBufferPointer<UInt64>
        let current: UInt64
        let total: Int
        let resets: [Int]

        /// Calls `body(word, from, to)` for each stretch of bins inside one word and between resets
        /// (bin i of the stretch is bit i of `word >> from`), and `reset()` at each reset position
        /// (and first at 0).
        @inline(__always)
        func forEachStretch(reset: () -> Void, _ body: (UInt64, Int, Int) -> Void) {
            var pos = 0
            var resetIndex = 0
            var nextReset = 0
            while pos < total {
                if pos == nextReset {
                    reset()
                    nextReset = resetIndex < resets.count ? resets[resetIndex] : Int.max
                    resetIndex &+= 1
                }
                let word = pos >> 6 < words.count ? words[pos >> 6] : current
                let end = Swift.min(total, (pos | 63) &+ 1, nextReset)
                body(word &>> UInt64(pos & 63), pos, end)
                pos = end
            }
        }
    }

    // The replay loops below run `count` bins of `word` (low bit first) through 1, 2 or 3
    // estimators sharing the S1 table `r`; states are A = 2·(S0 + 128) and b = S1 + 2048, and the
    // cost index (b + 16·(S0 + 128)) >> 3 is (b + 8·A) >> 3.

    @inline(__always)
    static func run1(_ word: UInt64, _ count: Int, _ costs: UnsafeMutablePointer<UInt32>,
                     _ p: UnsafeMutablePointer<UInt16>, _ r: UnsafeMutablePointer<UInt16>,
                     _ a: inout Int, _ b: inout Int) -> UInt64 {
        var w = word, x: UInt64 = 0, a0 = a, b0 = b
        for _ in 0..<count {
            let bin = Int(w & 1)
            w &>>= 1
            x &+= UInt64((costs + (bin &<< 10))[(b0 &+ (a0 &<< 3)) &>> 3])
            a0 = Int((p + (bin &<< 9))[a0])
            b0 = Int((r + (bin &<< 12))[b0])
        }
        a = a0
        b = b0
        return x
    }

    @inline(__always)
    static func run2(_ word: UInt64, _ count: Int, _ costs: UnsafeMutablePointer<UInt32>,
                     _ p: UnsafeMutablePointer<UInt16>, _ q: UnsafeMutablePointer<UInt16>,
                     _ r: UnsafeMutablePointer<UInt16>,
                     _ a: inout Int, _ b: inout Int, _ c: inout Int, _ d: inout Int) -> (UInt64, UInt64) {
        var w = word, x: UInt64 = 0, y: UInt64 = 0, a0 = a, b0 = b, a1 = c, b1 = d
        for _ in 0..<count {
            let bin = Int(w & 1)
            w &>>= 1
            let cost = costs + (bin &<< 10), rr = r + (bin &<< 12)
            x &+= UInt64(cost[(b0 &+ (a0 &<< 3)) &>> 3])
            y &+= UInt64(cost[(b1 &+ (a1 &<< 3)) &>> 3])
            a0 = Int((p + (bin &<< 9))[a0]); b0 = Int(rr[b0])
            a1 = Int((q + (bin &<< 9))[a1]); b1 = Int(rr[b1])
        }
        a = a0; b = b0; c = a1; d = b1
        return (x, y)
    }

    @inline(__always)
    static func run3(_ word: UInt64, _ count: Int, _ costs: UnsafeMutablePointer<UInt32>,
                     _ p: UnsafeMutablePointer<UInt16>, _ r: UnsafeMutablePointer<UInt16>,
                     _ s: inout (Int, Int, Int, Int, Int, Int)) -> (UInt64, UInt64, UInt64) {
        var w = word, x: UInt64 = 0, y: UInt64 = 0, z: UInt64 = 0
        var (a0, b0, a1, b1, a2, b2) = s
        for _ in 0..<count {
            let bin = Int(w & 1)
            w &>>= 1
            let cost = costs + (bin &<< 10), pp = p + (bin &<< 9), rr = r + (bin &<< 12)
            x &+= UInt64(cost[(b0 &+ (a0 &<< 3)) &>> 3])
            y &+= UInt64(cost[(b1 &+ (a1 &<< 3)) &>> 3])
            z &+= UInt64(cost[(b2 &+ (a2 &<< 3)) &>> 3])
            a0 = Int(pp[a0]); b0 = Int(rr[b0])
            a1 = Int(pp[a1]); b1 = Int(rr[b1])
            a2 = Int(pp[a2]); b2 = Int(rr[b2])
        }
        s = (a0, b0, a1, b1, a2, b2)
        return (x, y, z)
    }

    typealias GroupState = (Int, Int, Int, Int, Int, Int)

    /// All nine sets over one context's bins: their summed costs by set. The groups' states are
    /// checked at every stretch: when each group has collapsed to one estimator (and set 8 to a
    /// lookup beside set 3), one loop runs the three remaining chains together, so that their
    /// load latencies overlap; otherwise each group runs its own loop for the stretch.
    static func replay(_ bins: BinWords, _ t: SelectionTables,
                       initial: (GroupState, GroupState, (Int, Int, Int, Int), Int)) -> [UInt64] {
        let sets = nnrEstimatorParameterSets
        let costs = t.costs
        let pA = t.nextS0[Int(sets[0].shift0)], rA = t.nextS1[Int(sets[0].shift1)]
        let pB = t.nextS0[Int(sets[4].shift0)], rB = t.nextS1[Int(sets[4].shift1)]
        let p3 = t.nextS0[Int(sets[3].shift0)], p8 = t.nextS0[Int(sets[8].shift0)]
        let rC = t.nextS1[Int(sets[3].shift1)]
        var stA = initial.0, stB = initial.1
        var (a3, b3, a8, b8) = initial.2
        let a7 = initial.3
        var accA: (UInt64, UInt64, UInt64) = (0, 0, 0), accB = accA, accC = accA
        bins.forEachStretch(reset: {
            stA = initial.0; stB = initial.1; (a3, b3, a8, b8) = initial.2
        }) { word, from, to in
            let n = to &- from
            // Set 8's S0 (shift 7) is a fixed point for |S0| ≤ 8, i.e. A in 240…272.
            let mergedC = b8 == b3 && a8 >= 240 && a8 <= 272
            if mergedC && allEqual(stA) && allEqual(stB) {
                var w = word
                var xa = stA.0, ya = stA.1, xb = stB.0, yb = stB.1, x3 = a3, y3 = b3
                var u: UInt64 = 0, v: UInt64 = 0, c3: UInt64 = 0, c8: UInt64 = 0, c7: UInt64 = 0
                for _ in 0..<n {
                    let bin = Int(w & 1)
                    w &>>= 1
                    let cost = costs + (bin &<< 10)
                    let o0 = bin &<< 9, o1 = bin &<< 12
                    u &+= UInt64(cost[(ya &+ (xa &<< 3)) &>> 3])
                    v &+= UInt64(cost[(yb &+ (xb &<< 3)) &>> 3])
                    c3 &+= UInt64(cost[(y3 &+ (x3 &<< 3)) &>> 3])
                    c8 &+= UInt64(cost[(y3 &+ (a8 &<< 3)) &>> 3])
                    c7 &+= UInt64(cost[(y3 &+ (a7 &<< 3)) &>> 3])
                    xa = Int((pA + o0)[xa]); ya = Int((rA + o1)[ya])
                    xb = Int((pB + o0)[xb]); yb = Int((rB + o1)[yb])
                    x3 = Int((p3 + o0)[x3]); y3 = Int((rC + o1)[y3])
                }
                stA = (xa, ya, xa, ya, xa, ya)
                stB = (xb, yb, xb, yb, xb, yb)
                a3 = x3; b3 = y3; b8 = y3
                accA.0 &+= u; accA.1 &+= u; accA.2 &+= u
                accB.0 &+= v; accB.1 &+= v; accB.2 &+= v
                accC.0 &+= c3; accC.1 &+= c8; accC.2 &+= c7
            } else {
                groupStretch(word, n, costs, pA, rA, &stA, &accA)
                groupStretch(word, n, costs, pB, rB, &stB, &accB)
                stretch387(word, n, costs, p3, p8, rC, merged: mergedC, &a3, &b3, &a8, &b8, a7, &accC)
            }
        }
        return [accA.0, accA.1, accA.2, accC.0, accB.0, accB.1, accB.2, accC.2, accC.1]
    }

    @inline(__always)
    static func allEqual(_ s: GroupState) -> Bool {
        s.0 == s.2 && s.1 == s.3 && s.0 == s.4 && s.1 == s.5
    }

    /// One stretch of a group of three sets with the same shifts (S0 table `s0`, S1 table `s1`),
    /// running only its distinct estimators.
    @inline(__always)
    static func groupStretch(_ word: UInt64, _ n: Int, _ costs: UnsafeMutablePointer<UInt32>,
                             _ s0: UnsafeMutablePointer<UInt16>, _ s1: UnsafeMutablePointer<UInt16>,
                             _ st: inout GroupState, _ acc: inout (UInt64, UInt64, UInt64)) {
        let same01 = st.0 == st.2 && st.1 == st.3
        let same02 = st.0 == st.4 && st.1 == st.5
        if same01 && same02 {
            let v = run1(word, n, costs, s0, s1, &st.0, &st.1)
            acc.0 &+= v; acc.1 &+= v; acc.2 &+= v
            st.2 = st.0; st.3 = st.1; st.4 = st.0; st.5 = st.1
        } else if same01 {
            let (u, v) = run2(word, n, costs, s0, s0, s1, &st.0, &st.1, &st.4, &st.5)
            acc.0 &+= u; acc.1 &+= u; acc.2 &+= v
            st.2 = st.0; st.3 = st.1
        } else if same02 {
            let (u, v) = run2(word, n, costs, s0, s0, s1, &st.0, &st.1, &st.2, &st.3)
            acc.0 &+= u; acc.1 &+= v; acc.2 &+= u
            st.4 = st.0; st.5 = st.1
        } else if st.2 == st.4 && st.3 == st.5 {
            let (u, v) = run2(word, n, costs, s0, s0, s1, &st.0, &st.1, &st.2, &st.3)
            acc.0 &+= u; acc.1 &+= v; acc.2 &+= v
            st.4 = st.2; st.5 = st.3
        } else {
            let (u, v, w) = run3(word, n, costs, s0, s1, &st)
            acc.0 &+= u; acc.1 &+= v; acc.2 &+= w
        }
    }

    /// One stretch of sets 3 and 8 (S1 table `s1`, S0 tables `p3`, `p8`) and set 7 (S0 fixed at
    /// `a7`, S1 = set 3's); `acc` is (3, 8, 7). With `merged`, set 8 is a lookup beside set 3.
    @inline(__always)
    static func stretch387(_ word: UInt64, _ n: Int, _ costs: UnsafeMutablePointer<UInt32>,
                           _ p3: UnsafeMutablePointer<UInt16>, _ p8: UnsafeMutablePointer<UInt16>,
                           _ s1: UnsafeMutablePointer<UInt16>, merged: Bool,
                           _ a3: inout Int, _ b3: inout Int, _ a8: inout Int, _ b8: inout Int, _ a7: Int,
                           _ acc: inout (UInt64, UInt64, UInt64)) {
        var w = word
        var u: UInt64 = 0, v: UInt64 = 0, z: UInt64 = 0
        if merged {
            var a0 = a3, b0 = b3
            let a1 = a8
            for _ in 0..<n {
                let bin = Int(w & 1)
                w &>>= 1
                let cost = costs + (bin &<< 10)
                u &+= UInt64(cost[(b0 &+ (a0 &<< 3)) &>> 3])
                v &+= UInt64(cost[(b0 &+ (a1 &<< 3)) &>> 3])
                z &+= UInt64(cost[(b0 &+ (a7 &<< 3)) &>> 3])
                a0 = Int((p3 + (bin &<< 9))[a0])
                b0 = Int((s1 + (bin &<< 12))[b0])
            }
            a3 = a0; b3 = b0; b8 = b0
        } else {
            var a0 = a3, b0 = b3, a1 = a8, b1 = b8
            for _ in 0..<n {
                let bin = Int(w & 1)
                w &>>= 1
                let cost = costs + (bin &<< 10), rr = s1 + (bin &<< 12)
                u &+= UInt64(cost[(b0 &+ (a0 &<< 3)) &>> 3])
                v &+= UInt64(cost[(b1 &+ (a1 &<< 3)) &>> 3])
                z &+= UInt64(cost[(b0 &+ (a7 &<< 3)) &>> 3])
                a0 = Int((p3 + (bin &<< 9))[a0]); b0 = Int(rr[b0])
                a1 = Int((p8 + (bin &<< 9))[a1]); b1 = Int(rr[b1])
            }
            a3 = a0; b3 = b0; a8 = a1; b8 = b1
        }
        acc.0 &+= u; acc.1 &+= v; acc.2 &+= z
    }
}

/// Compact next-state and cost tables of the estimator-selection pass, sized to stay in the L1
/// cache: S0 is kept as A = 2·(S0 + 128) (0…510) and S1 as b = S1 + 2048 (0…4095), so that
/// 512 + (S01 >> 3) = (b + 8·A) >> 3. Never freed.
final class SelectionTables: @unchecked Sendable {
    static let shared = SelectionTables()

    /// Per shift 0…7: next A = 2·(S0 + 128), [512·bin + A] (only even A are used).
    let nextS0: [UnsafeMutablePointer<UInt16>]
    /// Per shift 0…7: next b, [4096·bin + b].
    let nextS1: [UnsafeMutablePointer<UInt16>]
    /// Scaled bit costs [1024·bin + ((b + 8·A) >> 3)].
    let costs: UnsafeMutablePointer<UInt32>

    private init() {
        var n0: [UnsafeMutablePointer<UInt16>] = []
        var n1: [UnsafeMutablePointer<UInt16>] = []
        // S += σ·(C[16 + ((σ·S) >> k)] >> sh), σ = +1 for bin 1, −1 for bin 0 (spec 5.2); the
        // reachable states (|S0| ≤ 123, |S1| ≤ 1923) map into themselves, the rest is clamped.
        let curveTable = nnrCurveTable
        for sh in 0..<8 {
            let t0 = UnsafeMutablePointer<UInt16>.allocate(capacity: 1024)
            t0.initialize(repeating: 0, count: 1024)
            func step(_ v: Int, _ bin: Bool, _ k: Int32) -> Int {
                Int(ContextModel.step(Int32(v), bin: bin, precision: k, shift: Int32(sh), curve: { ContextModel.curve($0, in: curveTable) }))
            }
            for v in -128..<128 {
                let down = step(v, false, 3)
                let up = step(v, true, 3)
                t0[2 * (v + 128)] = UInt16(2 * Swift.min(Swift.max(down + 128, 0), 255))
                t0[512 + 2 * (v + 128)] = UInt16(2 * Swift.min(Swift.max(up + 128, 0), 255))
            }
            let t1 = UnsafeMutablePointer<UInt16>.allocate(capacity: 8192)
            for v in -2048..<2048 {
                let down = step(v, false, 7)
                let up = step(v, true, 7)
                t1[v + 2048] = UInt16(Swift.min(Swift.max(down + 2048, 0), 4095))
                t1[4096 + v + 2048] = UInt16(Swift.min(Swift.max(up + 2048, 0), 4095))
            }
            n0.append(t0)
            n1.append(t1)
        }
        nextS0 = n0
        nextS1 = n1
        costs = .allocate(capacity: 2048)
        let table = nnrScaledEstimatedBits
        for bin in 0..<2 {
            for i in 0..<1024 {
                let k = 2 * i + bin
                costs[1024 * bin + i] = k < table.count ? table[k] : 0
            }
        }
    }
}

/// The bins of the pseudo-coding pass, recorded per context (one bit each) and replayed context by
/// context by `EstimatorOptimizer.accumulate`, with the positions where block-row resets occurred.
struct BinRecorder {
    let contextCount: Int
    /// Completed 64-bin words per context.
    var words: [[UInt64]]
    /// The word being filled per context, and the number of bins per context.
    let current: UnsafeMutablePointer<UInt64>
    let counts: UnsafeMutablePointer<Int>
    /// Per context: bin counts at which the estimator states were reset.
    var resets: [[Int]]

    init(contextCount n: Int) {
        contextCount = n
        words = [[UInt64]](repeating: [], count: n)
        current = .allocate(capacity: n)
        current.initialize(repeating: 0, count: n)
        counts = .allocate(capacity: n)
        counts.initialize(repeating: 0, count: n)
        resets = [[Int]](repeating: [], count: n)
    }

    func deallocate() {
        current.deallocate()
        counts.deallocate()
    }

    @inline(__always)
    mutating func push(_ bin: UInt32, _ c: Int) {
        let k = counts[c]
        let w = current[c] | (UInt64(bin) &<< UInt64(k & 63))
        counts[c] = k &+ 1
        if k & 63 == 63 {
            words[c].append(w)
            current[c] = 0
        } else {
            current[c] = w
        }
    }

    /// A block-row boundary: every context restarts from the initial states at its current count.
    mutating func markReset() {
        for c in 0..<contextCount {
            let k = counts[c]
            if k > 0 && resets[c].last != k { resets[c].append(k) }
        }
    }
}
