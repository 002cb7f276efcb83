// Per-tensor preparation of the payload encoder: validated settings (TensorPlan), quantization
// indices in scan order with the DQ state machine and row skipping (PreparedTensor), and the value
// coding loop shared by the real pass and the estimator-selection pseudo pass.

import NNRBitIO

/// Validated, derived settings of one tensor.
struct TensorPlan {
    var geometry: TensorGeometry
    var count: Int
    var profile1: Bool
    var dq: Bool
    var unaryLengthMinus1: Int
    var codesQPOffset: Bool
    var qpDensity: Int
    var qpOffset: Int
    /// codebook_size / CbZeroOffset as the coder sees them (0 / 0 unless profile 1 with a codebook).
    var codebookSize: Int
    var codebookZeroOffset: Int
    /// The original codebook (range checks of k, in every profile).
    var codebook: CodebookInfo?
    var tca: Bool
    var tcaBase: [Int32]?
    var hdspHistory: [UInt8]?
    /// hist_dep_sig_prob_enabled_flag and row_skip_enabled_flag exist (profile 1, w > 1, n > w,
    /// codebook_size ≠ 1); the HDSP flag only with a parent.
    var rowSkipSyntax: Bool
    var hdspFlagCoded: Bool
    var rowSkip: Bool
    /// false for a profile-1 codebook of size 1: no value bins at all.
    var codesValues: Bool
    var selection: EstimatorSelectionMode

    init(levels n: Int, parameters p: TensorPayloadParameters, options o: TensorEncodeOptions, byteOffset: Int) throws {
        func bad(_ s: String, _ element: String) -> NNRError {
            NNRError(.invalidValue(s), element: element, byteOffset: byteOffset)
        }
        guard p.generalProfileIdc == 0 || p.generalProfileIdc == 1 else {
            throw bad("general_profile_idc \(p.generalProfileIdc) (0 or 1)", "general_profile_idc")
        }
        guard !p.dims.isEmpty else { throw bad("no tensor dimensions", "tensor_dimensions") }
        var total = 1
        for d in p.dims {
            guard d >= 1 else { throw bad("tensor dimension \(d) < 1", "tensor_dimensions") }
            let (m, o) = total.multipliedReportingOverflow(by: d)
            guard !o, m <= Int(Int32.max) else {
                throw NNRError(.limitExceeded("tensor of \(p.dims) elements"), element: "tensor_dimensions",
                               byteOffset: byteOffset)
            }
            total = m
        }
        guard total == n else {
            throw bad("\(n) levels for dims \(p.dims) (\(total) elements)", "levels")
        }
        guard (0...4).contains(p.scanOrder) else { throw bad("scan_order \(p.scanOrder) (0…4)", "scan_order") }
        guard (0...255).contains(p.cabacUnaryLengthMinus1) else {
            throw bad("cabac_unary_length_minus1 \(p.cabacUnaryLengthMinus1) (0…255)", "cabac_unary_length_minus1")
        }
        if p.codesQPOffset {
            guard (0...7).contains(p.qpDensity) else { throw bad("qp_density \(p.qpDensity) (0…7)", "qp_density") }
            let limit = 1 << (5 + p.qpDensity)
            guard o.qpOffset >= -limit && o.qpOffset < limit else {
                throw bad("qp_offset \(o.qpOffset) outside [\(-limit), \(limit)) for qp_density \(p.qpDensity)",
                          "qp_offset")
            }
        } else if p.dqFlag {
            throw bad("dq_flag = 1 for an NNR_PT_INT tensor", "dq_flag")
        }
        if let cb = p.codebook {
            guard cb.size >= 1, cb.zeroOffset >= 0, cb.zeroOffset < cb.size else {
                throw bad("codebook size \(cb.size), CbZeroOffset \(cb.zeroOffset)", "codebook")
            }
            guard !p.dqFlag else { throw bad("dq_flag = 1 with a codebook", "dq_flag") }
        }
        if let b = p.tcaBase, b.count != n { throw bad("TCA base of \(b.count) values for \(n)", "tca_base") }
        if let h = p.hdspHistory, h.count != n { throw bad("HDSP history of \(h.count) values for \(n)", "hdsp_history") }
        if case .explicit(let sets) = o.estimatorSelection, sets.contains(where: { $0 > 8 }) {
            throw bad("estimator set > 8", "sel_idx_minus1")
        }

        geometry = TensorGeometry(dims: p.dims, scanOrder: p.scanOrder)
        count = n
        profile1 = p.generalProfileIdc == 1
        dq = p.dqFlag
        unaryLengthMinus1 = p.cabacUnaryLengthMinus1
        codesQPOffset = p.codesQPOffset
        qpDensity = p.qpDensity
        qpOffset = o.qpOffset
        codebook = p.codebook
        codebookSize = profile1 ? (p.codebook?.size ?? 0) : 0
        codebookZeroOffset = profile1 ? (p.codebook?.zeroOffset ?? 0) : 0
        // NNCodec uses TCA and HDSP only in profile 1.
        tca = profile1 && p.tcaBase != nil
        tcaBase = tca ? p.tcaBase : nil
        let w = geometry.width
        rowSkipSyntax = profile1 && w > 1 && n > w && codebookSize != 1
        // NNCodec's TCA path passes general_profile_idc as parent_node_id_present_flag; a TCA tensor
        // always has a parent, so this is the same.
        hdspFlagCoded = rowSkipSyntax && (p.parentNodeIdPresent || tca)
        hdspHistory = hdspFlagCoded ? p.hdspHistory : nil
        rowSkip = rowSkipSyntax && o.rowSkipping
        codesValues = !(profile1 && codebookSize == 1)
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
        let n = plan.count
        let h = plan.geometry.height
        let w = plan.geometry.width
        k = .allocate(capacity: Swift.max(n, 1))
        tcaScan = plan.tca ? .allocate(capacity: Swift.max(n, 1)) : nil
        hdspScan = plan.hdspHistory != nil ? .allocate(capacity: Swift.max(n, 1)) : nil
        zeroRows = []
        skips = []
        skipAdvance = (0..<8).map { Int32($0) }
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
            let tr = EncoderTables.shared.dqNext
            for s in 0..<8 {
                var st = Int32(s)
                for _ in 0..<(w & 3) { st = tr[Int(st) << 1] }
                skipAdvance[s] = st
            }
        }

