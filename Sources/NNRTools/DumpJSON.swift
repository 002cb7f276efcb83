import Foundation
import NNRBitIO
import NNRSyntax

/// `nnr dump --format json`: the first version's shape (`file_size`, `units` → `index`, `offset`,
/// `size`, `type`, `header_bytes`, `payload_bytes`, `fields`, `warnings`, `units`, and `error`)
/// with more keys: per unit `sections` with every element, `tensors`, `hex`; per file `tensors`,
/// `trace`, `partial_unit`. Several files: `{"files": [ … ]}`, each in the one-file shape.
public enum DumpJSONRenderer {
    public static func render(_ report: DumpReport) -> JSONValue {
        if report.files.count == 1, let f = report.files.first { return file(f) }
        return .object([("files", .array(report.files.map(file)))])
    }

    public static func file(_ f: DumpFile) -> JSONValue {
        var o: [(String, JSONValue)] = [
            ("file", .string(f.path)),
            ("file_size", .int(f.fileSize)),
            ("units", .array(f.units.map(unit))),
            ("tensors", .array(f.tensors.map(tensor))),
        ]
        if let p = f.partialUnit { o.append(("partial_unit", unit(p))) }
        if f.decoded || !f.trace.isEmpty {
            o.append(("decoded", .bool(f.decoded)))
        }
        if !f.trace.isEmpty || f.traceLineCount > 0 {
            o.append(("trace", .object([
                ("lines", .int(f.traceLineCount)),
                ("truncated", .bool(f.traceTruncated)),
                ("elements", .array(f.trace.map(traceLine))),
            ])))
        }
        if let x = f.failure {
            guard case var .object(e) = errorJSON(x.error) else { return .object(o) }
            e.append(("stage", .string(x.stage)))
            e.append(("hex", hex(x.window)))
            o.append(("error", .object(e)))
        }
        return .object(o)
    }

    public static func unit(_ u: DumpUnit) -> JSONValue {
        var o: [(String, JSONValue)] = [
            ("index", .int(u.index)), ("offset", .int(u.offset)), ("size", .int(u.size)),
            ("type", .string(u.typeName)), ("type_code", .int(u.typeCode)),
            ("header_bytes", .int(u.headerBytes)), ("payload_bytes", .int(u.payloadBytes)),
        ]
        if let parsed = u.parsed {
            o.append(("fields", .object(FieldListBuilder.fields(of: parsed).map { ($0.name, $0.value.json) })))
        } else {
            o.append(("fields", .object(FieldListBuilder.fields(from: u.sections.flatMap { $0.elements.map(\.entry) }).map { ($0.name, $0.value.json) })))
        }
        if u.partial { o.append(("partial", .bool(true))) }
        if !u.warnings.isEmpty {
            o.append(("warnings", .array(u.warnings.map {
                .object([("element", .string($0.element)), ("byte_offset", .int($0.position.byteOffset)),
                         ("bit_offset", .int($0.position.bitOffset)), ("message", .string($0.message))])
            })))
        }
        o.append(("sections", .array(u.sections.map(section))))
        if !u.tensorIndices.isEmpty { o.append(("tensors", .array(u.tensorIndices.map { .int($0) }))) }
        if !u.problems.isEmpty { o.append(("problems", .array(u.problems.map { .string($0) }))) }
        if let h = u.hex { o.append(("hex", hex(h))) }
        if !u.children.isEmpty { o.append(("units", .array(u.children.map(unit)))) }
        return .object(o)
    }

    static func section(_ s: DumpSection) -> JSONValue {
        var o: [(String, JSONValue)] = [("name", .string(s.name)), ("offset", .int(s.offset)), ("size", .int(s.size)),
                                        ("elements", .array(s.elements.map(element)))]
        if !s.derived.isEmpty { o.append(("derived", .array(s.derived.map(derived)))) }
        return .object(o)
    }

    static func element(_ e: DumpElement) -> JSONValue {
        var o: [(String, JSONValue)] = [
            ("name", .string(e.name)), ("descriptor", .string(e.descriptor)),
            ("byte_offset", .int(e.byteOffset)), ("bit_offset", .int(e.bitOffset)), ("bit_width", .int(e.bitWidth)),
            ("bits", .string(e.raw)), ("value", e.value.json),
        ]
        if let s = e.symbol { o.append(("symbol", .string(s))) }
        if !e.derived.isEmpty { o.append(("derived", .array(e.derived.map(derived)))) }
        return .object(o)
    }

