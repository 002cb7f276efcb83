import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRCoding
import NNRModelIO

// The plan of one NNR_NDU, decided once for decode, dump and check: which tensors its payload
// carries in which order (spec 3.6), their names, shapes, codebooks and entry points, and the base
// QP they add their qp_offset to.

/// One tensor of an NDU payload, in payload order.
public struct NDUTensorPlan: Sendable {
    public var name: String
    /// Role inside an NNR_PT_BLOCK ("weight", "bias", …), nil outside blocks.
    public var role: String?
    public var dims: [Int]
    public var codebook: NNRCodebook?
    /// The header's entry points of this tensor's block rows (after the first).
    public var entryPoints: [EntryPoint]
}

/// The MPS and LPS in force at a unit: the one source of the base QP.
public struct NNRParameterSets: Sendable {
    public var mps: NNRModelParameterSet?
    public var lps: NNRLayerParameterSet?

    public init() {}

    /// Takes note of an NNR_MPS or NNR_LPS.
    public mutating func observe(_ u: NNRParsedUnit) {
        switch u.content {
        case let .modelParameterSet(m): mps = m
        case let .layerParameterSet(l): lps = l
        default: break
        }
    }

    /// HDSP histories are kept when the MPS enables parent signalling.
    public var parentSignalling: Bool { mps?.mpsParentSignallingEnabledFlag ?? false }

    /// The base QP and qp_density of NNR_PT_FLOAT / NNR_PT_BLOCK data (LPS before MPS); nil for
    /// payload types that code no qp_offset.
    public func baseQuantization(for pt: NNRPayloadType?, unit u: NNRParsedUnit) throws -> (qp: Int, qpDensity: Int)? {
        guard pt == .float || pt == .block else { return nil }
        if let l = lps, l.hasQuantizationParameters { return (l.lpsQuantizationParameter, l.lpsQpDensity) }
        guard let m = mps else { throw Self.nduBeforeMPS(u) }
        guard m.hasQuantizationParameters else {
            throw NNRError(.invalidValue("NNR_PT_FLOAT/BLOCK data needs mps_qp_density and mps_quantization_parameter (mps_quantization_method_flags is 0)"),
                           element: "mps_quantization_method_flags", byteOffset: u.location.offset, unitIndex: u.location.index)
        }
        return (m.mpsQuantizationParameter, m.mpsQpDensity)
    }

    static func nduBeforeMPS(_ u: NNRParsedUnit) -> NNRError {
        NNRError(.invalidValue("NNR_NDU before any NNR_MPS"), element: "nnr_unit_type", byteOffset: u.location.offset, unitIndex: u.location.index)
    }
}

/// Everything decided about one NDU before its payload is read.
public struct NDUPlan: Sendable {
    public var unit: NNRParsedUnit
    public var header: NDUHeader
    public var tensors: [NDUTensorPlan]
    /// Base QP and qp_density (NNR_PT_FLOAT / NNR_PT_BLOCK only).
    public var baseQP: Int?
    public var qpDensity: Int?

    /// The payload type (nil when reserved).
    public var payloadType: NNRPayloadType? { header.payloadType }

    /// A plan from its parts (tools that show units the decoder would refuse).
    public init(unit: NNRParsedUnit, header: NDUHeader, tensors: [NDUTensorPlan], baseQP: Int?, qpDensity: Int?) {
        self.unit = unit
        self.header = header
        self.tensors = tensors
        self.baseQP = baseQP
        self.qpDensity = qpDensity
    }

    /// Plans an NDU. Throws the first reason its payload cannot be decoded.
    public init(unit u: NNRParsedUnit, header h: NDUHeader, parameterSets: NNRParameterSets, limits: NNRLimits) throws {
        guard parameterSets.mps != nil else { throw NNRParameterSets.nduBeforeMPS(u) }
        if u.common.partialDataCounterPresentFlag {
            throw NNRError(.unsupported("partial data units (partial_data_counter_present_flag = 1)"), element: "partial_data_counter_present_flag",
                           byteOffset: u.location.offset, unitIndex: u.location.index)
        }
        guard h.payloadType != nil else {
            throw NNRError(.unsupported("nnr_compressed_data_unit_payload_type \(h.nnrCompressedDataUnitPayloadType)"),
                           element: "nnr_compressed_data_unit_payload_type", byteOffset: u.location.offset + u.common.byteLength,
                           unitIndex: u.location.index)
        }
        unit = u
        header = h
        tensors = try NDUPlan.layout(h, unit: u)
        for t in tensors { try NDUPlan.checkSize(t, unit: u, limits: limits) }
        let q = try parameterSets.baseQuantization(for: h.payloadType, unit: u)
        baseQP = q?.qp
        qpDensity = q?.qpDensity
    }

