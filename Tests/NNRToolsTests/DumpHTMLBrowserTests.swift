import Foundation
import XCTest
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRTools
import NNRTestSupport

/// `nnr dump --format html` pages opened in headless Chromium (`--dump-dom`, with `#selftest`, which
/// opens every unit, selects fields, bytes and tensors): one `data-unit-index` per unit and one
/// `data-tensor-name` per tensor of the JSON dump, inline SVG charts, no script error (recorded by
/// the page and on the console), and hostile names shown as text. Skips without Chromium.
final class DumpHTMLBrowserTests: XCTestCase {
    /// Chromium: $NNR_CHROMIUM, or chromium / chromium-browser / google-chrome on PATH.
    static var chromium: String? {
        if let c = ProcessInfo.processInfo.environment["NNR_CHROMIUM"], FileManager.default.isExecutableFile(atPath: c) { return c }
        for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
            if let p = DumpParsing.findExecutable(name) { return p }
        }
        return nil
    }

    static let noBrowser = "chromium not found (Debian: apt-get install chromium; or set NNR_CHROMIUM): the HTML pages are not opened in a browser"

    struct Page {
        var dom: String
        /// Lines Chromium logged from the page's console (script errors, CSP refusals, …).
        var console: [String]
    }

    /// Writes the page to a temporary file and returns the DOM Chromium rendered from it.
    func open(_ html: String, fragment: String = "selftest") throws -> Page {
        guard let browser = Self.chromium else { throw XCTSkip(Self.noBrowser) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nnr-html-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("page.html")
        try Data(html.utf8).write(to: file)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: browser)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                       "--user-data-dir=" + dir.appendingPathComponent("profile").path,
                       "--enable-logging=stderr", "--v=0", "--dump-dom", file.absoluteString + "#" + fragment]
        // Standard error goes to a file, standard output is read while the browser runs.
        let errURL = dir.appendingPathComponent("stderr.txt")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let err = try FileHandle(forWritingTo: errURL)
        defer { try? err.close() }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let killer = DispatchWorkItem { if p.isRunning { p.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 90, execute: killer)
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        killer.cancel()
        let errData = (try? Data(contentsOf: errURL)) ?? Data()
        let console = String(decoding: errData, as: UTF8.self).split(separator: "\n").map(String.init).filter { $0.contains(":CONSOLE") }
        let dom = String(decoding: outData, as: UTF8.self)
        XCTAssertFalse(dom.isEmpty, "chromium printed no DOM (exit \(p.terminationStatus)): \(String(decoding: errData, as: UTF8.self).suffix(2000))")
        return Page(dom: dom, console: console)
    }

    /// Values of `attribute="…"` in the DOM, unescaped.
    static func attributeValues(_ attribute: String, in dom: String) -> [String] {
        var out: [String] = []
        var rest = dom[...]
        let marker = " \(attribute)=\""
        while let r = rest.range(of: marker) {
            let after = rest[r.upperBound...]
            guard let end = after.firstIndex(of: "\"") else { break }
            out.append(unescape(String(after[..<end])))
            rest = after[end...]
        }
        return out
    }

    static func unescape(_ s: String) -> String {
        s.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    /// Unit indices and tensor names of the JSON dump (units of NNR_AGG and the partial unit too).
    static func expected(_ report: DumpReport) throws -> (units: [Int], tensors: [String]) {
        let text = DumpJSONRenderer.render(report).serialized(indent: 0)
        let top = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let files = (top["files"] as? [[String: Any]]) ?? [top]
        var units: [Int] = [], tensors: [String] = []
        func add(_ u: [String: Any]) {
            if let i = u["index"] as? Int { units.append(i) }
            for c in (u["units"] as? [[String: Any]]) ?? [] { add(c) }
        }
        for f in files {
            for u in (f["units"] as? [[String: Any]]) ?? [] { add(u) }
            if let p = f["partial_unit"] as? [String: Any] { add(p) }
            for t in (f["tensors"] as? [[String: Any]]) ?? [] { tensors.append(t["name"] as? String ?? "?") }
        }
        return (units, tensors)
    }

    /// Renders, opens and checks one report; returns the page for more checks.
    @discardableResult
    func check(_ report: DumpReport, sources: [NNRByteSource], _ name: String) throws -> Page {
        let html = DumpHTMLRenderer.render(report, sources: sources)
        let page = try open(html)
        let dom = page.dom
        XCTAssertTrue(dom.contains("data-render=\"done\""), "\(name): the script did not finish")
        XCTAssertTrue(dom.contains("data-selftest=\"ok "), "\(name): the self-test did not run")
        XCTAssertFalse(dom.contains(" data-script-errors=\""), "\(name): \(Self.attributeValues("data-script-errors", in: dom))")
        XCTAssertEqual(page.console, [], "\(name): console messages")
        let (units, tensors) = try Self.expected(report)
        XCTAssertEqual(Self.attributeValues("data-unit-index", in: dom).compactMap { Int($0) }, units, "\(name): units")
        XCTAssertEqual(Self.attributeValues("data-tensor-name", in: dom), tensors, "\(name): tensors")
        XCTAssertTrue(dom.contains("<svg class=\"chart"), "\(name): no inline SVG chart")
        // The self-test opened every unit: its fields are rendered rows.
        let fieldRows = dom.components(separatedBy: "<tr class=\"f").count - 1
        let elements = report.files.flatMap { f in (f.flatUnits + (f.partialUnit.map { [$0] } ?? [])).flatMap { $0.sections.map(\.elements.count) } }
        XCTAssertEqual(fieldRows, elements.reduce(0, +), "\(name): field rows")
        XCTAssertFalse(dom.contains("http://") || dom.contains("https://"), "\(name): a network reference")
        print("html \(name): \(html.utf8.count) bytes, \(units.count) units, \(tensors.count) tensors, \(fieldRows) field rows")
        return page
    }

    func dump(_ paths: [URL], stats: Bool) throws -> (DumpReport, [NNRByteSource]) {
        let sources = try paths.map { try NNRByteSource(contentsOf: $0) }
        let report = NNRDump.dump(zip(paths, sources).map { ($0.path, $1) }, options: DumpOptions(stats: stats))
        return (report, sources)
    }

    func testConformanceVectorPages() throws {
        if Self.chromium == nil { throw XCTSkip(Self.noBrowser) }
        let cases: [(String, [String], Bool)] = [
            ("m_torch_smallcnn_blocks", ["bitstream.nnc"], true),   // NNR_PT_BLOCK units
            ("m_minilm_layer0_qp-38", ["bitstream.nnc"], false),    // many tensors, 1.4 MB
            ("t2d_codebook_qp-20", ["bitstream.nnc"], true),        // a codebook
            ("inc_tca_diff_tensor", ["step0.nnc", "step1.nnc"], true), // an incremental sequence
        ]
        var opened = 0
        for (name, files, stats) in cases {
            guard let dir = Vectors.sharedCase(name) else { throw XCTSkip(Vectors.skipReasonNoShared()) }
            let (report, sources) = try dump(files.map { dir.appendingPathComponent($0) }, stats: stats)
            XCTAssertFalse(report.hasError, name)
            let page = try check(report, sources: sources, name)
            if stats { XCTAssertTrue(page.dom.contains("<svg class=\"chart hist\""), "\(name): no level histogram") }
            opened += 1
        }
        XCTAssertEqual(opened, cases.count)
    }

    /// A file cut inside an NDU: the units before it, the partial unit, and the error at its offset.
    func testMalformedFilePage() throws {
        guard let dir = Vectors.sharedCase("m_torch_smallcnn_blocks") else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        let bytes = try Array(Data(contentsOf: dir.appendingPathComponent("bitstream.nnc")))
        let source = NNRByteSource(bytes: Array(bytes[0..<700]))
        let report = NNRDump.dump([("cut.nnc", source)], options: DumpOptions())
        let failure = try XCTUnwrap(report.files.first?.failure)
        XCTAssertNotNil(report.files.first?.partialUnit)
        let page = try check(report, sources: [source], "cut at 700")
        XCTAssertTrue(page.dom.contains("<div class=\"error\" data-byte=\"\(failure.error.position.byteOffset)\" data-bit=\"\(failure.error.position.bitOffset)\">"))
        XCTAssertTrue(page.dom.contains("class=\"unit t-NNR_NDU partial\""))
        XCTAssertTrue(page.dom.contains(HTMLEscape.text(failure.error.reasonText)))
    }

    /// `nnr check --format html` of the same cut file: the dump page with one row per violation,
    /// each clickable (the self-test clicks them), and no script error.
    func testCheckPage() throws {
        guard let dir = Vectors.sharedCase("m_torch_smallcnn_blocks") else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        let bytes = try Array(Data(contentsOf: dir.appendingPathComponent("bitstream.nnc")))
        let source = NNRByteSource(bytes: Array(bytes[0..<700]))
        var checker = ConformanceChecker()
        let report = checker.check(source, path: "cut <700>.nnc")
        XCTAssertFalse(report.violations.isEmpty)
        let page = try open(CheckHTMLRenderer.render([report], sources: [source]))
        XCTAssertTrue(page.dom.contains("data-selftest=\"ok "))
        XCTAssertFalse(page.dom.contains(" data-script-errors=\""), "\(Self.attributeValues("data-script-errors", in: page.dom))")
        XCTAssertEqual(page.console, [])
        XCTAssertEqual(Self.attributeValues("data-rule", in: page.dom), report.violations.map(\.ruleID))
        XCTAssertEqual(Self.attributeValues("data-unit-index", in: page.dom).count,
                       NNRDump.structure(path: "", source: source, options: DumpOptions()).flatUnits.count + 1)
        XCTAssertTrue(page.dom.contains("cut &lt;700&gt;.nnc"))
    }

    /// A tensor named `<script>alert(1)</script>` in a file named like an image with an onerror
    /// handler: both appear as text, nothing of them runs, and the page has only its own scripts.
    func testHostileNamesAreText() throws {
        guard let dir = Vectors.sharedCase("t2d_uniform_qp-32_dq") else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        let name = "<script>alert(1)</script>"
        let path = "<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','1')\">.nnc"
        let source = NNRByteSource(bytes: try DumpParsing.renamedTensor(dir.appendingPathComponent("bitstream.nnc"), to: name))
        let report = NNRDump.dump([(path, source)], options: DumpOptions(stats: true))
        XCTAssertFalse(report.hasError)
        XCTAssertEqual(report.files.first?.tensors.first?.name, name)
        let page = try check(report, sources: [source], "hostile names")
        let dom = page.dom
        XCTAssertFalse(dom.contains("data-pwned=\""))
        XCTAssertFalse(dom.contains("<script>alert"))
        XCTAssertFalse(dom.contains("<img"))
        XCTAssertTrue(dom.contains("<td class=\"name\">&lt;script&gt;alert(1)&lt;/script&gt;</td>"))
        XCTAssertTrue(dom.contains("&lt;img src=x onerror="))
        // Only the page's own script elements: one data block per unit and per file, and the script.
        let units = report.files.reduce(0) { $0 + $1.flatUnits.count }
        XCTAssertEqual(dom.components(separatedBy: "<script").count - 1, units + report.files.count + 1)
    }
}

/// HTML text escaping as the page writes it (for comparing with the DOM Chromium serialises).
enum HTMLEscape {
    static func text(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
