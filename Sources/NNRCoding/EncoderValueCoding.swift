// The value loop of the payload encoder, one loop for the real coding pass and for the nine-set
// pseudo-coding pass of estimator selection: it walks the prepared tensor in scan order with row
// skipping, DQ states and block-row boundaries, selects the contexts (ContextLayout's rules, shared
// with the decoder) and binarizes each value (the inverse of spec 5.4). Where the bins go is a
// `ValueBinSink`; the loop is generic over it and specialised, so each pass keeps its state in
// registers.

/// Receives the bins of the value loop.
protocol ValueBinSink {
    /// true: the pass codes the reconstruction index q (NNCodec's pseudo pass: q, not k, even with
    /// DQ, unbounded by any codebook, sign always coded); false: the quantization index k as coded.
    static var codesReconstructionIndex: Bool { get }
    /// The neighbour class resets to 0 at a block-row start (the real pass; NNCodec's pseudo pass
    /// keeps it).
    static var resetsNeighbour: Bool { get }
    mutating func bin(_ bin: UInt32, _ context: Int)
    /// A bin whose value is as good as random (the sign).
    mutating func unpredictableBin(_ bin: UInt32, _ context: Int)
    mutating func bypass(_ value: UInt32, count: Int)
    /// A block-row start (not the first), with the DQ state there.
    mutating func blockRowStart(state: Int)
    /// Moves the sink's state out, leaving a cheap shell (no shared buffers), so that the hot loop
    /// works on a local copy the compiler keeps in registers; `self = detached` puts it back.
    mutating func detach() -> Self
}

/// The real pass: bins to the arithmetic coder; at each block-row boundary the contexts reset to
/// their selected sets, range := 256, and an entry-point mark.
struct CodingSink: ValueBinSink {
    var coder: ArithmeticEncoder
    let contexts: UnsafeMutablePointer<EncoderContext>
    let contextCount: Int
    let tables: EncoderTables
    var marks: [EntryPointMark]

    static var codesReconstructionIndex: Bool { false }
    static var resetsNeighbour: Bool { true }

    @inline(__always)
    mutating func bin(_ bin: UInt32, _ context: Int) { coder.encodeBin(bin, contexts + context, tables) }

    @inline(__always)
    mutating func unpredictableBin(_ bin: UInt32, _ context: Int) {
        coder.encodeUnpredictableBin(bin, contexts + context, tables)
    }

    @inline(__always)
    mutating func bypass(_ value: UInt32, count: Int) { coder.encodeBypassBins(value, count: count) }

    mutating func blockRowStart(state: Int) {
        for c in 0..<contextCount { contexts[c].reset() }
        coder.entryPointStart()
        marks.append(EntryPointMark(bitPosition: coder.bitPosition, low9: coder.lowBits9, dqState: state))
    }

    mutating func detach() -> CodingSink {
        var out = CodingSink(coder: ArithmeticEncoder(), contexts: contexts, contextCount: contextCount,
                             tables: tables, marks: [])
        swap(&out, &self)
        return out
    }
}

/// The pseudo pass: bins recorded per context (bypass bins cost the same with every set).
extension BinRecorder: ValueBinSink {
    static var codesReconstructionIndex: Bool { true }
    static var resetsNeighbour: Bool { false }

    @inline(__always)
    mutating func bin(_ bin: UInt32, _ context: Int) { push(bin, context) }

    @inline(__always)
    mutating func unpredictableBin(_ bin: UInt32, _ context: Int) { push(bin, context) }

    @inline(__always)
    mutating func bypass(_ value: UInt32, count: Int) {}

    mutating func blockRowStart(state: Int) { markReset() }

    mutating func detach() -> BinRecorder {
        let out = self
        words = []
        resets = []
        return out
    }
}

/// Compile-time switch of the value loop: `PlainCoding` drops the TCA, HDSP and codebook logic.
protocol ValueCodingFeatures {
    static var general: Bool { get }
}

enum PlainCoding: ValueCodingFeatures {
    static var general: Bool { false }
}

