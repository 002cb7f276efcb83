import Foundation
import NNRBitIO
import NNRContainer
import NNRSyntax

/// What a first pass over a file (headers only, nothing kept) finds: how many units parse and the
/// error after them. The streamed dump needs both before its first unit.
struct DumpScan {
    var unitCount = 0
    var error: NNRError?
    /// End of the last unit that parsed, and its context (for the unit that failed).
    var lastEnd = 0
    var lastContext = SyntaxContext()

    static func scan(_ source: NNRByteSource, limits: NNRLimits) -> DumpScan {
        var out = DumpScan()
        var parser = NNRUnitParser(source: source, limits: limits)
        parser.allowReservedTypes = true
        for r in NNRUnitScanner(source: source, limits: limits) {
            do {
                let u = try parser.parse(r.get())
                out.unitCount += 1
                out.lastEnd = u.location.end
                out.lastContext = u.context
            } catch let e as NNRError {
                out.error = e
                break
            } catch {
                out.error = NNRError(.io("\(error)"), element: "nnr_unit", byteOffset: out.lastEnd, unitIndex: out.unitCount)
                break
            }
        }
        return out
    }

    /// The unit that failed to parse, as far as it can be read.
    func partialUnit(_ builder: inout DumpUnitBuilder, source: NNRByteSource) -> DumpUnit? {
        guard let e = error, e.position.byteOffset >= lastEnd && lastEnd < source.count else { return nil }
        return builder.partialUnit(at: lastEnd, index: unitCount, context: lastContext)
    }

    func failure(_ source: NNRByteSource, options: DumpOptions) -> DumpFailure? {
        error.map {
            DumpFailure(error: $0, stage: "structure",
                        window: NNRDump.errorWindow(source, at: $0.position.byteOffset, radius: options.errorWindow))
        }
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
    public var json: JSONValue { JSONTreeBuilder.build { DumpJSONRenderer.value(self, &$0) } }
}

extension DumpJSONRenderer {
    public static func errorJSON(_ e: NNRError) -> JSONValue {
        JSONTreeBuilder.build { j in
            j.beginObject()
            errorFields(e, &j)
            j.endObject()
        }
    }

    /// The keys of an error object.
    static func errorFields<E: JSONEmitter & ~Copyable>(_ e: NNRError, _ j: inout E) {
        j.field("reason", e.reasonCode)
        j.field("message", e.reasonText)
        j.field("element", e.element)
        j.field("byte_offset", e.position.byteOffset)
        j.field("bit_offset", e.position.bitOffset)
        if let u = e.unitIndex { j.field("unit_index", u) }
    }
}
