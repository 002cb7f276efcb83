import NNRBitIO
import NNRCoding

/// codebook() (the type is the payload coder's `NNRCodebook`, which this syntax reads and writes).
extension NNRCodebook {
    /// `suffix` distinguishes the second codebook of a decomposed block ("_dc").
    public mutating func visit<V: SyntaxVisitor>(_ v: inout V, suffix: String = "") throws {
        try v.u("codebook_egk" + suffix, 4, &codebookEgk)
        var size = entries.count
        try v.ue("codebook_size" + suffix, 2, &size)
        if size < 1 { throw v.error(.invalidValue("codebook_size must be ≥ 1"), "codebook_size" + suffix) }
        try v.checkCount(size, "codebook_size" + suffix, limit: v.limits.maxListEntries, bitsPerEntry: 1)
        var center = cbZeroOffset - (size >> 1)
        try v.ie("codebook_center_offset" + suffix, 2, &center)
        if v.isReading {
            cbZeroOffset = (size >> 1) + center
            guard cbZeroOffset >= 0 && cbZeroOffset < size else {
                throw v.error(.invalidValue("CbZeroOffset \(cbZeroOffset) outside 0..<\(size)"), "codebook_center_offset" + suffix)
            }
            entries = Array(repeating: 0, count: size)
        }
        let name = "codebook" + suffix
        var zero = entries[cbZeroOffset]
        try v.ie("codebook_zero_value" + suffix, 7, &zero)
        entries[cbZeroOffset] = zero
        var j = cbZeroOffset - 1
        while j >= 0 {
            var d = entries[j + 1] - entries[j] - 1
            try v.ue("codebook_delta_left" + suffix + "[\(j)]", codebookEgk, &d)
            let (a, o1) = entries[j + 1].subtractingReportingOverflow(d)
            let (b, o2) = a.subtractingReportingOverflow(1)
            guard !o1, !o2, b >= Int(Int32.min) else { throw v.error(.overflow("codebook entry below int32"), name) }
            entries[j] = b
            j -= 1
        }
        j = cbZeroOffset + 1
        while j < size {
            var d = entries[j] - entries[j - 1] - 1
            try v.ue("codebook_delta_right" + suffix + "[\(j)]", codebookEgk, &d)
            let (a, o1) = entries[j - 1].addingReportingOverflow(d)
            let (b, o2) = a.addingReportingOverflow(1)
            guard !o1, !o2, b <= Int(Int32.max) else { throw v.error(.overflow("codebook entry above int32"), name) }
            entries[j] = b
            j += 1
        }
    }
}

/// nnr_compressed_data_unit_header(): the per-NDU header (NNR_NDU).
public struct NDUHeader: Sendable, Equatable {
    /// nnr_compressed_data_unit_payload_type u(5).
    public var nnrCompressedDataUnitPayloadType = NNRPayloadType.float.rawValue
    /// nnr_multiple_topology_elements_present_flag u(1).
    public var nnrMultipleTopologyElementsPresentFlag = false
    /// nnr_decompressed_data_format_present_flag u(1).
    public var nnrDecompressedDataFormatPresentFlag = false
    /// input_parameters_present_flag u(1).
    public var inputParametersPresentFlag = true
    /// topology_elem_id_list[j] st(v) (multiple elements, not indexed).
    public var topologyElemIdList: [String] = []
    /// topology_elem_id_index_list[j] ue(7) (multiple elements, indexed).
    public var topologyElemIdIndexList: [Int] = []
    /// topology_elem_id st(v) (single element, not indexed).
    public var topologyElemId = ""
    /// topology_elem_id_index ue(7) (single element, indexed).
    public var topologyElemIdIndex = 0
    /// Profile 1: node_id_present_flag u(1).
    public var nodeIdPresentFlag = true
    /// device_id ue(1).
    public var deviceId = 0
    /// parameter_id ue(5).
    public var parameterId = 0
    /// put_node_depth ue(4).
    public var putNodeDepth = 0
    /// parent_node_id_present_flag u(1) (MPS parent signalling).
    public var parentNodeIdPresentFlag = false
    /// parent_node_id_type u(2).
    public var parentNodeIdType = 0
    /// temporal_context_modeling_flag u(1).
    public var temporalContextModelingFlag = false
    /// parent_device_id ue(1).
    public var parentDeviceId = 0
    /// parent_node_payload_sha256 u(256) / parent_node_payload_sha512 u(512).
    public var parentNodePayloadSHA: [UInt8] = []
    /// codebook_present_flag u(1) (FLOAT, BLOCK).
    public var codebookPresentFlag = false
    public var codebook = NNRCodebook()
    /// Second codebook (BLOCK with DC and a codebook): applies to H.
    public var codebookDC = NNRCodebook()
    /// dq_flag u(1) (INT, FLOAT, BLOCK).
    public var dqFlag = false
    /// nnr_decompressed_data_format u(7).
    public var nnrDecompressedDataFormat = 1
    /// tensor_dimensions_flag u(1).
    public var tensorDimensionsFlag = true
    /// cabac_unary_length_flag u(1).
    public var cabacUnaryLengthFlag = true
    /// compressed_parameter_types u(4): NNR_CPT_DC 1, LS 2, BN 4, BI 8.
    public var compressedParameterTypes = 0
    /// decomposition_rank ue(3).
    public var decompositionRank = 0
    /// g_number_of_rows ue(3).
    public var gNumberOfRows = 0
    /// tensor_dimensions[j] ue(7); count_tensor_dimensions ue(1) = count.
    public var tensorDimensions: [Int] = []
    /// cabac_unary_length_minus1 u(8); 9 when not transmitted (NNCodec's default).
    public var cabacUnaryLengthMinus1 = 10
    /// Profile 1: first_tensor_dimension_shift ue(1).
    public var firstTensorDimensionShift = 0
    /// scan_order u(4).
    public var scanOrder = 0
    /// cabac_entry_point_list.
    public var entryPoints: [EntryPoint] = []