enum GeneralCoding: ValueCodingFeatures {
    static var general: Bool { true }
}

/// What the binarization of one value needs besides the value: the context layout and the bounds.
struct LevelBinarization {
    let layout: ContextLayout
    /// Largest |k| per sign (Int64.max = unbounded) and whether the sign is coded.
    var maxPositive = Int64.max
    var maxNegative = Int64.max
    var signCoded = true

    /// The profile-1 codebook bounds (`codebook` as the coder sees it), or unbounded.
    init(layout: ContextLayout, codebook: NNRCodebook?) {
        self.layout = layout
        if let cb = codebook {
            maxPositive = Int64(cb.maxPositive)
            maxNegative = Int64(cb.maxNegative)
            signCoded = !cb.signInferred
        }
    }

    /// A non-zero value without TCA and codebook: sign, then |v| − 1 greater-than flags 1 (at most
    /// L), a 0 if |v| ≤ L, else the remainder |v| − L − 1.
    @inline(__always)
    func codePlain<S: ValueBinSink>(_ v: Int32, signContext: Int, _ sink: inout S) {
        let negative = v < 0
        sink.unpredictableBin(negative ? 1 : 0, signContext)
        let gtCount = layout.gtCount
        let m = Int(v.magnitude)
        let ones = Swift.min(m &- 1, gtCount)
        var gtContext = ContextLayout.gtBase &+ (negative ? 1 : 0)
        var j = 0
        while j < ones {
            sink.bin(1, gtContext)
            gtContext &+= 2
            j &+= 1
        }
        if m &- 1 < gtCount {
            sink.bin(0, gtContext)
        } else {
            codeRemainder(Int64(m &- gtCount &- 1), max: Int64.max, &sink)
        }
    }

    /// A non-zero value with the general rules: sign inferred or coded, greater-than flags with the
    /// TCA contexts (`parentMagnitude` ≠ 0) and the codebook bound, remainder truncated at the bound.
    @inline(__always)
    func codeGeneral<S: ValueBinSink>(_ v: Int32, signContext: Int, parentMagnitude: Int, _ sink: inout S) {
        let negative = v < 0
        let maxAbs = negative ? maxNegative : maxPositive
        if signCoded { sink.unpredictableBin(negative ? 1 : 0, signContext) }
        guard maxAbs != 1 else { return }
        let gtCount = layout.gtCount
        var rem = Int64(v.magnitude) &- 1
        var greater: UInt32 = rem != 0 ? 1 : 0
        sink.bin(greater, layout.gtContext(0, negative: negative, parentMagnitude: parentMagnitude))
        var j = 1
        while greater != 0 && j < gtCount && maxAbs > Int64(j &+ 1) {
            rem &-= 1
            greater = rem != 0 ? 1 : 0
            sink.bin(greater, layout.gtContext(j, negative: negative, parentMagnitude: parentMagnitude))
            j &+= 1
        }
        // |k| = maxAbs after the flags: nothing more (the decoder infers it).
        if greater != 0 && maxAbs > Int64(j &+ 1) {
            codeRemainder(rem &- 1, max: maxAbs &- Int64(j &+ 1), &sink)
        }
    }

    /// The remainder `value` ≥ 0: Exp-Golomb-0 with a context-coded unary prefix and a bypass
    /// suffix, truncated at `remMax` (the prefix's last 0 is left out when it is implied).
    @inline(__always)
    func codeRemainder<S: ValueBinSink>(_ value: Int64, max remMax: Int64, _ sink: inout S) {
        var ctx = layout.remainderBase
        if value <= 0 {
            sink.bin(0, ctx)
            return
        }
        sink.bin(1, ctx)
        var base: Int64 = 1
        var log2: Int64 = 1
        ctx &+= 1
        while value > base &+ (1 &<< log2) &- 1 && remMax >= base &+ (1 &<< log2) {
            sink.bin(1, ctx)
            base &+= 1 &<< log2
            ctx &+= 1
            log2 &+= 1
        }
        if remMax >= base &+ (1 &<< log2) { sink.bin(0, ctx) }
        sink.bypass(UInt32(truncatingIfNeeded: value &- base), count: Int(log2))
    }
}

