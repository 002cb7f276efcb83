// The rules `nnr check` enforces (Spec/conformance-rules.md lists the same table).

/// How bad a violation is: errors make a bitstream non-conforming, warnings do not (unless the
/// check is strict).
public enum CheckSeverity: String, Sendable, CaseIterable, Comparable {
    case error
    case warning

    public static func < (a: CheckSeverity, b: CheckSeverity) -> Bool {
        a == .error && b == .warning
    }
}

/// The group a rule belongs to (the letter after "NNR-" in its ID).
public enum CheckRuleGroup: String, Sendable, CaseIterable {
    /// NNR-C: the unit container (sizes, types, partial data, aggregates).
    case container
    /// NNR-O: the order of units and what they refer to.
    case order
    /// NNR-H: header field values.
    case header
    /// NNR-P: the arithmetic-coded payload.
    case payload
    /// NNR-I: incremental (edition-2) references across bitstreams.
    case incremental

    public var letter: String {
        switch self {
        case .container: return "C"
        case .order: return "O"
        case .header: return "H"
        case .payload: return "P"
        case .incremental: return "I"
        }
    }
}

/// One rule: an ID, a severity and a one-line statement.
public struct CheckRule: Sendable, Equatable {
    public var id: String
    public var group: CheckRuleGroup
    public var severity: CheckSeverity
    /// The rule in one line.
    public var statement: String
    /// Where the rule comes from (section of the NNR syntax notes / Spec file).
    public var source: String

    public init(_ id: String, _ group: CheckRuleGroup, _ severity: CheckSeverity, _ statement: String, source: String) {
        self.id = id
        self.group = group
        self.severity = severity
        self.statement = statement
        self.source = source
    }
}

/// The catalogue of rules, in ID order.
public enum CheckRules {
    // Container
    public static let unitsTileFile = "NNR-C001"
    public static let unitSyntaxFitsSize = "NNR-C002"
    public static let longSizeForm = "NNR-C003"
    public static let reservedUnitType = "NNR-C004"
    public static let aggregateUnit = "NNR-C005"
    public static let aggregateContent = "NNR-C006"
    public static let partialDataCounter = "NNR-C007"
    // Order
    public static let firstUnitIsStart = "NNR-O001"
    public static let singleStart = "NNR-O002"
    public static let mpsAfterStart = "NNR-O003"
    public static let singleMPS = "NNR-O004"
    public static let indexedReferenceList = "NNR-O005"
    public static let decompositionPairing = "NNR-O006"
    public static let tensorNameOnce = "NNR-O007"
    // Header
    public static let reservedBits = "NNR-H001"
    public static let byteAlignment = "NNR-H002"
    public static let profile = "NNR-H003"
    public static let payloadType = "NNR-H004"
    public static let decompressedDataFormat = "NNR-H005"
    public static let parentNodeIdType = "NNR-H006"
    public static let scanOrder = "NNR-H007"
    public static let multipleTopologyElements = "NNR-H008"
    public static let blockElementCount = "NNR-H009"
    public static let dimensionsInBand = "NNR-H010"
    public static let dimensionValues = "NNR-H011"
    public static let limits = "NNR-H012"
    public static let codebook = "NNR-H013"
    public static let codebookWithoutDQ = "NNR-H014"
    public static let integerWithoutDQ = "NNR-H015"
    public static let quantizationParameters = "NNR-H016"
    public static let quantizationMethodFlags = "NNR-H017"
    public static let strings = "NNR-H018"
    public static let decompositionParameters = "NNR-H019"
    public static let topologyFormats = "NNR-H020"
    public static let tensorNameUnsafe = "NNR-H021"
    // Payload
    public static let payloadWithinUnit = "NNR-P001"
    public static let terminatingBin = "NNR-P002"
    public static let stopPattern = "NNR-P003"
    public static let payloadConsumed = "NNR-P004"
    public static let entryPoints = "NNR-P005"
    public static let levelsInt32 = "NNR-P006"
    public static let codebookIndex = "NNR-P007"
    public static let rawFloatSize = "NNR-P008"
    public static let stepSize = "NNR-P009"
    public static let declaredIntegerFormat = "NNR-P010"
    // Incremental
    public static let parentTensor = "NNR-I001"
    public static let parentIdentity = "NNR-I002"
    public static let independentlyDecodable = "NNR-I003"

