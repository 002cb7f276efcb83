import NNRBitIO

// The rules of one tensor's payload that the decoder (PayloadDecoder, LevelLoop) and the encoder
// (PayloadEncoder) share: parameter validation, which syntax is present (row skipping, HDSP flag,
// values), and the estimator-selection list (spec 4.3, 5.3).

/// Validated, derived settings of one tensor's payload.
struct TensorCodingSetup {
    let geometry: TensorGeometry, count: Int, layout: ContextLayout, profile1: Bool
    /// Dependent quantization (dq_flag; never for NNR_PT_INT, whose payload has no qp_offset).
    let dq: Bool
    /// The codebook as the coder sees it (profile 1 only: it bounds the binarization).
    let codebook: NNRCodebook?
    /// TCA contexts in use (profile 1 with a parent's values).
    let tca: Bool
    /// hist_dep_sig_prob_enabled_flag and row_skip_enabled_flag exist: profile 1, w > 1, more than
    /// one row, codebook_size ≠ 1 (spec 4.3 item 3).
    let rowSkipSyntax: Bool
    /// false for a one-entry codebook in profile 1: no value bins at all.
    let codesValues: Bool

    /// Checks `p` against `limits` (errors at `position`).
    init(_ p: TensorPayloadParameters, limits: NNRLimits, position: BitPosition) throws {
        func bad(_ s: String, _ el: String) -> NNRError { NNRError(.invalidValue(s), element: el, position: position) }
        guard !p.dims.isEmpty else { throw bad("no tensor dimensions", "tensor_dimensions") }
        guard p.dims.count <= limits.maxDimensions else {
            throw NNRError(.limitExceeded("\(p.dims.count) tensor dimensions > \(limits.maxDimensions)"),
                           element: "tensor_dimensions", position: position)
        }
        var n = 1
        for d in p.dims {
            guard d >= 1 else { throw bad("tensor dimension \(d) < 1", "tensor_dimensions") }
            let (m, o) = n.multipliedReportingOverflow(by: d)
            guard !o, m <= limits.maxTensorElements else {
                throw NNRError(.limitExceeded("tensor of \(p.dims) elements exceeds \(limits.maxTensorElements)"),
                               element: "tensor_dimensions", position: position)
            }
            n = m
        }
        guard (0...4).contains(p.scanOrder) else {
            throw NNRError(.unsupported("scan_order \(p.scanOrder)"), element: "scan_order", position: position)
        }
        guard (0...255).contains(p.cabacUnaryLengthMinus1) else {
            throw bad("cabac_unary_length_minus1 \(p.cabacUnaryLengthMinus1)", "cabac_unary_length_minus1")
        }
        guard (0...7).contains(p.qpDensity) else { throw bad("qp_density \(p.qpDensity)", "qp_density") }
        if let c = p.codebook {
            guard c.codebookSize >= 1, c.cbZeroOffset >= 0, c.cbZeroOffset < c.codebookSize else {
                throw bad("codebook size \(c.codebookSize), CbZeroOffset \(c.cbZeroOffset)", "codebook_size")
            }
        }
        if let b = p.tcaBase, b.count != n {
            throw bad("TCA base has \(b.count) values, tensor has \(n)", "temporal_context_modeling_flag")
        }
        if let h = p.hdspHistory, h.count != n {
            throw bad("HDSP history has \(h.count) values, tensor has \(n)", "hist_dep_sig_prob_enabled_flag")
        }
        geometry = TensorGeometry(dims: p.dims, scanOrder: p.scanOrder)
        count = n
        layout = ContextLayout(cabacUnaryLengthMinus1: p.cabacUnaryLengthMinus1)
        profile1 = p.generalProfileIdc == 1
        dq = p.dqFlag && p.codesQPOffset
        codebook = profile1 ? p.codebook : nil
        // NNCodec uses TCA and HDSP only in profile 1.
        tca = profile1 && p.tcaBase != nil
        codesValues = codebook?.codebookSize != 1
        rowSkipSyntax = geometry.hasRowSkipSyntax(profile1: profile1, codebookSize: codebook?.codebookSize ?? 0)
    }

    /// hist_dep_sig_prob_enabled_flag is coded (the row-skip syntax exists and the tensor has a parent).
    func hdspFlagCoded(parentNodeIdPresent: Bool) -> Bool { rowSkipSyntax && parentNodeIdPresent }

    /// Block-row span in scan positions (the whole tensor for row-major scan).
    var blockRowSpan: Int { geometry.scanOrder > 0 ? geometry.width &* geometry.blockSize : count }
}

/// The contexts that carry an estimator-selection entry, in coding order (spec 5.3), and whether
/// each entry is present (coded). Absent entries are re-initialised with set 0 without bins.
enum EstimatorSelectionList {
    /// Calls `body(context, present)` for every entry in coding order. `codebook`: as the coder
    /// sees it (profile 1 only).
    @inline(__always)
    static func forEach(layout: ContextLayout, dq: Bool, tca: Bool, hdsp: Bool, codebook: NNRCodebook?,
                        _ body: (_ context: Int, _ present: Bool) -> Void) {
        let L = layout.gtCount
        let size = codebook?.codebookSize ?? 0
        let zo = codebook?.cbZeroOffset ?? 0
        let notSingle = size != 1
        let sig = ContextLayout.sigCount(dq: dq)
        for i in 0..<sig.neighbour { body(ContextLayout.sigBase + i, notSingle) }
        if tca {
            for i in 0..<sig.tca { body(ContextLayout.sigTCABase + i, notSingle) }
        }
        if hdsp {
            for i in 0..<sig.hdsp { body(ContextLayout.sigHDSPBase + i, notSingle) }
        }
        // With the codebook's zero at an end the sign is inferred.
        let signCoded = !(size > 0 && (zo == 0 || zo == size - 1)) && notSingle
        for a in 0..<(tca ? 5 : 3) { body(ContextLayout.signBase + a, signCoded) }
        // Largest |k| (−1: unbounded); 2·maxAbs saturating (codebook sizes come from the header).
        let maxAbs = size > 0 ? Swift.max(zo, size - 1 - zo) : -1
        let twiceMax = maxAbs > Int.max / 4 ? Int.max / 2 : 2 * maxAbs
        for a in 0..<(2 * L) { body(ContextLayout.gtBase + a, maxAbs == -1 || a < twiceMax) }
        if tca {
            for a in (2 * L)..<(4 * L) { body(ContextLayout.gtBase + a, maxAbs == -1 || a < twiceMax - 2 + 2 * L) }
        }
        var level = L - 1
        for a in 0..<31 {
            level += 1 << a
            body(layout.remainderBase + a, maxAbs == -1 || level < maxAbs)
        }
    }
}
