import Foundation
import NNRBitIO
import NNRSyntax

/// `nnr dump --format json`: the first version's shape (`file_size`, `units` → `index`, `offset`,
/// `size`, `type`, `header_bytes`, `payload_bytes`, `fields`, `warnings`, `units`, and `error`)
/// with more keys: per unit `sections` with every element, `tensors`, `hex`; per file `tensors`,
/// `trace`, `partial_unit`. Several files: `{"files": [ … ]}`, each in the one-file shape.
///
/// The layout is written once, against `JSONEmitter`: the streamed dump writes it straight to
/// bytes (`JSONBytesEmitter`), the functions returning `JSONValue` build the tree from it.
public enum DumpJSONRenderer {
    public static func render(_ report: DumpReport) -> JSONValue {
        JSONTreeBuilder.build { j in
            if report.files.count == 1, let f = report.files.first {
                file(f, &j)
            } else {
                j.beginObject()
                j.key("files")
                j.beginArray(inline: report.files.isEmpty)
                for f in report.files { file(f, &j) }
                j.endArray()
                j.endObject()
            }
        }
    }

    public static func file(_ f: DumpFile) -> JSONValue { JSONTreeBuilder.build { file(f, &$0) } }
    public static func unit(_ u: DumpUnit) -> JSONValue { JSONTreeBuilder.build { unit(u, &$0) } }
    public static func tensor(_ t: DumpTensor) -> JSONValue { JSONTreeBuilder.build { tensor(t, &$0) } }

    static func file<E: JSONEmitter & ~Copyable>(_ f: DumpFile, _ j: inout E) {
        j.beginObject()
        j.field("file", f.path)
        j.field("file_size", f.fileSize)
        j.key("units")
        j.beginArray(inline: f.units.isEmpty)
        for u in f.units { unit(u, &j) }
        j.endArray()
        j.key("tensors")
        j.beginArray(inline: f.tensors.isEmpty)
        for t in f.tensors { tensor(t, &j) }
        j.endArray()
        if let p = f.partialUnit {
            j.key("partial_unit")
            unit(p, &j)
        }
        if f.decoded || !f.trace.isEmpty { j.field("decoded", f.decoded) }
        if !f.trace.isEmpty || f.traceLineCount > 0 {
            j.key("trace")
            j.beginObject()
            j.field("lines", f.traceLineCount)
            j.field("truncated", f.traceTruncated)
            j.key("elements")
            j.beginArray(inline: f.trace.isEmpty)
            for l in f.trace { traceLine(l, &j) }
            j.endArray()
            j.endObject()
        }
        if let x = f.failure {
            j.key("error")
            j.beginObject()
            errorFields(x.error, &j)
            j.field("stage", x.stage)
            j.key("hex")
            hex(x.window, &j)
            j.endObject()
        }
        j.endObject()
    }

    static func unit<E: JSONEmitter & ~Copyable>(_ u: DumpUnit, _ j: inout E) {
        j.beginObject()
        j.field("index", u.index)
        j.field("offset", u.offset)
        j.field("size", u.size)
        j.field("type", u.typeName)
        j.field("type_code", u.typeCode)
        j.field("header_bytes", u.headerBytes)
        j.field("payload_bytes", u.payloadBytes)
        j.key("fields")
        j.beginObject()
        let fields = u.parsed.map { FieldListBuilder.fields(of: $0) }
            ?? FieldListBuilder.fields(from: u.sections.flatMap { $0.elements.map(\.entry) })
        for f in fields {
            j.key(f.name)
            value(f.value, &j)
        }
        j.endObject()
        if u.partial { j.field("partial", true) }
        if !u.warnings.isEmpty {
            j.key("warnings")
            j.beginArray(inline: false)
            for w in u.warnings {
                j.beginObject()
                j.field("element", w.element)
                j.field("byte_offset", w.position.byteOffset)
                j.field("bit_offset", w.position.bitOffset)
                j.field("message", w.message)
                j.endObject()
            }
            j.endArray()
        }
        j.key("sections")
        j.beginArray(inline: u.sections.isEmpty)
        for s in u.sections { section(s, &j) }
        j.endArray()
        if !u.tensorIndices.isEmpty {
            j.key("tensors")
            j.ints(u.tensorIndices)
        }
        if !u.problems.isEmpty {
            j.key("problems")
            j.beginArray(inline: true)
            for p in u.problems { j.string(p) }
            j.endArray()
        }
        if let h = u.hex {
            j.key("hex")
            hex(h, &j)
        }
        if !u.children.isEmpty {
            j.key("units")
            j.beginArray(inline: false)
            for c in u.children { unit(c, &j) }
            j.endArray()
        }
        j.endObject()
    }

    static func section<E: JSONEmitter & ~Copyable>(_ s: DumpSection, _ j: inout E) {
        j.beginObject()
        j.field("name", s.name)
        j.field("offset", s.offset)
        j.field("size", s.size)
        j.key("elements")
        j.beginArray(inline: s.elements.isEmpty)
        for e in s.elements { element(e, &j) }
        j.endArray()
        derivedList(s.derived, &j)
        j.endObject()
    }

