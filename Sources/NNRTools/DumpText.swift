import Foundation
import NNRBitIO
import NNRSyntax

/// `nnr dump --format text`: a tree for people — units, their syntax structures, one line per
/// element (offset, descriptor, width, bits, name = value), derived values under the elements they
/// come from, the tensors, the trace, and the error with the bytes around it.
public enum DumpTextRenderer {
    /// The whole report.
    public static func render(_ report: DumpReport) -> String {
        var out = ""
        for (i, file) in report.files.enumerated() {
            if i > 0 { out += "\n" }
            out += structure(file)
            if !file.trace.isEmpty || (report.options.trace && file.decoded) {
                out += traceHeader()
                for line in file.trace { out += traceLine(line) + "\n" }
                out += traceFooter(file)
            }
            out += tensors(file)
            out += failure(file)
        }
        return out
    }

    /// The file line and every unit (with the unit that failed, as far as it was read).
    public static func structure(_ f: DumpFile) -> String {
        var out = fileLine(f, unitCount: f.units.count)
        for u in f.units { unit(u, into: &out) }
        if let p = f.partialUnit { unit(p, into: &out) }
        return out
    }

    /// The first line of a file.
    public static func fileLine(_ f: DumpFile, unitCount: Int) -> String {
        "file \(f.path): \(f.fileSize) bytes, \(unitCount) units\n"
    }

    static func unit(_ u: DumpUnit, into out: inout String) {
        var b = DumpBytes()
        unit(u, into: &b)
        out += b.string
    }

    static func unit(_ u: DumpUnit, into out: inout DumpBytes) {
        let pad = 2 * u.depth
        out.byte(UInt8(ascii: "\n"))
        out.spaces(pad)
        out.append("unit ")
        out.int(u.index)
        out.byte(0x20)
        out.append(u.typeName)
        out.append(" @")
        out.int(u.offset)
        out.append(" size ")
        out.int(u.size)
        if u.partial {
            out.append(" (incomplete: the elements read before the error)\n")
        } else {
            out.append(" (header ")
            out.int(u.headerBytes)
            out.append(", payload ")
            out.int(u.payloadBytes)
            out.append(")\n")
        }
        for s in u.sections {
            out.spaces(pad + 2)
            out.append(s.name)
            out.append("() @")
            out.int(s.offset)
            out.byte(0x20)
            out.int(s.size)
            out.append(s.size == 1 ? " byte\n" : " bytes\n")
            for e in s.elements {
                out.spaces(pad + 4)
                elementLine(e, into: &out)
                out.byte(UInt8(ascii: "\n"))
                for d in e.derived {
                    out.spaces(pad + 6)
                    derivedLine(d, into: &out)
                    out.byte(UInt8(ascii: "\n"))
                }
            }
            for d in s.derived {
                out.spaces(pad + 4)
                derivedLine(d, into: &out)
                out.byte(UInt8(ascii: "\n"))
            }
        }
        let padText = String(repeating: " ", count: pad)
        for w in u.warnings {
            out.append("\(padText)  warning: \(w.element) at byte \(w.position.byteOffset) bit \(w.position.bitOffset): \(w.message)\n")
        }
        for p in u.problems { out.append("\(padText)  problem: \(p)\n") }
        if let h = u.hex {
            out.append("\(padText)  bytes:\n")
            out.append(hex(h, indent: padText + "    "))
        }
        for c in u.children { unit(c, into: &out) }
    }

    /// `byte.bit descriptor width bits name = value  (SYMBOL)`.
    public static func elementLine(_ e: DumpElement) -> String {
        var b = DumpBytes()
        elementLine(e, into: &b)
        return b.string
    }