    /// A tensor's element count against the limit.
    public static func checkSize(_ t: NDUTensorPlan, unit u: NNRParsedUnit, limits: NNRLimits) throws {
        guard NDUHeader.elementCount(t.dims, limit: limits.maxTensorElements) != nil else {
            throw NNRError(.limitExceeded("tensor \(t.name) \(t.dims) exceeds \(limits.maxTensorElements) elements"),
                           element: "tensor_dimensions", byteOffset: u.location.offset, unitIndex: u.location.index)
        }
    }

    /// The names an NDU header gives its tensors: topology element ids, or `#index` when the MPS
    /// sets mps_topology_indexed_reference_flag.
    public static func topologyNames(_ h: NDUHeader, context: SyntaxContext) -> [String] {
        let indexed = context.mpsTopologyIndexedReferenceFlag
        if h.nnrMultipleTopologyElementsPresentFlag {
            return indexed ? h.topologyElemIdIndexList.map { "#\($0)" } : h.topologyElemIdList
        }
        return [indexed ? "#\(h.topologyElemIdIndex)" : h.topologyElemId]
    }

    /// The tensors of an NDU in payload order with their shapes, codebooks and entry points.
    public static func layout(_ h: NDUHeader, unit u: NNRParsedUnit) throws -> [NDUTensorPlan] {
        let names = topologyNames(h, context: u.context)
        // a block names its tensors by the list of nnr_multiple_topology_elements_present_flag only
        if h.isBlock { return try blockLayout(h, unit: u, names: h.nnrMultipleTopologyElementsPresentFlag ? names : []) }
        var dims = h.tensorDimensions
        if h.hasDecomposition {
            // DC outside a block: G or H by the element name's suffix (as the reference).
            guard h.gNumberOfRows >= 1, h.decompositionRank >= 1 else {
                throw NNRError(.invalidValue("g_number_of_rows and decomposition_rank must be ≥ 1"), element: "g_number_of_rows",
                               byteOffset: u.location.offset, unitIndex: u.location.index)
            }
            let total = NDUHeader.elementCount(dims, limit: Int.max) ?? 0
            dims = h.topologyElemId.hasSuffix("_G") ? [h.gNumberOfRows, h.decompositionRank]
                : [h.decompositionRank, total / h.gNumberOfRows]
        }
        return [NDUTensorPlan(name: names.first ?? "", role: nil, dims: dims, codebook: h.codebookPresentFlag ? h.codebook : nil,
                              entryPoints: h.entryPoints)]
    }

    static func blockLayout(_ h: NDUHeader, unit u: NNRParsedUnit, names: [String]) throws -> [NDUTensorPlan] {
        let at = u.location.offset
        let expected = BlockLayout.topologyElementCount(compressedParameterTypes: h.compressedParameterTypes)
        guard names.count == expected else {
            throw NNRError(.invalidValue("NNR_PT_BLOCK with compressed_parameter_types \(h.compressedParameterTypes) needs \(expected) topology elements, has \(names.count)"),
                           element: "count_topology_elements_minus2", byteOffset: at, unitIndex: u.location.index)
        }
        let layout: [BlockTensor]
        do {
            layout = try BlockLayout.tensors(compressedParameterTypes: h.compressedParameterTypes, dims: h.tensorDimensions,
                                             decompositionRank: h.hasDecomposition ? h.decompositionRank : nil,
                                             gNumberOfRows: h.hasDecomposition ? h.gNumberOfRows : nil)
        } catch var e as NNRError {
            e.position = BitPosition(byteOffset: at, bitOffset: 0)
            throw e.inUnit(u.location.index)
        }
        var out: [NDUTensorPlan] = []
        var next = 0
        for t in layout {
            var cb: NNRCodebook?
            if h.codebookPresentFlag {
                if t.codebookIndex == 0 { cb = h.codebook }
                if t.codebookIndex == 1 { cb = h.codebookDC }
            }
            var eps: [EntryPoint] = []
            if t.dims.count > 1 && h.scanOrder > 0 {
                let n = Swift.max(0, TensorGeometry.blockRowCount(rows: t.dims[0], scanOrder: h.scanOrder) - 1)
                let lo = Swift.min(next, h.entryPoints.count), hi = Swift.min(next + n, h.entryPoints.count)
                eps = Array(h.entryPoints[lo..<hi])
                next += n
            }
            guard t.topologyIndex < names.count else {
                throw NNRError(.invalidValue("block layout refers to topology element \(t.topologyIndex)"), element: "topology_elem_id_list",
                               byteOffset: at, unitIndex: u.location.index)
            }
            out.append(NDUTensorPlan(name: names[t.topologyIndex], role: t.role.rawValue, dims: t.dims, codebook: cb, entryPoints: eps))
        }
        return out
    }

