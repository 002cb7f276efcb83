import Foundation
import XCTest
import NNRContainer
import NNRModelIO
import NNRTools
import NNRTestSupport

/// Flips random bits in every public vector (the bundled ones when ../shared is absent) and
/// checks each mutant: the checker must neither crash nor hang, and a mutant it calls conforming
/// must decode to well-formed tensors (storage matching the shape, finite floating-point values).
final class CheckMutationTests: XCTestCase {
    /// SplitMix64: a small seeded generator, the same sequence on every platform.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Mutants per bitstream: many for tiny streams, few for large ones (debug builds decode
    /// slowly); none for the two largest public vectors (over 256 KiB, seconds per decode in debug).
    static func mutantCount(size: Int) -> Int {
        if size > 256 << 10 { return 0 }
        return Swift.max(8, Swift.min(800, 80_000 / Swift.max(1, size)))
    }

    struct Mutant {
        var bytes: [UInt8]
        var what: String
        var truncated: Bool
    }

    struct Outcome {
        var conforming: Bool
        var problem: String?
        var seconds: Double
    }

    /// Collects outcomes from concurrent checks.
    final class OutcomeBox: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var values: [Outcome?]
        init(count: Int) { values = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ v: Outcome) {
            lock.lock()
            values[i] = v
            lock.unlock()
        }
    }

    struct Counts {
        var mutants = 0
        var nonConforming = 0
        var conformingWellFormed = 0
        var truncated = 0
    }

    func testBitFlipMutantsNeverCrashAndAreReportedOrWellFormed() throws {
        var cases = Vectors.allSharedCases()
        var origin = "public vectors (../shared/conformance)"
        if cases.isEmpty {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: Vectors.bundledConformance.path)) ?? []
            cases = names.sorted().map { Vectors.bundledConformance.appendingPathComponent($0, isDirectory: true) }
            origin = "bundled vectors (Conformance/vectors)"
        }
        XCTAssertFalse(cases.isEmpty)
        var rng = SeededGenerator(state: 0x4E4E_5243_4845_434B)
        var counts = Counts()
        var problems: [String] = []
        var slowest: (Double, String) = (0, "")
        let started = Date()
        var skipped: [String] = []
        for dir in cases {
            var base = ConformanceChecker(options: CheckOptions(concurrent: false, keepTensors: true))
            let steps = CaseFiles.bitstreams(of: dir)
            for (k, step) in steps.enumerated() {
                let original = try Array(Data(contentsOf: step.bitstream))
                let label = dir.lastPathComponent + "/" + step.bitstream.lastPathComponent
                let n = Self.mutantCount(size: original.count)
                if n == 0 { skipped.append(label) }
                var mutants: [Mutant] = []
                for _ in 0..<n {
                    var bytes = original
                    var what: [String] = []
                    var cut = false
                    if Int.random(in: 0..<10, using: &rng) == 0 && bytes.count > 1 {
                        let at = Int.random(in: 1..<bytes.count, using: &rng)
                        bytes.removeSubrange(at...)
                        what.append("cut at \(at)")
                        cut = true
                    } else {
                        for _ in 0..<Int.random(in: 1...3, using: &rng) {
                            let bit = Int.random(in: 0..<(bytes.count * 8), using: &rng)
                            bytes[bit >> 3] ^= UInt8(0x80) >> UInt8(bit & 7)
                            what.append("bit \(bit)")
                        }
                    }
                    mutants.append(Mutant(bytes: bytes, what: what.joined(separator: ", "), truncated: cut))
                }
                // Each mutant is checked from the state after the earlier (unmutated) steps.
                let start = base
                let box = OutcomeBox(count: mutants.count)
                DispatchQueue.concurrentPerform(iterations: mutants.count) { i in
                    var checker = start
                    let t0 = Date()
                    let r = checker.check(NNRByteSource(bytes: mutants[i].bytes), path: label)
                    let seconds = Date().timeIntervalSince(t0)
                    box.set(i, Outcome(conforming: r.conforming, problem: r.conforming ? Self.malformed(r) : nil, seconds: seconds))
                }
                for (m, o) in zip(mutants, box.values) {
                    guard let o else { problems.append("\(label) [\(m.what)]: no outcome"); continue }
                    counts.mutants += 1
                    if m.truncated { counts.truncated += 1 }
                    if o.seconds > slowest.0 { slowest = (o.seconds, label) }
                    if o.seconds > 30 { problems.append("\(label) [\(m.what)]: \(o.seconds) s") }
                    if !o.conforming {
                        counts.nonConforming += 1
                    } else if let bad = o.problem {
                        problems.append("\(label) [\(m.what)]: conforming but \(bad)")
                    } else {
                        counts.conformingWellFormed += 1
                    }
                }
                if k + 1 < steps.count { _ = base.check(NNRByteSource(bytes: original), path: label) }
            }
        }
        let total = Date().timeIntervalSince(started)
        print("mutation test: skipped (over 256 KiB) \(skipped)")
        print("mutation test on \(origin): \(counts.mutants) mutants (\(counts.truncated) truncations), \(counts.nonConforming) reported non-conforming, "
              + "\(counts.conformingWellFormed) conforming with well-formed tensors; \(String(format: "%.1f", total)) s, slowest \(String(format: "%.2f", slowest.0)) s (\(slowest.1))")
        XCTAssertGreaterThanOrEqual(counts.mutants, 2000)
        XCTAssertEqual(problems, [], problems.joined(separator: "\n"))
    }

    /// Why the decoded tensors of a conforming report are not well-formed, or nil.
    static func malformed(_ r: FileCheckReport) -> String? {
        if r.decodedTensors.count != r.tensors.count { return "\(r.decodedTensors.count) tensors kept, \(r.tensors.count) reported" }
        for t in r.decodedTensors {
            if t.shape.isEmpty || t.shape.contains(where: { $0 < 1 }) { return "tensor \(t.name) has shape \(t.shape)" }
            guard let n = t.expectedByteCount, n == t.storage.count else {
                return "tensor \(t.name) \(t.dtype) \(t.shape) holds \(t.storage.count) bytes"
            }
            switch t.dtype {
            case .float32:
                if let i = t.floatValues().firstIndex(where: { !$0.isFinite }) { return "tensor \(t.name) value \(i) is not finite" }
            case .float64:
                if let i = t.doubleValues().firstIndex(where: { !$0.isFinite }) { return "tensor \(t.name) value \(i) is not finite" }
            case .int32:
                break
            default:
                return "tensor \(t.name) has the unexpected dtype \(t.dtype)"
            }
        }
        return nil
    }
}
