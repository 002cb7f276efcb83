import Foundation
import NNRBitIO
import NNRSyntax

/// `nnr dump --format xml`: one `<unit>` element per unit, one `<section>` per syntax structure,
/// one `<field>` per element with its offsets, width, bits and value as attributes (MP4Box -diso
/// and ffprobe style). Schema: Spec/dump.xsd.
public enum DumpXMLRenderer {
    public static func render(_ report: DumpReport) -> String {
        let w = DumpXMLStream()
        w.begin()
        for f in report.files {
            w.beginFile(f)
            for u in f.units { w.unit(u) }
            if let p = f.partialUnit { w.unit(p) }
            w.endFile(f)
        }
        return w.end()
    }

    /// Attribute form of a value: strings as they are (XML-escaped), byte strings in hex,
    /// lists as in the text format ("[1, 2]").
    static func value(_ v: FieldValue) -> String {
        switch v {
        case let .string(s): return s
        case let .list(l): return "[" + l.map(DumpTextRenderer.value).joined(separator: ", ") + "]"
        default: return DumpTextRenderer.value(v)
        }
    }
}

/// The XML dump written piece by piece with libxml2's writer (`XMLStreamWriter`): `begin`, then
/// per file `beginFile`, `unit` for each top-level unit (and the partial unit), `endFile`; `end`
/// returns the rest. `take()` returns what is written so far, for a driver that streams.
public final class DumpXMLStream {
    let w = XMLStreamWriter(unrepresentable: .codePoint)
    /// A streaming driver gets the units' bytes once this many have reached libxml2's buffer
    /// (some hundreds of units of headers), so the buffer stays small and is reused.
    static let handOver = 1 << 16

    public init() {}

    public func begin() {
        w.startDocument()
        w.begin("nnr_dump")
        w.attribute("version", "1")
        w.openEnd()
    }

    /// `unitCount`: the units a streaming driver will hand over (default: those of `f`).
    public func beginFile(_ f: DumpFile, unitCount: Int? = nil) {
        w.begin("bitstream")
        w.attribute("file", f.path)
        w.attribute("size", f.fileSize)
        w.attribute("units", unitCount ?? f.units.count)
        w.attribute("decoded", f.decoded)
        w.openEnd()
    }

    public func endFile(_ f: DumpFile) {
        for t in f.tensors { Self.tensor(t, w) }
        if f.traceLineCount > 0 || !f.trace.isEmpty {
            w.begin("trace")
            w.attribute("lines", f.traceLineCount)
            w.attribute("truncated", f.traceTruncated)
            w.openEnd()
            for l in f.trace {
                w.begin("e")
                w.attribute("unit", l.unitIndex)
                w.attribute("tensor", l.tensor)
                w.attribute("element", l.element)
                if l.position >= 0 { w.attribute("pos", l.position) }
                if l.row >= 0 {
                    w.attribute("row", l.row)
                    w.attribute("col", l.column)
                }
                if l.dqState >= 0 { w.attribute("dq", l.dqState) }
                if l.context >= 0 { w.attribute("ctx", l.context) }
                w.attribute("bins", l.bins)
                w.attribute("value", Int(l.value))
                w.emptyEnd()
            }
            w.close()
        }
        if let x = f.failure {
            let e = x.error
            w.begin("error")
            w.attribute("stage", x.stage)
            w.attribute("reason", e.reasonCode)
            w.attribute("element", e.element)
            w.attribute("byte_offset", e.position.byteOffset)
            w.attribute("bit_offset", e.position.bitOffset)
            if let u = e.unitIndex { w.attribute("unit_index", u) }
            w.attribute("message", e.reasonText)
            w.openEnd()
            Self.hex(x.window, w)
            w.close()
        }
        w.close()
    }

    /// The rest of the document.
    public func end() -> String {
        w.close()
        w.endDocument()
        return take()
    }

    /// What was written since the last call.
    public func take() -> String { w.take() }

    func takeBytes() -> [UInt8] {
        var out = DumpBytes()
        w.move(into: &out, flush: true)
        return out.take()
    }

    public func unit(_ u: DumpUnit) { Self.unit(u, w) }

    /// Writes the unit; moves what libxml2 has written to `out` once it is `handOver` bytes or
    /// more, after the unit and after each unit an NNR_AGG carries (the rest follows with the next
    /// units or `takeBytes`, in order).
    func unit(_ u: DumpUnit, into out: inout DumpBytes) {
        let w = self.w
        Self.unit(u, w) { w.move(into: &out, atLeast: Self.handOver) }
        w.move(into: &out, atLeast: Self.handOver)
    }

