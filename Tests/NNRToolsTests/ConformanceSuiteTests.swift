import Foundation
import XCTest
import NNRContainer
import NNRCodec
import NNRModelIO
import NNRTools
import NNRTestSupport

/// The conformance suite: every manifest entry gives exactly the expected report, every rule is
/// covered by a negative vector, bundled positive vectors decode bit-exactly, and (when
/// ../shared/conformance is present) every public vector conforms with the digests of case.json.
final class ConformanceSuiteTests: XCTestCase {
    struct Entry {
        var file: String
        var after: [String]
        var verdict: String
        var strictVerdict: String
        var rule: String?
        var expectedRules: [String]
        var sha256: [String: String]
    }

    static var root: URL { Vectors.repoRoot.appendingPathComponent("Conformance", isDirectory: true) }

    static func manifest() throws -> [Entry] {
        let data = try Data(contentsOf: root.appendingPathComponent("manifest.json"))
        guard let doc = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let entries = doc["entries"] as? [[String: Any]] else { throw CocoaError(.fileReadCorruptFile) }
        return entries.map { e in
            Entry(file: e["file"] as? String ?? "", after: e["after"] as? [String] ?? [], verdict: e["verdict"] as? String ?? "",
                  strictVerdict: e["strict_verdict"] as? String ?? "", rule: e["rule"] as? String,
                  expectedRules: e["expected_rules"] as? [String] ?? [], sha256: e["sha256"] as? [String: String] ?? [:])
        }
    }

    /// Checks `entry.after` then `entry.file` with one checker; the report of the last file.
    static func check(_ entry: Entry, reference: [Tensor]? = nil) throws -> FileCheckReport {
        var checker = ConformanceChecker()
        for a in entry.after { _ = try checker.check(url: root.appendingPathComponent(a)) }
        return try checker.check(url: root.appendingPathComponent(entry.file), reference: reference,
                                 referencePath: reference == nil ? nil : "reference")
    }

    func testEveryManifestEntryGivesItsExpectedReport() throws {
        let entries = try Self.manifest()
        XCTAssertGreaterThan(entries.count, CheckRules.all.count)
        var failures: [String] = []
        for e in entries {
            let r = try Self.check(e)
            if Set(r.violatedRuleIDs) != Set(e.expectedRules) {
                failures.append("\(e.file): reported \(r.violatedRuleIDs), expected \(e.expectedRules): "
                                + r.violations.map(CheckRendering.violationLine).joined(separator: " | "))
            }
            if r.conforming != (e.verdict == "conforming") { failures.append("\(e.file): verdict \(CheckRendering.verdict(r)), expected \(e.verdict)") }
            if r.passed(strict: true) != (e.strictVerdict == "conforming") {
                failures.append("\(e.file): strict verdict \(CheckRendering.verdict(r, strict: true)), expected \(e.strictVerdict)")
            }
            if e.rule == nil {
                let digests = Dictionary(r.tensors.map { ($0.name, $0.sha256) }, uniquingKeysWith: { a, _ in a })
                if digests != e.sha256 { failures.append("\(e.file): tensor digests \(digests), manifest \(e.sha256)") }
            }
        }
        XCTAssertEqual(failures, [], failures.joined(separator: "\n"))
    }

    /// Rule coverage by negative vectors: every rule has a vector that reports exactly the
    /// expected rules with that rule among them. Fails below 100%.
    func testEveryRuleHasANegativeVector() throws {
        var covered = Set<String>()
        for e in try Self.manifest() {
            guard let rule = e.rule else { continue }
            let r = try Self.check(e)
            if Set(r.violatedRuleIDs) == Set(e.expectedRules), r.violatedRuleIDs.contains(rule), e.expectedRules.first == rule {
                covered.insert(rule)
            }
        }
        let all = CheckRules.all.map(\.id)
        let missing = all.filter { !covered.contains($0) }
        let coverage = Double(all.count - missing.count) / Double(all.count)
        print("conformance rule coverage by negative vectors: \(all.count - missing.count)/\(all.count) = \(String(format: "%.1f", coverage * 100))%")
        XCTAssertEqual(missing, [], "rules without a negative vector that triggers exactly them")
        XCTAssertEqual(coverage, 1.0)
    }

