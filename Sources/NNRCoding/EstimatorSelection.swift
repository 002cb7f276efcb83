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

/// The nine estimator states of one context in the optimizer: sets 0…7 as 16-bit SIMD lanes
/// (S0 and S1 = S01 − 16·S0 kept apart), set 8 as scalars.
struct OptimizerContext {
    var s0: SIMD8<Int16>
    var s1: SIMD8<Int16>
    var s0Set8: Int32
    var s1Set8: Int32

    static let initial: OptimizerContext = {
        var s0 = SIMD8<Int16>()
        var s1 = SIMD8<Int16>()
        for e in 0..<8 {
            let set = nnrEstimatorParameterSets[e]
            s0[e] = Int16(set.initialS0)
            s1[e] = Int16(set.initialS01 - 16 * set.initialS0)
        }
        let set8 = nnrEstimatorParameterSets[8]
        return OptimizerContext(s0: s0, s1: s1, s0Set8: set8.initialS0,
                                s1Set8: set8.initialS01 - 16 * set8.initialS0)
    }()
}

/// Nine estimator states per context (one per parameter set) with their accumulated bit costs:
/// the pseudo-coder of NNCodec's parameter optimisation. Storage is raw memory, one per tensor.
struct EstimatorOptimizer {
    let contexts: UnsafeMutablePointer<OptimizerContext>
    /// Per context: accumulated scaled bits per set, stride 9.
    let costs: UnsafeMutablePointer<UInt64>
    let count: Int
    /// 2^(7 − shift) per lane (sets 0…7): (C · m) >> 7 = C >> shift for the curve values C ≤ 2512.
    let multiplier0: SIMD8<Int16>
    let multiplier1: SIMD8<Int16>

    init(contextCount: Int) {
        count = contextCount
        contexts = .allocate(capacity: contextCount)
        contexts.initialize(repeating: OptimizerContext.initial, count: contextCount)
        costs = .allocate(capacity: contextCount * 9)
        costs.initialize(repeating: 0, count: contextCount * 9)
        var m0 = SIMD8<Int16>()
        var m1 = SIMD8<Int16>()
        for e in 0..<8 {
            let set = nnrEstimatorParameterSets[e]
            m0[e] = Int16(1 << (7 - set.shift0))
            m1[e] = Int16(1 << (7 - set.shift1))
        }
        multiplier0 = m0
        multiplier1 = m1
    }

    func deallocate() {
        contexts.deallocate()
        costs.deallocate()
    }

