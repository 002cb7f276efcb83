import Foundation
import NNRCodec

/// The CSV and SVG forms of an RD sweep (`nnr rd`); Tools/rd_reference.py writes the same CSV
/// columns for NNCodec.
public enum RDPlot {
    public static let csvHeader = "curve,qp,bytes,bits_per_parameter,snr_db"

    public static func csv(_ points: [RDPoint]) -> String {
        var lines = [csvHeader]
        for p in points {
            lines.append("\(csvField(p.curve)),\(p.qp),\(p.bytes),\(String(format: "%.6f", p.bitsPerParameter)),\(String(format: "%.6f", p.snrDB))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    public struct CSVError: Error, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// Reads what `csv` writes (header required; quoted curve names allowed).
    public static func parseCSV(_ text: String) throws -> [RDPoint] {
        var out: [RDPoint] = []
        let lines = text.split(whereSeparator: \.isNewline).map(String.init)
        guard let head = lines.first, head.trimmingCharacters(in: .whitespaces) == csvHeader else {
            throw CSVError(line: 1, message: "expected the header \(csvHeader)")
        }
        for (n, line) in lines.enumerated().dropFirst() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            var fields: [String] = [], cur = "", quoted = false, i = line.startIndex
            while i < line.endIndex {
                let c = line[i]
                if quoted {
                    if c == "\"" {
                        let next = line.index(after: i)
                        if next < line.endIndex && line[next] == "\"" { cur.append("\""); i = next } else { quoted = false }
                    } else { cur.append(c) }
                } else if c == "\"" { quoted = true } else if c == "," { fields.append(cur); cur = "" } else { cur.append(c) }
                i = line.index(after: i)
            }
            fields.append(cur)
            guard fields.count == 5, let qp = Int(fields[1]), let bytes = Int(fields[2]),
                  let bpp = Double(fields[3]), let snr = Double(fields[4]), bpp.isFinite, snr.isFinite else {
                throw CSVError(line: n + 1, message: "expected curve,qp,bytes,bits_per_parameter,snr_db with numbers")
            }
            out.append(RDPoint(curve: fields[0], qp: qp, bytes: bytes, bitsPerParameter: bpp, snrDB: snr))
        }
        return out
    }

    /// A readable line plot, bits per parameter (x) against SNR (y), one polyline per curve, with
    /// ticks, axis labels, a legend and a title. Self-contained SVG 1.1 (no scripts, no fonts, no
    /// external references).
    public static func svg(_ points: [RDPoint], title: String) -> String {
        let width = 900.0, height = 600.0
        let left = 80.0, right = 230.0, top = 50.0, bottom = 70.0
        let plotW = width - left - right, plotH = height - top - bottom
        let finite = points.filter { $0.bitsPerParameter.isFinite && $0.snrDB.isFinite }
        let xs = finite.map(\.bitsPerParameter), ys = finite.map(\.snrDB)
        let (x0, x1, xStep) = niceRange(xs.min() ?? 0, xs.max() ?? 1)
        let (y0, y1, yStep) = niceRange(ys.min() ?? 0, ys.max() ?? 1)
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * plotW }
        func py(_ y: Double) -> Double { top + plotH - (y - y0) / (y1 - y0) * plotH }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        func label(_ v: Double, _ step: Double) -> String {
            step >= 1 ? String(format: "%.0f", v) : (step >= 0.1 ? String(format: "%.1f", v) : String(format: "%.2f", v))
        }
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
        var s = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="13">
            <rect x="0" y="0" width="\(Int(width))" height="\(Int(height))" fill="white"/>
            <text x="\(f(left + plotW / 2))" y="28" text-anchor="middle" font-size="17" font-weight="bold">\(HTMLPage.text(title))</text>

            """
        // Grid line, tick and label at every step of each axis.
        func ticks(_ lo: Double, _ hi: Double, _ step: Double, vertical: Bool) {
            var v = lo
            while v <= hi + step / 2 {
                if vertical {
                    let x = f(px(v))
                    s += "<line x1=\"\(x)\" y1=\"\(f(top))\" x2=\"\(x)\" y2=\"\(f(top + plotH))\" stroke=\"#e0e0e0\"/>\n"
                    s += "<line x1=\"\(x)\" y1=\"\(f(top + plotH))\" x2=\"\(x)\" y2=\"\(f(top + plotH + 6))\" stroke=\"black\"/>\n"
                    s += "<text x=\"\(x)\" y=\"\(f(top + plotH + 22))\" text-anchor=\"middle\">\(label(v, step))</text>\n"
                } else {
                    let y = f(py(v))
                    s += "<line x1=\"\(f(left))\" y1=\"\(y)\" x2=\"\(f(left + plotW))\" y2=\"\(y)\" stroke=\"#e0e0e0\"/>\n"
                    s += "<line x1=\"\(f(left - 6))\" y1=\"\(y)\" x2=\"\(f(left))\" y2=\"\(y)\" stroke=\"black\"/>\n"
                    s += "<text x=\"\(f(left - 10))\" y=\"\(f(py(v) + 4))\" text-anchor=\"end\">\(label(v, step))</text>\n"
                }
                v += step
            }
        }
        ticks(x0, x1, xStep, vertical: true)
        ticks(y0, y1, yStep, vertical: false)
        s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"black\"/>\n"
        s += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 20))\" text-anchor=\"middle\">bits per parameter</text>\n"
        s += "<text x=\"20\" y=\"\(f(top + plotH / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 20 \(f(top + plotH / 2)))\">SNR (dB)</text>\n"
        var curves: [String] = []
        for p in finite where !curves.contains(p.curve) { curves.append(p.curve) }
        for (k, c) in curves.enumerated() {
            let color = colors[k % colors.count]
            let pts = finite.filter { $0.curve == c }.sorted { $0.bitsPerParameter < $1.bitsPerParameter }
            let path = pts.map { "\(f(px($0.bitsPerParameter))),\(f(py($0.snrDB)))" }.joined(separator: " ")
            let dash = k % 2 == 1 ? " stroke-dasharray=\"6 3\"" : ""
            s += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dash)/>\n"
            for p in pts {
                s += "<circle cx=\"\(f(px(p.bitsPerParameter)))\" cy=\"\(f(py(p.snrDB)))\" r=\"3\" fill=\"\(color)\"><title>\(HTMLPage.text(c)) QP \(p.qp): \(String(format: "%.4f", p.bitsPerParameter)) bits/param, \(String(format: "%.3f", p.snrDB)) dB</title></circle>\n"
            }
            let ly = top + 10 + Double(k) * 22
            s += "<line x1=\"\(f(left + plotW + 15))\" y1=\"\(f(ly))\" x2=\"\(f(left + plotW + 45))\" y2=\"\(f(ly))\" stroke=\"\(color)\" stroke-width=\"2\"\(dash)/>\n"
            s += "<text x=\"\(f(left + plotW + 52))\" y=\"\(f(ly + 4))\">\(HTMLPage.text(c))</text>\n"
        }
        s += "</svg>\n"
        return s
    }

    /// Axis bounds on round numbers (1, 2 or 5 × 10^k steps, about 5–10 ticks).
    public static func niceRange(_ lo: Double, _ hi: Double) -> (Double, Double, Double) {
        var a = lo, b = hi
        if !(b > a) { a -= 1; b += 1 }
        let raw = (b - a) / 6
        let mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        return (floor(a / step) * step, ceil(b / step) * step, step)
    }
}