    static func elementLine(_ e: DumpElement, into out: inout DumpBytes) {
        let start = out.count
        out.int(e.byteOffset)
        out.byte(UInt8(ascii: "."))
        out.int(e.bitOffset)
        let n = out.count - start
        if n > 10 { out.removeLast(n - 10) } else { out.spaces(10 - n) }
        out.byte(0x20)
        column(e.descriptor, 16, into: &out)
        let w = e.bitWidth
        out.spaces(4 - DumpBytes.decimalCount(w))
        out.int(w)
        out.append("  ")
        let raw = e.raw.isEmpty ? "-" : e.raw  // ASCII: "0101…" or "0x…"
        column(raw, Swift.max(raw.utf8.count, 16), into: &out)
        out.append("  ")
        assignment(e.name, e.value, e.symbol, into: &out)
    }

    /// `name = value`, then `  (note)` when there is one.
    static func assignment(_ name: String, _ v: FieldValue, _ note: String?, into out: inout DumpBytes) {
        out.append(name)
        out.append(" = ")
        value(v, into: &out)
        if let n = note {
            out.append("  (")
            out.append(n)
            out.byte(UInt8(ascii: ")"))
        }
    }

    /// `s` padded with spaces, or cut, to `width` UTF-16 code units (as `padded`).
    static func column(_ s: String, _ width: Int, into out: inout DumpBytes) {
        let start = out.count
        out.append(s)
        let n = out.count - start
        if !out.hasNonASCII(from: start) {
            if n > width { out.removeLast(n - width) } else { out.spaces(width - n) }
        } else {
            out.removeLast(n)
            out.append(s.padded(width))
        }
    }

    /// `-> name = value  (note)`.
    public static func derivedLine(_ d: DumpDerived) -> String {
        var b = DumpBytes()
        derivedLine(d, into: &b)
        return b.string
    }

    static func derivedLine(_ d: DumpDerived, into out: inout DumpBytes) {
        out.append("-> ")
        assignment(d.name, d.value, d.note, into: &out)
    }

    /// A value as the text format writes it: numbers plain, strings quoted with JSON escapes,
    /// byte strings in hex, lists in brackets.
    public static func value(_ v: FieldValue) -> String {
        var b = DumpBytes()
        value(v, into: &b)
        return b.string
    }

    static func value(_ v: FieldValue, into out: inout DumpBytes) {
        switch v {
        case let .int(i): out.int(i)
        case let .float(f): out.append(String(f))
        case let .string(s): out.jsonString(s)
        case let .bytes(b):
            out.append("0x")
            for x in b { out.hex2(x) }
        case let .list(l):
            out.byte(UInt8(ascii: "["))
            for (i, x) in l.enumerated() {
                if i > 0 { out.append(", ") }
                value(x, into: &out)
            }
            out.byte(UInt8(ascii: "]"))
        }
    }

    static func quoted(_ s: String) -> String {
        var out = ""
        JSONValue.escape(s, into: &out)
        return out
    }

    /// A name as one token: as it is when it has no spaces, quotes or control characters.
    static func token(_ s: String) -> String {
        if s.isEmpty { return "-" }
        if s == "-" || s.unicodeScalars.contains(where: { $0.value <= 0x20 || $0 == "\"" || $0 == "\\" || $0.value == 0x7F }) {
            return quoted(s)
        }
        return s
    }

    /// Hex rows: `offset  16 bytes  |ascii|`, aligned to file offsets that are multiples of 16.
    public static func hex(_ h: DumpHexBlock, indent: String) -> String {
        var out = ""
        var markShown = false
        for row in h.rows {
            var line = indent + String(row.offset, radix: 16).zeroPadded(8) + "  "
            var ascii = ""
            for col in 0..<16 {
                if col == 8 { line += " " }
                let k = col - row.column
                if k >= 0 && k < row.bytes.count {
                    let b = row.bytes[row.bytes.startIndex + k]
                    line += String(format2hex: b) + " "
                    ascii.append(b >= 0x20 && b < 0x7F ? Character(Unicode.Scalar(b)) : ".")
                } else {
                    line += "   "
                    ascii.append(" ")
                }
            }
            out += line + " |" + ascii + "|\n"
            if let m = h.mark, m >= row.offset && m < row.offset + 16 {
                let col = m - row.offset
                out += indent + String(repeating: " ", count: 10 + 3 * col + (col >= 8 ? 1 : 0)) + "^^\n"
                markShown = true
            }
        }
        if let m = h.mark, !markShown {
            out += indent + "(byte \(m) is past the last byte shown: end of the file)\n"
        }
        if h.omitted > 0 { out += indent + "... \(h.omitted) more bytes (--hex-all shows them)\n" }
        return out
    }

