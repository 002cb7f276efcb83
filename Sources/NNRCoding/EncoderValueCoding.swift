// The value loops of the payload encoder: the real coding pass and the nine-set pseudo-coding pass
// of estimator selection. Both walk the prepared tensor in scan order with row skipping, DQ states
// and block-row boundaries; the binarization (inverse of spec notes 5.4) is written out in each loop
// so that the coder state stays in registers.

extension PayloadEncoder {
    /// Codes the values of a prepared tensor (k in scan order) with the real arithmetic coder.
    /// At each block-row boundary: contexts reset to their selected sets, neighbour 0, range := 256,
    /// and an entry-point mark.
    static func encodeValues(_ coder: inout ArithmeticEncoder, contexts: UnsafeMutablePointer<EncoderContext>,
                             contextCount: Int, plan: TensorPlan, prepared: PreparedTensor, layout: ContextLayout,
                             hdspOn: Bool, marks: inout [EntryPointMark]) {
        if plan.tca || plan.codebookSize > 0 || (hdspOn && prepared.hdspScan != nil) {
            encodeValuesImpl(GeneralCoding.self, &coder, contexts: contexts, contextCount: contextCount, plan: plan,
                             prepared: prepared, layout: layout, hdspOn: hdspOn, marks: &marks)
        } else {
            encodeValuesImpl(PlainCoding.self, &coder, contexts: contexts, contextCount: contextCount, plan: plan,
                             prepared: prepared, layout: layout, hdspOn: hdspOn, marks: &marks)
        }
    }

