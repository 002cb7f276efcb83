import XCTest
import Foundation
import NNRCoding
import NNRModelIO
import NNRTestSupport
@testable import NNRQuantization

/// Our quantizers against NNCodec 2.1.3's levels (levels.npz) and reconstruction (decoded.npz) on
/// the shared reference vectors, with NNCodec's settings (lambda_scale 0).
final class ConformanceTests: XCTestCase {
    struct Case {
        var name: String
        var qp: Int
        var qpDensity = 2
        var scanOrder = 0
        var dq = true
        var rowSkipping = true
    }

    struct Comparison {
        var matchFraction: Double
        var ourSNR: Double
        var referenceSNR: Double
        var ourBits: Double
        var referenceBits: Double
    }

    func compare(_ c: Case) throws -> Comparison {
        guard let folder = Vectors.sharedCase(c.name) else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        let input = try XCTUnwrap(try loadNPZOrdered(folder.appendingPathComponent("input.npz")).first)
        let levels = try XCTUnwrap(try loadNPZ(folder.appendingPathComponent("levels.npz"))[input.name])
        let decoded = try XCTUnwrap(try loadNPZ(folder.appendingPathComponent("decoded.npz"))[input.name])
        let values = input.floatValues()
        let refLevels = levels.int32Values()
        let g = TensorGeometry(dims: input.shape, scanOrder: c.scanOrder)
        var o = QuantizerOptions(method: c.dq ? .dependent : .nearest, rowSkipping: c.rowSkipping)
        o.estimateRate = true
        let t = try Quantizer(options: o).quantize(values: values, geometry: g, qp: c.qp, qpDensity: c.qpDensity)
        XCTAssertEqual(t.qp, c.qp)
        var same = 0
        for i in 0..<values.count where t.q[i] == refLevels[i] { same += 1 }
        let refRec = decoded.floatValues()
        // NNCodec's reconstruction is Float(Δ)·Float(level): check our step against it.
        for i in 0..<values.count { XCTAssertEqual(refRec[i], t.stepSize * Float(refLevels[i])) }
        let refFlags = t.rowSkipFlags == nil ? nil : allZeroRows(refLevels, g)
        let refBits = try PayloadRateEstimate.bits(levels: refLevels, geometry: g, dependentQuantization: c.dq,
                                                   rowSkipFlags: refFlags)
        return Comparison(matchFraction: Double(same) / Double(values.count),
                          ourSNR: t.stats.snrDB,
                          referenceSNR: QuantizationStats.snrDB(original: values, reconstructed: refRec) ?? .nan,
                          ourBits: t.stats.estimatedPayloadBits ?? .nan, referenceBits: refBits)
    }

    func report(_ c: Case, _ r: Comparison) {
        print(String(format: "[quant-conformance] %@: levels match %.4f%%, SNR ours %.4f dB vs NNCodec %.4f dB (%+.4f), est. bits ours %.0f vs NNCodec levels %.0f",
                     c.name, r.matchFraction * 100, r.ourSNR, r.referenceSNR, r.ourSNR - r.referenceSNR, r.ourBits, r.referenceBits))
    }

    func testUniformNearestMatchesNNCodecExactly() throws {
        for c in [Case(name: "t2d_uniform_qp-32_nodq", qp: -32, dq: false),
                  Case(name: "t2d_uniform_qp-20_nodq", qp: -20, dq: false),
                  Case(name: "t2d_uniform_qp-38_nodq", qp: -38, dq: false),
                  Case(name: "c_scan_order1_nodq", qp: -32, scanOrder: 1, dq: false, rowSkipping: false),
                  Case(name: "t4d_conv64x32x3x3_qp-26_nodq", qp: -26, dq: false)] {
            let r = try compare(c)
            report(c, r)
            XCTAssertEqual(r.matchFraction, 1.0, c.name)
            XCTAssertEqual(r.ourSNR, r.referenceSNR, accuracy: 1e-9, c.name)
        }
    }

    func testDependentQuantizationAgainstNNCodec() throws {
        let cases = [
            Case(name: "t2d_uniform_qp-32_dq", qp: -32),
            Case(name: "t2d_uniform_qp-20_dq", qp: -20),
            Case(name: "t2d_uniform_qp-38_dq", qp: -38),
            Case(name: "t2d_minilm_l0_query_qp-32_dq", qp: -32),
            Case(name: "t4d_conv64x32x3x3_dq", qp: -32),
            Case(name: "t3d_odd37x53x5", qp: -30),
            Case(name: "t2d_zero_rows_rowskip", qp: -32),
            Case(name: "t2d_outliers", qp: -32),
            Case(name: "c_scan_order1_dq", qp: -32, scanOrder: 1),
            Case(name: "c_scan_order2_dq", qp: -32, scanOrder: 2),
            Case(name: "c_qp_density1", qp: -16, qpDensity: 1, rowSkipping: false),
            Case(name: "c_qp_density3", qp: -64, qpDensity: 3, rowSkipping: false),
        ]
        for c in cases {
            let r = try compare(c)
            report(c, r)
            XCTAssertGreaterThanOrEqual(r.ourSNR, r.referenceSNR - 0.05, c.name)
            XCTAssertGreaterThan(r.matchFraction, 0.99, c.name)
        }
    }

