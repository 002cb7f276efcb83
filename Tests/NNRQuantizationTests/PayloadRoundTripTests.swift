import XCTest
import NNRCoding
@testable import NNRQuantization

/// Quantizer output through NNRCoding's payload encoder and decoder: the decoder must return
/// exactly our levels (DQ state machine incl. row skipping with block scan), and the rate estimate
/// must track the coded size.
final class PayloadRoundTripTests: XCTestCase {
    /// Rows: exact zeros, values just under Δ/2, values just above Δ/2 (the trellis may zero those
    /// without having planned the skip), and ordinary rows.
    func trickyRows(_ g: TensorGeometry, step: Float, seed: UInt64) -> [Float] {
        var rng = SplitMix(seed: seed)
        var v = gaussian(g.count, sigma: Double(step) * 5, seed: seed)
        for r in 0..<g.height {
            for c in 0..<g.width {
                let i = r * g.width + c
                switch r % 4 {
                case 1: v[i] = 0
                case 2: v[i] = Float(Double.random(in: -0.49...0.49, using: &rng)) * step
                case 3 where r % 8 == 3:
                    v[i] = c % 5 == 0 ? Float(Double.random(in: 0.5...0.62, using: &rng)) * step : 0
                default: break
                }
            }
        }
        return v
    }

    func testDecoderReproducesQuantizerLevels() throws {
        let geometries = [
            TensorGeometry(height: 40, width: 30, scanOrder: 1),
            TensorGeometry(height: 48, width: 70, scanOrder: 2),
            TensorGeometry(height: 37, width: 53, scanOrder: 3),
            TensorGeometry(height: 50, width: 24, scanOrder: 0),
            TensorGeometry(height: 33, width: 8, scanOrder: 1),
        ]
        var lateZeroRows = 0
        for (gi, g) in geometries.enumerated() {
            let step = StepSize.float32(qp: -32, qpDensity: 2)
            let v = trickyRows(g, step: step, seed: UInt64(100 + gi))
            for method in QuantizationMethod.allCases {
                for lambda in [0.0, 3.0] {
                    var o = QuantizerOptions(method: method, lambdaScale: lambda, rowSkipping: true)
                    o.estimateRate = true
                    let t = try Quantizer(options: o).quantize(values: v, geometry: g, qp: -32, qpDensity: 2)
                    let what = "geometry \(gi) \(method) lambda \(lambda)"
                    XCTAssertEqual(t.rowSkipFlags, allZeroRows(t.q, g), what)
                    // Rows skipped although a value rounds away from zero: the trellis zeroed them
                    // (with several block columns this takes the planned-skip rerun).
                    let flags = t.rowSkipFlags ?? []
                    let zeroedLate = (0..<g.height).filter { r in
                        flags[r] && (0..<g.width).contains { abs(v[r * g.width + $0]) >= step / 2 }
                    }
                    if method == .dependent && lambda > 0 { lateZeroRows += zeroedLate.count }
                    let p = TensorPayloadParameters(dims: [g.height, g.width], scanOrder: g.scanOrder,
                                                    dqFlag: t.dependentQuantization)
                    var enc = PayloadEncoder()
                    let info = try enc.encodeTensor(levels: t.q, parameters: p,
                                                    options: TensorEncodeOptions(qpOffset: t.qp, rowSkipping: true))
                    let payload = enc.finish()
                    var dp = p
                    dp.entryPoints = enc.encodedTensors.first?.entryPoints ?? info.entryPoints
                    var dec = try PayloadDecoder(payload: payload, fileOffset: 0)
                    let r = try dec.decodeTensor(dp)
                    XCTAssertEqual(r.levels, t.q, what)
                    XCTAssertEqual(r.rowSkipFlags, t.rowSkipFlags, what)
                    XCTAssertEqual(r.qpOffset, t.qp, what)
                    // The estimate (all contexts in set 0, no header) against the coded size
                    // (estimator selection on): within a few percent plus a few dozen bits.
                    let est = try XCTUnwrap(t.stats.estimatedPayloadBits)
                    let coded = Double(payload.count * 8)
                    XCTAssertLessThan(abs(est - coded), 0.08 * coded + 200, "\(what): estimated \(est) coded \(coded)")
                }
            }
        }
        XCTAssertGreaterThan(lateZeroRows, 0, "the data should make the rate-aware trellis zero unplanned rows")
    }

    func testCodebookIndicesRoundTrip() throws {
        let g = TensorGeometry(height: 48, width: 40, scanOrder: 1)
        var rng = SplitMix(seed: 5)
        let centres: [Double] = [-0.2, -0.05, 0.0, 0.07, 0.3]
        var v = (0..<g.count).map { _ in Float(centres[Int.random(in: 0..<5, using: &rng)]) }
        for c in 0..<g.width { v[7 * g.width + c] = 0 }
        var o = QuantizerOptions(method: .nearest, rowSkipping: true)
        o.estimateRate = true
        let t = try Quantizer(options: o).quantizeWithCodebook(values: v, geometry: g, qp: -32, qpDensity: 2, mode: .always)
        let cb = try XCTUnwrap(t.codebook)
        let p = TensorPayloadParameters(dims: [g.height, g.width], scanOrder: g.scanOrder,
                                        codebook: cb)
        var enc = PayloadEncoder()
        try enc.encodeTensor(levels: t.q, parameters: p, options: TensorEncodeOptions(qpOffset: t.qp, rowSkipping: true))
        let payload = enc.finish()
        var dp = p
        dp.entryPoints = enc.encodedTensors.first?.entryPoints ?? []
        var dec = try PayloadDecoder(payload: payload, fileOffset: 0)
        let r = try dec.decodeTensor(dp)
        XCTAssertEqual(r.levels, t.q)
        XCTAssertEqual(r.rowSkipFlags, t.rowSkipFlags)
        // Estimated bits include the codebook() syntax; the payload part tracks the coded size.
        let est = try XCTUnwrap(t.stats.estimatedPayloadBits) - Double(cb.syntaxBits)
        XCTAssertLessThan(abs(est - Double(payload.count * 8)), 0.1 * Double(payload.count * 8) + 200)
    }
}
