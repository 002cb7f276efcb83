import NNRBitIO

/// Maps the typed failures of the scanner, the header parser and the decoder onto rule IDs, by the
/// syntax element and the reason they carry.
public enum CheckErrorMapping {
    /// Where the error came from: the pass decides the fallback rule.
    public enum Stage: Sendable {
        /// Delimiting units by their sizes (NNRUnitScanner).
        case container
        /// Parsing unit headers and parameter sets (NNRUnitParser).
        case header
        /// Decoding an NDU (NNRDecoder / PayloadDecoder).
        case payload
    }

    /// The rule an error breaks.
    public static func rule(for e: NNRError, stage: Stage) -> String {
        let el = e.element
        switch e.reason {
        case .limitExceeded:
            if el == "nnr_aggregate_unit_payload" { return CheckRules.aggregateContent }
            return CheckRules.limits
        case .expGolombPrefixTooLong:
            return CheckRules.limits
        case .unterminatedString, .invalidUTF8, .stringNotAligned:
            return CheckRules.strings
        case .io:
            return stage == .payload ? CheckRules.payloadWithinUnit : CheckRules.unitSyntaxFitsSize
        default:
            break
        }
        if stage == .container { return CheckRules.unitsTileFile }

        // Header elements, whatever the stage that met them.
        if el.hasPrefix("codebook_size") || el.hasPrefix("codebook_center_offset") || el.hasPrefix("codebook_zero_value")
            || el.hasPrefix("codebook_delta") || el == "codebook" || el == "codebook_dc" {
            return CheckRules.codebook
        }
        switch el {
        case "topology_elem_id", "topology_elem_id_index":
            if case .invalidValue(let s) = e.reason, s.hasSuffix("appears more than once in the bitstream") { return CheckRules.tensorNameOnce }
        case "parent_node_id_type": return CheckRules.parentNodeIdType
        case "scan_order": return CheckRules.scanOrder
        case "topology_tensor_dimension_mapping": return CheckRules.multipleTopologyElements
        case "count_topology_elements_minus2": return stage == .payload ? CheckRules.blockElementCount : CheckRules.unitSyntaxFitsSize
        case "nnr_compressed_data_unit_payload_type": return CheckRules.payloadType
        case "mps_quantization_method_flags": return CheckRules.quantizationParameters
        case "decomposition_rank", "g_number_of_rows": return CheckRules.decompositionParameters
        case "num_of_nnr_units_minus2", "nnr_unit_entry_point": return CheckRules.aggregateContent
        case "nnr_unit_type":
            if case .unsupported = e.reason { return CheckRules.reservedUnitType }
        case "partial_data_counter_present_flag": return CheckRules.partialDataCounter
        case "temporal_context_modeling_flag", "hist_dep_sig_prob_enabled_flag": return CheckRules.parentTensor
        case "ep_bit_offset_delta_diff", "ep_bit_offset_delta": return CheckRules.entryPoints
        case "cabac_entry_point_list":
            if case .unsupported = e.reason { return CheckRules.decompositionPairing }
            if case .invalidValue(let s) = e.reason, s.contains("g_number_of_rows") { return CheckRules.decompositionParameters }
            return CheckRules.entryPoints
        case "tensor_dimensions":
            if case .invalidValue(let s) = e.reason {
                if s.contains("no tensor dimensions") || s.contains("without dimensions") { return CheckRules.dimensionsInBand }
                return CheckRules.dimensionValues
            }
            if case .overflow = e.reason { return CheckRules.limits }
        case "compressed_parameter_types": return CheckRules.blockElementCount
        case "abs_remainder": return CheckRules.levelsInt32
        case "codebook_index": return CheckRules.codebookIndex
        case "raw_float32_parameter": return CheckRules.rawFloatSize
        case "terminating_bin":
            if case .payload(let s) = e.reason, s.contains("terminating bin is 0") { return CheckRules.terminatingBin }
            return CheckRules.payloadWithinUnit
        case "nnr_unit_size":
            return stage == .payload ? CheckRules.payloadConsumed : CheckRules.unitSyntaxFitsSize
        default:
            break
        }
        switch e.reason {
        case .truncated:
            return stage == .payload ? CheckRules.payloadWithinUnit : CheckRules.unitSyntaxFitsSize
        case .payload:
            return CheckRules.payloadWithinUnit
        case .sizeMismatch:
            return stage == .payload ? CheckRules.payloadConsumed : CheckRules.unitSyntaxFitsSize
        default:
            return stage == .payload ? CheckRules.payloadWithinUnit : CheckRules.unitSyntaxFitsSize
        }
    }

    /// The violation an error amounts to.
    public static func violation(for e: NNRError, stage: Stage, unitIndex: Int? = nil) -> CheckViolation {
        CheckViolation(ruleID: rule(for: e, stage: stage), unitIndex: e.unitIndex ?? unitIndex, position: e.position,
                       element: e.element, message: e.reasonText)
    }
}
