import Foundation
import NNRBitIO
import NNRContainer
import NNRSyntax

/// The structure of a bitstream: its units and their header fields, read without touching NDU payloads.
public struct BitstreamStructure: Sendable {
    public var fileSize: Int
    public var units: [NNRParsedUnit]
    /// The first error, if the file is malformed; `units` holds everything before it.
    public var error: NNRError?

    public static func read(_ source: NNRByteSource, limits: NNRLimits = .default) -> BitstreamStructure {
        let (units, error) = NNRUnitParser.parseAll(source, limits: limits, tracing: true, allowReservedTypes: true)
        return BitstreamStructure(fileSize: source.count, units: units, error: error)
    }
}

/// Symbolic names for enumerated fields, shown next to their values.
public enum FieldNames {
    public static func symbol(field: String, value: FieldValue) -> String? {
        guard case let .int(v) = value else { return nil }
        switch field {
        case "nnr_unit_type": return NNRUnitType.name(of: v)
        case "nnr_compressed_data_unit_payload_type": return NNRPayloadType.name(of: v)
        case "topology_storage_format": return NNRTopologyStorageFormat.name(of: v)
        case "topology_compression_format": return v == 0 ? "NNR_PT_RAW" : v == 1 ? "NNR_DFL" : "RSVD_\(v)"
        case "nnr_decompressed_data_format": return NNRDecompressedDataFormat.name(of: v)
        case "parent_node_id_type": return NNRParentNodeIdType.name(of: v)
        case "mps_quantization_method_flags", "lps_quantization_method_flags":
            var parts: [String] = []
            if v & 1 != 0 { parts.append("NNR_QSU") }
            if v & 2 != 0 { parts.append("NNR_QCB") }
            if v & 4 != 0 { parts.append("RSVD_4") }
            return parts.isEmpty ? "none" : parts.joined(separator: "|")
        case "compressed_parameter_types":
            var parts: [String] = []
            if v & 1 != 0 { parts.append("NNR_CPT_DC") }
            if v & 2 != 0 { parts.append("NNR_CPT_LS") }
            if v & 4 != 0 { parts.append("NNR_CPT_BN") }
            if v & 8 != 0 { parts.append("NNR_CPT_BI") }
            return parts.isEmpty ? "none" : parts.joined(separator: "|")
        case "scan_order":
            return v == 0 ? "row-major" : (1...4).contains(v) ? "blocks \(4 << v)x\(4 << v)" : "RSVD_\(v)"
        default: return nil
        }
    }
}

extension FieldValue {
    /// JSON form (ints stay ints, as in units.json).
    public var json: JSONValue {
        switch self {
        case let .int(i): return .int(i)
        case let .float(f): return .double(Double(f))
        case let .string(s): return .string(s)
        case let .bytes(b): return .string(b.map { String(format2hex: $0) }.joined())
        case let .list(l): return .array(l.map(\.json))
        }
    }
}

extension DumpJSONRenderer {
    public static func errorJSON(_ e: NNRError) -> JSONValue {
        var o: [(String, JSONValue)] = [("reason", .string(e.reasonCode)), ("message", .string(e.reasonText)), ("element", .string(e.element)),
                                        ("byte_offset", .int(e.position.byteOffset)), ("bit_offset", .int(e.position.bitOffset))]
        if let u = e.unitIndex { o.append(("unit_index", .int(u))) }
        return .object(o)
    }
}
