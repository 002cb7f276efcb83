// The NNR payload encoder: codes the tensors of one NDU into one arithmetic-coded stream, with the
// decisions NNCodec 2.1.3 makes (estimator selection by pseudo-coding, row skipping, HDSP mode), so
// that the same levels and settings give the same bytes.

import NNRBitIO

/// HDSP (history-dependent significance probability) choice for a tensor with a parent.
public enum HDSPMode: Sendable, Equatable {
    /// hist_dep_sig_prob_enabled_flag = 0.
    case off
    /// hist_dep_sig_prob_enabled_flag = 1 (uses `TensorPayloadParameters.hdspHistory`; without history
    /// no position uses the HDSP contexts).
    case on
    /// NNCodec's HDSP tool: if the tensor has a history, code it both ways and keep the shorter finished
    /// payload (ties: off); without history, off. NNCodec decides per NDU; for NDUs with one tensor
    /// that codes the flag (every NNCodec NDU) this is the same decision.
    case auto
}

/// Encoder settings of one tensor.
public struct TensorEncodeOptions: Sendable, Equatable {
    /// qp_offset = tensor QP − mps (or lps) quantization_parameter; must satisfy
    /// −2^(5+d) ≤ offset < 2^(5+d). Ignored for NNR_PT_INT (`codesQPOffset == false`).
    public var qpOffset: Int
    /// Allow row skipping (NNCodec `row_skipping`). It is used when the syntax exists for the tensor
    /// (profile 1, w > 1, more than one row, codebook_size ≠ 1); row_skip_enabled_flag is then 1 and
    /// every all-zero row is skipped, as NNCodec does.
    public var rowSkipping: Bool
    /// HDSP choice (only relevant when the flag is coded: profile 1 with a parent, w > 1, n > w).
    public var hdsp: HDSPMode
    /// Estimator parameter-set choice.
    public var estimatorSelection: EstimatorSelectionMode

    public init(qpOffset: Int = 0, rowSkipping: Bool = false, hdsp: HDSPMode = .off,
                estimatorSelection: EstimatorSelectionMode = .optimize) {
        self.qpOffset = qpOffset
        self.rowSkipping = rowSkipping
        self.hdsp = hdsp
        self.estimatorSelection = estimatorSelection
    }
}

/// What the encoder did for one tensor.
public struct EncodedTensorInfo: Sendable, Equatable {
    /// This tensor's cabac_entry_point_list entries (block scan with ≥ 2 block rows). They depend on
    /// the final bytes, so they are filled in by `PayloadEncoder.finish()` (see `entryPointsFinal`);
    /// read them from `PayloadEncoder.encodedTensors` afterwards.
    public var entryPoints: [EntryPoint]
    /// true once `entryPoints` hold the decoder-observed values (after `finish()`).
    public var entryPointsFinal: Bool
    /// Selected estimator parameter set per context index (ContextLayout.count entries).
    public var estimatorSets: [UInt8]
    /// row_skip_enabled_flag as coded (false when the syntax is absent).
    public var rowSkipEnabled: Bool
    /// row_skip_flag per row (empty unless row skipping is enabled).
    public var rowSkipFlags: [Bool]
    /// hist_dep_sig_prob_enabled_flag as coded (false when absent).
    public var hdspEnabled: Bool
    /// Exact number of bits the tensor took in the arithmetic-coded stream (qp_offset to last value).
    public var codedBits: Int
    /// Estimate of the context-coded value bins with the selected sets, from the pseudo-coding pass
    /// (bits; 0 unless estimator selection is `.optimize`).
    public var estimatedBits: Double

    public init(entryPoints: [EntryPoint] = [], entryPointsFinal: Bool = true, estimatorSets: [UInt8] = [],
                rowSkipEnabled: Bool = false, rowSkipFlags: [Bool] = [], hdspEnabled: Bool = false,
                codedBits: Int = 0, estimatedBits: Double = 0) {
        self.entryPoints = entryPoints
        self.entryPointsFinal = entryPointsFinal
        self.estimatorSets = estimatorSets
        self.rowSkipEnabled = rowSkipEnabled
        self.rowSkipFlags = rowSkipFlags
        self.hdspEnabled = hdspEnabled
        self.codedBits = codedBits
        self.estimatedBits = estimatedBits
    }
}

/// Encoder state at a block-row start, turned into an entry point once the bytes are final.
struct EntryPointMark: Sendable, Equatable {
    var bitPosition: Int
    var low9: UInt32
    var dqState: Int
}

/// Encodes the tensors of one NDU payload, in payload order, then `finish()`.
///
/// ```swift
/// var enc = PayloadEncoder()
/// _ = try enc.encodeTensor(levels: q, parameters: p, options: o)
/// let payload = enc.finish()
/// let eps = enc.encodedTensors[0].entryPoints   // for the NDU header
/// ```
public struct PayloadEncoder: Sendable {
    var coder = ArithmeticEncoder()
    /// One entry per encoded tensor; entry points are final after `finish()`.
    public private(set) var encodedTensors: [EncodedTensorInfo] = []
    var marks: [[EntryPointMark]] = []
    var finishedBytes: [UInt8]? = nil

