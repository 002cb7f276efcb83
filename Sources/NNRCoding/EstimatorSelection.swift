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
}

/// The contexts that carry an estimator-selection entry, in coding order (spec 5.3), and whether
/// each entry is present (coded). Absent entries are re-initialised with set 0 without bins.
struct EstimatorSelectionList {
    struct Entry {
        var context: Int
        var present: Bool
    }

    /// - Parameters:
    ///   - codebookSize: codebook_size as the coder sees it (0 = no codebook; only profile 1 passes > 0).
    static func entries(layout: ContextLayout, dq: Bool, tca: Bool, hdsp: Bool,
                        codebookSize: Int, codebookZeroOffset: Int) -> [Entry] {
        var list: [Entry] = []
        let l = layout.gtCount
        list.reserveCapacity(60 + 4 * l)
        let notSingle = codebookSize != 1
        for i in 0..<(dq ? 24 : 3) { list.append(Entry(context: i, present: notSingle)) }
        if tca {
            for i in 24..<(dq ? 40 : 26) { list.append(Entry(context: i, present: notSingle)) }
        }
        if hdsp {
            for i in 40..<(dq ? 48 : 41) { list.append(Entry(context: i, present: notSingle)) }
        }
        let zeroAtEnd = codebookSize > 0 && (codebookZeroOffset == 0 || codebookZeroOffset == codebookSize - 1)
        for a in 0..<(tca ? 5 : 3) {
            list.append(Entry(context: ContextLayout.signBase + a, present: !zeroAtEnd && notSingle))
        }
        let maxAbs: Int64 = codebookSize > 0
            ? Int64(Swift.max(codebookZeroOffset, codebookSize - 1 - codebookZeroOffset)) : -1
        for a in 0..<(2 * l) {
            list.append(Entry(context: ContextLayout.gtBase + a, present: maxAbs == -1 || Int64(a) < maxAbs * 2))
        }
        if tca {
            for a in (2 * l)..<(4 * l) {
                list.append(Entry(context: ContextLayout.gtBase + a,
                                  present: maxAbs == -1 || Int64(a) < (maxAbs - 1) * 2 + Int64(2 * l)))
            }
        }
        var level = Int64(l - 1)
        for a in 0..<31 {
            level += Int64(1) << Int64(a)
            list.append(Entry(context: layout.remainderBase + a, present: maxAbs == -1 || level < maxAbs))
        }
        return list
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
    /// The estimators adapt by next-state table lookups. Set 7 (S0 = 0 and SH0 + 4 = 7) never moves
    /// its S0 (C[16] >> 7 = 0) and its S1 (init 0, SH1 = 5) follows set 3's, so it only needs its cost
    /// looked up. The sets are processed in three groups ({0, 1, 2}, {3, 7, 8}, {4, 5, 6}) so that
    /// states and sums stay in registers.
    func accumulate(_ rec: BinRecorder) {
        let t = EncoderTables.shared
        let sets = nnrEstimatorParameterSets
        func s0(_ e: Int) -> Int { Int(sets[e].initialS0) << 4 }
        func s1(_ e: Int) -> Int { Int(sets[e].initialS01) - (Int(sets[e].initialS0) << 4) }
        for c in 0..<Swift.min(count, rec.contextCount) {
            let total = rec.counts[c]
            if total == 0 { continue }
            let acc = costs + c * 9
            let resets = rec.resets[c]
            rec.words[c].withUnsafeBufferPointer { words in
                let current = rec.current[c]
                // Sets 0, 1, 2 (SH0 + 4 = 5, SH1 = 4) and 4, 5, 6 (6, 6): same shifts within a group.
                for (first, sh0, sh1) in [(0, 5, 4), (4, 6, 6)] {
                    let (x, y, z) = EstimatorOptimizer.replayThree(
                        words: words, current: current, total: total, resets: resets, t: t,
                        p: t.nextS0x16[sh0], q: t.nextS1[sh1],
                        initial: (s0(first), s1(first), s0(first + 1), s1(first + 1), s0(first + 2), s1(first + 2)))
                    acc[first] &+= x
                    acc[first + 1] &+= y
                    acc[first + 2] &+= z
                }
                // Sets 3 (4, 5), 8 (7, 5) and 7 (S0 = 0, S1 as set 3).
                let (x3, x8, x7) = EstimatorOptimizer.replay378(
                    words: words, current: current, total: total, resets: resets, t: t,
                    initial: (s0(3), s1(3), s0(8), s1(8)))
                acc[3] &+= x3
                acc[8] &+= x8
                acc[7] &+= x7
            }
        }
    }

    /// Three sets with the same shifts over one context's bins: their summed costs.
    @inline(__always)
    static func replayThree(words: UnsafeBufferPointer<UInt64>, current: UInt64, total: Int, resets: [Int],
                            t: EncoderTables, p: UnsafeMutablePointer<Int32>, q: UnsafeMutablePointer<Int16>,
                            initial: (Int, Int, Int, Int, Int, Int)) -> (UInt64, UInt64, UInt64) {
        let bits = t.bitsByState
        var a0 = 0, b0 = 0, a1 = 0, b1 = 0, a2 = 0, b2 = 0
        var x: UInt64 = 0, y: UInt64 = 0, z: UInt64 = 0
        var resetIndex = 0
        var nextReset = 0
        var pos = 0
        while pos < total {
            let word = pos >> 6 < words.count ? words[pos >> 6] : current
            let end = Swift.min(total, (pos | 63) &+ 1)
            while pos < end {
                if pos == nextReset {
                    (a0, b0, a1, b1, a2, b2) = initial
                    nextReset = resetIndex < resets.count ? resets[resetIndex] : Int.max
                    resetIndex += 1
                }
                let bin = Int((word &>> UInt64(pos & 63)) & 1)
                let cost = bits + (bin &<< 13)
                let o0 = bin &<< 12
                x &+= UInt64(cost[b0 &+ a0])
                y &+= UInt64(cost[b1 &+ a1])
                z &+= UInt64(cost[b2 &+ a2])
                a0 = Int(p[o0 &+ a0]); b0 = Int(q[o0 &+ b0])
                a1 = Int(p[o0 &+ a1]); b1 = Int(q[o0 &+ b1])
                a2 = Int(p[o0 &+ a2]); b2 = Int(q[o0 &+ b2])
                pos &+= 1
            }
        }
        return (x, y, z)
    }

    /// Sets 3 and 8, and set 7 (whose S0 stays 0 and whose S1 is set 3's): their summed costs.
    @inline(__always)
    static func replay378(words: UnsafeBufferPointer<UInt64>, current: UInt64, total: Int, resets: [Int],
                          t: EncoderTables, initial: (Int, Int, Int, Int)) -> (UInt64, UInt64, UInt64) {
        let bits = t.bitsByState
        let p4 = t.nextS0x16[4], q5 = t.nextS1[5], p7 = t.nextS0x16[7]
        var a3 = 0, b3 = 0, a8 = 0, b8 = 0
        var x3: UInt64 = 0, x8: UInt64 = 0, x7: UInt64 = 0
        var resetIndex = 0
        var nextReset = 0
        var pos = 0
        while pos < total {
            let word = pos >> 6 < words.count ? words[pos >> 6] : current
            let end = Swift.min(total, (pos | 63) &+ 1)
            while pos < end {
                if pos == nextReset {
                    (a3, b3, a8, b8) = initial
                    nextReset = resetIndex < resets.count ? resets[resetIndex] : Int.max
                    resetIndex += 1
                }
                let bin = Int((word &>> UInt64(pos & 63)) & 1)
                let cost = bits + (bin &<< 13)
                let o0 = bin &<< 12
                x3 &+= UInt64(cost[b3 &+ a3])
                x7 &+= UInt64(cost[b3])
                x8 &+= UInt64(cost[b8 &+ a8])
                a3 = Int(p4[o0 &+ a3]); b3 = Int(q5[o0 &+ b3])
                a8 = Int(p7[o0 &+ a8]); b8 = Int(q5[o0 &+ b8])
                pos &+= 1
            }
        }
        return (x3, x8, x7)
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