extension PayloadEncoder {
    /// Codes the values of a prepared tensor (k in scan order) with the real arithmetic coder.
    /// At each block-row boundary: contexts reset to their selected sets, neighbour 0, range := 256,
    /// and an entry-point mark.
    static func encodeValues(_ coder: inout ArithmeticEncoder, contexts: UnsafeMutablePointer<EncoderContext>,
                             contextCount: Int, plan: TensorPlan, prepared: PreparedTensor,
                             hdspOn: Bool, marks: inout [EntryPointMark]) {
        var sink = CodingSink(coder: ArithmeticEncoder(), contexts: contexts, contextCount: contextCount,
                              tables: EncoderTables.shared, marks: [])
        swap(&sink.coder, &coder)
        swap(&sink.marks, &marks)
        defer {
            swap(&sink.coder, &coder)
            swap(&sink.marks, &marks)
        }
        guard plan.setup.codesValues else {
            // A one-entry codebook: no bins, but the block-row boundaries still narrow the range.
            let rowSpan = plan.setup.blockRowSpan
            var b = rowSpan
            while b < plan.setup.count {
                sink.blockRowStart(state: 0)
                b += rowSpan
            }
            return
        }
        let windows = [0..<plan.setup.count]
        if plan.setup.tca || plan.setup.codebook != nil || (hdspOn && prepared.hdspScan != nil) {
            codeValues(GeneralCoding.self, &sink, plan: plan, prepared: prepared, hdspOn: hdspOn, windows: windows)
        } else {
            codeValues(PlainCoding.self, &sink, plan: plan, prepared: prepared, hdspOn: hdspOn, windows: windows)
        }
    }

    /// NNCodec's parameter-optimisation pass: pseudo-codes every value with all nine sets.
    /// As in NNCodec it codes q (not k) even with DQ, unbounded by any codebook and with the sign
    /// always coded; the DQ state still follows k; at block rows only the estimator states reset
    /// (the neighbour is kept).
    static func pseudoCodeValues(_ opt: EstimatorOptimizer, plan: TensorPlan, prepared: PreparedTensor,
                                 hdspOn: Bool, windows: [Range<Int>]) {
        var rec = BinRecorder(contextCount: plan.setup.layout.count)
        defer { rec.deallocate() }
        recordPseudoBins(&rec, plan: plan, prepared: prepared, hdspOn: hdspOn, windows: windows)
        opt.accumulate(rec)
    }

    /// The pseudo-coded bins of every value, recorded per context.
    static func recordPseudoBins(_ rec: inout BinRecorder, plan: TensorPlan, prepared: PreparedTensor,
                                 hdspOn: Bool, windows: [Range<Int>]) {
        guard plan.setup.codesValues else { return }
        if plan.setup.tca || (hdspOn && prepared.hdspScan != nil) {
            codeValues(GeneralCoding.self, &rec, plan: plan, prepared: prepared, hdspOn: hdspOn, windows: windows)
        } else {
            codeValues(PlainCoding.self, &rec, plan: plan, prepared: prepared, hdspOn: hdspOn, windows: windows)
        }
    }

