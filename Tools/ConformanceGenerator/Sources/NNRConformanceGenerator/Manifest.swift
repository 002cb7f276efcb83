import Foundation
import NNRModelIO
import NNRTools

// MARK: Manifest

extension ConformanceSuiteBuilder {
    /// Conformance/-relative bitstreams of a vector folder in decoding order, with their decoded
    /// tensors: step0.nnc, step1.nnc, … (with stepK_decoded.npz) of an incremental sequence, else
    /// bitstream.nnc (with decoded.npz).
    func positiveFiles(_ folder: String) -> [(bitstream: String, decoded: String)] {
        let dir = root.appendingPathComponent(folder, isDirectory: true)
        var steps: [(bitstream: String, decoded: String)] = []
        while FileManager.default.fileExists(atPath: dir.appendingPathComponent("step\(steps.count).nnc").path) {
            let k = steps.count
            steps.append((folder + "/step\(k).nnc", folder + "/step\(k)_decoded.npz"))
        }
        return steps.isEmpty ? [(folder + "/bitstream.nnc", folder + "/decoded.npz")] : steps
    }

    func manifestJSON(negatives: [NegativeVector]) throws -> String {
        let fm = FileManager.default
        let vectorsDir = root.appendingPathComponent("vectors", isDirectory: true)
        let folders = ((try? fm.contentsOfDirectory(atPath: vectorsDir.path)) ?? []).sorted().filter {
            fm.fileExists(atPath: vectorsDir.appendingPathComponent($0).appendingPathComponent("vector.json").path)
        }
        var entries: [JSONValue] = []
        for folder in folders {
            let metaURL = vectorsDir.appendingPathComponent(folder).appendingPathComponent("vector.json")
            guard let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: metaURL)) as? [String: Any] else {
                throw BuildError.unexpected("\(folder)/vector.json is not an object")
            }
            let features = (meta["features"] as? [String]) ?? []
            let steps = positiveFiles("vectors/" + folder)
            var after: [String] = []
            var checker = ConformanceChecker(options: CheckOptions(concurrent: false))
            for step in steps {
                let tensors = try NPZ.read(root.appendingPathComponent(step.decoded))
                // Warnings the checker reports on this (conforming) vector, e.g. NNR-I003 on NNCodec's TCA updates.
                let report = checker.checkFile(root.appendingPathComponent(step.bitstream))
                let warnings = report.violatedRuleIDs
                entries.append(.object([
                    ("file", .string(step.bitstream)),
                    ("after", .array(after.map { .string($0) })),
                    ("verdict", .string("conforming")),
                    ("strict_verdict", .string(warnings.isEmpty ? "conforming" : "non-conforming")),
                    ("expected_rules", .array(warnings.map { .string($0) })),
                    ("reference", .string(step.decoded)),
                    ("sha256", .object(tensors.map { ($0.name, .string(SHA256.hex($0.storage))) })),
                    ("features", .array(features.map { .string($0) })),
                    ("what", .string((meta["what"] as? String) ?? "")),
                    ("origin", .string((meta["origin"] as? String) ?? "")),
                ]))
                after.append(step.bitstream)
            }
        }
        for n in negatives {
            let rule = CheckRules.rule(n.rule)
            let isWarning = rule?.severity == .warning
            entries.append(.object([
                ("file", .string("negative/" + n.fileName)),
                ("after", .array(n.after.map { .string($0) })),
                ("verdict", .string(isWarning ? "conforming" : "non-conforming")),
                ("strict_verdict", .string("non-conforming")),
                ("rule", .string(n.rule)),
                ("expected_rules", .array(n.expectedRules.map { .string($0) })),
                ("sha256", .object([])),
                ("features", .array([.string(rule?.group.rawValue ?? "")])),
                ("what", .string(rule?.statement ?? "")),
                ("origin", .string("built by Tools/ConformanceGenerator (nnr-conformance-generator) from \(n.base): \(n.mutation)")),
            ]))
        }
        let doc: JSONValue = .object([
            ("description", .string("swift-nnr conformance suite: positive vectors (NNCodec 2.1.3) with the SHA-256 of every decoded tensor's raw little-endian bytes, and negative vectors each breaking one rule of Spec/conformance-rules.md. Paths are relative to this file. 'after' lists bitstreams to check first, in order (incremental sequences). 'expected_rules' is exactly the set of rule IDs `nnr check` reports; 'verdict' ignores warnings, 'strict_verdict' (nnr check --strict) does not.")),
            ("rules", .int(CheckRules.all.count)),
            ("entries", .array(entries)),
        ])
        return doc.serialized(indent: 1) + "\n"
    }
}

extension ConformanceChecker {
    /// Checks a file that must be readable (an unreadable one is reported as rule "IO").
    mutating func checkFile(_ url: URL) -> FileCheckReport {
        do {
            return try check(url: url, reference: nil, referencePath: nil)
        } catch {
            return FileCheckReport(path: url.path, fileSize: 0,
                                   violations: [CheckViolation(ruleID: "IO", unitIndex: nil, byteOffset: 0, element: "file", message: "\(error)")])
        }
    }
}