    /// Every context back to the initial states of the nine sets (block-row boundaries; costs stay).
    func reset() {
        for c in 0..<count { contexts[c] = OptimizerContext.initial }
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

    /// The curve C[16 + j] for j = (signed state) >> k in −16…15, as the upper envelope of its linear
    /// pieces (exact for every j): max(2512 − 224i, 2000 − 160i, 1424 − 96i, 1040 − 64i, 320 − 16i, 64)
    /// with i = 16 + j, and 0 at i = 31.
    @inline(__always)
    static func curve(_ j: SIMD8<Int16>) -> SIMD8<Int16> {
        var c = SIMD8<Int16>(repeating: -1072) &- j &* 224
        c = pointwiseMax(c, SIMD8<Int16>(repeating: -560) &- j &* 160)
        c = pointwiseMax(c, SIMD8<Int16>(repeating: -112) &- j &* 96)
        c = pointwiseMax(c, SIMD8<Int16>(repeating: 16) &- j &* 64)
        c = pointwiseMax(c, SIMD8<Int16>(repeating: 64) &- j &* 16)
        c = pointwiseMax(c, SIMD8<Int16>(repeating: 64))
        return pointwiseMin(c, (SIMD8<Int16>(repeating: 15) &- j) &* 256)
    }

    /// Accumulates the cost of `bin` in the nine states `st` (costs at `acc`), then adapts them
    /// (the update of spec 5.2; S0 and S1 move independently).
    @inline(__always)
    static func step(_ st: inout OptimizerContext, _ bin: UInt32, _ acc: UnsafeMutablePointer<UInt64>,
                     _ bits: UnsafeMutablePointer<UInt32>, _ c7: UnsafeMutablePointer<Int32>,
                     _ c5: UnsafeMutablePointer<Int32>, _ m0: SIMD8<Int16>, _ m1: SIMD8<Int16>) {
        // bits[2·(512 + (S01 >> 3)) + bin]
        let cost = bits + (1024 &+ Int(bin))
        var s0 = st.s0
        var s1 = st.s1
        let idx = (s1 &+ (s0 &<< 4)) &>> 3
        acc[0] &+= UInt64(cost[Int(idx[0]) &<< 1])
        acc[1] &+= UInt64(cost[Int(idx[1]) &<< 1])
        acc[2] &+= UInt64(cost[Int(idx[2]) &<< 1])
        acc[3] &+= UInt64(cost[Int(idx[3]) &<< 1])
        acc[4] &+= UInt64(cost[Int(idx[4]) &<< 1])
        acc[5] &+= UInt64(cost[Int(idx[5]) &<< 1])
        acc[6] &+= UInt64(cost[Int(idx[6]) &<< 1])
        acc[7] &+= UInt64(cost[Int(idx[7]) &<< 1])
        // Set 8 (SH0 + 4 = 7, SH1 = 5).
        let x0 = st.s0Set8
        let x1 = st.s1Set8
        acc[8] &+= UInt64(cost[Int((x1 &+ (x0 &<< 4)) &>> 3) &<< 1])
        // Branch-free update: with σ = ±1 for bin 1 / 0, S += σ·(C[16 + ((σ·S) >> k)] >> sh).
        let mask = Int32(bitPattern: bin) &- 1
        let vmask = SIMD8<Int16>(repeating: Int16(truncatingIfNeeded: mask))
        let j0 = ((s0 ^ vmask) &- vmask) &>> 3
        let j1 = ((s1 ^ vmask) &- vmask) &>> 7
        let d0 = (EstimatorOptimizer.curve(j0) &* m0) &>> 7
        let d1 = (EstimatorOptimizer.curve(j1) &* m1) &>> 7
        s0 = s0 &+ ((d0 ^ vmask) &- vmask)
        s1 = s1 &+ ((d1 ^ vmask) &- vmask)
        let e0 = c7[Int(((x0 ^ mask) &- mask) &>> 3)]
        let e1 = c5[Int(((x1 ^ mask) &- mask) &>> 7)]
        st.s0Set8 = x0 &+ ((e0 ^ mask) &- mask)
        st.s1Set8 = x1 &+ ((e1 ^ mask) &- mask)
        st.s0 = s0
        st.s1 = s1
    }

    /// Runs every context's recorded bin sequence through the nine estimators, accumulating costs.
    func accumulate(_ rec: BinRecorder) {
        let t = EncoderTables.shared
        let bits = t.bits
        let c7 = t.curveShifted7
        let c5 = t.curveShifted5
        let m0 = multiplier0
        let m1 = multiplier1
        for c in 0..<Swift.min(count, rec.contextCount) {
            let total = rec.counts[c]
            if total == 0 { continue }
            let acc = costs + c * 9
            var st = OptimizerContext.initial
            let resets = rec.resets[c]
            var resetIndex = 0
            var nextReset = resets.isEmpty ? Int.max : resets[0]
            rec.words[c].withUnsafeBufferPointer { words in
                var pos = 0
                while pos < total {
                    let word = pos >> 6 < words.count ? words[pos >> 6] : rec.current[c]
                    let end = Swift.min(total, (pos | 63) &+ 1)
                    while pos < end {
                        if pos == nextReset {
                            st = OptimizerContext.initial
                            resetIndex += 1
                            nextReset = resetIndex < resets.count ? resets[resetIndex] : Int.max
                        }
                        let bin = UInt32(truncatingIfNeeded: (word &>> UInt64(pos & 63)) & 1)
                        EstimatorOptimizer.step(&st, bin, acc, bits, c7, c5, m0, m1)
                        pos &+= 1
                    }
                }
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