    /// The value loop over the scan positions in `windows` (ascending; the real pass: one window of
    /// the whole tensor). A later window first resets the estimators if a block row started since
    /// the last coded value.
    static func codeValues<F: ValueCodingFeatures, S: ValueBinSink>(_ features: F.Type, _ sink: inout S,
                                                                     plan: TensorPlan, prepared: PreparedTensor,
                                                                     hdspOn: Bool, windows: [Range<Int>]) {
        let n = plan.setup.count
        let rowSpan = plan.setup.blockRowSpan
        let skips = prepared.skips
        var cursor = ValueCursor()
        var skipIndex = 0
        // One past the last scan position coded (a skipped segment may end past a window).
        var done = 0
        for window in windows {
            var i = Swift.max(window.lowerBound, done)
            let hi = Swift.min(window.upperBound, n)
            if i >= hi { continue }
            if done > 0 && i / rowSpan != (done &- 1) / rowSpan { sink.blockRowStart(state: cursor.state) }
            var boundary = (i / rowSpan &+ 1) &* rowSpan
            while skipIndex < skips.count && skips[skipIndex].start &+ skips[skipIndex].length <= i { skipIndex &+= 1 }
            var nextSkip = skipIndex < skips.count ? skips[skipIndex].start : n
            if nextSkip < i {
                // Inside a skipped segment: resume after it.
                i = skips[skipIndex].start &+ skips[skipIndex].length
                skipIndex &+= 1
                nextSkip = skipIndex < skips.count ? skips[skipIndex].start : n
                if i >= hi { done = i; continue }
                if i >= boundary { sink.blockRowStart(state: cursor.state); boundary = (i / rowSpan &+ 1) &* rowSpan }
            }
            while i < hi {
                if i == boundary {
                    sink.blockRowStart(state: cursor.state)
                    if S.resetsNeighbour { cursor.neighbour = 0 }
                    boundary += rowSpan
                }
                if i == nextSkip {
                    if plan.setup.dq { cursor.state = Int(prepared.skipAdvance[cursor.state]) }
                    i += skips[skipIndex].length
                    skipIndex += 1
                    nextSkip = skipIndex < skips.count ? skips[skipIndex].start : n
                    continue
                }
                let end = Swift.min(boundary, nextSkip, hi)
                codeRun(F.self, &sink, i..<end, plan: plan, prepared: prepared, hdspOn: hdspOn, cursor: &cursor)
                i = end
            }
            done = i
        }
    }

    /// DQ state and neighbour class between runs of the value loop.
    struct ValueCursor {
        var state = 0
        var neighbour = 0
    }

    /// Codes the positions `run` (no block-row start or skipped segment inside): the hot loop.
    @inline(__always)
    static func codeRun<F: ValueCodingFeatures, S: ValueBinSink>(_ features: F.Type, _ sink: inout S, _ run: Range<Int>,
                                                                  plan: TensorPlan, prepared: PreparedTensor,
                                                                  hdspOn: Bool, cursor: inout ValueCursor) {
        let bin = LevelBinarization(layout: plan.setup.layout,
                                    codebook: S.codesReconstructionIndex ? nil : plan.setup.codebook)
        let k = prepared.k
        let dq = plan.setup.dq
        let tca = F.general && plan.setup.tca
        let useHist = F.general && hdspOn && prepared.hdspScan != nil
        let baseP = prepared.tcaScan ?? prepared.k
        let histP = prepared.hdspScan ?? UnsafeMutablePointer<UInt8>(OpaquePointer(prepared.k))
        var state = cursor.state
        var neighbour = cursor.neighbour
        var out = sink.detach()
        defer {
            cursor.state = state
            cursor.neighbour = neighbour
            sink = out
        }
        var i = run.lowerBound
        while i < run.upperBound {
            let kv = k[i]
            var v = kv
            if S.codesReconstructionIndex && dq && kv != 0 {
                v = DependentQuantization.reconstructionIndex(k: kv, state: state)
            }
            let parent: Int32 = tca ? baseP[i] : 0
            let sigCtx = ContextLayout.sigContext(state: state, neighbour: neighbour, parent: parent,
                                                  history: useHist && histP[i] != 0)
            if v == 0 {
                out.bin(0, sigCtx)
                neighbour = 0
            } else {
                out.bin(1, sigCtx)
                let signCtx = ContextLayout.signContext(neighbour: neighbour, parent: parent)
                if F.general {
                    bin.codeGeneral(v, signContext: signCtx, parentMagnitude: Int(parent.magnitude), &out)
                } else {
                    bin.codePlain(v, signContext: signCtx, &out)
                }
                neighbour = v < 0 ? 1 : 2
            }
            if dq { state = DependentQuantization.nextState(state, parity: Int(truncatingIfNeeded: kv)) }
            i &+= 1
        }
    }
}