    /// The real pass, specialised for tensors without TCA, HDSP and codebook (`PlainCoding`) or general.
    static func encodeValuesImpl<F: ValueCodingFeatures>(_ features: F.Type, _ coder: inout ArithmeticEncoder,
                                                         contexts: UnsafeMutablePointer<EncoderContext>,
                                                         contextCount: Int, plan: TensorPlan, prepared: PreparedTensor,
                                                         layout: ContextLayout, hdspOn: Bool,
                                                         marks: inout [EntryPointMark]) {
        let n = plan.count
        let rowSpan = plan.geometry.scanOrder > 0 ? plan.geometry.width * plan.geometry.blockSize : n
        var ac = ArithmeticEncoder()
        swap(&ac, &coder)
        defer { swap(&ac, &coder) }

        guard plan.codesValues else {
            // A one-entry codebook: no bins, but the block-row boundaries still narrow the range.
            var b = rowSpan
            while b < n {
                blockRowReset(&ac, contexts, contextCount, 0, &marks)
                b += rowSpan
            }
            return
        }

        // Largest |k| per sign (Int64.max = unbounded) and whether the sign is coded.
        var maxPositive = Int64.max
        var maxNegative = Int64.max
        var signCoded = true
        if F.general && plan.codebookSize > 0 {
            let zo = plan.codebookZeroOffset
            let size = plan.codebookSize
            maxPositive = Int64(size - 1 - zo)
            maxNegative = Int64(zo)
            signCoded = !(zo == 0 || zo == size - 1)
        }
        let gtCount = layout.gtCount
        let gtTCABase = layout.gtTCABase
        let remBase = layout.remainderBase
        let rps = EncoderTables.shared
        let next = EncoderTables.shared.dqNext
        let k = prepared.k
        let dq = plan.dq
        let tca = F.general && plan.tca
        let useHist = F.general && hdspOn && prepared.hdspScan != nil
        let baseP = prepared.tcaScan ?? prepared.k
        let histP = prepared.hdspScan ?? UnsafeMutablePointer<UInt8>(OpaquePointer(prepared.k))
        let skips = prepared.skips
        let advance = prepared.skipAdvance
        var state = 0
        var neighbour = 0
        var boundary = rowSpan
        var skipIndex = 0
        var nextSkip = skips.isEmpty ? n : skips[0].start
        var i = 0
        while i < n {
            if i == boundary {
                blockRowReset(&ac, contexts, contextCount, state, &marks)
                neighbour = 0
                boundary += rowSpan
            }
            if i == nextSkip {
                if dq { state = Int(advance[state]) }
                i += skips[skipIndex].length
                skipIndex += 1
                nextSkip = skipIndex < skips.count ? skips[skipIndex].start : n
                continue
            }
            let end = Swift.min(boundary, nextSkip, n)
            while i < end {
                let v = k[i]
                var sigCtx = 3 &* state &+ neighbour
                var signCtx = ContextLayout.signBase &+ neighbour
                var tcaAbs: Int64 = -1
                if tca {
                    let b = baseP[i]
                    if b != 0 {
                        let ab = Int64(b.magnitude)
                        sigCtx = ContextLayout.sigTCABase &+ 2 &* state &+ (ab > 1 ? 1 : 0)
                        signCtx = ContextLayout.signTCABase &+ (b > 0 ? 1 : 0)
                        tcaAbs = ab
                    }
                }
                if useHist && histP[i] != 0 { sigCtx = ContextLayout.sigHDSPBase &+ state }

                if v == 0 {
                    ac.encodeBin(0, contexts + sigCtx, rps)
                    neighbour = 0
                } else {
                    ac.encodeBin(1, contexts + sigCtx, rps)
                    let negative = v < 0
                    let maxAbs = negative ? maxNegative : maxPositive
                    if signCoded { ac.encodeBin(negative ? 1 : 0, contexts + signCtx, rps) }
                    if !F.general {
                        // Unbounded, no TCA: |k| − 1 flags 1 (at most L), a 0 if |k| ≤ L, else the
                        // remainder |k| − L − 1.
                        let m = Int(v.magnitude)
                        let ones = Swift.min(m &- 1, gtCount)
                        var gtContext = contexts + (ContextLayout.gtBase &+ (negative ? 1 : 0))
                        var j = 0
                        while j < ones {
                            ac.encodeBin(1, gtContext, rps)
                            gtContext += 2
                            j &+= 1
                        }
                        if m &- 1 < gtCount {
                            ac.encodeBin(0, gtContext, rps)
                        } else {
                            let value = Int64(m &- gtCount &- 1)
                            var ctx = remBase
                            if value <= 0 {
                                ac.encodeBin(0, contexts + ctx, rps)
                            } else {
                                ac.encodeBin(1, contexts + ctx, rps)
                                var base: Int64 = 1
                                var log2: Int64 = 1
                                ctx &+= 1
                                while value > base &+ (1 &<< log2) &- 1 {
                                    ac.encodeBin(1, contexts + ctx, rps)
                                    base &+= 1 &<< log2
                                    ctx &+= 1
                                    log2 &+= 1
                                }
                                ac.encodeBin(0, contexts + ctx, rps)
                                ac.encodeBypassBins(UInt32(truncatingIfNeeded: value &- base), count: Int(log2))
                            }
                        }
                    } else if maxAbs != 1 {
                        // Greater-than flags: context gtBase + 2j + (negative ? 1 : 0), or with TCA
                        // gtTCABase + 2j + (|base| ≥ j ? 0 : 1).
                        let tcaActive = tcaAbs >= 0
                        let gtBase = tcaActive ? gtTCABase : ContextLayout.gtBase &+ (negative ? 1 : 0)
                        var rem = Int64(v.magnitude) &- 1
                        var greater: UInt32 = rem != 0 ? 1 : 0
                        ac.encodeBin(greater, contexts + gtBase, rps)
                        var j = 1
                        while greater != 0 && j < gtCount && maxAbs > Int64(j &+ 1) {
                            rem &-= 1
                            greater = rem != 0 ? 1 : 0
                            let sel = tcaActive && tcaAbs < Int64(j) ? 1 : 0
                            ac.encodeBin(greater, contexts + (gtBase &+ (j &<< 1) &+ sel), rps)
                            j &+= 1
                        }
                        // |k| = maxAbs after the flags: nothing more (the decoder infers it).
                        if greater != 0 && maxAbs > Int64(j &+ 1) {
                            // Remainder |k| − j − 1: Exp-Golomb-0, context-coded prefix, bypass suffix,
                            // truncated at remMax.
                            let value = rem &- 1
                            let remMax = maxAbs &- Int64(j &+ 1)
                            var ctx = remBase
                            if value <= 0 {
                                ac.encodeBin(0, contexts + ctx, rps)
                            } else {
                                ac.encodeBin(1, contexts + ctx, rps)
                                var base: Int64 = 1
                                var log2: Int64 = 1
                                ctx &+= 1
                                while value > base &+ (1 &<< log2) &- 1 && remMax >= base &+ (1 &<< log2) {
                                    ac.encodeBin(1, contexts + ctx, rps)
                                    base &+= 1 &<< log2
                                    ctx &+= 1
                                    log2 &+= 1
                                }
                                if remMax >= base &+ (1 &<< log2) { ac.encodeBin(0, contexts + ctx, rps) }
                                ac.encodeBypassBins(UInt32(truncatingIfNeeded: value &- base), count: Int(log2))
                            }
                        }
                    }
                    neighbour = negative ? 1 : 2
                }
                if dq { state = Int(next[(state &<< 1) | Int(v & 1)]) }
                i &+= 1
            }
        }
    }