    public static let all: [CheckRule] = [
        CheckRule(unitsTileFile, .container, .error,
                  "Units tile the file: every nnr_unit_size covers at least the unit's own size and type fields and ends inside the file; no bytes follow the last unit.",
                  source: "syntax notes 2, 9.1"),
        CheckRule(unitSyntaxFitsSize, .container, .error,
                  "Each unit's syntax parses inside its nnr_unit_size, and every unit other than NNR_NDU, NNR_AGG and reserved types ends exactly at nnr_unit_size.",
                  source: "syntax notes 2, 9.1"),
        CheckRule(longSizeForm, .container, .warning,
                  "The long (32-bit) nnr_unit_size form is used only for units of 32768 bytes or more.",
                  source: "syntax notes 2, 9.1"),
        CheckRule(reservedUnitType, .container, .error,
                  "nnr_unit_type is not a reserved value (7..63).",
                  source: "syntax notes 2, 9.5"),
        CheckRule(aggregateUnit, .container, .warning,
                  "NNR_AGG units are not decodable by the reference decoder (NNCodec 2.1.3); they are checked with this toolkit's reading of the standard.",
                  source: "syntax notes 2, 9.5; Spec/syntax.md 3"),
        CheckRule(aggregateContent, .container, .error,
                  "An NNR_AGG carries exactly num_of_nnr_units_minus2 + 2 complete units, nested no deeper than the limit, and its entry-point list (if present) gives each carried unit's type and byte offset in the payload.",
                  source: "Spec/syntax.md 3"),
        CheckRule(partialDataCounter, .container, .error,
                  "partial_data_counter_present_flag is 0 in NNR_NDU units (partial data units are not decodable).",
                  source: "syntax notes 2, 9.7"),

        CheckRule(firstUnitIsStart, .order, .error,
                  "The first unit is NNR_STR.",
                  source: "syntax notes 9.2"),
        CheckRule(singleStart, .order, .error,
                  "NNR_STR occurs only once.",
                  source: "syntax notes 9.2"),
        CheckRule(mpsAfterStart, .order, .error,
                  "The unit right after NNR_STR is NNR_MPS (so the MPS precedes every TPL, LPS, QNT and NDU that depends on it).",
                  source: "syntax notes 9.3, 9.4"),
        CheckRule(singleMPS, .order, .error,
                  "NNR_MPS occurs only once.",
                  source: "syntax notes 9.3"),
        CheckRule(indexedReferenceList, .order, .error,
                  "mps_topology_indexed_reference_flag = 1 needs an NNR_TPL with topology_storage_format NNR_TPL_REFLIST before the first NNR_NDU, and every topology element index lies inside that list.",
                  source: "syntax notes 3.4, 9.6"),
        CheckRule(decompositionPairing, .order, .error,
                  "An NDU with NNR_CPT_DC outside NNR_PT_BLOCK names its tensor (not an index) ending in _G or _H, and each _G NDU is followed immediately by the _H NDU of the same tensor.",
                  source: "syntax notes 3.5 (entry points), 9.15"),
        CheckRule(tensorNameOnce, .order, .error,
                  "Each tensor name occurs in at most one NDU of a bitstream (decode writes one file or archive member per name).",
                  source: "Spec/limits.md (tensor names)"),

        CheckRule(reservedBits, .header, .error,
                  "Reserved bits (nnr_reserved_zero_*) are 0.",
                  source: "syntax notes 9.8"),
        CheckRule(byteAlignment, .header, .error,
                  "byte_alignment() is one bit equal to 1 followed by bits equal to 0.",
                  source: "syntax notes 1, 9.8"),
        CheckRule(profile, .header, .error,
                  "general_profile_idc is 0 or 1.",
                  source: "syntax notes 3.1, 9.9"),
        CheckRule(payloadType, .header, .error,
                  "nnr_compressed_data_unit_payload_type is 0..3 (NNR_PT_INT, NNR_PT_FLOAT, NNR_PT_RAW_FLOAT, NNR_PT_BLOCK).",
                  source: "syntax notes 3.5, 9.9"),
        CheckRule(decompressedDataFormat, .header, .error,
                  "nnr_decompressed_data_format is 0..9.",
                  source: "syntax notes 3.5, 9.9"),
        CheckRule(parentNodeIdType, .header, .error,
                  "parent_node_id_type is not 3.",
                  source: "syntax notes 3.5, 9.9"),
        CheckRule(scanOrder, .header, .error,
                  "scan_order is 0..4.",
                  source: "syntax notes 3.5, 9.9"),
        CheckRule(multipleTopologyElements, .header, .error,
                  "nnr_multiple_topology_elements_present_flag is 1 exactly for NNR_PT_BLOCK (tensor splitting is not supported).",
                  source: "syntax notes 3.5, 9.10"),
        CheckRule(blockElementCount, .header, .error,
                  "An NNR_PT_BLOCK lists (DC ? 2 : 1) + [LS] + [BI] + 4·[BN] topology elements, as its compressed_parameter_types say.",
                  source: "syntax notes 3.6, 9.10"),
        CheckRule(dimensionsInBand, .header, .error,
                  "Tensor dimensions are carried in the NDU header (input_parameters_present_flag = 1 and tensor_dimensions_flag = 1); this toolkit has no out-of-band input.",
                  source: "syntax notes 3.5, 9.11"),
        CheckRule(dimensionValues, .header, .error,
                  "count_tensor_dimensions ≥ 1 and every tensor_dimensions[j] ≥ 1.",
                  source: "syntax notes 9.11"),
        CheckRule(limits, .header, .error,
                  "Counts and sizes stay within the toolkit's limits (NNRLimits: elements per tensor and in total, dimensions, list lengths, string lengths, Exp-Golomb prefixes of at most 32 zero bits, units per file).",
                  source: "Spec/limits.md"),
        CheckRule(codebook, .header, .error,
                  "codebook(): codebook_size ≥ 1, 0 ≤ CbZeroOffset < codebook_size, entries within int32.",
                  source: "syntax notes 3.5, 9.13"),
        CheckRule(codebookWithoutDQ, .header, .error,
                  "codebook_present_flag = 1 implies dq_flag = 0.",
                  source: "syntax notes 9.14"),
        CheckRule(integerWithoutDQ, .header, .error,
                  "NNR_PT_INT implies dq_flag = 0.",
                  source: "syntax notes 9.14"),
        CheckRule(quantizationParameters, .header, .error,
                  "NNR_PT_FLOAT and NNR_PT_BLOCK data have quantization parameters: mps_quantization_method_flags & 3 ≠ 0, or an earlier NNR_LPS with them.",
                  source: "syntax notes 9.4"),
        CheckRule(quantizationMethodFlags, .header, .error,
                  "mps_quantization_method_flags and lps_quantization_method_flags use only NNR_QSU (1) and NNR_QCB (2); the value 4 is reserved.",
                  source: "syntax notes 3.2"),
        CheckRule(strings, .header, .error,
                  "st(v) strings start byte-aligned, are valid UTF-8 and are terminated inside their unit.",
                  source: "syntax notes 1, 9.8"),
        CheckRule(decompositionParameters, .header, .error,
                  "With NNR_CPT_DC: decomposition_rank ≥ 1, g_number_of_rows ≥ 1, and g_number_of_rows divides the product of tensor_dimensions.",
                  source: "syntax notes 9.15"),
        CheckRule(topologyFormats, .header, .error,
                  "topology_storage_format is 0..6 and topology_compression_format is 0 (NNR_PT_RAW) or 1 (NNR_DFL).",
                  source: "syntax notes 3.4"),
        CheckRule(tensorNameUnsafe, .header, .error,
                  "A tensor name can be a file or archive member name: not empty, no NUL, not absolute (leading '/' or '\\', drive letter), no '..' component; nnr decode refuses other names (or renames them with --sanitize-names).",
                  source: "Spec/limits.md (names)"),

        CheckRule(payloadWithinUnit, .payload, .error,
                  "The arithmetic-coded payload decodes without reading past the end of its unit.",
                  source: "syntax notes 5.5, 9.18"),
        CheckRule(terminatingBin, .payload, .error,
                  "The terminating bin after the last tensor of an NDU decodes as 1.",
                  source: "syntax notes 4.3, 9.18"),
        CheckRule(stopPattern, .payload, .error,
                  "The last payload byte ends with the stop pattern: a 1 bit, then 0 bits.",
                  source: "syntax notes 5.7, 9.18"),
        CheckRule(payloadConsumed, .payload, .error,
                  "The payload is fully consumed: header bytes + bytes read by the arithmetic decoder = nnr_unit_size (no trailing bytes).",
                  source: "syntax notes 3.6, 9.18"),
        CheckRule(entryPoints, .payload, .error,
                  "The CABAC entry points (their number, ep_value, ep_dq_state and bit offsets) equal the sequential decoder's state at each block-row start.",
                  source: "syntax notes 5.8, 9.12, 9.19"),
        CheckRule(levelsInt32, .payload, .error,
                  "Every decoded level fits in int32.",
                  source: "syntax notes 9.20"),
        CheckRule(codebookIndex, .payload, .error,
                  "Every codebook index k + CbZeroOffset lies in 0..codebook_size − 1.",
                  source: "syntax notes 9.21"),
        CheckRule(rawFloatSize, .payload, .error,
                  "An NNR_PT_RAW_FLOAT payload holds exactly 4 · prod(tensor_dimensions) bytes.",
                  source: "syntax notes 3.6"),
        CheckRule(stepSize, .payload, .error,
                  "Each tensor's QP gives a finite, non-zero float32 step size, and every reconstructed value is finite.",
                  source: "syntax notes 7, 9.16"),
        CheckRule(declaredIntegerFormat, .payload, .error,
                  "NNR_PT_INT values fit the integer nnr_decompressed_data_format the header declares (INT2, INT3, INT4, INT8, INT16, TENSOR_INT32).",
                  source: "syntax notes 3.5"),

        CheckRule(parentTensor, .incremental, .error,
                  "A tensor coded with temporal_context_modeling_flag = 1 (or with HDSP history) has a parent: the same tensor decoded from an earlier bitstream of the sequence, with the same number of elements.",
                  source: "syntax notes 8, 9.17"),
        CheckRule(parentIdentity, .incremental, .error,
                  "A parent reference (parent_node_id_type 0) matches the parent NDU of the sequence: parent_device_id = its device_id, the same parameter_id, and put_node_depth = its put_node_depth + 1.",
                  source: "syntax notes 8, 9.17"),
        CheckRule(independentlyDecodable, .incremental, .warning,
                  "independently_decodable_flag is 0 on NDUs that depend on earlier bitstreams (TCA or HDSP updates).",
                  source: "syntax notes 2, 9.22"),
    ]

    private static let byID: [String: CheckRule] = {
        var d: [String: CheckRule] = [:]
        for r in all { d[r.id] = r }
        return d
    }()

    /// The rule with this ID.
    public static func rule(_ id: String) -> CheckRule? { byID[id] }

    /// The severity of a rule (error for unknown IDs).
    public static func severity(_ id: String) -> CheckSeverity { byID[id]?.severity ?? .error }
}
