import Foundation
import XCTest
import NNRBitIO
import NNRSyntax
import NNRContainer
import NNRCodec
import NNRQuantization
import NNRModelIO
import NNRTestSupport

/// End to end: encoding a case's input.npz with the case's NNCodec settings gives NNCodec's
/// bitstream byte for byte (quantizers, DeepCABAC, estimator selection and headers together).
final class EncoderReferenceTests: XCTestCase {
    /// Settings our encoder does not reproduce (pre-processing or QP search done by NNCodec's
    /// application layer): sparsification, bit-depth QP choice, opt_qp, block units from a torch
    /// model, incremental updates.
    static let unsupportedArgs: Set<String> = ["bitdepth", "opt_qp", "sparsity", "compress_model_kwargs", "ioq"]

    static func options(from args: [String: Any]) -> EncoderOptions? {
        if args.keys.contains(where: { unsupportedArgs.contains($0) }) { return nil }
        var o = EncoderOptions()
        o.concurrent = false
        // NNCodec pseudo-codes every value to choose the estimators.
        o.estimatorSampleValues = 0
        if let v = args["qp"] as? Int { o.qp = v }
        if let v = args["use_dq"] as? Bool { o.dependentQuantization = v }
        if let v = args["qp_density"] as? Int { o.qpDensity = v }
        if let v = args["nonweight_qp"] as? Int { o.nonWeightQP = v }
        if let v = args["param_opt"] as? Bool { o.optimizeEstimators = v }
        if let v = args["scan_order"] as? Int { o.scanOrder = v }
        if let v = args["row_skipping"] as? Bool { o.rowSkipping = v }
        if let v = args["cabac_unary_length_minus1"] as? Int { o.cabacUnaryLengthMinus1 = v }
        if let v = args["qp_per_tensor"] as? [String: Int] { o.qpForTensor = v }
        if let m = args["approx_method"] as? String, m == "codebook" { o.codebook = .byCost }
        return o
    }

    func testReencodingInputsReproducesReferenceBitstreams() throws {
        let cases = Vectors.allSharedCases()
        if cases.isEmpty { throw XCTSkip(Vectors.skipReasonNoShared()) }
        var identical: [String] = [], different: [String] = [], skipped: [String] = [], smallerOrEqual: [String] = []
        for dir in cases {
            let info = try CaseFiles.caseInfo(dir)
            if info["steps"] is [Any] { skipped.append(dir.lastPathComponent); continue }
            let config = info["config"] as? [String: Any] ?? [:]
            guard let args = (config["args"] ?? config["kwargs"]) as? [String: Any], let o = Self.options(from: args) else {
                skipped.append(dir.lastPathComponent); continue
            }
            let input = try loadNPZOrdered(dir.appendingPathComponent("input.npz"))
            #if DEBUG
            // Debug builds are slow; the large inputs are covered by release runs and Tools/.
            if input.reduce(0, { $0 + $1.elementCount }) > 300_000 && ProcessInfo.processInfo.environment["NNR_ALL_VECTORS"] == nil {
                skipped.append(dir.lastPathComponent); continue
            }
            #endif
            let expected = try Array(Data(contentsOf: dir.appendingPathComponent("bitstream.nnc")))
            do {
                let ours = try NNREncoder(options: o).encode(input)
                if ours.bytes == expected { identical.append(dir.lastPathComponent); continue }
                // Not identical: it must be no larger, at an SNR no worse (−0.05 dB), than NNCodec's.
                var decoder = NNRDecoder()
                let mine = try decoder.decode(NNRByteSource(bytes: ours.bytes))
                let theirs = try loadNPZ(dir.appendingPathComponent("decoded.npz"))
                let inputs = Dictionary(uniqueKeysWithValues: input.map { ($0.name, $0) })
                var worse: [String] = []
                for t in mine.tensors where t.tensor.dtype.isFloatingPoint {
                    guard let x = inputs[t.name], let r = theirs[t.name] else { continue }
                    let a = QuantizationStats.snrDB(original: x.floatValues(), reconstructed: t.tensor.doubleValues()) ?? .infinity
                    let b = QuantizationStats.snrDB(original: x.floatValues(), reconstructed: r.doubleValues()) ?? .infinity
                    if a < b - 0.05 { worse.append("\(t.name): SNR \(a) < \(b)") }
                }
                let note = "\(dir.lastPathComponent) (\(ours.bytes.count) vs \(expected.count) bytes)"
                if ours.bytes.count > expected.count + expected.count / 200 || !worse.isEmpty {
                    different.append(note + " " + worse.joined(separator: "; "))
                } else {
                    smallerOrEqual.append(note)
                }
            } catch {
                different.append("\(dir.lastPathComponent): \(error)")
            }
        }
        let attempted = identical.count + different.count + smallerOrEqual.count
        print("re-encoded from input.npz, byte-identical to NNCodec: \(identical.count) / \(attempted); skipped \(skipped.count): \(skipped)")
        print("not identical but no larger and SNR no worse: \(smallerOrEqual)")
        print("worse: \(different)")
        XCTAssertEqual(different, [])
        XCTAssertGreaterThan(identical.count, 15)
    }
}