    // MARK: Tensors

    public static func tensors(_ f: DumpFile) -> String {
        guard !f.tensors.isEmpty else { return "" }
        var out = "\ntensors: \(f.tensors.count)\n"
        let header = ["#", "unit", "name", "shape", "type", "QP", "step size", "DQ", "bytes", "bits/param", "share"]
        var rows: [[String]] = [header]
        for t in f.tensors {
            let approx = t.bitsExact ? "" : "~"
            rows.append([
                String(t.index), String(t.unitIndex), token(t.name) + (t.role.map { " (\($0))" } ?? ""),
                "[" + t.shape.map(String.init).joined(separator: ", ") + "]",
                t.payloadType + (t.codebookSize.map { " cb\($0)" } ?? ""),
                t.qp.map(String.init) ?? "-", t.stepSize.map { String($0) } ?? "-",
                t.dq ? "on" : "off",
                t.bytes.map { approx + String($0) } ?? "-",
                t.bitsPerParameter.map { approx + String(format: "%.3f", $0) } ?? "-",
                t.share.map { approx + String(format: "%.2f%%", $0 * 100) } ?? "-",
            ])
        }
        out += table(rows, indent: "  ")
        if f.tensors.contains(where: { $0.bits == nil }) {
            out += "  (bytes of the tensors of a multi-tensor NDU are known after decoding: --stats)\n"
        }
        for t in f.tensors {
            if let cb = t.codebook {
                out += "  \(t.index) \(token(t.name)): codebook \(value(.list(cb.entries.map { .int($0) }))), CbZeroOffset \(cb.cbZeroOffset)\n"
            }
        }
        for t in f.tensors {
            guard let s = t.stats else { continue }
            out += "\n  stats \(t.index) \(token(t.name)): levels \(s.minLevel)..\(s.maxLevel), zeros "
            out += String(format: "%.2f%%", s.zeroFraction * 100) + " (\(s.zeros) of \(s.count))"
            if let snr = s.snrDB {
                out += snr.isInfinite && snr > 0 ? ", SNR inf (identical to the reference)" : ", SNR " + String(format: "%.2f dB", snr)
            } else if let n = s.snrNote {
                out += ", no SNR: \(n)"
            }
            out += "\n"
            let most = s.histogram.map(\.count).max() ?? 0
            let labelWidth = s.histogram.map(\.label.count).max() ?? 0
            let countWidth = s.histogram.map { String($0.count).count }.max() ?? 0
            for b in s.histogram {
                let bar = most > 0 ? String(repeating: "#", count: Int((Double(b.count) / Double(most) * 40).rounded(.up))) : ""
                out += "    " + b.label.leftPadded(labelWidth) + "  " + String(b.count).leftPadded(countWidth) + (bar.isEmpty ? "" : " " + bar) + "\n"
            }
        }
        return out
    }

    static func table(_ rows: [[String]], indent: String) -> String {
        guard let first = rows.first else { return "" }
        var widths = [Int](repeating: 0, count: first.count)
        for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = Swift.max(widths[i], c.count) } }
        var out = ""
        for r in rows {
            var line = indent
            for (i, c) in r.enumerated() {
                line += i + 1 == r.count ? c : c.padding(toLength: widths[i] + 2, withPad: " ", startingAt: 0)
            }
            out += line + "\n"
        }
        return out
    }

    // MARK: Trace

    /// The column legend printed before the trace lines.
    public static func traceHeader() -> String {
        "\ntrace: unit tensor pos row,col dq ctx bins element = value\n"
    }

    /// One payload syntax element: `unit tensor pos row,col dq ctx bins element = value`, with `-`
    /// where a column does not apply.
    public static func traceLine(_ l: DumpTraceLine) -> String {
        let w = DumpTraceWriter()
        w.append(l)
        var bytes = w.take()
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func traceFooter(_ f: DumpFile) -> String {
        var s = "trace: \(f.traceLineCount) lines"
        if f.traceTruncated { s += " (stopped at --limit)" }
        return s + "\n"
    }

    // MARK: Errors

    public static func failure(_ f: DumpFile) -> String {
        guard let x = f.failure else { return "" }
        let e = x.error
        var out = "\nerror (\(x.stage)) at byte \(e.position.byteOffset) bit \(e.position.bitOffset)"
        if let u = e.unitIndex { out += ", unit \(u)" }
        out += ", \(e.element): \(e.reasonText)\n"
        out += hex(x.window, indent: "  ")
        return out
    }
}

