// Public parameter and result types of the NNR payload (DeepCABAC) coder, shared by the
// decoder (PayloadDecoder) and the encoder (PayloadEncoder).

/// One entry of cabac_entry_point_list: the decoder state at the start of block row j + 1.
public struct EntryPoint: Sendable, Equatable {
    /// delta_j: P(block row j + 1) − P(block row j), in bits (P = number of value shifts since init).
    public var bitOffsetDelta: Int
    /// ep_value = value >> 7 (8 bits).
    public var value: Int
    /// ep_dq_state (3 bits; 0 without dependent quantization).
    public var dqState: Int

    public init(bitOffsetDelta: Int, value: Int, dqState: Int = 0) {
        self.bitOffsetDelta = bitOffsetDelta
        self.value = value
        self.dqState = dqState
    }

    /// The packing used by the conformance vectors' units.json: (delta << 11) | (value << 3) | dqState.
    public init(packed: Int) {
        self.init(bitOffsetDelta: packed >> 11, value: (packed >> 3) & 0xFF, dqState: packed & 7)
    }

    public var packed: Int { (bitOffsetDelta << 11) | ((value & 0xFF) << 3) | (dqState & 7) }
}

/// What the high-level syntax tells the payload coder about one tensor.
public struct TensorPayloadParameters: Sendable, Equatable {
    /// general_profile_idc of the stream (only 1 enables the edition-2 payload syntax).
    public var generalProfileIdc: Int
    /// tensor_dimensions (dims[0] = rows); each ≥ 1.
    public var dims: [Int]
    /// scan_order from the header (0…4); forced to 0 by the coder when w == 1 or h == 1.
    public var scanOrder: Int
    /// dq_flag (dependent quantization). The decoder ignores it when `codesQPOffset` is false
    /// (NNR_PT_INT: NNCodec ignores the bit).
    public var dqFlag: Bool
    /// cabac_unary_length_minus1 (L − 1), 0…255.
    public var cabacUnaryLengthMinus1: Int
    /// true for NNR_PT_FLOAT / NNR_PT_BLOCK tensors: qp_offset (6 + qpDensity bypass bins) comes first.
    /// false for NNR_PT_INT.
    public var codesQPOffset: Bool
    /// qp_density d (0…7) from the MPS (or LPS).
    public var qpDensity: Int
    /// The tensor's codebook (only affects coding in profile 1).
    public var codebook: NNRCodebook?
    /// parent_node_id_present_flag: hist_dep_sig_prob_enabled_flag is coded.
    public var parentNodeIdPresent: Bool
    /// temporal_context_modeling_flag: the parent's reconstruction indices q (row-major, same count);
    /// nil when the tensor does not use TCA.
    public var tcaBase: [Int32]?
    /// Per position 1 if any earlier decoded update had q ≠ 0 (row-major, same count); nil if no history
    /// (then HDSP contexts fall back as if every bit were 0).
    public var hdspHistory: [UInt8]?
    /// This tensor's entries of cabac_entry_point_list (empty if none).
    public var entryPoints: [EntryPoint]

    public init(generalProfileIdc: Int = 1,
                dims: [Int],
                scanOrder: Int = 0,
                dqFlag: Bool = false,
                cabacUnaryLengthMinus1: Int = 10,
                codesQPOffset: Bool = true,
                qpDensity: Int = 2,
                codebook: NNRCodebook? = nil,
                parentNodeIdPresent: Bool = false,
                tcaBase: [Int32]? = nil,
                hdspHistory: [UInt8]? = nil,
                entryPoints: [EntryPoint] = []) {
        self.generalProfileIdc = generalProfileIdc
        self.dims = dims
        self.scanOrder = scanOrder
        self.dqFlag = dqFlag
        self.cabacUnaryLengthMinus1 = cabacUnaryLengthMinus1
        self.codesQPOffset = codesQPOffset
        self.qpDensity = qpDensity
        self.codebook = codebook
        self.parentNodeIdPresent = parentNodeIdPresent
        self.tcaBase = tcaBase
        self.hdspHistory = hdspHistory
        self.entryPoints = entryPoints
    }
}

