// Per-tensor preparation of the payload encoder: validated settings (TensorPlan), quantization
// indices in scan order with the DQ state machine and row skipping (PreparedTensor), and the value
// coding loop shared by the real pass and the estimator-selection pseudo pass.

import NNRBitIO

/// Validated, derived settings of one tensor: the rules shared with the decoder
/// (`TensorCodingSetup`) and the encoder's own choices and checks.
struct TensorPlan {
    let setup: TensorCodingSetup
    var codesQPOffset: Bool
    var qpDensity: Int
    var qpOffset: Int
    /// The original codebook (range checks of k, in every profile).
    var codebook: NNRCodebook?
    var tcaBase: [Int32]?
    var hdspHistory: [UInt8]?
    var hdspFlagCoded: Bool
    var rowSkip: Bool
    var selection: EstimatorSelectionMode


    init(levels n: Int, parameters p: TensorPayloadParameters, options o: TensorEncodeOptions, byteOffset: Int) throws {
        func bad(_ s: String, _ element: String) -> NNRError {
            NNRError(.invalidValue(s), element: element, byteOffset: byteOffset)
        }
        guard p.generalProfileIdc == 0 || p.generalProfileIdc == 1 else {
            throw bad("general_profile_idc \(p.generalProfileIdc) (0 or 1)", "general_profile_idc")
        }
        setup = try TensorCodingSetup(p, limits: .default, position: BitPosition(byteOffset: byteOffset, bitOffset: 0))
        guard setup.count == n else {
            throw bad("\(n) levels for dims \(p.dims) (\(setup.count) elements)", "levels")
        }
        if p.codesQPOffset {
            let limit = 1 << (5 + p.qpDensity)
            guard o.qpOffset >= -limit && o.qpOffset < limit else {
                throw bad("qp_offset \(o.qpOffset) outside [\(-limit), \(limit)) for qp_density \(p.qpDensity)",
                          "qp_offset")
            }
        } else if p.dqFlag {
            throw bad("dq_flag = 1 for an NNR_PT_INT tensor", "dq_flag")
        }
        if p.codebook != nil && p.dqFlag { throw bad("dq_flag = 1 with a codebook", "dq_flag") }
        if case .explicit(let sets) = o.estimatorSelection, sets.contains(where: { $0 > 8 }) {
            throw bad("estimator set > 8", "sel_idx_minus1")
        }
        codesQPOffset = p.codesQPOffset
        qpDensity = p.qpDensity
        qpOffset = o.qpOffset
        codebook = p.codebook
        tcaBase = setup.tca ? p.tcaBase : nil
        // NNCodec's TCA path passes general_profile_idc as parent_node_id_present_flag; a TCA tensor
        // always has a parent, so this is the same.
        hdspFlagCoded = setup.hdspFlagCoded(parentNodeIdPresent: p.parentNodeIdPresent || setup.tca)
        hdspHistory = hdspFlagCoded ? p.hdspHistory : nil
        rowSkip = setup.rowSkipSyntax && o.rowSkipping
        selection = o.estimatorSelection
    }
}

/// Quantization indices k in scan order (skipped row segments hold 0), TCA base and HDSP history in
/// scan order, the all-zero rows and the skipped segments.
struct PreparedTensor {
    let k: UnsafeMutablePointer<Int32>
    let tcaScan: UnsafeMutablePointer<Int32>?
    let hdspScan: UnsafeMutablePointer<UInt8>?
    var zeroRows: [Bool]
    /// Skipped segments (scan index, length), ascending.
    var skips: [(start: Int, length: Int)]
    /// DQ state after a skipped segment: w transitions with parity 0 from each state.
    var skipAdvance: [Int32]

    func deallocate() {
        k.deallocate()
        tcaScan?.deallocate()
        hdspScan?.deallocate()
    }

    init(levels: UnsafeBufferPointer<Int32>, plan: TensorPlan, byteOffset: Int) throws {
        let n = plan.setup.count
        let h = plan.setup.geometry.height
        let w = plan.setup.geometry.width
        k = HugePages.allocate(Int32.self, capacity: Swift.max(n, 1))
        tcaScan = plan.setup.tca ? .allocate(capacity: Swift.max(n, 1)) : nil
        hdspScan = plan.hdspHistory != nil ? .allocate(capacity: Swift.max(n, 1)) : nil
        zeroRows = []
        skips = []
        skipAdvance = DependentQuantization.stateAfterSkippedSegment(width: w).map(Int32.init)
        var ok = false
        defer { if !ok { deallocate() } }

        if plan.rowSkip {
            zeroRows = [Bool](repeating: false, count: h)
            var r = 0
            while r < h {
                let row = UnsafeBufferPointer(rebasing: levels[(r * w)..<(r * w + w)])
                zeroRows[r] = !row.contains(where: { $0 != 0 })
                r += 1
            }
        }

        let minK: Int64 = plan.codebook.map { -Int64($0.maxNegative) } ?? Int64(Int32.min) + 1
        let maxK: Int64 = plan.codebook.map { Int64($0.maxPositive) } ?? Int64(Int32.max)
        var walk = SegmentWalk(levels: levels.baseAddress ?? UnsafePointer(k), width: w, out: k,
                               tcaOut: tcaScan, hdspOut: hdspScan, dq: plan.setup.dq, minK: minK, maxK: maxK,
                               skipAdvance: skipAdvance, byteOffset: byteOffset)
        let skipping = plan.rowSkip
        let rows = zeroRows
        try PreparedTensor.withOptionalBuffer(plan.tcaBase) { basePointer in
            try PreparedTensor.withOptionalBuffer(plan.hdspHistory) { histPointer in
                walk.tcaBase = basePointer
                walk.history = histPointer
                try plan.setup.geometry.forEachSegment { r, c0, c1 in
                    if skipping && rows[r] { walk.skip(c1 - c0) } else { try walk.segment(r, c0, c1) }
                }
            }
        }
        skips = walk.skips
        ok = true
    }

