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
        // Linear in the trace: list items are gathered apart and put in place at the end. Names
        // are looked up in place while there are few of them (most units), by hash beyond.
        var out: FieldList = []
        out.reserveCapacity(Swift.min(trace.count, 32))
        var lists: [[FieldValue]] = []
        var listSlot: [Int] = []             // index into `lists` → index into `out`
        var listNames = NameIndex()          // base name → index into `lists`
        var scalarNames = NameIndex()        // name → index into `out`
        for e in trace {
            if e.descriptor == .alignment { continue }
            if let base = listBase(e.name) {
                if let k = listNames.find(base) {
                    lists[k].append(FieldValue(e.value))
                } else {
                    listNames.add(base, lists.count)
                    listSlot.append(out.count)
                    lists.append([FieldValue(e.value)])
                    out.append((base, .list([])))
                }
            } else if let i = scalarNames.find(e.name) {
                out[i].value = FieldValue(e.value)  // repeated scalar (e.g. parameter_id) keeps the last
            } else {
                scalarNames.add(e.name, out.count)
                out.append((e.name, FieldValue(e.value)))
            }
        }
        for (k, l) in lists.enumerated() { out[listSlot[k]].value = .list(l) }
        return out
    }

    /// "x" of a list element "x[j]", nil for other names.
    public static func listBase(_ name: String) -> String? {
        let bracket = UInt8(ascii: "[")
        let inPlace: String?? = name.utf8.withContiguousStorageIfAvailable { u in
            u.firstIndex(of: bracket).map { String(decoding: u[..<$0], as: UTF8.self) }
        }
        if let base = inPlace { return base }
        return name.utf8.firstIndex(of: bracket).map { String(name[..<$0]) }
    }

    /// Names and their indices: a list searched in place while short, a dictionary beyond.
    struct NameIndex {
        private var names: [(String, Int)] = []
        private var hashed: [String: Int]?

        func find(_ name: String) -> Int? {
            if let h = hashed { return h[name] }
            let count = name.utf8.count
            for (n, i) in names where n.utf8.count == count && n == name { return i }
            return nil
        }

        mutating func add(_ name: String, _ index: Int) {
            if hashed != nil {
                hashed?[name] = index
                return
            }
            names.append((name, index))
            if names.count > 16 {
                hashed = Dictionary(names, uniquingKeysWith: { _, last in last })
                names = []
            }
        }
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