    /// Manifest and folder agree: every bitstream under Conformance/vectors and negative/ has one
    /// entry, every entry's files exist, and the folder stays small.
    func testManifestListsEveryBitstreamOnce() throws {
        let entries = try Self.manifest()
        let files = entries.map(\.file)
        XCTAssertEqual(files.count, Set(files).count, "duplicate manifest entries")
        let fm = FileManager.default
        var onDisk: [String] = []
        var bytes = 0
        for sub in ["vectors", "negative"] {
            let dir = Self.root.appendingPathComponent(sub)
            guard let e = fm.enumerator(at: dir, includingPropertiesForKeys: [.fileSizeKey]) else { continue }
            for case let url as URL in e {
                bytes += (try? url.resourceValues(forKeys: [.fileSizeKey]).fileSize ?? 0) ?? 0
                if url.pathExtension == "nnc" {
                    onDisk.append(String(url.path.dropFirst(Self.root.path.count + 1)))
                }
            }
        }
        XCTAssertEqual(Set(onDisk), Set(files))
        for e in entries {
            for f in e.after + [e.file] { XCTAssertTrue(fm.fileExists(atPath: Self.root.appendingPathComponent(f).path), f) }
        }
        print("Conformance/vectors + negative: \(onDisk.count) bitstreams, \(bytes) bytes")
        XCTAssertLessThan(bytes, 3 << 20, "keep Conformance/ under ~3 MB")
    }

    /// Every bundled positive vector decodes to its decoded.npz bit for bit (dtype, shape, bytes),
    /// steps in order; the checker with --reference agrees.
    func testBundledVectorsDecodeBitExactly() throws {
        let fm = FileManager.default
        let folders = try fm.contentsOfDirectory(atPath: Vectors.bundledConformance.path).sorted()
        XCTAssertFalse(folders.isEmpty)
        var tensors = 0
        var failures: [String] = []
        for name in folders {
            let dir = Vectors.bundledConformance.appendingPathComponent(name, isDirectory: true)
            var decoder = NNRDecoder()
            var checker = ConformanceChecker()
            for step in CaseFiles.bitstreams(of: dir) {
                let expected = try loadNPZOrdered(step.decoded)
                let result = try decoder.decode(url: step.bitstream)
                XCTAssertEqual(Set(result.tensors.map(\.name)), Set(expected.map(\.name)), "\(name) \(step.prefix)")
                for e in expected {
                    tensors += 1
                    guard let t = result.tensor(named: e.name) else { failures.append("\(name) \(step.prefix)\(e.name): not decoded"); continue }
                    if t.tensor.dtype != e.dtype || t.tensor.shape != e.shape || t.tensor.storage != e.storage {
                        failures.append("\(name) \(step.prefix)\(e.name): \(t.tensor.dtype) \(t.tensor.shape) vs \(e.dtype) \(e.shape)")
                    }
                }
                let r = try checker.check(url: step.bitstream, reference: expected, referencePath: step.decoded.path)
                if r.matchesReference != true || !r.conforming {
                    failures.append("\(name) \(step.prefix): \(CheckRendering.verdict(r))")
                }
            }
        }
        print("bundled vectors: \(folders.count) cases, \(tensors) tensors bit-exact")
        XCTAssertEqual(failures, [], failures.joined(separator: "\n"))
    }

    /// Every public vector (every step of incremental cases, in order) conforms, and each tensor's
    /// SHA-256 equals case.json's sha256_decoded.
    func testEveryPublicVectorConformsWithTheDigestsOfCaseJSON() throws {
        let cases = Vectors.allSharedCases()
        if cases.isEmpty { throw XCTSkip(Vectors.skipReasonNoShared()) }
        var failures: [String] = []
        var bitstreams = 0, tensors = 0
        for dir in cases {
            let info = try CaseFiles.caseInfo(dir)
            let steps = CaseFiles.bitstreams(of: dir)
            let stepInfo = info["steps"] as? [[String: Any]] ?? []
            var checker = ConformanceChecker()
            for (k, step) in steps.enumerated() {
                bitstreams += 1
                let digests: [String: String]
                if step.prefix.isEmpty {
                    digests = info["sha256_decoded"] as? [String: String] ?? [:]
                } else {
                    digests = k < stepInfo.count ? stepInfo[k]["sha256_decoded"] as? [String: String] ?? [:] : [:]
                }
                let r = try checker.check(url: step.bitstream)
                if !r.conforming {
                    failures.append("\(dir.lastPathComponent) \(step.prefix): " + r.errors.map(CheckRendering.violationLine).joined(separator: " | "))
                }
                let unexpectedWarnings = r.warnings.filter { $0.ruleID != CheckRules.independentlyDecodable }
                if !unexpectedWarnings.isEmpty {
                    failures.append("\(dir.lastPathComponent) \(step.prefix): " + unexpectedWarnings.map(CheckRendering.violationLine).joined(separator: " | "))
                }
                let got = Dictionary(r.tensors.map { ($0.name, $0.sha256) }, uniquingKeysWith: { a, _ in a })
                tensors += got.count
                if got != digests || digests.isEmpty {
                    failures.append("\(dir.lastPathComponent) \(step.prefix): digests \(got) vs case.json \(digests)")
                }
            }
        }
        print("public vectors: \(cases.count) cases, \(bitstreams) bitstreams, \(tensors) tensor digests equal to case.json")
        XCTAssertEqual(failures, [], failures.joined(separator: "\n"))
    }
}