    static func unit(_ u: DumpUnit, _ w: XMLStreamWriter, _ afterChild: () -> Void = {}) {
        w.begin("unit")
        w.attribute("index", u.index)
        w.attribute("type", u.typeName)
        w.attribute("type_code", u.typeCode)
        w.attribute("offset", u.offset)
        w.attribute("size", u.size)
        w.attribute("header_bytes", u.headerBytes)
        w.attribute("payload_bytes", u.payloadBytes)
        w.attribute("depth", u.depth)
        if u.partial { w.attribute("partial", true) }
        if !u.tensorIndices.isEmpty { w.attribute("tensors", u.tensorIndices.map(String.init).joined(separator: " ")) }
        w.openEnd()
        for s in u.sections {
            w.begin("section")
            w.attribute("name", s.name)
            w.attribute("offset", s.offset)
            w.attribute("size", s.size)
            w.openEnd()
            for e in s.elements {
                w.begin("field")
                w.attribute("name", e.name)
                w.attribute("descriptor", e.descriptor)
                w.attribute("byte_offset", e.byteOffset)
                w.attribute("bit_offset", e.bitOffset)
                w.attribute("bit_width", e.bitWidth)
                w.attribute("bits", e.raw)
                value(e.value, w)
                if let s = e.symbol { w.attribute("symbol", s) }
                if e.derived.isEmpty {
                    w.emptyEnd()
                } else {
                    w.openEnd()
                    for d in e.derived { derived(d, w) }
                    w.close()
                }
            }
            for d in s.derived { derived(d, w) }
            w.close()
        }
        for x in u.warnings {
            w.begin("warning")
            w.attribute("element", x.element)
            w.attribute("byte_offset", x.position.byteOffset)
            w.attribute("bit_offset", x.position.bitOffset)
            w.attribute("message", x.message)
            w.emptyEnd()
        }
        for p in u.problems {
            w.begin("problem")
            w.textEnd(p)
        }
        if let h = u.hex { hex(h, w) }
        for c in u.children {
            unit(c, w, afterChild)
            afterChild()
        }
        w.close()
    }

    /// The `value` attribute: ints written directly, the rest as `DumpXMLRenderer.value` says.
    private static func value(_ v: FieldValue, _ w: XMLStreamWriter) {
        if case let .int(i) = v {
            w.attribute("value", i)
        } else {
            w.attribute("value", DumpXMLRenderer.value(v))
        }
    }

    private static func derived(_ d: DumpDerived, _ w: XMLStreamWriter) {
        w.begin("derived")
        w.attribute("name", d.name)
        value(d.value, w)
        if let n = d.note { w.attribute("note", n) }
        w.emptyEnd()
    }

    private static func tensor(_ t: DumpTensor, _ w: XMLStreamWriter) {
        w.begin("tensor")
        w.attribute("index", t.index)
        w.attribute("unit", t.unitIndex)
        w.attribute("name", t.name)
        if let r = t.role { w.attribute("role", r) }
        w.attribute("shape", t.shape.map(String.init).joined(separator: " "))
        w.attribute("elements", t.elementCount)
        w.attribute("payload_type", t.payloadType)
        w.attribute("payload_type_code", t.payloadTypeCode)
        if let v = t.baseQP { w.attribute("base_qp", v) }
        if let v = t.qpDensity { w.attribute("qp_density", v) }
        if let v = t.qpOffset { w.attribute("qp_offset", v) }
        if let v = t.qp { w.attribute("qp", v) }
        if let v = t.stepSize { w.attribute("step_size", String(v)) }
        w.attribute("dq", t.dq)
        w.attribute("scan_order", t.scanOrder)
        if let v = t.bits {
            w.attribute("bits", v)
            w.attribute("bits_exact", t.bitsExact)
        }
        if let v = t.bytes { w.attribute("bytes", v) }
        if let v = t.bitsPerParameter { w.attribute("bits_per_parameter", String(v)) }
        if let v = t.share { w.attribute("share", String(v)) }
        if t.codebook == nil && t.stats == nil {
            w.emptyEnd()
            return
        }
        w.openEnd()
        if let cb = t.codebook {
            w.begin("codebook")
            w.attribute("size", cb.codebookSize)
            w.attribute("egk", cb.codebookEgk)
            w.attribute("cb_zero_offset", cb.cbZeroOffset)
            w.openEnd()
            w.textLine(cb.entries.map(String.init).joined(separator: " "))
            w.close()
        }
        if let s = t.stats {
            w.begin("stats")
            w.attribute("count", s.count)
            w.attribute("min", s.minLevel)
            w.attribute("max", s.maxLevel)
            w.attribute("zeros", s.zeros)
            w.attribute("zero_fraction", String(s.zeroFraction))
            if let snr = s.snrDB {
                if snr.isFinite { w.attribute("snr_db", String(snr)) }
                w.attribute("exact", snr.isInfinite && snr > 0)
            }
            if let n = s.snrNote { w.attribute("snr_note", n) }
            w.openEnd()
            for b in s.histogram {
                w.begin("bin")
                w.attribute("label", b.label)
                w.attribute("low", b.low)
                w.attribute("high", b.high)
                w.attribute("count", b.count)
                w.emptyEnd()
            }
            w.close()
        }
        w.close()
    }

    private static func hex(_ h: DumpHexBlock, _ w: XMLStreamWriter) {
        w.begin("hex")
        w.attribute("offset", h.offset)
        w.attribute("size", h.bytes.count)
        w.attribute("omitted", h.omitted)
        if let m = h.mark { w.attribute("mark", m) }
        w.openEnd()
        for r in h.rows {
            w.begin("row")
            w.attribute("offset", r.offset + r.column)
            w.textEnd(r.bytes.map { String(format2hex: $0) }.joined(separator: " "))
        }
        w.close()
    }
}