/// The result of decoding one tensor of a payload.
public struct DecodedTensorPayload: Sendable {
    /// qp_offset (0 when not coded).
    public var qpOffset: Int
    /// Row-major. Uniform: reconstruction index q (after the DQ mapping); codebook: the signed index k
    /// relative to CbZeroOffset; NNR_PT_INT: the integer values.
    public var levels: [Int32]
    /// hist_dep_sig_prob_enabled_flag (false when not coded).
    public var hdspEnabled: Bool
    /// row_skip_enabled_flag (false when not coded).
    public var rowSkipEnabled: Bool
    /// row_skip_flag per row (empty if row skipping is off).
    public var rowSkipFlags: [Bool]
    /// Selected estimator parameter set per context index (ContextLayout.count entries).
    public var estimatorSets: [UInt8]
    /// The sequential decoder's state at each block-row start after the first (compare with the header).
    public var observedEntryPoints: [EntryPoint]

    public init(qpOffset: Int = 0, levels: [Int32] = [], hdspEnabled: Bool = false, rowSkipEnabled: Bool = false,
                rowSkipFlags: [Bool] = [], estimatorSets: [UInt8] = [], observedEntryPoints: [EntryPoint] = []) {
        self.qpOffset = qpOffset
        self.levels = levels
        self.hdspEnabled = hdspEnabled
        self.rowSkipEnabled = rowSkipEnabled
        self.rowSkipFlags = rowSkipFlags
        self.estimatorSets = estimatorSets
        self.observedEntryPoints = observedEntryPoints
    }
}

/// How a payload ended (after the terminating bin).
public struct PayloadEnd: Sendable, Equatable {
    /// Bytes the arithmetic decoder fetched: the payload length that nnr_unit_size must account for.
    public var bytesConsumed: Int
    /// The last fetched byte ends with the stop pattern (a 1 bit then zeros).
    public var stopPatternValid: Bool
    /// Bytes of the given payload after `bytesConsumed` (should be 0).
    public var trailingBytes: Int

    public init(bytesConsumed: Int, stopPatternValid: Bool, trailingBytes: Int) {
        self.bytesConsumed = bytesConsumed
        self.stopPatternValid = stopPatternValid
        self.trailingBytes = trailingBytes
    }
}

/// One traced syntax element (for `nnr dump --trace`).
public struct PayloadTraceElement: Sendable {
    /// The syntax element's name ("qp_offset", "sig_flag", "sign_flag", "abs_level_greater_flag",
    /// "abs_remainder_prefix", "abs_remainder_suffix", "row_skip_flag", ...).
    public var name: String
    /// Row-major index of the tensor position, −1 for tensor-level syntax.
    public var position: Int
    /// DQ state at the element (0 without DQ).
    public var dqState: Int
    /// Context index used (−1 for bypass bins).
    public var context: Int
    /// The decoded bins, in order.
    public var bins: [UInt8]
    /// The element's value (a flag's bin, qp_offset, the decoded level, ...).
    public var value: Int64

    public init(name: String, position: Int, dqState: Int, context: Int, bins: [UInt8], value: Int64) {
        self.name = name
        self.position = position
        self.dqState = dqState
        self.context = context
        self.bins = bins
        self.value = value
    }
}

/// Receives every syntax element while a tensor is decoded. Decoding is generic over the tracer and
/// specialised, so `NoTracer` costs nothing.
public protocol PayloadTracer {
    /// false for tracers that ignore everything (lets the decoder skip building elements).
    static var isEnabled: Bool { get }
    mutating func element(_ e: PayloadTraceElement)
}

extension PayloadTracer {
    public static var isEnabled: Bool { true }
}

/// The tracer that records nothing.
public struct NoTracer: PayloadTracer {
    public init() {}
    public static var isEnabled: Bool { false }
    @inline(__always)
    public func element(_ e: PayloadTraceElement) {}
}

/// A tracer that keeps every element (for tests and dumps).
public struct CollectingTracer: PayloadTracer {
    public var elements: [PayloadTraceElement] = []
    public init() {}
    public mutating func element(_ e: PayloadTraceElement) { elements.append(e) }
}
