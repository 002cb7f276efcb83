import NNRBitIO

/// A header field value for reports (JSON/XML/text): scalars, or lists for indexed elements.
public indirect enum FieldValue: Sendable, Equatable, CustomStringConvertible {
    case int(Int)
    case float(Float)
    case string(String)
    case bytes([UInt8])
    case list([FieldValue])

    public init(_ v: SyntaxValue) {
        switch v {
        case let .int(i): self = .int(i)
        case let .float(f): self = .float(f)
        case let .string(s): self = .string(s)
        case let .bytes(b): self = .bytes(b)
        }
    }

    public var description: String {
        switch self {
        case let .int(i): return String(i)
        case let .float(f): return String(f)
        case let .string(s): return "\"\(s)\""
        case let .bytes(b): return b.map { String(format2hex: $0) }.joined()
        case let .list(l): return "[" + l.map(\.description).joined(separator: ", ") + "]"
        }
    }
}

/// Named fields in syntax order.
public typealias FieldList = [(name: String, value: FieldValue)]

public enum FieldListBuilder {
    /// Groups a trace into fields: "x[j]" elements become one list "x" (in order), alignment
    /// bits are left out.
    public static func fields(from trace: [SyntaxTraceEntry]) -> FieldList {
        var out: FieldList = []
        var listIndex: [String: Int] = [:]
        for e in trace {
            if e.descriptor == .alignment { continue }
            if let br = e.name.firstIndex(of: "[") {
                let base = String(e.name[..<br])
                if let i = listIndex[base], case var .list(l) = out[i].value {
                    l.append(FieldValue(e.value))
                    out[i].value = .list(l)
                } else {
                    listIndex[base] = out.count
                    out.append((base, .list([FieldValue(e.value)])))
                }
            } else if let i = out.firstIndex(where: { $0.name == e.name }) {
                out[i].value = FieldValue(e.value)  // repeated scalar (e.g. parameter_id) keeps the last
            } else {
                out.append((e.name, FieldValue(e.value)))
            }
        }
        return out
    }

    /// Fields of a parsed unit: the traced elements plus derived values (CbZeroOffset, codebook
    /// entries, entry points, count_tensor_dimensions).
    public static func fields(of unit: NNRParsedUnit) -> FieldList {
        var f = fields(from: unit.trace ?? [])
        if let h = unit.ndu {
            if h.codebookPresentFlag {
                f.append(("CbZeroOffset", .int(h.codebook.cbZeroOffset)))
                f.append(("codebook", .list(h.codebook.entries.map { .int($0) })))
                if h.isBlock && h.hasDecomposition {
                    f.append(("CbZeroOffset_dc", .int(h.codebookDC.cbZeroOffset)))
                    f.append(("codebook_dc", .list(h.codebookDC.entries.map { .int($0) })))
                }
            }
            if !h.entryPoints.isEmpty {
                f.append(("cabac_entry_point_bit_offset_deltas", .list(h.entryPoints.map { .int($0.bitOffsetDelta) })))
            }
        }
        return f
    }
}