    public init() {}

    public var payloadType: NNRPayloadType? { NNRPayloadType(rawValue: nnrCompressedDataUnitPayloadType) }
    public var isBlock: Bool { nnrCompressedDataUnitPayloadType == NNRPayloadType.block.rawValue }
    public var hasDecomposition: Bool { compressedParameterTypes & NNRCompressedParameterType.dc != 0 }

    /// Names of the tensors this NDU carries (header order).
    public var tensorNames: [String] {
        nnrMultipleTopologyElementsPresentFlag ? topologyElemIdList : [topologyElemId]
    }

    /// The number of entry points the header carries (NumBlockRowsMinus1, spec 3.5 item 12c).
    public func entryPointCount() -> Int {
        guard scanOrder > 0, let d0 = tensorDimensions.first else { return 0 }
        func rows(_ h: Int) -> Int { TensorGeometry.blockRowCount(rows: h, scanOrder: scanOrder) }
        if hasDecomposition {
            if isBlock {
                return (rows(gNumberOfRows) - 1) + (rows(decompositionRank) - 1)
            }
            // DC outside a block: G or H by the element name's suffix (NNCodec's rule).
            if topologyElemId.hasSuffix("_G") { return rows(gNumberOfRows) - 1 }
            return rows(decompositionRank) - 1
        }
        return rows(d0) - 1
    }

    /// Product of the tensor dimensions, checked for overflow and against `limit`.
    public static func elementCount(_ dims: [Int], limit: Int) -> Int? {
        var n = 1
        for d in dims {
            guard d >= 0 else { return nil }
            let (p, o) = n.multipliedReportingOverflow(by: d)
            if o || p > limit { return nil }
            n = p
        }
        return n
    }

