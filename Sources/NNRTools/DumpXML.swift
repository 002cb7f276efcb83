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

/// The XML dump written piece by piece with libxml2's writer: `begin`, then per file `beginFile`,
/// `unit` for each top-level unit (and the partial unit), `endFile`; `end` returns the rest.
/// `take()` returns what is written so far, for a driver that streams.
public final class DumpXMLStream {
    private let w = XMLStreamWriter(unrepresentable: .codePoint)

    public init() {}

    public func begin() {
        w.startDocument()
        w.open("nnr_dump", [("version", "1")])
    }

    /// `unitCount`: the units a streaming driver will hand over (default: those of `f`).
    public func beginFile(_ f: DumpFile, unitCount: Int? = nil) {
        w.open("bitstream", [("file", f.path), ("size", String(f.fileSize)), ("units", String(unitCount ?? f.units.count)),
                             ("decoded", f.decoded ? "true" : "false")])
    }

    public func endFile(_ f: DumpFile) {
        for t in f.tensors { tensor(t) }
        if f.traceLineCount > 0 || !f.trace.isEmpty {
            w.open("trace", [("lines", String(f.traceLineCount)), ("truncated", f.traceTruncated ? "true" : "false")])
            for l in f.trace {
                var a: [(String, String)] = [("unit", String(l.unitIndex)), ("tensor", l.tensor), ("element", l.element)]
                if l.position >= 0 { a.append(("pos", String(l.position))) }
                if l.row >= 0 { a += [("row", String(l.row)), ("col", String(l.column))] }
                if l.dqState >= 0 { a.append(("dq", String(l.dqState))) }
                if l.context >= 0 { a.append(("ctx", String(l.context))) }
                a += [("bins", l.bins), ("value", String(l.value))]
                w.empty("e", a)
            }
            w.close()
        }
        if let x = f.failure {
            let e = x.error
            var a: [(String, String)] = [("stage", x.stage), ("reason", e.reasonCode), ("element", e.element),
                                         ("byte_offset", String(e.position.byteOffset)), ("bit_offset", String(e.position.bitOffset))]
            if let u = e.unitIndex { a.append(("unit_index", String(u))) }
            a.append(("message", e.reasonText))
            w.open("error", a)
            hex(x.window)
            w.close()
        }
        w.close()
    }

    /// The rest of the document.
    public func end() -> String {
        w.close()
        w.endDocument()
        return w.take()
    }

    /// What was written since the last call.
    public func take() -> String { w.take() }

    public func unit(_ u: DumpUnit) {
        var a: [(String, String)] = [("index", String(u.index)), ("type", u.typeName), ("type_code", String(u.typeCode)),
                                     ("offset", String(u.offset)), ("size", String(u.size)),
                                     ("header_bytes", String(u.headerBytes)), ("payload_bytes", String(u.payloadBytes)),
                                     ("depth", String(u.depth))]
        if u.partial { a.append(("partial", "true")) }
        if !u.tensorIndices.isEmpty { a.append(("tensors", u.tensorIndices.map(String.init).joined(separator: " "))) }
        w.open("unit", a)
        for s in u.sections {
            w.open("section", [("name", s.name), ("offset", String(s.offset)), ("size", String(s.size))])
            for e in s.elements {
                var fa: [(String, String)] = [("name", e.name), ("descriptor", e.descriptor),
                                              ("byte_offset", String(e.byteOffset)), ("bit_offset", String(e.bitOffset)),
                                              ("bit_width", String(e.bitWidth)), ("bits", e.raw), ("value", DumpXMLRenderer.value(e.value))]
                if let s = e.symbol { fa.append(("symbol", s)) }
                if e.derived.isEmpty {
                    w.empty("field", fa)
                } else {
                    w.open("field", fa)
                    for d in e.derived { derived(d) }
                    w.close()
                }
            }
            for d in s.derived { derived(d) }
            w.close()
        }
        for x in u.warnings {
            w.empty("warning", [("element", x.element), ("byte_offset", String(x.position.byteOffset)),
                                ("bit_offset", String(x.position.bitOffset)), ("message", x.message)])
        }
        for p in u.problems { w.textElement("problem", p) }
        if let h = u.hex { hex(h) }
        for c in u.children { unit(c) }
        w.close()
    }

    private func derived(_ d: DumpDerived) {
        var a: [(String, String)] = [("name", d.name), ("value", DumpXMLRenderer.value(d.value))]
        if let n = d.note { a.append(("note", n)) }
        w.empty("derived", a)
    }

    private func tensor(_ t: DumpTensor) {
        var a: [(String, String)] = [("index", String(t.index)), ("unit", String(t.unitIndex)), ("name", t.name)]
        if let r = t.role { a.append(("role", r)) }
        a += [("shape", t.shape.map(String.init).joined(separator: " ")), ("elements", String(t.elementCount)),
              ("payload_type", t.payloadType), ("payload_type_code", String(t.payloadTypeCode))]
        if let v = t.baseQP { a.append(("base_qp", String(v))) }
        if let v = t.qpDensity { a.append(("qp_density", String(v))) }
        if let v = t.qpOffset { a.append(("qp_offset", String(v))) }
        if let v = t.qp { a.append(("qp", String(v))) }
        if let v = t.stepSize { a.append(("step_size", String(v))) }
        a += [("dq", t.dq ? "true" : "false"), ("scan_order", String(t.scanOrder))]
        if let v = t.bits { a += [("bits", String(v)), ("bits_exact", t.bitsExact ? "true" : "false")] }
        if let v = t.bytes { a.append(("bytes", String(v))) }
        if let v = t.bitsPerParameter { a.append(("bits_per_parameter", String(v))) }
        if let v = t.share { a.append(("share", String(v))) }
        if t.codebook == nil && t.stats == nil {
            w.empty("tensor", a)
            return
        }
        w.open("tensor", a)
        if let cb = t.codebook {
            w.open("codebook", [("size", String(cb.codebookSize)), ("egk", String(cb.codebookEgk)), ("cb_zero_offset", String(cb.cbZeroOffset))])
            w.textLine(cb.entries.map(String.init).joined(separator: " "))
            w.close()
        }
        if let s = t.stats {
            var sa: [(String, String)] = [("count", String(s.count)), ("min", String(s.minLevel)), ("max", String(s.maxLevel)),
                                          ("zeros", String(s.zeros)), ("zero_fraction", String(s.zeroFraction))]
            if let snr = s.snrDB {
                if snr.isFinite { sa.append(("snr_db", String(snr))) }
                sa.append(("exact", snr.isInfinite && snr > 0 ? "true" : "false"))
            }
            if let n = s.snrNote { sa.append(("snr_note", n)) }
            w.open("stats", sa)
            for b in s.histogram {
                w.empty("bin", [("label", b.label), ("low", String(b.low)), ("high", String(b.high)), ("count", String(b.count))])
            }
            w.close()
        }
        w.close()
    }

    private func hex(_ h: DumpHexBlock) {
        var a: [(String, String)] = [("offset", String(h.offset)), ("size", String(h.bytes.count)), ("omitted", String(h.omitted))]
        if let m = h.mark { a.append(("mark", String(m))) }
        w.open("hex", a)
        for r in h.rows {
            w.textElement("row", r.bytes.map { String(format2hex: $0) }.joined(separator: " "), [("offset", String(r.offset + r.column))])
        }
        w.close()
    }
}
