import Foundation
import NNRBitIO
import NNRContainer
import NNRModelIO
import NNRSyntax

/// `nnr dump --format html`: one self-contained page (inline CSS, script and SVG; nothing fetched)
/// with a collapsible tree of units → syntax structures → fields, a hex view of the file in which
/// the selected field's bits are highlighted (clicking a byte selects its field), a table of the
/// tensors with charts of where the bytes go, and the error at its offset for a malformed file.
///
/// Everything from the bitstream is data: names and strings are HTML-escaped where the page is
/// written here, and the script shows the per-unit JSON (with `<` as `\u003c`) only through
/// `textContent`. A Content-Security-Policy admits only this page's own script and style (by hash).
/// Field lists are rendered when a unit is opened, the hex view only for the rows in sight, so a
/// 100 MB bitstream gives a page of about 1.4 × its size that stays usable.
public enum DumpHTMLRenderer {
    /// The page of a report; `sources` (one per file, in order) embeds the bytes for the hex view.
    public static func render(_ report: DumpReport, sources: [NNRByteSource] = []) -> String {
        var out = ""
        render(report, sources: sources) { out += $0 }
        return out
    }

    /// The page in pieces, in order (the file's bytes in pieces of 4 MB of base64), for writing
    /// as it is made.
    public static func render(_ report: DumpReport, sources: [NNRByteSource] = [], emit: (String) throws -> Void) rethrows {
        let page = DumpHTMLStream(title: report.files.map(\.path).joined(separator: ", "))
        try emit(page.begin())
        for (k, f) in report.files.enumerated() {
            try emit(page.beginFile(f, index: k))
            for u in f.units { try emit(page.unit(u)) }
            if let p = f.partialUnit { try emit(page.unit(p)) }
            try page.endFile(f, source: k < sources.count ? sources[k] : nil, emit: emit)
        }
        try emit(page.end())
    }
}

/// The HTML page written piece by piece: `begin`, then per file `beginFile`, `unit` for each
/// top-level unit (and the partial unit), `endFile`; then `end`. Each returns its part of the page.
public final class DumpHTMLStream {
    let title: String
    /// "dump" or "check".
    let kind: String

    /// Whether the current file's failure was shown under its heading (else `endFile` shows it: a
    /// streaming driver learns of a payload failure only after the units).
    private var failureShown = false

    public init(title: String, kind: String = "dump") {
        self.title = title
        self.kind = kind
    }

    public func begin() -> String {
        HTMLPage.head(title: "nnr \(kind): " + title, kind: kind)
            + "<header class=\"top\"><h1>nnr \(kind)</h1><span class=\"sub\">\(HTMLPage.text(title))</span></header>\n<main>\n"
    }

    /// `preface`: HTML shown under the file's heading (the check report's verdict and violations).
    public func beginFile(_ f: DumpFile, index: Int, preface: String = "") -> String {
        let tensorCount = f.tensors.count
        var s = "<section class=\"file\" data-file=\"\(index)\" data-size=\"\(f.fileSize)\">\n"
        s += "<div class=\"file-head\"><h2>\(HTMLPage.text(f.path))</h2><span class=\"meta\">\(f.fileSize) bytes · "
        s += "\(f.units.count) unit\(f.units.count == 1 ? "" : "s") · \(tensorCount) tensor\(tensorCount == 1 ? "" : "s")</span>"
        s += f.failure == nil ? "<span class=\"badge ok\">parsed</span>" : "<span class=\"badge bad\">error</span>"
        s += "</div>\n" + preface
        failureShown = f.failure != nil
        if let x = f.failure { s += failure(x) }
        s += "<div class=\"file-body\">\n<div class=\"tree\">\n<h3>Units <button class=\"expand-all\" type=\"button\">open all</button></h3>\n"
        return s
    }