    /// The scan order a tensor is coded with (only tensors of more than one dimension use blocks).
    public func scanOrder(of t: NDUTensorPlan) -> Int { t.dims.count > 1 ? header.scanOrder : 0 }

    /// Whether a tensor uses dependent quantization.
    public var dqFlag: Bool { payloadType != .int && payloadType != .rawFloat && header.dqFlag }

    /// The payload decoder's parameters of tensor `t`, from the header and the incremental state.
    public func payloadParameters(_ t: NDUTensorPlan, state: IncrementalDecoderState) throws -> TensorPayloadParameters {
        let h = header, u = unit
        let profile = u.context.generalProfileIdc
        var p = TensorPayloadParameters(dims: t.dims)
        p.generalProfileIdc = profile
        p.scanOrder = scanOrder(of: t)
        p.dqFlag = dqFlag
        p.cabacUnaryLengthMinus1 = h.cabacUnaryLengthMinus1
        p.codesQPOffset = payloadType == .float || payloadType == .block
        p.qpDensity = qpDensity ?? 0
        p.codebook = t.codebook
        p.parentNodeIdPresent = h.parentNodeIdPresentFlag
        if h.temporalContextModelingFlag && profile == 1 {
            guard let base = state.previousLevels[t.name] else {
                throw NNRError(.invalidValue("temporal_context_modeling_flag = 1 but no earlier bitstream carried tensor \(t.name) (give the earlier bitstreams of the sequence first)"),
                               element: "temporal_context_modeling_flag", byteOffset: u.location.offset, unitIndex: u.location.index)
            }
            p.tcaBase = base
        }
        if h.parentNodeIdPresentFlag, let hist = state.history[t.name] { p.hdspHistory = hist }
        p.entryPoints = t.entryPoints.map { EntryPoint(bitOffsetDelta: $0.bitOffsetDelta, value: $0.value, dqState: $0.dqState) }
        return p
    }

    /// qp_offset of the first tensor, read from the first payload bytes without decoding the payload.
    public func firstQPOffset(_ source: NNRByteSource) -> Int? {
        guard let d = qpDensity, (0...7).contains(d), payloadType == .float || payloadType == .block else { return nil }
        let range = unit.payloadRange
        let n = Swift.min(range.count, 8)
        guard n >= 2, let dec = try? PayloadDecoder(payload: source.bytes(range.lowerBound..<(range.lowerBound + n)),
                                                    fileOffset: range.lowerBound) else { return nil }
        return dec.peekQPOffset(qpDensity: d)
    }

    /// The dtype decode gives a tensor (float32; float64 for codebook tensors; int32 for NNR_PT_INT).
    public func dtype(of t: NDUTensorPlan) -> TensorDType {
        if payloadType == .int { return .int32 }
        return t.codebook != nil && payloadType != .rawFloat ? .float64 : .float32
    }
}

extension IncrementalDecoderState {
    /// Takes the levels of a bitstream's tensors as the TCA bases (and HDSP histories, with parent
    /// signalling) for the next bitstream.
    public mutating func carry(_ name: String, levels: [Int32], parentSignalling: Bool) {
        previousLevels[name] = levels
        guard parentSignalling else { return }
        var h = history[name] ?? [UInt8](repeating: 0, count: levels.count)
        if h.count == levels.count {
            for i in 0..<h.count where levels[i] != 0 { h[i] = 1 }
            history[name] = h
        }
    }
}
