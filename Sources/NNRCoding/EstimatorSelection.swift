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
/// the pseudo-coder of NNCodec's parameter optimisation. Storage is raw memory, reused per tensor.
struct EstimatorOptimizer {
    /// Per context: s0[9], s01[9] (Int32) at stride 18.
    let states: UnsafeMutablePointer<Int32>
    /// Per context: accumulated scaled bits per set, stride 9.
    let costs: UnsafeMutablePointer<UInt64>
    let count: Int

    init(contextCount: Int) {
        count = contextCount
        states = .allocate(capacity: contextCount * 18)
        costs = .allocate(capacity: contextCount * 9)
        reset(clearingCosts: true)
    }

    func deallocate() {
        states.deallocate()
        costs.deallocate()
    }

    /// Every context back to the initial states of the nine sets (block-row boundaries keep costs).
    func reset(clearingCosts: Bool) {
        for c in 0..<count {
            let p = states + c * 18
            for e in 0..<9 {
                let set = nnrEstimatorParameterSets[e]
                p[e] = set.initialS0
                p[9 + e] = set.initialS01
            }
            if clearingCosts {
                for e in 0..<9 { costs[c * 9 + e] = 0 }
            }
        }
    }

    /// The set NNCodec picks for context `c` (`SBMPCtxOptimizer::getBestIdx`).
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

    /// Accumulates the cost of `bin` in all nine states of context `c`, then adapts them.
    @inline(__always)
    func code(_ bin: UInt32, _ c: Int, _ t: EncoderTables) {
        let p = states + c &* 18
        let acc = costs + c &* 9
        let bits = t.bits
        let curve = t.curve
        let b = Int(bin)
        // The shift pairs of the nine sets (SH0 + 4, SH1) are constants: 5/4 ×3, 4/5, 6/6 ×3, 7/5 ×2.
        @inline(__always) func lane(_ e: Int, _ sh0: Int32, _ sh1: Int32) {
            var s0 = p[e]
            var s01 = p[9 &+ e]
            acc[e] &+= UInt64(bits[((512 &+ Int(s01 &>> 3)) &<< 1) | b])
            nnrUpdateEstimator(&s0, &s01, bin: bin, sh0: sh0, sh1: sh1, curve: curve)
            p[e] = s0
            p[9 &+ e] = s01
        }
        lane(0, 5, 4)
        lane(1, 5, 4)
        lane(2, 5, 4)
        lane(3, 4, 5)
        lane(4, 6, 6)
        lane(5, 6, 6)
        lane(6, 6, 6)
        lane(7, 7, 5)
        lane(8, 7, 5)
    }
}