    public mutating func visit<V: SyntaxVisitor>(_ v: inout V, context: SyntaxContext) throws {
        try v.u("nnr_compressed_data_unit_payload_type", 5, &nnrCompressedDataUnitPayloadType)
        try v.flag("nnr_multiple_topology_elements_present_flag", &nnrMultipleTopologyElementsPresentFlag)
        try v.flag("nnr_decompressed_data_format_present_flag", &nnrDecompressedDataFormatPresentFlag)
        try v.flag("input_parameters_present_flag", &inputParametersPresentFlag)
        let indexed = context.mpsTopologyIndexedReferenceFlag
        if nnrMultipleTopologyElementsPresentFlag {
            try visitTopologyElementsIdsList(&v, indexed: indexed)
        } else if !indexed {
            try v.st("topology_elem_id", &topologyElemId)
        } else {
            try v.ue("topology_elem_id_index", 7, &topologyElemIdIndex)
        }
        if context.isProfile1 {
            try visitNodeId(&v)
            if context.mpsParentSignallingEnabledFlag { try visitParentNodeId(&v) }
        }

        let pt = nnrCompressedDataUnitPayloadType
        if pt == NNRPayloadType.float.rawValue || pt == NNRPayloadType.block.rawValue {
            try v.flag("codebook_present_flag", &codebookPresentFlag)
            if codebookPresentFlag { try codebook.visit(&v) }
        }
        if pt == NNRPayloadType.int.rawValue || pt == NNRPayloadType.float.rawValue || pt == NNRPayloadType.block.rawValue {
            try v.flag("dq_flag", &dqFlag)
        }
        if nnrDecompressedDataFormatPresentFlag {
            try v.u("nnr_decompressed_data_format", 7, &nnrDecompressedDataFormat)
        }
        if inputParametersPresentFlag {
            try visitInputParameters(&v)
        } else if v.isReading {
            // Out-of-band parameters: NNCodec's defaults.
            compressedParameterTypes = 0
            cabacUnaryLengthMinus1 = 9
        }
        if isBlock && hasDecomposition && codebookPresentFlag {
            try codebookDC.visit(&v, suffix: "_dc")
        }
        if tensorDimensions.count > 1 {
            if context.isProfile1 {
                try v.ue("first_tensor_dimension_shift", 1, &firstTensorDimensionShift)
            }
            try v.u("scan_order", 4, &scanOrder)
            if scanOrder > 0 { try visitCabacEntryPointList(&v, indexed: indexed) }
        }
        try v.byteAlignment()
    }

    /// topology_elements_ids_list(mps_topology_indexed_reference_flag): the names (or indices)
    /// of the elements a multi-element NDU carries.
    mutating func visitTopologyElementsIdsList<V: SyntaxVisitor>(_ v: inout V, indexed: Bool) throws {
        var countMinus2 = Swift.max(0, (indexed ? topologyElemIdIndexList.count : topologyElemIdList.count) - 2)
        try v.ue("count_topology_elements_minus2", 7, &countMinus2)
        let n = countMinus2 + 2
        try v.checkCount(n, "count_topology_elements_minus2", limit: v.limits.maxListEntries, bitsPerEntry: 8, freeEntries: 2)
        if !indexed {
            try v.byteAlignment()
            if v.isReading { topologyElemIdList = Array(repeating: "", count: n) }
            for j in 0..<n { try v.st("topology_elem_id_list[\(j)]", &topologyElemIdList[j]) }
        } else {
            if v.isReading { topologyElemIdIndexList = Array(repeating: 0, count: n) }
            for j in 0..<n { try v.ue("topology_elem_id_index_list[\(j)]", 7, &topologyElemIdIndexList[j]) }
            try v.byteAlignment()
        }
    }

    /// Profile 1: node_id_present_flag and the node's identity (device_id, parameter_id, put_node_depth).
    mutating func visitNodeId<V: SyntaxVisitor>(_ v: inout V) throws {
        try v.flag("node_id_present_flag", &nodeIdPresentFlag)
        if nodeIdPresentFlag {
            try v.ue("device_id", 1, &deviceId)
            try v.ue("parameter_id", 5, &parameterId)
            try v.ue("put_node_depth", 4, &putNodeDepth)
        }
    }

    /// Profile 1 with mps_parent_signalling_enabled_flag: parent_node_id_present_flag and the
    /// parent's identity by parent_node_id_type (device and parameter ids, or a payload hash).
    mutating func visitParentNodeId<V: SyntaxVisitor>(_ v: inout V) throws {
        try v.flag("parent_node_id_present_flag", &parentNodeIdPresentFlag)
        guard parentNodeIdPresentFlag else { return }
        try v.u("parent_node_id_type", 2, &parentNodeIdType)
        try v.flag("temporal_context_modeling_flag", &temporalContextModelingFlag)
        switch parentNodeIdType {
        case 0:
            try v.ue("parent_device_id", 1, &parentDeviceId)
            if !nodeIdPresentFlag {
                try v.ue("parameter_id", 5, &parameterId)
                try v.ue("put_node_depth", 4, &putNodeDepth)
            }
        case 1: try v.bits("parent_node_payload_sha256", 256, &parentNodePayloadSHA)
        case 2: try v.bits("parent_node_payload_sha512", 512, &parentNodePayloadSHA)
        default:
            throw v.error(.invalidValue("parent_node_id_type 3 is reserved"), "parent_node_id_type")
        }
    }