    /// One unit: a `<details>` with its summary, its data for the script, and its carried units.
    public func unit(_ u: DumpUnit) -> String {
        var s = "<details class=\"unit t-\(HTMLPage.attribute(u.typeName))\(u.partial ? " partial" : "")\" data-unit-index=\"\(u.index)\""
        s += " data-offset=\"\(u.offset)\" data-size=\"\(u.size)\" data-header=\"\(u.headerBytes)\" data-depth=\"\(u.depth)\">"
        s += "<summary><span class=\"ui\">#\(u.index)</span><span class=\"ut\">\(HTMLPage.text(u.typeName))</span>"
        s += "<span class=\"uo\">@\(u.offset)</span><span class=\"us\">\(u.size) B</span>"
        s += "<span class=\"uh\">header \(u.headerBytes) · payload \(u.payloadBytes)</span>"
        if u.partial { s += "<span class=\"badge bad\">partial</span>" }
        if !u.warnings.isEmpty || !u.problems.isEmpty { s += "<span class=\"badge warn\">\(u.warnings.count + u.problems.count) warning(s)</span>" }
        s += "</summary>"
        s += "<script type=\"application/json\" class=\"ud\">" + unitData(u) + "</script>"
        s += "<div class=\"secs\"></div>"
        for c in u.children { s += unit(c) }
        s += "</details>\n"
        return s
    }

    /// The unit's sections, elements, warnings and problems as compact JSON arrays (see the script).
    func unitData(_ u: DumpUnit) -> String {
        var j = JSONText()
        j.open("{")
        j.key("sections"); j.open("[")
        for sec in u.sections {
            j.open("[")
            j.string(sec.name); j.int(sec.offset); j.int(sec.size)
            j.open("[")
            for e in sec.elements {
                j.open("[")
                j.string(e.name); j.string(e.descriptor); j.int(e.entry.bitPosition); j.int(e.bitWidth)
                j.string(e.raw); j.string(DumpTextRenderer.value(e.value)); j.string(e.symbol ?? "")
                derivedList(e.derived, &j)
                j.close("]")
            }
            j.close("]")
            derivedList(sec.derived, &j)
            j.close("]")
        }
        j.close("]")
        j.key("warnings"); j.open("[")
        for w in u.warnings {
            j.open("[")
            j.string(w.element); j.int(w.position.byteOffset * 8 + w.position.bitOffset); j.string(w.message)
            j.close("]")
        }
        j.close("]")
        j.key("problems"); j.open("[")
        for p in u.problems { j.string(p) }
        j.close("]")
        j.key("tensors"); j.open("[")
        for t in u.tensorIndices { j.int(t) }
        j.close("]")
        j.close("}")
        return j.out
    }

    private func derivedList(_ list: [DumpDerived], _ j: inout JSONText) {
        j.open("[")
        for d in list {
            j.open("[")
            j.string(d.name); j.string(DumpTextRenderer.value(d.value)); j.string(d.note ?? "")
            j.close("]")
        }
        j.close("]")
    }

    /// The rest of the file: the hex view, the error, the tensors and charts, the bytes.
    public func endFile(_ f: DumpFile, source: NNRByteSource?) -> String {
        var out = ""
        endFile(f, source: source) { out += $0 }
        return out
    }

