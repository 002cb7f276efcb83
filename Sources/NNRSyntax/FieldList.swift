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
        // Linear in the trace: list items are gathered apart and put in place at the end.
        var out: FieldList = []
        var lists: [[FieldValue]] = []
        var listIndex: [String: Int] = [:]   // base name → index into `lists`
        var listSlot: [Int] = []             // index into `lists` → index into `out`
        var scalarIndex: [String: Int] = [:]
        for e in trace {
            if e.descriptor == .alignment { continue }
            if let br = e.name.utf8.firstIndex(of: UInt8(ascii: "[")) {
                let base = String(e.name[..<br])
                if let k = listIndex[base] {
                    lists[k].append(FieldValue(e.value))
                } else {
                    listIndex[base] = lists.count
                    listSlot.append(out.count)
                    lists.append([FieldValue(e.value)])
                    out.append((base, .list([])))
                }
            } else if let i = scalarIndex[e.name] {
                out[i].value = FieldValue(e.value)  // repeated scalar (e.g. parameter_id) keeps the last
            } else {
                scalarIndex[e.name] = out.count
                out.append((e.name, FieldValue(e.value)))
            }
        }
        for (k, l) in lists.enumerated() { out[listSlot[k]].value = .list(l) }
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