        let minK: Int64 = plan.codebook.map { -Int64($0.zeroOffset) } ?? Int64(Int32.min) + 1
        let maxK: Int64 = plan.codebook.map { Int64($0.size - 1 - $0.zeroOffset) } ?? Int64(Int32.max)
        var walk = SegmentWalk(levels: levels.baseAddress ?? UnsafePointer(k), width: w, out: k,
                               tcaOut: tcaScan, hdspOut: hdspScan, dq: plan.dq, minK: minK, maxK: maxK,
                               skipAdvance: skipAdvance, byteOffset: byteOffset)
        let skipping = plan.rowSkip
        let rows = zeroRows
        try PreparedTensor.withOptionalBuffer(plan.tcaBase) { basePointer in
            try PreparedTensor.withOptionalBuffer(plan.hdspHistory) { histPointer in
                walk.tcaBase = basePointer
                walk.history = histPointer
                if plan.geometry.scanOrder == 0 {
                    for r in 0..<h {
                        if skipping && rows[r] { walk.skip(w) } else { try walk.segment(r, 0, w) }
                    }
                } else {
                    let bs = plan.geometry.blockSize
                    var r0 = 0
                    while r0 < h {
                        let r1 = Swift.min(r0 + bs, h)
                        var c0 = 0
                        while c0 < w {
                            let c1 = Swift.min(c0 + bs, w)
                            for r in r0..<r1 {
                                if skipping && rows[r] { walk.skip(c1 - c0) } else { try walk.segment(r, c0, c1) }
                            }
                            c0 = c1
                        }
                        r0 = r1
                    }
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
        let rowBase = r &* width
        let next = EncoderTables.shared.dqNext
        var st = state
        var idx = i
        for c in c0..<c1 {
            let pos = rowBase &+ c
            let q = levels[pos]
            var v = q
            if q == Int32.min { throw fail(q, pos, "Int32.min is not codable") }
            if dq && q != 0 {
                let odd = st & 1
                let a = q.magnitude
                guard (a & 1) == UInt32(bitPattern: odd) else {
                    throw fail(q, pos, "parity does not match DQ state \(st)")
                }
                let m = Int32(truncatingIfNeeded: (a &+ UInt32(bitPattern: odd)) >> 1)
                v = q > 0 ? m : 0 &- m
            }
            if Int64(v) < minK || Int64(v) > maxK {
                throw fail(q, pos, "outside the codebook index range [\(minK), \(maxK)]")
            }
            out[idx] = v
            if let b = tcaBase, let o = tcaOut { o[idx] = b[pos] }
            if let h = history, let o = hdspOut { o[idx] = h[pos] == 1 ? 1 : 0 }
            if dq { st = next[Int(st &<< 1) | Int(v & 1)] }
            idx &+= 1
        }
        state = st
        i = idx
    }
}
