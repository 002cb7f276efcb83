import Foundation
import XCTest
import NNRConformanceGenerator
import NNRTestSupport

/// The stored negative conformance vectors (Conformance/negative/<rule>.nnc, each breaking one
/// rule of a small valid vector) and Conformance/manifest.json are what the generator
/// (Tools/ConformanceGenerator) builds today; `Tools/make-conformance-vectors.sh --negative`
/// rewrites them.
final class ConformanceSuiteGeneratorTests: XCTestCase {
    func testNegativeVectorsAndManifestAreUpToDate() throws {
        let root = Vectors.repoRoot.appendingPathComponent("Conformance", isDirectory: true)
        let suite = try ConformanceSuiteBuilder(root: root).build()
        XCTAssertFalse(suite.files.isEmpty)
        XCTAssertEqual(suite.differences(from: root), [], "run Tools/make-conformance-vectors.sh --negative")
    }

    /// The comparison finds each kind of staleness (a copy of the suite, then altered).
    func testDifferencesReportsStaleFiles() throws {
        let root = Vectors.repoRoot.appendingPathComponent("Conformance", isDirectory: true)
        let suite = try ConformanceSuiteBuilder(root: root).build()
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("nnr-conformance-\(UUID().uuidString)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: copy) }
        try suite.write(to: copy)
        XCTAssertEqual(suite.differences(from: copy), [])
        let first = try XCTUnwrap(suite.files.first).path
        try Data([0]).write(to: copy.appendingPathComponent(first))
        try Data([0]).write(to: copy.appendingPathComponent("negative/extra.nnc"))
        try Data("{}".utf8).write(to: copy.appendingPathComponent("manifest.json"))
        XCTAssertEqual(suite.differences(from: copy), [
            "\(first): differs from the generator's output",
            "negative/extra.nnc: not built by the generator",
            "manifest.json: stale",
        ])
        try suite.write(to: copy)
        XCTAssertEqual(suite.differences(from: copy), [], "write() removes vectors it no longer builds")
    }
}
