import NNRBitIO

/// Values from earlier units that change how later units are parsed: `general_profile_idc` (NNR_STR),
/// `mps_topology_indexed_reference_flag` and `mps_parent_signalling_enabled_flag` (NNR_MPS).
public struct SyntaxContext: Sendable, Equatable {
    public var generalProfileIdc: Int
    public var mpsTopologyIndexedReferenceFlag: Bool
    public var mpsParentSignallingEnabledFlag: Bool

    public init(generalProfileIdc: Int = 0, mpsTopologyIndexedReferenceFlag: Bool = false, mpsParentSignallingEnabledFlag: Bool = false) {
        self.generalProfileIdc = generalProfileIdc
        self.mpsTopologyIndexedReferenceFlag = mpsTopologyIndexedReferenceFlag
        self.mpsParentSignallingEnabledFlag = mpsParentSignallingEnabledFlag
    }

    /// Every profile test in the syntax is "general_profile_idc == 1".
    public var isProfile1: Bool { generalProfileIdc == 1 }
}

/// `nnr_compressed_data_unit_payload_type` (u(5)).
public enum NNRPayloadType: Int, Sendable, CaseIterable {
    case int = 0, float = 1, rawFloat = 2, block = 3
    public var name: String {
        switch self {
        case .int: return "NNR_PT_INT"
        case .float: return "NNR_PT_FLOAT"
        case .rawFloat: return "NNR_PT_RAW_FLOAT"
        case .block: return "NNR_PT_BLOCK"
        }
    }
    public static func name(of code: Int) -> String { NNRPayloadType(rawValue: code)?.name ?? "NNR_PT_RSVD_\(code)" }
}

/// Bits of `compressed_parameter_types`.
public enum NNRCompressedParameterType {
    /// NNR_CPT_DC: decomposition (G and H).
    public static let dc = 0x01
    /// NNR_CPT_LS: local scaling.
    public static let ls = 0x02
    /// NNR_CPT_BN: batch-norm parameters.
    public static let bn = 0x04
    /// NNR_CPT_BI: bias.
    public static let bi = 0x08
}

/// Bits of `mps_quantization_method_flags` / `lps_quantization_method_flags`.
public enum NNRQuantizationMethod {
    /// NNR_QSU: scalar uniform.
    public static let scalarUniform = 1
    /// NNR_QCB: codebook.
    public static let codebook = 2
}

/// `topology_storage_format` names.
public enum NNRTopologyStorageFormat {
    public static func name(of code: Int) -> String {
        switch code {
        case 0: return "NNR_TPL_UNREC"
        case 1: return "NNR_TPL_NNEF"
        case 2: return "NNR_TPL_ONNX"
        case 3: return "NNR_TPL_PYT"
        case 4: return "NNR_TPL_TEF"
        case 5: return "NNR_TPL_PRUN"
        case 6: return "NNR_TPL_REFLIST"
        default: return "NNR_TPL_RSVD_\(code)"
        }
    }
    public static let prun = 5
    public static let reflist = 6
}

/// `nnr_decompressed_data_format` names.
public enum NNRDecompressedDataFormat {
    public static let names = ["TENSOR_INT32", "TENSOR_FLOAT32", "TENSOR_INT2", "TENSOR_INT3", "TENSOR_INT4",
                               "TENSOR_INT8", "TENSOR_INT16", "TENSOR_INT64", "TENSOR_FLOAT16", "TENSOR_FLOAT64"]
    public static func name(of code: Int) -> String { code >= 0 && code < names.count ? names[code] : "TENSOR_RSVD_\(code)" }
}

/// `parent_node_id_type` names.
public enum NNRParentNodeIdType {
    public static func name(of code: Int) -> String {
        switch code {
        case 0: return "ICNN_NDU_ID"
        case 1: return "ICNN_NDU_PL_SHA256"
        case 2: return "ICNN_NDU_PL_SHA512"
        default: return "ICNN_RSVD_\(code)"
        }
    }
}