    /// NNCodec's bit-depth QP choice on its own vectors (levels and decoder output pin the QP).
    func testBitDepthQPChoice() throws {
        for (name, bits, expectedUnsigned) in [("t2d_bitdepth8_nodq", 8, false), ("t2d_bitdepth4_unsigned", 4, true)] {
            guard let folder = Vectors.sharedCase(name) else { throw XCTSkip(Vectors.skipReasonNoShared()) }
            let input = try XCTUnwrap(try loadNPZOrdered(folder.appendingPathComponent("input.npz")).first)
            let levels = try XCTUnwrap(try loadNPZ(folder.appendingPathComponent("levels.npz"))[input.name]).int32Values()
            let values = input.floatValues()
            let (qp, limit) = try BitDepthLimit.nncodecQP(values: values, bits: bits, qpDensity: 2)
            XCTAssertEqual(limit.unsigned, expectedUnsigned, name)
            var o = QuantizerOptions(method: .nearest, rowSkipping: true)
            o.levelRange = limit.levelRange
            let t = try Quantizer(options: o).quantize(values: values, geometry: TensorGeometry(dims: input.shape, scanOrder: 0),
                                                       qp: qp, qpDensity: 2)
            XCTAssertEqual(t.q, levels, "\(name) at qp \(qp)")
            print("[quant-conformance] \(name): NNCodec bit-depth QP \(qp), levels equal: \(t.q == levels)")
        }
    }

    /// NNCodec's codebook path (approx_method "codebook", codebook_mode 2): the decision, the
    /// codebook, and the reconstruction. NNCodec picks CbZeroOffset by real encodes with the unbounded
    /// binarization; ours by the estimate with the bounded one, so the offset (and with it the
    /// signed indices) may differ while the reconstruction is the same.
    func testCodebookAgainstNNCodec() throws {
        for (name, qp, dq, expectCodebook) in [("t2d_codebook_clustered", -32, false, true),
                                                ("t2d_codebook_dq", -32, true, true),
                                                ("t2d_codebook_qp-20", -20, false, false)] {
            guard let folder = Vectors.sharedCase(name) else { throw XCTSkip(Vectors.skipReasonNoShared()) }
            let input = try XCTUnwrap(try loadNPZOrdered(folder.appendingPathComponent("input.npz")).first)
            let levels = try XCTUnwrap(try loadNPZ(folder.appendingPathComponent("levels.npz"))[input.name]).int32Values()
            let decoded = try XCTUnwrap(try loadNPZ(folder.appendingPathComponent("decoded.npz"))[input.name]).doubleValues()
            let units = try CaseFiles.units(folder.appendingPathComponent("units.json"))
            let fields = try XCTUnwrap(units.last?["fields"] as? [String: Any])
            let values = input.floatValues()
            let g = TensorGeometry(dims: input.shape, scanOrder: 0)
            let o = QuantizerOptions(method: dq ? .dependent : .nearest, rowSkipping: true)
            let t = try Quantizer(options: o).quantizeWithCodebook(values: values, geometry: g, qp: qp, qpDensity: 2, mode: .byCost)
            XCTAssertEqual(t.codebook != nil, expectCodebook, name)
            let rec = t.reconstructedDouble()
            XCTAssertEqual(rec, decoded, name)
            if let cb = t.codebook {
                let refEntries = try XCTUnwrap(fields["codebook__"] as? [Int])
                let refOffset = try XCTUnwrap(fields["CbZeroOffset__"] as? Int)
                let refEgk = try XCTUnwrap(fields["codebook_egk__"] as? Int)
                XCTAssertEqual(cb.entries, refEntries, name)
                XCTAssertEqual(cb.codebookEgk, refEgk, name)
                var same = 0
                for i in 0..<levels.count where levels[i] == t.q[i] { same += 1 }
                // Coded size of our indices vs NNCodec's (same codebook, its offset) with the real
                // payload encoder.
                func codedBytes(_ k: [Int32], _ offset: Int) throws -> Int {
                    var enc = PayloadEncoder()
                    let p = TensorPayloadParameters(dims: input.shape, codebook: NNRCodebook(entries: cb.entries, cbZeroOffset: offset))
                    try enc.encodeTensor(levels: k, parameters: p, options: TensorEncodeOptions(qpOffset: t.qp, rowSkipping: true))
                    return enc.finish().count
                }
                let ours = try codedBytes(t.q, cb.cbZeroOffset), theirs = try codedBytes(levels, refOffset)
                print("[quant-conformance] \(name): payload bytes with our offset \(ours), with NNCodec's \(theirs)")
                XCTAssertLessThanOrEqual(ours, theirs + theirs / 100, name)
                print("[quant-conformance] \(name): codebook \(cb.entries.count) entries (NNCodec \(refEntries.count)), CbZeroOffset \(cb.cbZeroOffset) (NNCodec \(refOffset)), egk \(cb.codebookEgk) (NNCodec \(refEgk)), qp \(t.qp), indices equal \(same)/\(levels.count), reconstruction equal: \(rec == decoded)")
            } else {
                print("[quant-conformance] \(name): uniform chosen (as NNCodec), reconstruction equal: \(rec == decoded)")
            }
        }
    }
}
