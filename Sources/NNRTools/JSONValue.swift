import Foundation
import NNRModelIO

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
        var out: [UInt8] = []
        out.reserveCapacity(1024)
        write(to: &out, indent: indent, level: level)
        return String(decoding: out, as: UTF8.self)
    }

    private func write(to out: inout [UInt8], indent: Int, level: Int) {
        switch self {
        case .null: out += "null".utf8
        case let .bool(b): out += (b ? "true" : "false").utf8
        case let .int(i): out += String(i).utf8
        case let .double(d): out += JSONValue.text(d).utf8
        case let .string(s): JSONValue.escape(s, into: &out)
        case let .array(a):
            if a.isEmpty { out += "[]".utf8; return }
            // Arrays of scalars stay on one line.
            let scalar = a.allSatisfy { if case .array = $0 { return false }; if case .object = $0 { return false }; return true }
            if scalar || indent == 0 {
                out.append(UInt8(ascii: "["))
                for (i, v) in a.enumerated() {
                    if i > 0 { out += (indent > 0 ? ", " : ",").utf8 }
                    v.write(to: &out, indent: indent, level: level + 1)
                }
                out.append(UInt8(ascii: "]"))
            } else {
                out.append(UInt8(ascii: "["))
                for (i, v) in a.enumerated() {
                    JSONValue.newline(&out, indent * (level + 1), indent)
                    v.write(to: &out, indent: indent, level: level + 1)
                    if i + 1 < a.count { out.append(UInt8(ascii: ",")) }
                }
                JSONValue.newline(&out, indent * level, indent)
                out.append(UInt8(ascii: "]"))
            }
        case let .object(o):
            if o.isEmpty { out += "{}".utf8; return }
            out.append(UInt8(ascii: "{"))
            for (i, (k, v)) in o.enumerated() {
                JSONValue.newline(&out, indent * (level + 1), indent)
                JSONValue.escape(k, into: &out)
                out += (indent > 0 ? ": " : ":").utf8
                v.write(to: &out, indent: indent, level: level + 1)
                if i + 1 < o.count { out.append(UInt8(ascii: ",")) }
            }
            JSONValue.newline(&out, indent * level, indent)
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A line break and `pad` spaces (nothing when not pretty-printing).
    private static func newline(_ out: inout [UInt8], _ pad: Int, _ indent: Int) {
        guard indent > 0 else { return }
        out.append(UInt8(ascii: "\n"))
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: pad))
    }

    static func escape(_ s: String, into out: inout [UInt8]) {
        if JSONWriter.needsEscaping(s) {
            var e = ""
            JSONWriter.escape(s, into: &e)
            out += e.utf8
        } else {
            out.append(UInt8(ascii: "\""))
            out += s.utf8
            out.append(UInt8(ascii: "\""))
        }
    }

    static func escape(_ s: String, into out: inout String) {
        JSONWriter.escape(s, into: &out)
    }

    /// A double as JSON writes it (non-finite values as null).
    static func text(_ d: Double) -> String {
        if d.isNaN || d.isInfinite { return "null" }
        if d == d.rounded(), abs(d) < 1e15 { return String(format: "%.1f", d) }
        return "\(d)"
    }

    public subscript(key: String) -> JSONValue? {
        if case let .object(o) = self { return o.first { $0.0 == key }?.1 }
        return nil
    }
}