    public init() {}

    /// Pre-sizes the output buffer.
    public init(expectedPayloadBytes: Int) {
        coder = ArithmeticEncoder(reservingCapacity: Swift.max(0, expectedPayloadBytes))
    }

    /// Bits coded so far (the decoder's bit position P at this point).
    public var bitPosition: Int { coder.bitPosition }

    /// Encodes one tensor.
    ///
    /// - Parameter levels: row-major, prod(dims) values: the reconstruction indices q (after the DQ
    ///   mapping, as a decoder outputs them) for uniform tensors; the signed codebook index k for
    ///   codebook tensors; the integers of NNR_PT_INT tensors.
    /// - Throws: `NNRError` (nothing is written then) for invalid parameters, a qp_offset out of range,
    ///   a level that is not representable (DQ parity, codebook range, Int32.min), or after `finish()`.
    @discardableResult
    public mutating func encodeTensor(levels: [Int32], parameters: TensorPayloadParameters,
                                      options: TensorEncodeOptions) throws -> EncodedTensorInfo {
        guard finishedBytes == nil else {
            throw NNRError(.invalidValue("encodeTensor after finish()"), element: "payload",
                           byteOffset: coder.bytes.count)
        }
        let plan = try TensorPlan(levels: levels.count, parameters: parameters, options: options,
                                  byteOffset: coder.bytes.count)
        let prepared = try levels.withUnsafeBufferPointer { lv in
            try PreparedTensor(levels: lv, plan: plan, byteOffset: coder.bytes.count)
        }
        defer { prepared.deallocate() }

        var hdspOn: Bool
        switch options.hdsp {
        case .off: hdspOn = false
        case .on: hdspOn = true
        case .auto: hdspOn = parameters.hdspHistory != nil
        }
        if !plan.hdspFlagCoded { hdspOn = false }

        if options.hdsp == .auto && hdspOn {
            // Code it both ways from the same state; keep the shorter finished payload (ties: off).
            var coderOff = coder
            let resOff = encodePasses(&coderOff, plan: plan, prepared: prepared, hdspOn: false)
            var coderOn = coder
            let resOn = encodePasses(&coderOn, plan: plan, prepared: prepared, hdspOn: true)
            if finishedLength(coderOn) < finishedLength(coderOff) {
                coder = coderOn
                return record(resOn)
            }
            coder = coderOff
            return record(resOff)
        }
        var c = ArithmeticEncoder()
        swap(&c, &coder)
        let res = encodePasses(&c, plan: plan, prepared: prepared, hdspOn: hdspOn)
        swap(&c, &coder)
        return record(res)
    }

    /// Codes the terminating bin and flushes: the complete payload bytes. Entry points of every
    /// tensor in `encodedTensors` are final afterwards. Calling it again returns the same bytes.
    public mutating func finish() -> [UInt8] {
        if let done = finishedBytes { return done }
        coder.encodeTerminatingBin(1)
        let bytes = coder.finish()
        for t in 0..<encodedTensors.count {
            encodedTensors[t].entryPoints = PayloadEncoder.entryPoints(marks[t], bytes: bytes)
            encodedTensors[t].entryPointsFinal = true
        }
        finishedBytes = bytes
        return bytes
    }

    // MARK: - internals

    private mutating func record(_ r: (info: EncodedTensorInfo, marks: [EntryPointMark])) -> EncodedTensorInfo {
        encodedTensors.append(r.info)
        marks.append(r.marks)
        return r.info
    }

    private func finishedLength(_ c: ArithmeticEncoder) -> Int {
        var copy = c
        copy.encodeTerminatingBin(1)
        return copy.finishedByteCount()
    }

    /// Entry point j = the decoder's state at block row j + 1, from the marks (block-row starts, the
    /// first at block row 0) and the final bytes: ep_value = (stream bits [P, P + 9) − low) mod 512.
    static func entryPoints(_ marks: [EntryPointMark], bytes: [UInt8]) -> [EntryPoint] {
        guard marks.count > 1 else { return [] }
        var result: [EntryPoint] = []
        result.reserveCapacity(marks.count - 1)
        for j in 1..<marks.count {
            let m = marks[j]
            let window = bits9(bytes, at: m.bitPosition)
            let value = Int((window &- m.low9) & 511)
            result.append(EntryPoint(bitOffsetDelta: m.bitPosition - marks[j - 1].bitPosition,
                                     value: value, dqState: m.dqState))
        }
        return result
    }

    /// Bits [p, p + 9) of `bytes` (MSB first), zeros past the end.
    static func bits9(_ bytes: [UInt8], at p: Int) -> UInt32 {
        var v: UInt32 = 0
        let byte = p >> 3
        for k in 0..<3 {
            v <<= 8
            let i = byte + k
            if i >= 0 && i < bytes.count { v |= UInt32(bytes[i]) }
        }
        // v holds 24 bits starting at bit 8·byte; take 9 starting at offset p & 7.
        return (v >> UInt32(24 - 9 - (p & 7))) & 511
    }

