import Foundation
import XCTest
import NNRBitIO
import NNRCodec
import NNRModelIO
import NNRTestSupport

/// Re-encoding the levels of every incremental reference case (inc_*, step<k>.*) with the settings
/// NNCodec used reproduces each step's bitstream byte for byte: headers (parent signalling, node
/// identities, skipped NDUs) and payloads (TCA, HDSP mode choice) together.
final class IncrementalReferenceTests: XCTestCase {
    func reencode(_ dir: URL) throws -> [String] {
        let info = try CaseFiles.caseInfo(dir)
        guard let cfg = CaseJSON.dict(info["config"]), let kwargs = cfg["kwargs_per_step"] as? [[String: Any]],
              let steps = info["steps"] as? [[String: Any]] else { return ["no kwargs_per_step"] }
        let streams = CaseFiles.bitstreams(of: dir)
        // Tensor order (parameter_id) = the order of step 0's model.
        let order = try loadNPZOrdered(streams[0].input).map { ($0.name, $0.shape) }
        var problems: [String] = []
        var enc = IncrementalEncoder()
        for (k, s) in streams.enumerated() {
            let kw = kwargs[k]
            var o = IncrementalEncoderOptions()
            o.encoder.concurrent = false
            o.encoder.estimatorSampleValues = 0
            o.encoder.rowSkipping = CaseJSON.bool(kw["row_skipping"]) ?? false
            o.encoder.optimizeEstimators = CaseJSON.bool(kw["param_opt"]) ?? true
            o.encoder.qpDensity = CaseJSON.int(kw["qp_density"]) ?? 2
            o.encoder.cabacUnaryLengthMinus1 = CaseJSON.int(kw["cabac_unary_length_minus1"]) ?? 10
            o.preSignalling = CaseJSON.bool(kw["pre_signalling"]) ?? false
            o.temporalContextAdaptation = CaseJSON.bool(kw["tca"]) ?? false
            o.historyDependentSignificance = kw["hdsp_tool"] != nil
            enc.options = o
            let levelsNPZ = try loadNPZ(s.levels)
            let levelInfo = CaseJSON.dict(steps[k]["levels"]) ?? [:]
            let dq = CaseJSON.bool(kw["use_dq"]) ?? true
            var levels: [StepLevels] = []
            for (name, shape) in order {
                let count = shape.reduce(1, *)
                // A tensor without levels in this step was omitted (all-zero update).
                let l = levelsNPZ[name]?.int32Values() ?? [Int32](repeating: 0, count: count)
                let qp = CaseJSON.dict(levelInfo[name]).flatMap { CaseJSON.int($0["qp"]) }
                levels.append(StepLevels(name: name, shape: shape, levels: l, qp: qp ?? 0, dependentQuantization: dq))
            }
            let ours = try enc.encode(levels: levels).bitstream.bytes
            let expected = try [UInt8](Data(contentsOf: s.bitstream))
            if ours != expected {
                let first = zip(ours, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(ours.count, expected.count)
                problems.append("\(s.prefix)bitstream: \(ours.count) bytes vs \(expected.count), first difference at byte \(first)")
            }
        }
        return problems
    }

    func testReencodingIncrementalCasesReproducesEveryStep() throws {
        let cases = Vectors.allSharedCases().filter { $0.lastPathComponent.hasPrefix("inc_") }
        if cases.isEmpty { throw XCTSkip(Vectors.skipReasonNoShared()) }
        var exact: [String] = []
        for dir in cases {
            let p = try reencode(dir)
            if p.isEmpty { exact.append(dir.lastPathComponent) } else { XCTFail("\(dir.lastPathComponent): \(p.joined(separator: "; "))") }
        }
        print("incremental cases re-encoded byte-exact: \(exact.count)/\(cases.count): \(exact)")
        XCTAssertEqual(exact.count, cases.count)
    }
}