    /// `endFile` in pieces: the file's bytes go out as base64 in pieces of 3 MB.
    public func endFile(_ f: DumpFile, source: NNRByteSource?, emit: (String) throws -> Void) rethrows {
        var s = "</div>\n<aside class=\"side\"><div class=\"hexpanel\">"
        s += "<div class=\"hexbar\"><b>Bytes</b><span class=\"legend\"><i class=\"k hdr\"></i>header <i class=\"k pay\"></i>payload"
        s += " <i class=\"k sel\"></i>selected\(f.failure == nil ? "" : " <i class=\"k err\"></i>error")</span>"
        s += "<input class=\"goto\" type=\"text\" placeholder=\"go to offset\" aria-label=\"go to byte offset\"></div>"
        s += "<div class=\"hex\" tabindex=\"0\"><div class=\"hexspacer\"></div><div class=\"hexrows\"></div></div>"
        s += "<div class=\"selinfo\">Click a field in the tree or a byte here.</div><div class=\"bits\"></div>"
        s += "</div></aside>\n</div>\n"
        if !failureShown, let x = f.failure { s += failure(x) }
        s += overview(f)
        s += tensorTable(f)
        s += "<script type=\"application/octet-stream\" class=\"bytes\">"
        try emit(s)
        if let src = source {
            // Pieces of a multiple of 3 bytes: their base64 texts join into the file's.
            let piece = 3 << 20
            var o = 0
            while o < src.count {
                let e = min(src.count, o + piece)
                try emit(Data(src.bytes(o..<e)).base64EncodedString())
                o = e
            }
        }
        try emit("</script>\n</section>\n")
    }

    public func end() -> String {
        "</main>\n<footer>nnr \(kind) · NNR (ISO/IEC 15938-17) · open a unit to see its fields; click a field or a byte</footer>\n"
            + HTMLPage.tail()
    }

    private func failure(_ x: DumpFailure) -> String {
        let e = x.error
        var s = "<div class=\"error\" data-byte=\"\(e.position.byteOffset)\" data-bit=\"\(e.position.bitOffset)\">"
        s += "<h3>Error (\(HTMLPage.text(x.stage)))</h3><p><code>\(HTMLPage.text(e.reasonCode))</code> in <code>"
        s += HTMLPage.text(e.element) + "</code> at byte \(e.position.byteOffset) bit \(e.position.bitOffset)"
        if let u = e.unitIndex { s += " (unit \(u))" }
        s += ": " + HTMLPage.text(e.reasonText) + " <button class=\"show-error\" type=\"button\">show in bytes</button></p>"
        s += "<pre class=\"window\">"
        for r in x.window.rows {
            let start = r.offset + r.column
            s += String(format: "%08x  ", r.offset) + String(repeating: "   ", count: r.column)
            for (k, b) in r.bytes.enumerated() {
                let h = String(format2hex: b)
                s += start + k == x.window.mark ? "<mark>\(h)</mark> " : h + " "
            }
            s += "\n"
        }
        s += "</pre></div>\n"
        return s
    }

    /// Bytes by unit type (headers and payloads) as one stacked bar.
    private func overview(_ f: DumpFile) -> String {
        var byType: [(String, Int, Int)] = []
        for u in f.units {
            if let i = byType.firstIndex(where: { $0.0 == u.typeName }) {
                byType[i].1 += u.headerBytes
                byType[i].2 += u.payloadBytes
            } else {
                byType.append((u.typeName, u.headerBytes, u.payloadBytes))
            }
        }
        let covered = f.units.reduce(0) { $0 + $1.size }
        let rest = max(0, f.fileSize - covered)
        let total = max(1, f.fileSize)
        let width = 720.0
        var x = 0.0
        var bars = ""
        var legend = ""
        let palette = ["#3b6ea8", "#e0883a", "#4f9a5d", "#b04a5a", "#7d62a8", "#8c6d46", "#c9679e", "#6b7b8c"]
        var parts: [(String, Int, String)] = []
        for (k, t) in byType.enumerated() {
            parts.append((t.0 + " header", t.1, palette[k % palette.count] + "99"))
            parts.append((t.0 + " payload", t.2, palette[k % palette.count]))
        }
        if rest > 0 { parts.append(("after the last whole unit", rest, "#c0392b")) }
        for (label, bytes, colour) in parts where bytes > 0 {
            let w = width * Double(bytes) / Double(total)
            let pct = 100 * Double(bytes) / Double(total)
            let title = "\(label): \(bytes) bytes (\(String(format: "%.2f", pct))%)"
            bars += "<rect x=\"\(fmt(x))\" y=\"0\" width=\"\(fmt(max(w, 0.5)))\" height=\"22\" fill=\"\(colour)\"><title>\(HTMLPage.text(title))</title></rect>"
            legend += "<li><i class=\"k\" data-colour=\"\(colour)\"></i>\(HTMLPage.text(title))</li>"
            x += w
        }
        return "<div class=\"overview\"><h3>Where the bytes go</h3><svg class=\"chart stacked\" role=\"img\" aria-label=\"bytes by unit type\" "
            + "viewBox=\"0 0 \(Int(width)) 22\" width=\"\(Int(width))\" height=\"22\">"
            + bars + "</svg><ul class=\"keys\">" + legend + "</ul></div>\n"
    }

    private func tensorTable(_ f: DumpFile) -> String {
        guard !f.tensors.isEmpty else { return "<div class=\"tensors\"><h3>Tensors</h3><p>none</p></div>\n" }
        let stats = f.tensors.contains { $0.stats != nil }
        var s = "<div class=\"tensors\"><h3>Tensors</h3>" + shareChart(f.tensors)
        s += "<table class=\"tt\"><thead><tr><th>#</th><th>unit</th><th>name</th><th>shape</th><th>type</th><th>QP</th>"
        s += "<th>step size</th><th>DQ</th><th>bytes</th><th>bits/param</th><th>share</th>"
        if stats { s += "<th>levels</th>" }
        s += "</tr></thead><tbody>\n"
        for t in f.tensors {
            s += "<tr data-tensor-name=\"\(HTMLPage.attribute(t.name))\" data-unit=\"\(t.unitIndex)\">"
            s += "<td>\(t.index)</td><td>\(t.unitIndex)</td><td class=\"name\">\(HTMLPage.text(t.name))"
            if let r = t.role { s += " <span class=\"role\">\(HTMLPage.text(r))</span>" }
            if let cb = t.codebook { s += " <span class=\"role\">codebook \(cb.codebookSize)</span>" }
            s += "</td><td>[\(t.shape.map(String.init).joined(separator: ", "))]</td><td>\(HTMLPage.text(t.payloadType))</td>"
            s += "<td>\(t.qp.map(String.init) ?? "–")</td><td>\(t.stepSize.map { String($0) } ?? "–")</td><td>\(t.dq ? "on" : "off")</td>"
            s += "<td>\(t.bytes.map(String.init) ?? "–")\(t.bits != nil && !t.bitsExact ? "*" : "")</td>"
            s += "<td>\(t.bitsPerParameter.map { String(format: "%.3f", $0) } ?? "–")</td>"
            s += "<td>\(t.share.map { String(format: "%.2f%%", 100 * $0) } ?? "–")</td>"
            if stats { s += "<td>" + (t.stats.map { histogram($0) } ?? "–") + "</td>" }
            s += "</tr>\n"
        }
        s += "</tbody></table>"
        if f.tensors.contains(where: { $0.bits != nil && !$0.bitsExact }) {
            s += "<p class=\"note\">* measured by the arithmetic decoder (the tensor shares its unit).</p>"
        }
        if f.tensors.contains(where: { $0.bits == nil }) {
            s += "<p class=\"note\">– sizes of tensors that share a unit are known after decoding: run with --stats.</p>"
        }
        return s + "</div>\n"
    }

    /// Horizontal bars: each tensor's share of the file (the 40 largest).
    private func shareChart(_ tensors: [DumpTensor]) -> String {
        let sized = tensors.filter { $0.bytes != nil }.sorted { ($0.bytes ?? 0) > ($1.bytes ?? 0) }
        guard !sized.isEmpty else { return "" }
        let shown = Array(sized.prefix(40))
        let barH = 16, gap = 4, labelW = 220, barW = 380
        let height = shown.count * (barH + gap) + (sized.count > shown.count ? 18 : 0)
        let maxShare = max(shown.compactMap(\.share).max() ?? 0, 1e-12)
        var s = "<svg class=\"chart shares\" role=\"img\" aria-label=\"share of the file per tensor\" "
        s += "viewBox=\"0 0 \(labelW + barW + 150) \(height)\" width=\"\(labelW + barW + 150)\" height=\"\(height)\">"
        for (k, t) in shown.enumerated() {
            let y = k * (barH + gap)
            let share = t.share ?? 0
            let w = Double(barW) * share / maxShare
            let label = t.name.count > 30 ? String(t.name.prefix(29)) + "…" : t.name
            let value = String(format: "%.2f%% · %ld B", 100 * share, t.bytes ?? 0)
            s += "<g><title>\(HTMLPage.text(t.name + ": " + value))</title>"
            s += "<text x=\"\(labelW - 6)\" y=\"\(y + 12)\" text-anchor=\"end\">\(HTMLPage.text(label))</text>"
            s += "<rect x=\"\(labelW)\" y=\"\(y)\" width=\"\(fmt(max(w, 1)))\" height=\"\(barH)\" rx=\"2\" fill=\"#3b6ea8\"></rect>"
            s += "<text x=\"\(fmt(Double(labelW) + max(w, 1) + 6))\" y=\"\(y + 12)\">\(HTMLPage.text(value))</text></g>"
        }
        if sized.count > shown.count {
            s += "<text x=\"\(labelW)\" y=\"\(height - 4)\">and \(sized.count - shown.count) smaller tensors</text>"
        }
        return s + "</svg>"
    }

    /// The level histogram of `--stats` (11 bins; level 0 in the middle).
    private func histogram(_ st: DumpTensorStats) -> String {
        let bw = 12, h = 30
        let top = max(1, st.histogram.map(\.count).max() ?? 1)
        var s = "<svg class=\"chart hist\" role=\"img\" aria-label=\"level histogram\" "
        s += "viewBox=\"0 0 \(st.histogram.count * bw) \(h)\" width=\"\(st.histogram.count * bw)\" height=\"\(h)\">"
        for (k, b) in st.histogram.enumerated() {
            let bh = b.count == 0 ? 0 : max(1.0, Double(h - 2) * Double(b.count) / Double(top))
            let colour = b.low <= 0 && b.high >= 0 ? "#e0883a" : "#3b6ea8"
            s += "<rect x=\"\(k * bw + 1)\" y=\"\(fmt(Double(h) - bh))\" width=\"\(bw - 2)\" height=\"\(fmt(bh))\" fill=\"\(colour)\">"
            s += "<title>\(HTMLPage.text("\(b.label): \(b.count)"))</title></rect>"
        }
        s += "</svg><span class=\"hs\">\(st.minLevel)..\(st.maxLevel), \(String(format: "%.1f", 100 * st.zeroFraction))% zeros"
        if let snr = st.snrDB { s += snr.isFinite ? String(format: ", SNR %.1f dB", snr) : ", exact" }
        return s + "</span>"
    }

    private func fmt(_ v: Double) -> String { String(format: "%.1f", v) }
}