    static func derived(_ d: DumpDerived) -> JSONValue {
        var o: [(String, JSONValue)] = [("name", .string(d.name)), ("value", d.value.json)]
        if let n = d.note { o.append(("note", .string(n))) }
        return .object(o)
    }

    static func optional<T>(_ v: T?, _ f: (T) -> JSONValue) -> JSONValue { v.map(f) ?? .null }

    public static func tensor(_ t: DumpTensor) -> JSONValue {
        var o: [(String, JSONValue)] = [
            ("index", .int(t.index)), ("unit", .int(t.unitIndex)), ("name", .string(t.name)),
            ("role", optional(t.role) { .string($0) }),
            ("shape", .array(t.shape.map { .int($0) })), ("elements", .int(t.elementCount)),
            ("payload_type", .string(t.payloadType)), ("payload_type_code", .int(t.payloadTypeCode)),
            ("base_qp", optional(t.baseQP) { .int($0) }), ("qp_density", optional(t.qpDensity) { .int($0) }),
            ("qp_offset", optional(t.qpOffset) { .int($0) }), ("qp", optional(t.qp) { .int($0) }),
            ("step_size", optional(t.stepSize) { .double(Double($0)) }),
            ("dq", .bool(t.dq)), ("scan_order", .int(t.scanOrder)),
            ("bits", optional(t.bits) { .int($0) }), ("bits_exact", .bool(t.bitsExact)),
            ("bytes", optional(t.bytes) { .int($0) }),
            ("bits_per_parameter", optional(t.bitsPerParameter) { .double($0) }),
            ("share", optional(t.share) { .double($0) }),
        ]
        if let cb = t.codebook {
            o.append(("codebook", .object([("size", .int(cb.codebookSize)), ("egk", .int(cb.codebookEgk)),
                                           ("CbZeroOffset", .int(cb.cbZeroOffset)), ("entries", .array(cb.entries.map { .int($0) }))])))
        }
        if let s = t.stats {
            var so: [(String, JSONValue)] = [
                ("count", .int(s.count)), ("min", .int(s.minLevel)), ("max", .int(s.maxLevel)),
                ("zeros", .int(s.zeros)), ("zero_fraction", .double(s.zeroFraction)),
                ("histogram", .array(s.histogram.map { b in
                    .object([("label", .string(b.label)),
                             ("low", .int(b.low)),
                             ("high", .int(b.high)),
                             ("count", .int(b.count))])
                })),
            ]
            if let snr = s.snrDB {
                so.append(("snr_db", snr.isFinite ? .double(snr) : .null))
                so.append(("exact", .bool(snr.isInfinite && snr > 0)))
            }
            if let n = s.snrNote { so.append(("snr_note", .string(n))) }
            o.append(("stats", .object(so)))
        }
        return .object(o)
    }

    static func traceLine(_ l: DumpTraceLine) -> JSONValue {
        .object([
            ("unit", .int(l.unitIndex)), ("tensor", .string(l.tensor)), ("element", .string(l.element)),
            ("pos", l.position >= 0 ? .int(l.position) : .null),
            ("row", l.row >= 0 ? .int(l.row) : .null), ("col", l.column >= 0 ? .int(l.column) : .null),
            ("dq", l.dqState >= 0 ? .int(l.dqState) : .null), ("ctx", l.context >= 0 ? .int(l.context) : .null),
            ("bins", .string(l.bins)), ("value", .int(Int(l.value))),
        ])
    }

    static func hex(_ h: DumpHexBlock) -> JSONValue {
        var o: [(String, JSONValue)] = [
            ("offset", .int(h.offset)), ("size", .int(h.bytes.count)), ("omitted", .int(h.omitted)),
            ("rows", .array(h.rows.map { r in
                .object([("offset", .int(r.offset + r.column)), ("bytes", .string(r.bytes.map { String(format2hex: $0) }.joined(separator: " ")))])
            })),
        ]
        if let m = h.mark { o.append(("mark", .int(m))) }
        return .object(o)
    }
}
