import Foundation
import NNRBitIO
import NNRContainer
import NNRSyntax

/// One unit as the dump shows it.
public struct UnitDump: Sendable {
    public var index: Int
    public var offset: Int
    public var size: Int
    public var typeCode: Int
    public var typeName: String
    public var headerBytes: Int
    public var payloadBytes: Int
    public var fields: FieldList
    public var trace: [SyntaxTraceEntry]
    public var warnings: [SyntaxWarning]
    public var children: [UnitDump]
    public var unit: NNRParsedUnit

    public init(_ u: NNRParsedUnit) {
        index = u.location.index
        offset = u.location.offset
        size = u.location.size
        typeCode = u.common.nnrUnitType
        typeName = u.typeName
        headerBytes = u.headerByteCount
        payloadBytes = u.location.size - u.headerByteCount
        fields = FieldListBuilder.fields(of: u)
        trace = u.trace ?? []
        warnings = u.warnings
        children = u.children.map(UnitDump.init)
        unit = u
    }
}

/// The structure of a bitstream: its units and their header fields, read without touching NDU payloads.
public struct BitstreamStructure: Sendable {
    public var fileSize: Int
    public var units: [UnitDump]
    /// The first error, if the file is malformed; `units` holds everything before it.
    public var error: NNRError?

    public static func read(_ source: NNRByteSource, limits: NNRLimits = .default) -> BitstreamStructure {
        let (units, error) = NNRUnitParser.parseAll(source, limits: limits, tracing: true, allowReservedTypes: true)
        return BitstreamStructure(fileSize: source.count, units: units.map(UnitDump.init), error: error)
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

/// First version of `nnr dump`: one line (or JSON object) per unit.
public enum UnitListRenderer {
    public static func json(_ s: BitstreamStructure) -> JSONValue {
        func unit(_ u: UnitDump) -> JSONValue {
            var o: [(String, JSONValue)] = [
                ("index", .int(u.index)), ("offset", .int(u.offset)), ("size", .int(u.size)),
                ("type", .string(u.typeName)), ("header_bytes", .int(u.headerBytes)), ("payload_bytes", .int(u.payloadBytes)),
                ("fields", .object(u.fields.map { ($0.name, $0.value.json) })),
            ]
            if !u.warnings.isEmpty {
                o.append(("warnings", .array(u.warnings.map { .object([("element", .string($0.element)), ("byte_offset", .int($0.position.byteOffset)), ("bit_offset", .int($0.position.bitOffset)), ("message", .string($0.message))]) })))
            }
            if !u.children.isEmpty { o.append(("units", .array(u.children.map(unit)))) }
            return .object(o)
        }
        var top: [(String, JSONValue)] = [("file_size", .int(s.fileSize)), ("units", .array(s.units.map(unit)))]
        if let e = s.error { top.append(("error", errorJSON(e))) }
        return .object(top)
    }

    public static func errorJSON(_ e: NNRError) -> JSONValue {
        var o: [(String, JSONValue)] = [("reason", .string(e.reasonCode)), ("message", .string(e.reasonText)), ("element", .string(e.element)),
                                        ("byte_offset", .int(e.position.byteOffset)), ("bit_offset", .int(e.position.bitOffset))]
        if let u = e.unitIndex { o.append(("unit_index", .int(u))) }
        return .object(o)
    }

    public static func text(_ s: BitstreamStructure) -> String {
        var out = ""
        func line(_ u: UnitDump, depth: Int) {
            let indent = String(repeating: "  ", count: depth)
            let fields = u.fields.filter { !["nnr_unit_size_flag", "nnr_unit_size", "nnr_unit_type"].contains($0.name) }.map { f -> String in
                if let sym = FieldNames.symbol(field: f.name, value: f.value) { return "\(f.name)=\(f.value)(\(sym))" }
                return "\(f.name)=\(f.value)"
            }
            out += "\(indent)#\(u.index) @\(u.offset) size=\(u.size) \(u.typeName) header=\(u.headerBytes) payload=\(u.payloadBytes)"
            if !fields.isEmpty { out += " " + fields.joined(separator: " ") }
            out += "\n"
            for w in u.warnings { out += "\(indent)  warning: \(w.element) at \(w.position): \(w.message)\n" }
            for c in u.children { line(c, depth: depth + 1) }
        }
        for u in s.units { line(u, depth: 0) }
        if let e = s.error { out += "error: \(e)\n" }
        return out
    }
}