/// Writes trace lines as UTF-8 bytes (a full trace can be tens of millions of lines).
public final class DumpTraceWriter {
    private var buffer: [UInt8] = []
    private var lastName: String?
    private var lastToken: [UInt8] = []

    public init() { buffer.reserveCapacity(1 << 17) }

    /// Bytes written and not taken yet.
    public var count: Int { buffer.count }

    /// Appends one line and its newline.
    public func append(_ l: DumpTraceLine) {
        if l.tensor != lastName {
            lastName = l.tensor
            lastToken = Array(DumpTextRenderer.token(l.tensor).utf8)
        }
        var b: [UInt8] = []
        swap(&b, &buffer)
        Self.int(Int64(l.unitIndex), &b)
        b.append(0x20)
        b.append(contentsOf: lastToken)
        b.append(0x20)
        Self.optional(l.position, &b)
        b.append(0x20)
        if l.row >= 0 {
            Self.int(Int64(l.row), &b)
            b.append(UInt8(ascii: ","))
            Self.int(Int64(l.column), &b)
        } else {
            b.append(UInt8(ascii: "-"))
        }
        b.append(0x20)
        Self.optional(l.dqState, &b)
        b.append(0x20)
        Self.optional(l.context, &b)
        b.append(0x20)
        if l.bins.isEmpty { b.append(UInt8(ascii: "-")) } else { b.append(contentsOf: l.bins.utf8) }
        b.append(0x20)
        b.append(contentsOf: l.element.utf8)
        b.append(0x20)
        b.append(UInt8(ascii: "="))
        b.append(0x20)
        Self.int(l.value, &b)
        b.append(UInt8(ascii: "\n"))
        swap(&b, &buffer)
    }

    /// The bytes written so far; the writer starts empty again.
    public func take() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1 << 17)
        swap(&out, &buffer)
        return out
    }

    private static func optional(_ v: Int, _ b: inout [UInt8]) {
        if v >= 0 { int(Int64(v), &b) } else { b.append(UInt8(ascii: "-")) }
    }

    private static func int(_ v: Int64, _ b: inout [UInt8]) {
        if v < 0 { b.append(UInt8(ascii: "-")) }
        var m = v.magnitude
        if m == 0 {
            b.append(UInt8(ascii: "0"))
            return
        }
        var i = b.count
        while m > 0 {
            b.append(UInt8(truncatingIfNeeded: m % 10) + UInt8(ascii: "0"))
            m /= 10
        }
        var j = b.count - 1
        while i < j {
            b.swapAt(i, j)
            i += 1
            j -= 1
        }
    }
}

fileprivate extension String {
    /// Foundation's `padding(toLength:withPad: " ", startingAt: 0)` (UTF-16 length, cut when
    /// longer) without its cost: it is called for every element line.
    func padded(_ n: Int) -> String {
        let u = utf16.count
        if u == n { return self }
        if u > n { return String(decoding: Array(utf16.prefix(n)), as: UTF16.self) }
        return self + String(repeating: " ", count: n - u)
    }

    func zeroPadded(_ n: Int) -> String {
        count >= n ? self : String(repeating: "0", count: n - count) + self
    }

    func leftPadded(_ n: Int) -> String {
        count >= n ? self : String(repeating: " ", count: n - count) + self
    }
}
