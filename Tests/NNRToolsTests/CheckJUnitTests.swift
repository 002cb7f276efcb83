import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
import NNRContainer
import NNRModelIO
import NNRTools
import NNRTestSupport

/// JUnit XML reports (parsed back with XMLDocument) and the `nnr check` command line: output
/// formats and exit codes.
final class CheckJUnitTests: XCTestCase {
    static var root: URL { Vectors.repoRoot.appendingPathComponent("Conformance", isDirectory: true) }

    func reports() throws -> [FileCheckReport] {
        var checker = ConformanceChecker()
        let good = Self.root.appendingPathComponent("vectors/t_tiny_1x1/bitstream.nnc")
        let reference = try loadNPZOrdered(Self.root.appendingPathComponent("vectors/t_tiny_1x1/decoded.npz"))
        var wrong = reference
        wrong[0].storage[1] ^= 0x10
        let r1 = try checker.check(url: good, reference: reference, referencePath: "decoded.npz")
        checker = ConformanceChecker()
        let r2 = try checker.check(url: good, reference: wrong, referencePath: "wrong <&> \"ref\".npz")
        checker = ConformanceChecker()
        let bad = try Data(contentsOf: Self.root.appendingPathComponent("negative/NNR-H018.nnc"))
        let r3 = checker.check(NNRByteSource(data: bad), path: "odd <name> & \"quotes\" 'x'\u{1}.nnc")
        checker = ConformanceChecker()
        let r4 = try checker.check(url: Self.root.appendingPathComponent("negative/NNR-C003.nnc"))
        return [r1, r2, r3, r4]
    }

    func testJUnitXMLParsesWithTheExpectedStructure() throws {
        let reports = try reports()
        let xml = JUnitReport.xml(reports, timestamp: Date(timeIntervalSince1970: 0))
        let doc = try XMLDocument(xmlString: xml, options: [])
        guard let root = doc.rootElement() else { return XCTFail("no root element") }
        XCTAssertEqual(root.name, "testsuites")
        let suites = root.elements(forName: "testsuite")
        XCTAssertEqual(suites.count, reports.count)
        var totalTests = 0, totalFailures = 0
        for (suite, report) in zip(suites, reports) {
            XCTAssertEqual(suite.attribute(forName: "name")?.stringValue, report.path.replacingOccurrences(of: "\u{1}", with: "\u{FFFD}"))
            let cases = suite.elements(forName: "testcase")
            let expectedCases = CheckRules.all.count + (report.referencePath == nil ? 0 : report.tensors.count + report.missingTensors.count)
            XCTAssertEqual(cases.count, expectedCases)
            XCTAssertEqual(suite.attribute(forName: "tests")?.stringValue, String(cases.count))
            let failing = cases.filter { !$0.elements(forName: "failure").isEmpty }
            XCTAssertEqual(suite.attribute(forName: "failures")?.stringValue, String(failing.count))
            totalTests += cases.count
            totalFailures += failing.count
            // Every rule is a test case, named by its ID.
            for rule in CheckRules.all {
                XCTAssertTrue(cases.contains { ($0.attribute(forName: "name")?.stringValue ?? "").hasPrefix(rule.id + " ") }, rule.id)
            }
            let failedRules = failing.compactMap { $0.attribute(forName: "name")?.stringValue }.filter { $0.hasPrefix("NNR-") }
                .map { String($0.prefix(8)) }
            XCTAssertEqual(Set(failedRules), Set(report.errors.map(\.ruleID)), report.path)
            let properties = suite.elements(forName: "properties").first?.elements(forName: "property") ?? []
            XCTAssertTrue(properties.contains { $0.attribute(forName: "name")?.stringValue == "verdict" })
        }
        XCTAssertEqual(root.attribute(forName: "tests")?.stringValue, String(totalTests))
        XCTAssertEqual(root.attribute(forName: "failures")?.stringValue, String(totalFailures))

        // The reference mismatch is a failing tensor test case; the warning is system-out.
        let refCases = suites[1].elements(forName: "testcase").filter { $0.attribute(forName: "classname")?.stringValue == "nnr.check.reference" }
        XCTAssertEqual(refCases.count, 1)
        XCTAssertEqual(refCases.first?.elements(forName: "failure").count, 1)
        XCTAssertEqual(suites[1].attribute(forName: "failures")?.stringValue, "1")
        XCTAssertEqual(suites[0].attribute(forName: "failures")?.stringValue, "0")
        let h018 = suites[2].elements(forName: "testcase").first { ($0.attribute(forName: "name")?.stringValue ?? "").hasPrefix("NNR-H018") }
        let failure = h018?.elements(forName: "failure").first
        XCTAssertNotNil(failure)
        XCTAssertTrue((failure?.attribute(forName: "message")?.stringValue ?? "").contains("NNR-H018"))
        XCTAssertEqual(suites[2].attribute(forName: "name")?.stringValue, "odd <name> & \"quotes\" 'x'\u{FFFD}.nnc")
        let c003 = suites[3].elements(forName: "testcase").first { ($0.attribute(forName: "name")?.stringValue ?? "").hasPrefix("NNR-C003") }
        XCTAssertEqual(c003?.elements(forName: "failure").count, 0)
        XCTAssertTrue((c003?.elements(forName: "system-out").first?.stringValue ?? "").contains("NNR-C003 warning"))

        // Under --strict the warning fails.
        let strictDoc = try XMLDocument(xmlString: JUnitReport.xml([reports[3]], strict: true), options: [])
        XCTAssertEqual(strictDoc.rootElement()?.elements(forName: "testsuite").first?.attribute(forName: "failures")?.stringValue, "1")
    }