    /// qp_offset, HDSP/row-skip syntax, estimator selection and the values of one tensor.
    private func encodePasses(_ coder: inout ArithmeticEncoder, plan: TensorPlan, prepared: PreparedTensor,
                              hdspOn: Bool) -> (info: EncodedTensorInfo, marks: [EntryPointMark]) {
        let tables = EncoderTables.shared
        let layout = plan.setup.layout
        let startBits = coder.bitPosition

        if plan.codesQPOffset {
            let bits = 6 + plan.qpDensity
            coder.encodeBypassBins(UInt32(truncatingIfNeeded: plan.qpOffset) & ((1 << UInt32(bits)) - 1), count: bits)
        }

        let contexts = UnsafeMutablePointer<EncoderContext>.allocate(capacity: layout.count)
        defer { contexts.deallocate() }
        contexts.initialize(repeating: EncoderContext(set: 0, tables: tables), count: layout.count)
        let rps = tables

        var info = EncodedTensorInfo()
        // HDSP flag and row skipping.
        if plan.setup.rowSkipSyntax {
            if plan.hdspFlagCoded {
                coder.encodeBypass(hdspOn ? 1 : 0)
                info.hdspEnabled = hdspOn
            }
            coder.encodeBypass(plan.rowSkip ? 1 : 0)
            info.rowSkipEnabled = plan.rowSkip
            if plan.rowSkip {
                info.rowSkipFlags = prepared.zeroRows
                for r in prepared.zeroRows { coder.encodeBin(r ? 1 : 0, contexts + layout.rowSkipFlag, rps) }
            }
        }
        let useHDSP = hdspOn && plan.hdspFlagCoded

        // Estimator selection.
        var entries: [(context: Int, present: Bool)] = []
        entries.reserveCapacity(60 + 4 * layout.gtCount)
        EstimatorSelectionList.forEach(layout: layout, dq: plan.setup.dq, tca: plan.setup.tca, hdsp: useHDSP,
                                       codebook: plan.setup.codebook) { entries.append(($0, $1)) }
        var sets = [UInt8](repeating: 0, count: layout.count)
        var estimated: UInt64 = 0
        switch plan.selection {
        case .none:
            break
        case .explicit(let given):
            for e in entries where e.present && e.context < given.count {
                sets[e.context] = given[e.context] <= 8 ? given[e.context] : 0
            }
        case .optimize, .sampled:
            if plan.setup.codesValues {
                let opt = EstimatorOptimizer(contextCount: layout.count)
                defer { opt.deallocate() }
                let windows = plan.selection.pseudoCodedWindows(count: plan.setup.count)
                PayloadEncoder.pseudoCodeValues(opt, plan: plan, prepared: prepared, hdspOn: useHDSP,
                                                windows: windows)
                for e in entries where e.present {
                    let best = opt.bestSet(e.context)
                    sets[e.context] = UInt8(best)
                    estimated &+= opt.costs[e.context * 9 + best]
                }
            }
        }
        for e in entries {
            let s = e.present ? Int(sets[e.context]) : 0
            if e.present {
                coder.encodeBin(s != 0 ? 1 : 0, contexts + layout.selectionFlag, rps)
                if s != 0 { coder.encodeBypassBins(UInt32(s - 1), count: 3) }
            }
            sets[e.context] = UInt8(s)
            contexts[e.context] = EncoderContext(set: s, tables: tables)
        }
        info.estimatorSets = sets
        info.estimatedBits = Double(estimated) / 32768.0

        // Values.
        var marks: [EntryPointMark] = []
        if plan.setup.geometry.scanOrder > 0 && plan.setup.geometry.blockRows > 1 {
            coder.entryPointStart()
            marks.reserveCapacity(plan.setup.geometry.blockRows)
            marks.append(EntryPointMark(bitPosition: coder.bitPosition, low9: coder.lowBits9, dqState: 0))
        }
        PayloadEncoder.encodeValues(&coder, contexts: contexts, contextCount: layout.count, plan: plan,
                                    prepared: prepared, hdspOn: useHDSP, marks: &marks)
        info.codedBits = coder.bitPosition - startBits
        info.entryPointsFinal = marks.count <= 1
        return (info, marks)
    }

}

extension PayloadEncoder {
    /// Whether the encoder will use row skipping for a tensor with these settings: profile 1, w > 1,
    /// more than one row, codebook_size ≠ 1 and `options.rowSkipping`. Every all-zero row is then
    /// skipped, and with DQ each skipped row segment advances the DQ state w times with parity 0
    /// (the full width even for a B-wide block-scan segment, spec 4.3 and 6): a quantizer must follow
    /// that rule for its reconstruction indices to be representable.
    public static func usesRowSkipping(parameters p: TensorPayloadParameters, options: TensorEncodeOptions) -> Bool {
        guard options.rowSkipping, p.generalProfileIdc == 1, !p.dims.isEmpty else { return false }
        let g = TensorGeometry(dims: p.dims, scanOrder: p.scanOrder)
        return g.hasRowSkipSyntax(profile1: true, codebookSize: p.codebook?.codebookSize ?? 0)
    }
}