    /// Block-row boundary of the real pass: contexts back to their selected sets, range := 256, and an
    /// entry-point mark.
    static func blockRowReset(_ ac: inout ArithmeticEncoder, _ contexts: UnsafeMutablePointer<EncoderContext>,
                              _ contextCount: Int, _ state: Int, _ marks: inout [EntryPointMark]) {
        for c in 0..<contextCount { contexts[c].reset() }
        ac.entryPointStart()
        marks.append(EntryPointMark(bitPosition: ac.bitPosition, low9: ac.lowBits9, dqState: state))
    }

    /// NNCodec's parameter-optimisation pass: pseudo-codes every value with all nine sets.
    /// As in NNCodec it codes q (not k) even with DQ, unbounded by any codebook and with the sign
    /// always coded; the DQ state still follows k; at block rows only the estimator states reset
    /// (the neighbour is kept).
    static func pseudoCodeValues(_ opt: EstimatorOptimizer, plan: TensorPlan, prepared: PreparedTensor,
                                 layout: ContextLayout, hdspOn: Bool, windows: [Range<Int>]) {
        var rec = BinRecorder(contextCount: layout.count)
        defer { rec.deallocate() }
        recordPseudoBins(&rec, plan: plan, prepared: prepared, layout: layout, hdspOn: hdspOn, windows: windows)
        opt.accumulate(rec)
    }

    /// The pseudo-coded bins of every value, recorded per context.
    static func recordPseudoBins(_ rec: inout BinRecorder, plan: TensorPlan, prepared: PreparedTensor,
                                 layout: ContextLayout, hdspOn: Bool, windows: [Range<Int>]) {
        if plan.tca || (hdspOn && prepared.hdspScan != nil) {
            recordPseudoBinsImpl(GeneralCoding.self, &rec, plan: plan, prepared: prepared, layout: layout, hdspOn: hdspOn,
                                 windows: windows)
        } else {
            recordPseudoBinsImpl(PlainCoding.self, &rec, plan: plan, prepared: prepared, layout: layout, hdspOn: hdspOn,
                                 windows: windows)
        }
    }

