import Foundation

/// A JSON value with ordered object keys (reports keep the syntax order of fields).
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.double(x), .double(y)): return x == y || (x.isNaN && y.isNaN)
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// Serialized text; `indent` > 0 pretty-prints.
    public func serialized(indent: Int = 0) -> String {
        serialized(indent: indent, level: 0)
    }

    /// Serialized as a value nested `level` deep (for output written in pieces).
    func serialized(indent: Int, level: Int) -> String {
        var out = ""
        write(to: &out, indent: indent, level: level)
        return out
    }

    private func write(to out: inout String, indent: Int, level: Int) {
        let nl = indent > 0 ? "\n" : ""
        let pad = indent > 0 ? String(repeating: " ", count: indent * (level + 1)) : ""
        let padEnd = indent > 0 ? String(repeating: " ", count: indent * level) : ""
        switch self {
        case .null: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .int(i): out += String(i)
        case let .double(d):
            if d.isNaN || d.isInfinite { out += "null" } else if d == d.rounded(), abs(d) < 1e15 { out += String(format: "%.1f", d) } else { out += "\(d)" }
        case let .string(s): JSONValue.escape(s, into: &out)
        case let .array(a):
            if a.isEmpty { out += "[]"; return }
            // Arrays of scalars stay on one line.
            let scalar = a.allSatisfy { if case .array = $0 { return false }; if case .object = $0 { return false }; return true }
            if scalar || indent == 0 {
                out += "["
                for (i, v) in a.enumerated() {
                    if i > 0 { out += indent > 0 ? ", " : "," }
                    v.write(to: &out, indent: indent, level: level + 1)
                }
                out += "]"
            } else {
                out += "[" + nl
                for (i, v) in a.enumerated() {
                    out += pad
                    v.write(to: &out, indent: indent, level: level + 1)
                    out += i + 1 < a.count ? "," + nl : nl
                }
                out += padEnd + "]"
            }
        case let .object(o):
            if o.isEmpty { out += "{}"; return }
            out += "{" + nl
            for (i, (k, v)) in o.enumerated() {
                out += pad
                JSONValue.escape(k, into: &out)
                out += indent > 0 ? ": " : ":"
                v.write(to: &out, indent: indent, level: level + 1)
                out += i + 1 < o.count ? "," + nl : nl
            }
            out += padEnd + "}"
        }
    }

    static func escape(_ s: String, into out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        out += "\""
    }

    public subscript(key: String) -> JSONValue? {
        if case let .object(o) = self { return o.first { $0.0 == key }?.1 }
        return nil
    }
}