    static func withOptionalBuffer<T, R>(_ a: [T]?, _ body: (UnsafePointer<T>?) throws -> R) rethrows -> R {
        guard let a else { return try body(nil) }
        return try a.withUnsafeBufferPointer { try body($0.baseAddress) }
    }
}

/// The scan-order walk of the preparation: quantization indices from reconstruction indices with the
/// DQ state machine, validation, and the gathered TCA base / HDSP history.
struct SegmentWalk {
    let levels: UnsafePointer<Int32>
    let width: Int
    let out: UnsafeMutablePointer<Int32>
    let tcaOut: UnsafeMutablePointer<Int32>?
    let hdspOut: UnsafeMutablePointer<UInt8>?
    let dq: Bool
    let minK: Int64
    let maxK: Int64
    let skipAdvance: [Int32]
    let byteOffset: Int
    var tcaBase: UnsafePointer<Int32>? = nil
    var history: UnsafePointer<UInt8>? = nil
    var state: Int32 = 0
    var i = 0
    var skips: [(start: Int, length: Int)] = []

    init(levels: UnsafePointer<Int32>, width: Int, out: UnsafeMutablePointer<Int32>,
         tcaOut: UnsafeMutablePointer<Int32>?, hdspOut: UnsafeMutablePointer<UInt8>?, dq: Bool, minK: Int64,
         maxK: Int64, skipAdvance: [Int32], byteOffset: Int) {
        self.levels = levels
        self.width = width
        self.out = out
        self.tcaOut = tcaOut
        self.hdspOut = hdspOut
        self.dq = dq
        self.minK = minK
        self.maxK = maxK
        self.skipAdvance = skipAdvance
        self.byteOffset = byteOffset
    }

    func fail(_ q: Int32, _ pos: Int, _ why: String) -> NNRError {
        NNRError(.invalidValue("level \(q) at position \(pos): \(why)"), element: "quantization index",
                 byteOffset: byteOffset)
    }

    /// A skipped row segment of `length` positions: zeros, and the DQ state advanced.
    mutating func skip(_ length: Int) {
        skips.append((i, length))
        for j in 0..<length { out[i &+ j] = 0 }
        if dq { state = skipAdvance[Int(state)] }
        i += length
    }

    /// Row segment [c0, c1) of row r.
    @inline(__always)
    mutating func segment(_ r: Int, _ c0: Int, _ c1: Int) throws {
        // the walk's fields as locals (no reloads after the stores through `out`)
        let levels = self.levels, out = self.out, tcaBase = self.tcaBase, tcaOut = self.tcaOut
        let history = self.history, hdspOut = self.hdspOut, dq = self.dq, minK = self.minK, maxK = self.maxK
        let rowBase = r &* width
        var st = Int(state)
        var idx = i
        if dq && tcaBase == nil && history == nil && minK <= -(1 << 30) && maxK >= 1 << 30 {
            // Every k of a representable q is within ±2^30: only representability to check (the
            // loop below finds and reports the first failure).
            var s = st
            if DependentQuantization.quantizationIndices(levels + (rowBase &+ c0), count: c1 &- c0, state: &s,
                                                         into: out + idx, store: true) {
                state = Int32(truncatingIfNeeded: s)
                i = idx &+ (c1 &- c0)
                return
            }
        }
        for c in c0..<c1 {
            let pos = rowBase &+ c
            let q = levels[pos]
            var v = q
            if q == Int32.min { throw fail(q, pos, "Int32.min is not codable") }
            if dq {
                guard let k = DependentQuantization.quantizationIndex(q: q, state: st) else {
                    throw fail(q, pos, "parity does not match DQ state \(st)")
                }
                v = k
            }
            if Int64(v) < minK || Int64(v) > maxK {
                throw fail(q, pos, "outside the codebook index range [\(minK), \(maxK)]")
            }
            out[idx] = v
            if let b = tcaBase, let o = tcaOut { o[idx] = b[pos] }
            if let h = history, let o = hdspOut { o[idx] = h[pos] == 1 ? 1 : 0 }
            if dq { st = DependentQuantization.nextState(st, parity: Int(truncatingIfNeeded: v)) }
            idx &+= 1
        }
        state = Int32(truncatingIfNeeded: st)
        i = idx
    }
}
