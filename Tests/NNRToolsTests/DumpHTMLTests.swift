import Foundation
import XCTest
import NNRContainer
import NNRModelIO
import NNRTools
import NNRTestSupport

/// The HTML page as text (no browser): hostile names only escaped, data blocks that cannot end
/// their element, a policy that names the page's own script, nothing fetched; and the XML dump
/// written in pieces equals the XML written at once.
final class DumpHTMLTests: XCTestCase {
    func hostileReport() throws -> (DumpReport, NNRByteSource) {
        guard let dir = Vectors.sharedCase("t2d_uniform_qp-32_dq") else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        let name = "</script><script>alert(1)</script>\u{2028}&amp;\"'"
        let source = NNRByteSource(bytes: try DumpParsing.renamedTensor(dir.appendingPathComponent("bitstream.nnc"), to: name))
        return (NNRDump.dump([("<b onmouseover=alert(2)>x.nnc", source)], options: DumpOptions(stats: true)), source)
    }

    func testHostileNamesAreEscapedInThePageText() throws {
        let (report, source) = try hostileReport()
        let html = DumpHTMLRenderer.render(report, sources: [source])
        XCTAssertFalse(html.contains("<script>alert"))
        XCTAssertFalse(html.contains("</script><script>"))
        XCTAssertFalse(html.contains("<b onmouseover"))
        XCTAssertTrue(html.contains("data-tensor-name=\"&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;\u{2028}&amp;amp;&quot;&#39;\""))
        XCTAssertTrue(html.contains("&lt;b onmouseover=alert(2)&gt;x.nnc"))
        // In the JSON data blocks: \u003c, never a raw '<' inside a block.
        XCTAssertTrue(html.contains("\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e\\u2028\\u0026amp;"))
        for block in html.components(separatedBy: "<script type=\"application/json\" class=\"ud\">").dropFirst() {
            let body = try XCTUnwrap(block.components(separatedBy: "</script>").first)
            XCTAssertFalse(body.contains("<"))
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(body.utf8)))
        }
        // Exactly one script that runs, and the policy admits it by its hash.
        let scripts = html.components(separatedBy: "<script>")
        XCTAssertEqual(scripts.count, 2)
        let script = try XCTUnwrap(scripts.last?.components(separatedBy: "</script>").first)
        var h = SHA256()
        h.update(Array(script.utf8))
        let hash = "'sha256-" + Data(h.finalize()).base64EncodedString() + "'"
        XCTAssertTrue(html.contains("content=\"default-src 'none'; script-src \(hash); style-src 'sha256-"))
        XCTAssertFalse(script.contains("innerHTML"))
        XCTAssertFalse(script.contains("eval("))
        XCTAssertFalse(html.contains("http://") || html.contains("https://"))
        // The bytes, in base64.
        XCTAssertTrue(html.contains(source.data.base64EncodedString()))
    }

    /// A payload that fails to decode under --stats: the units are all there, the error once, at
    /// its offset, and the data blocks still parse.
    func testPayloadFailureIsShownOnce() throws {
        guard let dir = Vectors.sharedCase("m_torch_smallcnn_blocks") else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        var bytes = try Array(Data(contentsOf: dir.appendingPathComponent("bitstream.nnc")))
        bytes[300] ^= 0x5A
        let source = NNRByteSource(bytes: bytes)
        let report = NNRDump.dump([("corrupt", source)], options: DumpOptions(stats: true))
        let failure = try XCTUnwrap(report.files.first?.failure)
        XCTAssertEqual(failure.stage, "payload")
        let html = DumpHTMLRenderer.render(report, sources: [source])
        XCTAssertEqual(html.components(separatedBy: "<div class=\"error\"").count, 2)
        XCTAssertTrue(html.contains("<div class=\"error\" data-byte=\"\(failure.error.position.byteOffset)\" data-bit=\"\(failure.error.position.bitOffset)\">"))
        XCTAssertEqual(html.components(separatedBy: " data-unit-index=\"").count - 1, report.files[0].flatUnits.count)
    }

    func testXMLWrittenInPiecesEqualsXMLWrittenAtOnce() throws {
        guard let dir = Vectors.sharedCase("inc_tca_diff_tensor") else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        let inputs = try ["step0.nnc", "step1.nnc"].map { f -> (path: String, source: NNRByteSource) in
            (f, try NNRByteSource(contentsOf: dir.appendingPathComponent(f)))
        }
        let report = NNRDump.dump(inputs, options: DumpOptions(stats: true))
        let w = DumpXMLStream()
        var pieces: [String] = []
        w.begin()
        for f in report.files {
            w.beginFile(f)
            pieces.append(w.take())
            for u in f.units {
                w.unit(u)
                pieces.append(w.take())
            }
            w.endFile(f)
        }
        pieces.append(w.end())
        XCTAssertGreaterThan(pieces.filter { !$0.isEmpty }.count, 8)
        XCTAssertEqual(pieces.joined(), DumpXMLRenderer.render(report))
    }

    /// `nnr dump --format html -o OUT` writes the page to OUT (exit 0), and a cut file's page too
    /// (exit 1, the page still written); `nnr check --format html` prints its page.
    func testCommandLineWritesThePage() throws {
        guard let exe = CheckJUnitTests.nnrExecutable else { throw XCTSkip("the nnr executable was not built beside the tests") }
        guard let dir = Vectors.sharedCase("t2d_codebook_qp-20") else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("nnr-html-cli-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        func run(_ args: [String]) throws -> (Int32, Data) {
            let p = Process()
            p.executableURL = exe
            p.arguments = args
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, data)
        }
        let page = tmp.appendingPathComponent("page.html")
        let (status, stdout) = try run(["dump", "--format", "html", "--stats", dir.appendingPathComponent("bitstream.nnc").path, "-o", page.path])
        XCTAssertEqual(status, 0)
        XCTAssertTrue(stdout.isEmpty)
        let html = try String(contentsOf: page, encoding: .utf8)
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(html.contains("<svg class=\"chart hist\""))
        XCTAssertTrue(html.hasSuffix("</html>\n"))

        let cut = tmp.appendingPathComponent("cut.nnc")
        try Data(try Data(contentsOf: dir.appendingPathComponent("bitstream.nnc")).prefix(100)).write(to: cut)
        let cutPage = tmp.appendingPathComponent("cut.html")
        XCTAssertEqual(try run(["dump", "--format", "html", cut.path, "-o", cutPage.path]).0, 1)
        XCTAssertTrue(try String(contentsOf: cutPage, encoding: .utf8).contains("<div class=\"error\""))
        let (checkStatus, checkPage) = try run(["check", "--format", "html", cut.path])
        XCTAssertEqual(checkStatus, 1)
        XCTAssertTrue(String(decoding: checkPage, as: UTF8.self).contains("<tr class=\"violation\""))
    }
}
