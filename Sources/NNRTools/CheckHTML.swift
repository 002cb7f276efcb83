import Foundation
import NNRContainer

/// `nnr check --format html`: the dump page of each checked file (unit tree, hex view, tensors)
/// with the check's verdict, violations and decoded tensors above it. Clicking a violation selects
/// its byte and bit in the hex view.
public enum CheckHTMLRenderer {
    /// `sources` are the checked files in the order of `reports`; their structure is dumped
    /// (unit headers only) for the tree and the hex view.
    public static func render(_ reports: [FileCheckReport], sources: [NNRByteSource], strict: Bool = false,
                              options: DumpOptions = DumpOptions()) -> String {
        let page = DumpHTMLStream(title: reports.map(\.path).joined(separator: ", "), kind: "check")
        var out = page.begin()
        for (k, r) in reports.enumerated() {
            let source = k < sources.count ? sources[k] : NNRByteSource(bytes: [])
            let f = NNRDump.structure(path: r.path, source: source, options: options)
            out += page.beginFile(f, index: k, preface: preface(r, strict: strict))
            for u in f.units { out += page.unit(u) }
            if let p = f.partialUnit { out += page.unit(p) }
            out += page.endFile(f, source: source)
        }
        return out + page.end()
    }

    static func preface(_ r: FileCheckReport, strict: Bool) -> String {
        let t = HTMLPage.text
        let passed = r.passed(strict: strict)
        var s = "<div class=\"check\"><h3>Check <span class=\"badge \(passed ? "ok" : "bad")\">\(t(CheckRendering.verdict(r, strict: strict)))</span></h3>"
        s += "<p class=\"meta\">\(r.rulesChecked.count) rules checked · \(r.errors.count) error(s) · \(r.warnings.count) warning(s)"
        if let ref = r.referencePath { s += " · reference " + t(ref) }
        s += "</p>"
        if !r.violations.isEmpty {
            s += "<table class=\"tt rules\"><thead><tr><th>rule</th><th>severity</th><th>unit</th><th>byte.bit</th><th>element</th><th>message</th></tr></thead><tbody>\n"
            for v in r.violations {
                s += "<tr class=\"violation\" data-rule=\"\(t(v.ruleID))\" data-byte=\"\(v.byteOffset)\" data-bit=\"\(v.bitOffset)\">"
                s += "<td>\(t(v.ruleID))</td><td class=\"sev-\(t(v.severity.rawValue))\">\(t(v.severity.rawValue))</td>"
                s += "<td>\(v.unitIndex.map(String.init) ?? "–")</td><td>\(v.byteOffset).\(v.bitOffset)</td><td>\(t(v.element))</td>"
                s += "<td class=\"name\">\(t(v.message))</td></tr>\n"
            }
            s += "</tbody></table>"
        }
        if !r.tensors.isEmpty || !r.missingTensors.isEmpty {
            s += "<table class=\"tt\"><thead><tr><th>decoded tensor</th><th>dtype</th><th>shape</th><th>SHA-256</th>"
            s += r.referencePath == nil ? "" : "<th>reference</th>"
            s += "</tr></thead><tbody>\n"
            for x in r.tensors {
                s += "<tr><td class=\"name\">\(t(x.name))</td><td>\(t(x.dtype))</td><td>[\(x.shape.map(String.init).joined(separator: ", "))]</td>"
                s += "<td>\(t(x.sha256))</td>"
                if r.referencePath != nil { s += "<td>\(t((x.comparison ?? .notInReference).text))</td>" }
                s += "</tr>\n"
            }
            for m in r.missingTensors {
                s += "<tr><td class=\"name\">\(t(m.name))</td><td>\(t(m.dtype))</td><td>[\(m.shape.map(String.init).joined(separator: ", "))]</td>"
                s += "<td>–</td><td>\(t(TensorComparisonResult.notDecoded.text))</td></tr>\n"
            }
            s += "</tbody></table>"
        }
        return s + "</div>\n"
    }
}
