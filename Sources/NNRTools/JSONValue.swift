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
        var e = JSONBytesEmitter(indent: indent, level: level)
        emit(&e)
        return e.out.string
    }

    /// Sends the value to `e` (the one serialization of a JSON value: `JSONBytesEmitter` writes
    /// it, `JSONTreeBuilder` rebuilds it).
    func emit<E: JSONEmitter & ~Copyable>(_ e: inout E) {
        switch self {
        case .null: e.null()
        case let .bool(b): e.bool(b)
        case let .int(i): e.int(i)
        case let .double(d): e.double(d)
        case let .string(s): e.string(s)
        case let .array(a):
            // Arrays of scalars stay on one line.
            e.beginArray(inline: a.allSatisfy { if case .array = $0 { return false }; if case .object = $0 { return false }; return true })
            for v in a { v.emit(&e) }
            e.endArray()
        case let .object(o):
            e.beginObject()
            for (k, v) in o {
                e.key(k)
                v.emit(&e)
            }
            e.endObject()
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

/// Receives a JSON document in order: the dump's JSON layout is written once against this, and
/// rendered either straight to bytes (`JSONBytesEmitter`, the streamed dump) or to a `JSONValue`
/// (`JSONTreeBuilder`, the API and the tests).
protocol JSONEmitter: ~Copyable {
    mutating func beginObject()
    mutating func key(_ k: StaticString)
    mutating func key(_ k: String)
    mutating func endObject()
    /// `inline`: the array holds no arrays or objects (it is written on one line).
    mutating func beginArray(inline: Bool)
    mutating func endArray()
    mutating func null()
    mutating func bool(_ b: Bool)
    mutating func int(_ i: Int)
    mutating func double(_ d: Double)
    mutating func string(_ s: String)
    /// A string the dump makes itself from ASCII letters, digits and punctuation JSON does not
    /// escape (descriptors, bit strings): written without looking for characters to escape.
    mutating func plainString(_ s: String)
}

extension JSONEmitter where Self: ~Copyable {
    mutating func field(_ k: StaticString, _ v: Int) { key(k); int(v) }
    mutating func field(_ k: StaticString, _ v: String) { key(k); string(v) }
    mutating func field(_ k: StaticString, _ v: Bool) { key(k); bool(v) }
    mutating func field(_ k: StaticString, _ v: Int?) {
        key(k)
        if let v { int(v) } else { null() }
    }
    mutating func field(_ k: StaticString, _ v: Double?) {
        key(k)
        if let v { double(v) } else { null() }
    }

    /// An array of the ints (one line).
    mutating func ints<C: Collection>(_ values: C) where C.Element == Int {
        beginArray(inline: true)
        for v in values { int(v) }
        endArray()
    }

    mutating func value(_ v: JSONValue) { v.emit(&self) }

    mutating func plainString(_ s: String) { string(s) }
}

/// Writes JSON text as `JSONValue.serialized(indent:level:)` does: `indent` > 0 pretty-prints,
/// objects one key per line, arrays of scalars on one line.
struct JSONBytesEmitter: JSONEmitter, ~Copyable {
    var out: DumpBytes
    let indent: Int
    let level: Int
    /// The open containers: whether each is an object, is written inline, and has a value yet.
    private var open: [(object: Bool, inline: Bool, filled: Bool)] = []

    init(indent: Int, level: Int, out: consuming DumpBytes = DumpBytes()) {
        self.indent = indent
        self.level = level
        self.out = out
        open.reserveCapacity(16)
    }

    /// `,` (after a value), a line break and the indentation of the innermost container's values
    /// (`inner`) or of its closing bracket.
    @inline(__always) private mutating func newline(comma: Bool, inner: Bool) {
        guard indent > 0 else {
            if comma { out.byte(UInt8(ascii: ",")) }
            return
        }
        out.lineBreak(comma: comma, spaces: indent * (level + open.count - (inner ? 0 : 1)))
    }

    /// Separator and indentation before a value in an array.
    @inline(__always) private mutating func beforeValue() {
        guard let top = open.last, !top.object else { return }
        if top.inline {
            if top.filled { out.append(indent > 0 ? ", " : ",") }
        } else {
            newline(comma: top.filled, inner: true)
        }
        open[open.count - 1].filled = true
    }

    @inline(__always) private mutating func beforeKey() {
        newline(comma: open[open.count - 1].filled, inner: true)
        open[open.count - 1].filled = true
    }

    mutating func beginObject() {
        beforeValue()
        out.byte(UInt8(ascii: "{"))
        open.append((true, false, false))
    }

    mutating func key(_ k: StaticString) {
        beforeKey()
        out.byte(UInt8(ascii: "\""))
        out.append(k)
        out.append(indent > 0 ? "\": " : "\":")
    }

    mutating func key(_ k: String) {
        beforeKey()
        out.jsonString(k)
        out.append(indent > 0 ? ": " : ":")
    }

    mutating func endObject() {
        if open[open.count - 1].filled { newline(comma: false, inner: false) }
        open.removeLast()
        out.byte(UInt8(ascii: "}"))
    }

    mutating func beginArray(inline: Bool) {
        beforeValue()
        out.byte(UInt8(ascii: "["))
        open.append((false, inline || indent == 0, false))
    }

    mutating func endArray() {
        let top = open[open.count - 1]
        if top.filled && !top.inline { newline(comma: false, inner: false) }
        open.removeLast()
        out.byte(UInt8(ascii: "]"))
    }

    mutating func null() {
        beforeValue()
        out.append("null")
    }

    mutating func bool(_ b: Bool) {
        beforeValue()
        out.append(b ? "true" : "false")
    }

    mutating func int(_ i: Int) {
        beforeValue()
        out.int(i)
    }

    mutating func double(_ d: Double) {
        beforeValue()
        out.append(JSONValue.text(d))
    }

    mutating func string(_ s: String) {
        beforeValue()
        out.jsonString(s)
    }

    mutating func plainString(_ s: String) {
        beforeValue()
        out.byte(UInt8(ascii: "\""))
        out.append(s)
        out.byte(UInt8(ascii: "\""))
    }
}

/// Builds the `JSONValue` of what is emitted.
struct JSONTreeBuilder: JSONEmitter {
    private var open: [(key: String, object: [(String, JSONValue)]?, array: [JSONValue])] = []
    private var pendingKey = ""
    /// The (last) top-level value.
    private(set) var value: JSONValue = .null

    private mutating func add(_ v: JSONValue) {
        guard !open.isEmpty else {
            value = v
            return
        }
        if open[open.count - 1].object != nil {
            open[open.count - 1].object?.append((pendingKey, v))
        } else {
            open[open.count - 1].array.append(v)
        }
    }

    mutating func beginObject() { open.append((pendingKey, [], [])) }
    mutating func key(_ k: StaticString) { pendingKey = "\(k)" }
    mutating func key(_ k: String) { pendingKey = k }

    mutating func endObject() {
        guard let top = open.popLast() else { return }
        pendingKey = top.key
        add(.object(top.object ?? []))
    }

    mutating func beginArray(inline: Bool) { open.append((pendingKey, nil, [])) }

    mutating func endArray() {
        guard let top = open.popLast() else { return }
        pendingKey = top.key
        add(.array(top.array))
    }

    mutating func null() { add(.null) }
    mutating func bool(_ b: Bool) { add(.bool(b)) }
    mutating func int(_ i: Int) { add(.int(i)) }
    mutating func double(_ d: Double) { add(.double(d)) }
    mutating func string(_ s: String) { add(.string(s)) }

    /// The value `body` emits.
    static func build(_ body: (inout JSONTreeBuilder) -> Void) -> JSONValue {
        var b = JSONTreeBuilder()
        body(&b)
        return b.value
    }
}