/// Compact JSON built by hand, safe inside a `<script type="application/json">` element.
struct JSONText {
    var out = ""
    private var needsComma = false

    private mutating func separate() {
        if needsComma { out += "," }
        needsComma = true
    }

    mutating func open(_ bracket: Character) {
        separate()
        out.append(bracket)
        needsComma = false
    }

    mutating func close(_ bracket: Character) {
        out.append(bracket)
        needsComma = true
    }

    mutating func key(_ k: String) {
        separate()
        out += HTMLPage.json(quoted: k) + ":"
        needsComma = false
    }

    mutating func string(_ s: String) {
        separate()
        out += HTMLPage.json(quoted: s)
    }

    mutating func int(_ i: Int) {
        separate()
        out += String(i)
    }
}

/// The parts of a page shared by the dump and the check report: escaping, head, script, policy.
enum HTMLPage {
    /// Text content: the five markup characters as entities, and characters HTML cannot show
    /// (C0 controls other than tab and newline, noncharacters) as U+FFFD.
    static func text(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            if let e = entities[u] {
                out += e
            } else if (u.value < 0x20 && u != "\t" && u != "\n") || u.value == 0x7F || u.value == 0xFFFE || u.value == 0xFFFF {
                out.unicodeScalars.append("\u{FFFD}")
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    private static let entities: [Unicode.Scalar: String] = ["&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"]

    /// An attribute value (always written inside double quotes).
    static func attribute(_ s: String) -> String { text(s) }

    /// A JSON string literal that cannot end its `<script>` element or start a comment: as JSON
    /// writes it, with `<`, `>`, `&` and the line separators JavaScript once refused as `\uXXXX`
    /// (none of them occurs inside JSON's own escapes).
    static func json(quoted s: String) -> String {
        var out = ""
        JSONValue.escape(s, into: &out)
        guard out.unicodeScalars.contains(where: { $0 == "<" || $0 == ">" || $0 == "&" || $0 == "\u{2028}" || $0 == "\u{2029}" }) else { return out }
        return out.replacingOccurrences(of: "<", with: "\\u003c").replacingOccurrences(of: ">", with: "\\u003e")
            .replacingOccurrences(of: "&", with: "\\u0026").replacingOccurrences(of: "\u{2028}", with: "\\u2028")
            .replacingOccurrences(of: "\u{2029}", with: "\\u2029")
    }

    /// `'sha256-…'` of a script or style element's text, for the Content-Security-Policy.
    static func cspHash(_ s: String) -> String {
        var h = SHA256()
        h.update(Array(s.utf8))
        return "'sha256-" + Data(h.finalize()).base64EncodedString() + "'"
    }

    static let policy = "default-src 'none'; script-src \(cspHash(HTMLAssets.script)); style-src \(cspHash(HTMLAssets.style)); "
        + "img-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'"

    static func head(title: String, kind: String) -> String {
        "<!DOCTYPE html>\n<html lang=\"en\" data-nnr-page=\"\(kind)\">\n<head>\n<meta charset=\"utf-8\">\n"
            + "<meta http-equiv=\"Content-Security-Policy\" content=\"\(policy)\">\n"
            + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            + "<meta name=\"referrer\" content=\"no-referrer\">\n"
            + "<title>\(text(title))</title>\n<style>" + HTMLAssets.style + "</style>\n</head>\n<body>\n"
    }

    static func tail() -> String {
        "<script>" + HTMLAssets.script + "</script>\n</body>\n</html>\n"
    }
}
