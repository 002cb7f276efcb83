import Foundation
import XCTest
import NNRBitIO
import NNRContainer
import NNRCodec
import NNRModelIO
import NNRTools
import NNRTestSupport

/// decode, `dump --format json` and `check --format json` run the same decoding session: on every
/// bitstream of ../shared/conformance and Conformance/vectors (every step of incremental
/// sequences, decoded in order) they list the same tensors, names and shapes in order.
final class OneDecodingPathTests: XCTestCase {
    /// Case folders of both suites, each as its bitstreams in decoding order.
    static func sequences() -> [[URL]] {
        var dirs = Vectors.allSharedCases()
        let bundled = Vectors.bundledConformance
        let names = (try? FileManager.default.contentsOfDirectory(atPath: bundled.path)) ?? []
        dirs += names.sorted().map { bundled.appendingPathComponent($0, isDirectory: true) }
        return dirs.map { CaseFiles.bitstreams(of: $0).map(\.bitstream) }
            .filter { $0.allSatisfy { FileManager.default.fileExists(atPath: $0.path) } }
    }

    /// (name, shape) pairs of a JSON `tensors` array.
    static func listed(_ v: JSONValue?) -> [String] {
        guard case let .array(items)? = v else { return [] }
        return items.map { t in "\(t["name"].map { "\($0)" } ?? "?") \(t["shape"].map { "\($0)" } ?? "?")" }
    }

    func testDecodeDumpAndCheckListTheSameTensors() throws {
        let sequences = Self.sequences()
        if Vectors.sharedConformance == nil { print(Vectors.skipReasonNoShared()) }
        XCTAssertGreaterThan(sequences.count, 20)
        var bitstreams = 0, tensors = 0
        for files in sequences {
            let sources = try files.map { try NNRByteSource(contentsOf: $0) }
            var decoder = NNRDecoder(options: DecoderOptions(keepLevels: false))
            var checker = ConformanceChecker()
            let dumped = NNRDump.dump(zip(files, sources).map { ($0.0.path, $0.1) }, options: DumpOptions())
            for (k, source) in sources.enumerated() {
                let decoded = try decoder.decode(source).tensors.map { t -> String in
                    "\(JSONValue.string(t.name)) \(JSONValue.array(t.tensor.shape.map { .int($0) }))"
                }
                let dump = Self.listed(DumpJSONRenderer.file(dumped.files[k])["tensors"])
                let check = Self.listed(CheckRendering.json(checker.check(source, path: files[k].path))["tensors"])
                XCTAssertEqual(dump, decoded, files[k].path)
                XCTAssertEqual(check, decoded, files[k].path)
                XCTAssertFalse(decoded.isEmpty, files[k].path)
                bitstreams += 1
                tensors += decoded.count
            }
        }
        print("one decoding path: \(bitstreams) bitstreams, \(tensors) tensors listed alike by decode, dump and check")
    }

    /// A tensor name twice in a bitstream: decode refuses it (exit 1), check reports NNR-O007.
    func testDuplicateNameIsRefusedByDecodeAndReportedByCheck() throws {
        let url = Vectors.repoRoot.appendingPathComponent("Conformance/negative/NNR-O007.nnc")
        let source = try NNRByteSource(contentsOf: url)
        var decoder = NNRDecoder()
        XCTAssertThrowsError(try decoder.decode(source)) { e in
            XCTAssertEqual((e as? NNRError)?.reason, .invalidValue("tensor tiny appears more than once in the bitstream"))
            XCTAssertEqual((e as? NNRError)?.element, "topology_elem_id")
        }
        var checker = ConformanceChecker()
        let report = checker.check(source, path: url.path)
        XCTAssertEqual(report.violatedRuleIDs, [CheckRules.tensorNameOnce])
    }

    /// A 65,536-byte tensor name (the parser's string limit, one byte more than a ZIP name holds):
    /// decode refuses it as a limit (exit 1, before writing anything), check reports NNR-H012.
    func testOverlongNameIsRefusedByDecodeAndReportedByCheck() throws {
        let name = String(repeating: "n", count: 65_536)
        var o = EncoderOptions()
        o.concurrent = false
        let encoded = try NNREncoder(options: o).encode([Tensor(name: name, shape: [2, 2], float32: [0.5, -0.25, 0, 1])])
        let source = NNRByteSource(bytes: encoded.bytes)
        var decoder = NNRDecoder()
        XCTAssertThrowsError(try decoder.decode(source)) { e in
            XCTAssertEqual((e as? NNRError)?.reason, .limitExceeded("tensor name of 65536 bytes (at most 65535)"))
            XCTAssertEqual((e as? NNRError)?.element, "topology_elem_id")
        }
        var checker = ConformanceChecker()
        XCTAssertEqual(checker.check(source, path: "long-name").violatedRuleIDs, [CheckRules.limits])
    }
}