    /// The in-band input parameters (input_parameters_present_flag): tensor_dimensions_flag,
    /// cabac_unary_length_flag, compressed_parameter_types, the decomposition's rank and rows,
    /// the tensor dimensions and cabac_unary_length_minus1.
    mutating func visitInputParameters<V: SyntaxVisitor>(_ v: inout V) throws {
        try v.flag("tensor_dimensions_flag", &tensorDimensionsFlag)
        try v.flag("cabac_unary_length_flag", &cabacUnaryLengthFlag)
        try v.u("compressed_parameter_types", 4, &compressedParameterTypes)
        if hasDecomposition {
            try v.ue("decomposition_rank", 3, &decompositionRank)
            try v.ue("g_number_of_rows", 3, &gNumberOfRows)
        }
        if tensorDimensionsFlag { try visitTensorDimensions(&v) }
        if !isBlock && nnrMultipleTopologyElementsPresentFlag {
            throw v.error(.unsupported("topology_tensor_dimension_mapping() (tensor split across elements)"), "topology_tensor_dimension_mapping")
        }
        if cabacUnaryLengthFlag {
            try v.u("cabac_unary_length_minus1", 8, &cabacUnaryLengthMinus1)
        } else if v.isReading {
            cabacUnaryLengthMinus1 = 9
        }
    }

    /// count_tensor_dimensions and tensor_dimensions[j], their product checked against the limit.
    mutating func visitTensorDimensions<V: SyntaxVisitor>(_ v: inout V) throws {
        var count = tensorDimensions.count
        try v.ue("count_tensor_dimensions", 1, &count)
        try v.checkCount(count, "count_tensor_dimensions", limit: v.limits.maxDimensions)
        if v.isReading { tensorDimensions = Array(repeating: 0, count: count) }
        for j in 0..<count { try v.ue("tensor_dimensions[\(j)]", 7, &tensorDimensions[j]) }
        if v.isReading {
            guard NDUHeader.elementCount(tensorDimensions, limit: v.limits.maxTensorElements) != nil else {
                throw v.error(.limitExceeded("tensor_dimensions \(tensorDimensions) multiply to more than \(v.limits.maxTensorElements) elements"), "tensor_dimensions")
            }
        }
    }

    /// cabac_entry_point_list (scan_order > 0): NumBlockRowsMinus1 entry points, each with
    /// ep_value, ep_dq_state (with DQ) and its bit offset (the first absolute, then differences).
    mutating func visitCabacEntryPointList<V: SyntaxVisitor>(_ v: inout V, indexed: Bool) throws {
        if !isBlock && hasDecomposition && indexed {
            throw v.error(.unsupported("entry points of a decomposed tensor referenced by index (G/H unknown)"), "cabac_entry_point_list")
        }
        if hasDecomposition && (gNumberOfRows < 1 || decompositionRank < 1) {
            throw v.error(.invalidValue("g_number_of_rows and decomposition_rank must be ≥ 1"), "cabac_entry_point_list")
        }
        let n = Swift.max(0, entryPointCount())
        try v.checkCount(n, "NumBlockRowsMinus1", limit: v.limits.maxListEntries, bitsPerEntry: 9, freeEntries: 1)
        if v.isReading { entryPoints = Array(repeating: EntryPoint(bitOffsetDelta: 0, value: 0, dqState: 0), count: n) }
        guard entryPoints.count == n else {
            throw v.error(.invalidValue("\(entryPoints.count) entry points given, \(n) needed"), "cabac_entry_point_list")
        }
        for j in 0..<n {
            try v.u("ep_value[\(j)]", 8, &entryPoints[j].value)
            if dqFlag { try v.u("ep_dq_state[\(j)]", 3, &entryPoints[j].dqState) }
            if j == 0 {
                try v.ue("ep_bit_offset_delta", 11, &entryPoints[j].bitOffsetDelta)
            } else {
                var diff = entryPoints[j].bitOffsetDelta - entryPoints[j - 1].bitOffsetDelta
                try v.ie("ep_bit_offset_delta_diff[\(j)]", 7, &diff)
                let (s, o) = entryPoints[j - 1].bitOffsetDelta.addingReportingOverflow(diff)
                guard !o else { throw v.error(.overflow("entry point offset"), "ep_bit_offset_delta_diff") }
                entryPoints[j].bitOffsetDelta = s
            }
        }
    }
}