    /// libxml2's writer escapes markup characters and line breaks; a character XML cannot carry
    /// becomes U+FFFD, and the name reads back as written.
    func testEscape() throws {
        let name = "a<b>&\"c'\n\u{0}é"
        let xml = JUnitReport.xml([FileCheckReport(path: name, fileSize: 0)], rules: [])
        XCTAssertTrue(xml.contains("name=\"a&lt;b&gt;&amp;&quot;c'&#10;\u{FFFD}é\""), xml)
        let doc = try XMLDocument(xmlString: xml, options: [])
        let suite = doc.rootElement()?.elements(forName: "testsuite").first
        XCTAssertEqual(suite?.attribute(forName: "name")?.stringValue, "a<b>&\"c'\n\u{FFFD}é")
    }

    // MARK: The command line

    /// The built `nnr` executable beside the test bundle, or nil.
    static var nnrExecutable: URL? {
        var dirs: [URL] = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent(),
                           Bundle(for: CheckJUnitTests.self).bundleURL.deletingLastPathComponent()]
        if let arg0 = CommandLine.arguments.first { dirs.append(URL(fileURLWithPath: arg0).deletingLastPathComponent()) }
        for d in dirs {
            let candidate = d.appendingPathComponent("nnr")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    func run(_ args: [String]) throws -> Run {
        guard let exe = Self.nnrExecutable else { throw XCTSkip("the nnr executable was not built beside the tests") }
        let p = Process()
        p.executableURL = exe
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    func testCommandLineExitCodesAndJUnitFile() throws {
        let good = Self.root.appendingPathComponent("vectors/t_tiny_1x1/bitstream.nnc").path
        let ref = Self.root.appendingPathComponent("vectors/t_tiny_1x1/decoded.npz").path
        let bad = Self.root.appendingPathComponent("negative/NNR-P004.nnc").path
        let warn = Self.root.appendingPathComponent("negative/NNR-C003.nnc").path

        var r = try run(["check", good, "--reference", ref])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("31b67dba7cfd6e2d7540f9c96d90a45b8f2d44956620723024d4e1beeacd4602"), r.stdout)
        XCTAssertTrue(r.stdout.contains("matches the reference"), r.stdout)

        r = try run(["check", bad])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains("NNR-P004 error unit 3"), r.stdout)

        r = try run(["check", warn])
        XCTAssertEqual(r.status, 0)
        r = try run(["check", "--strict", warn])
        XCTAssertEqual(r.status, 1)

        r = try run(["check", good, "/nonexistent/file.nnc"])
        XCTAssertEqual(r.status, 2)
        r = try run(["check"])
        XCTAssertEqual(r.status, 2)
        r = try run(["check", good, "--reference", "/nonexistent/ref.npz"])
        XCTAssertEqual(r.status, 2)
        r = try run(["check", good, good, good, "--reference", ref, "--reference", ref])
        XCTAssertEqual(r.status, 2)

        r = try run(["check", "--list-rules"])
        XCTAssertEqual(r.status, 0)
        for rule in CheckRules.all { XCTAssertTrue(r.stdout.contains(rule.id), rule.id) }

        // An incremental sequence: the update checks only after its base.
        let step0 = Self.root.appendingPathComponent("vectors/gen_inc_tca_scan1_40x24/step0.nnc").path
        let step1 = Self.root.appendingPathComponent("vectors/gen_inc_tca_scan1_40x24/step1.nnc").path
        XCTAssertEqual(try run(["check", step1]).status, 1)
        XCTAssertEqual(try run(["check", step0, step1]).status, 0)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nnr-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let junit = dir.appendingPathComponent("report.xml")
        r = try run(["check", good, bad, "--junit", junit.path, "--format", "json"])
        XCTAssertEqual(r.status, 1)
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        XCTAssertEqual((json?["files"] as? [Any])?.count, 2)
        let doc = try XMLDocument(contentsOf: junit, options: [])
        let suites = doc.rootElement()?.elements(forName: "testsuite") ?? []
        XCTAssertEqual(suites.map { $0.attribute(forName: "name")?.stringValue ?? "" }, [good, bad])
        XCTAssertEqual(suites.map { $0.attribute(forName: "failures")?.stringValue ?? "" }, ["0", "1"])
    }
}