    static func element<E: JSONEmitter & ~Copyable>(_ e: DumpElement, _ j: inout E) {
        j.beginObject()
        j.field("name", e.name)
        j.key("descriptor")
        j.plainString(e.descriptor)
        j.field("byte_offset", e.byteOffset)
        j.field("bit_offset", e.bitOffset)
        j.field("bit_width", e.bitWidth)
        j.key("bits")
        j.plainString(e.raw)
        j.key("value")
        value(e.value, &j)
        if let s = e.symbol { j.field("symbol", s) }
        derivedList(e.derived, &j)
        j.endObject()
    }

    /// `"derived": [...]` when there are derived values.
    static func derivedList<E: JSONEmitter & ~Copyable>(_ list: [DumpDerived], _ j: inout E) {
        guard !list.isEmpty else { return }
        j.key("derived")
        j.beginArray(inline: false)
        for d in list {
            j.beginObject()
            j.field("name", d.name)
            j.key("value")
            value(d.value, &j)
            if let n = d.note { j.field("note", n) }
            j.endObject()
        }
        j.endArray()
    }

    /// A field value (ints stay ints, as in units.json; byte strings in hex).
    static func value<E: JSONEmitter & ~Copyable>(_ v: FieldValue, _ j: inout E) {
        switch v {
        case let .int(i): j.int(i)
        case let .float(f): j.double(Double(f))
        case let .string(s): j.string(s)
        case let .bytes(b): j.string(b.map { String(format2hex: $0) }.joined())
        case let .list(l):
            j.beginArray(inline: !l.contains { if case .list = $0 { return true }; return false })
            for x in l { value(x, &j) }
            j.endArray()
        }
    }

    static func tensor<E: JSONEmitter & ~Copyable>(_ t: DumpTensor, _ j: inout E) {
        j.beginObject()
        j.field("index", t.index)
        j.field("unit", t.unitIndex)
        j.field("name", t.name)
        j.key("role")
        if let r = t.role { j.string(r) } else { j.null() }
        j.key("shape")
        j.ints(t.shape)
        j.field("elements", t.elementCount)
        j.field("payload_type", t.payloadType)
        j.field("payload_type_code", t.payloadTypeCode)
        j.field("base_qp", t.baseQP)
        j.field("qp_density", t.qpDensity)
        j.field("qp_offset", t.qpOffset)
        j.field("qp", t.qp)
        j.field("step_size", t.stepSize.map { Double($0) })
        j.field("dq", t.dq)
        j.field("scan_order", t.scanOrder)
        j.field("bits", t.bits)
        j.field("bits_exact", t.bitsExact)
        j.field("bytes", t.bytes)
        j.field("bits_per_parameter", t.bitsPerParameter)
        j.field("share", t.share)
        if let cb = t.codebook {
            j.key("codebook")
            j.beginObject()
            j.field("size", cb.codebookSize)
            j.field("egk", cb.codebookEgk)
            j.field("CbZeroOffset", cb.cbZeroOffset)
            j.key("entries")
            j.ints(cb.entries)
            j.endObject()
        }
        if let s = t.stats {
            j.key("stats")
            j.beginObject()
            j.field("count", s.count)
            j.field("min", s.minLevel)
            j.field("max", s.maxLevel)
            j.field("zeros", s.zeros)
            j.field("zero_fraction", s.zeroFraction)
            j.key("histogram")
            j.beginArray(inline: s.histogram.isEmpty)
            for b in s.histogram {
                j.beginObject()
                j.field("label", b.label)
                j.field("low", b.low)
                j.field("high", b.high)
                j.field("count", b.count)
                j.endObject()
            }
            j.endArray()
            if let snr = s.snrDB {
                j.field("snr_db", snr.isFinite ? snr : nil)
                j.field("exact", snr.isInfinite && snr > 0)
            }
            if let n = s.snrNote { j.field("snr_note", n) }
            j.endObject()
        }
        j.endObject()
    }

    static func traceLine<E: JSONEmitter & ~Copyable>(_ l: DumpTraceLine, _ j: inout E) {
        j.beginObject()
        j.field("unit", l.unitIndex)
        j.field("tensor", l.tensor)
        j.field("element", l.element)
        j.field("pos", l.position >= 0 ? l.position : nil)
        j.field("row", l.row >= 0 ? l.row : nil)
        j.field("col", l.column >= 0 ? l.column : nil)
        j.field("dq", l.dqState >= 0 ? l.dqState : nil)
        j.field("ctx", l.context >= 0 ? l.context : nil)
        j.field("bins", l.bins)
        j.field("value", Int(l.value))
        j.endObject()
    }

    static func hex<E: JSONEmitter & ~Copyable>(_ h: DumpHexBlock, _ j: inout E) {
        j.beginObject()
        j.field("offset", h.offset)
        j.field("size", h.bytes.count)
        j.field("omitted", h.omitted)
        j.key("rows")
        let rows = h.rows
        j.beginArray(inline: rows.isEmpty)
        for r in rows {
            j.beginObject()
            j.field("offset", r.offset + r.column)
            j.field("bytes", r.bytes.map { String(format2hex: $0) }.joined(separator: " "))
            j.endObject()
        }
        j.endArray()
        if let m = h.mark { j.field("mark", m) }
        j.endObject()
    }
}