    static func recordPseudoBinsImpl<F: ValueCodingFeatures>(_ features: F.Type, _ rec: inout BinRecorder,
                                                             plan: TensorPlan, prepared: PreparedTensor,
                                                             layout: ContextLayout, hdspOn: Bool,
                                                             windows: [Range<Int>]) {
        let n = plan.count
        guard plan.codesValues else { return }
        let rowSpan = plan.geometry.scanOrder > 0 ? plan.geometry.width * plan.geometry.blockSize : n
        let t = EncoderTables.shared
        let gtCount = layout.gtCount
        let gtTCABase = layout.gtTCABase
        let remBase = layout.remainderBase
        let next = t.dqNext
        let k = prepared.k
        let dq = plan.dq
        let tca = F.general && plan.tca
        let useHist = F.general && hdspOn && prepared.hdspScan != nil
        let baseP = prepared.tcaScan ?? prepared.k
        let histP = prepared.hdspScan ?? UnsafeMutablePointer<UInt8>(OpaquePointer(prepared.k))
        let skips = prepared.skips
        let advance = prepared.skipAdvance
        var state = 0
        var neighbour = 0
        var skipIndex = 0
        // One past the last scan position pseudo-coded (a skipped segment may end past a window).
        var done = 0
        for window in windows {
            var i = Swift.max(window.lowerBound, done)
            let hi = Swift.min(window.upperBound, n)
            if i >= hi { continue }
            // A later window: reset the estimators if a block row started since the last coded value.
            if done > 0 && i / rowSpan != (done &- 1) / rowSpan { rec.markReset() }
            var boundary = (i / rowSpan &+ 1) &* rowSpan
            while skipIndex < skips.count && skips[skipIndex].start &+ skips[skipIndex].length <= i { skipIndex &+= 1 }
            var nextSkip = skipIndex < skips.count ? skips[skipIndex].start : n
            if nextSkip < i {
                // Inside a skipped segment: resume after it.
                i = skips[skipIndex].start &+ skips[skipIndex].length
                skipIndex &+= 1
                nextSkip = skipIndex < skips.count ? skips[skipIndex].start : n
                if i >= hi { done = i; continue }
                if i >= boundary { rec.markReset(); boundary = (i / rowSpan &+ 1) &* rowSpan }
            }
            while i < hi {
                if i == boundary {
                    rec.markReset()
                    boundary += rowSpan
                }
                if i == nextSkip {
                    if dq { state = Int(advance[state]) }
                    i += skips[skipIndex].length
                    skipIndex += 1
                    nextSkip = skipIndex < skips.count ? skips[skipIndex].start : n
                    continue
                }
                let end = Swift.min(boundary, nextSkip, hi)
                while i < end {
                    let kv = k[i]
                    var v = kv
                    if dq && kv != 0 {
                        let odd = Int32(state & 1)
                        v = kv > 0 ? (kv &<< 1) &- odd : (kv &<< 1) &+ odd
                    }
                    var sigCtx = 3 &* state &+ neighbour
                    var signCtx = ContextLayout.signBase &+ neighbour
                    var tcaAbs: Int64 = -1
                    if tca {
                        let b = baseP[i]
                        if b != 0 {
                            let ab = Int64(b.magnitude)
                            sigCtx = ContextLayout.sigTCABase &+ 2 &* state &+ (ab > 1 ? 1 : 0)
                            signCtx = ContextLayout.signTCABase &+ (b > 0 ? 1 : 0)
                            tcaAbs = ab
                        }
                    }
                    if useHist && histP[i] != 0 { sigCtx = ContextLayout.sigHDSPBase &+ state }

                    if v == 0 {
                        rec.push(0, sigCtx)
                        neighbour = 0
                    } else {
                        rec.push(1, sigCtx)
                        let negative = v < 0
                        rec.push(negative ? 1 : 0, signCtx)
                        let tcaActive = tcaAbs >= 0
                        let gtBase = tcaActive ? gtTCABase : ContextLayout.gtBase &+ (negative ? 1 : 0)
                        // |q| − 1 flags 1 (at most L), a 0 if |q| ≤ L, else the remainder |q| − L − 1.
                        let m = Int64(v.magnitude)
                        let ones = Int(Swift.min(m &- 1, Int64(gtCount)))
                        var j = 0
                        if tcaActive {
                            while j < ones {
                                rec.push(1, gtBase &+ (j &<< 1) &+ (tcaAbs < Int64(j) ? 1 : 0))
                                j &+= 1
                            }
                        } else {
                            while j < ones {
                                rec.push(1, gtBase &+ (j &<< 1))
                                j &+= 1
                            }
                        }
                        if m &- 1 < Int64(gtCount) {
                            rec.push(0, gtBase &+ (j &<< 1) &+ (tcaActive && tcaAbs < Int64(j) ? 1 : 0))
                        } else {
                            let value = m &- Int64(gtCount) &- 1
                            var ctx = remBase
                            if value <= 0 {
                                rec.push(0, ctx)
                            } else {
                                rec.push(1, ctx)
                                var base: Int64 = 1
                                var log2: Int64 = 1
                                ctx &+= 1
                                while value > base &+ (1 &<< log2) &- 1 {
                                    rec.push(1, ctx)
                                    base &+= 1 &<< log2
                                    ctx &+= 1
                                    log2 &+= 1
                                }
                                rec.push(0, ctx)
                            }
                        }
                        neighbour = negative ? 1 : 2
                    }
                    if dq { state = Int(next[(state &<< 1) | Int(kv & 1)]) }
                    i &+= 1
                }
            }
            done = i
        }
    }
}

/// Compile-time switch of the value loops: `PlainCoding` drops the TCA, HDSP and codebook logic.
protocol ValueCodingFeatures {
    static var general: Bool { get }
}

enum PlainCoding: ValueCodingFeatures {
    static var general: Bool { false }
}

enum GeneralCoding: ValueCodingFeatures {
    static var general: Bool { true }
}
