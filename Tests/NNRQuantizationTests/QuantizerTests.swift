import XCTest
import NNRCoding
@testable import NNRQuantization

final class QuantizerTests: XCTestCase {
    let geometries: [TensorGeometry] = [
        TensorGeometry(height: 64, width: 48, scanOrder: 0),
        TensorGeometry(height: 40, width: 30, scanOrder: 1),   // w > B: several block columns
        TensorGeometry(height: 37, width: 53, scanOrder: 2),
        TensorGeometry(height: 33, width: 8, scanOrder: 1),    // w == B
        TensorGeometry(height: 1, width: 300, scanOrder: 1),   // one row: scan 0, no row skipping
        TensorGeometry(height: 300, width: 1, scanOrder: 0),
    ]

    /// Data with exact-zero rows, near-zero rows and ordinary rows.
    func rowData(_ g: TensorGeometry, seed: UInt64, step: Float) -> [Float] {
        var v = gaussian(g.count, sigma: Double(step) * 6, seed: seed)
        for r in 0..<g.height where r % 3 == 1 {
            for c in 0..<g.width { v[r * g.width + c] = 0 }
        }
        for r in 0..<g.height where r % 5 == 2 {
            for c in 0..<g.width { v[r * g.width + c] *= 0.05 }
        }
        return v
    }

    func testNearestMatchesRoundingAndHalfStep() throws {
        let g = TensorGeometry(height: 50, width: 40, scanOrder: 0)
        let v = gaussian(g.count, sigma: 0.05, seed: 1)
        for qp in [-40, -33, -32, -20, 5] {
            let t = try Quantizer.quantize(values: v, geometry: g, qp: qp, qpDensity: 2)
            let step = StepSize.float32(qp: qp, qpDensity: 2)
            XCTAssertEqual(t.stepSize, step)
            let s = Float(1) / step
            for i in 0..<v.count {
                XCTAssertEqual(t.q[i], Int32((s * v[i]).rounded(.toNearestOrAwayFromZero)))
                XCTAssertLessThanOrEqual(abs(Double(v[i]) - Double(step * Float(t.q[i]))), Double(step) / 2 * (1 + 1e-6))
            }
            XCTAssertFalse(t.dependentQuantization)
        }
    }

    func testNonFiniteRejected() {
        let g = TensorGeometry(height: 2, width: 3, scanOrder: 0)
        for bad in [Float.nan, .infinity, -.infinity] {
            var v: [Float] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
            v[4] = bad
            for m in QuantizationMethod.allCases {
                XCTAssertThrowsError(try Quantizer.quantize(values: v, geometry: g, qp: -32, qpDensity: 2, method: m)) {
                    XCTAssertEqual($0 as? QuantizationError, .nonFiniteValue(index: 4))
                }
                XCTAssertThrowsError(try Quantizer.quantize(values: v, geometry: g, qp: -32, qpDensity: 2, method: m, maxError: 0.01))
            }
            XCTAssertThrowsError(try Quantizer().quantizeWithCodebook(values: v, geometry: g, qp: -32, qpDensity: 2))
            XCTAssertThrowsError(try BitDepthLimit.nncodecQP(values: v, bits: 8, qpDensity: 2))
        }
    }

    func testFirstNonFiniteFindsTheFirstInTheVectorPartAndInTheTail() {
        // 21 values: two blocks of eight checked together, then a tail of five.
        let clean = (0..<21).map { Float($0) * 0.25 - 2 } + [Float.greatestFiniteMagnitude, -.greatestFiniteMagnitude]
        clean.withUnsafeBufferPointer { XCTAssertNil(firstNonFinite($0)) }
        XCTAssertNil(firstNonFinite(UnsafeBufferPointer(start: nil, count: 0)))
        for bad in [Float.nan, .infinity, -.infinity, Float(bitPattern: 0xFFC0_0001)] {
            for at in [0, 7, 8, 15, 16, 20, 22] {
                var v = clean
                v[at] = bad
                if at < 20 { v[at + 1] = .nan }   // a later one does not count
                v.withUnsafeBufferPointer { XCTAssertEqual(firstNonFinite($0), at, "\(bad) at \(at)") }
            }
        }
    }

    func testExtremesMatchAScalarScan() {
        var seed: UInt64 = 7
        for n in 0..<40 {
            for sign: Float in [1, -1, 0] {
                let v: [Float] = (0..<n).map { _ in
                    seed = seed &* 6364136223846793005 &+ 1442695040888963407
                    let u = Float(seed >> 40) / Float(1 << 24) - (sign == 0 ? 0.5 : 0)
                    return sign == 0 ? u : sign * u
                }
                var hi: Float = 0, lo: Float = 0
                for x in v { hi = x > hi ? x : hi; lo = x < lo ? x : lo }
                let e = v.withUnsafeBufferPointer { extremes($0) }
                XCTAssertEqual(e.largest.bitPattern, hi.bitPattern, "n \(n)")
                XCTAssertEqual(e.smallest.bitPattern, lo.bitPattern, "n \(n)")
            }
        }
    }

    func testParameterValidation() {
        let g = TensorGeometry(height: 2, width: 3, scanOrder: 0)
        let v: [Float] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
        XCTAssertThrowsError(try Quantizer.quantize(values: Array(v.prefix(5)), geometry: g, qp: -32, qpDensity: 2))
        XCTAssertThrowsError(try Quantizer.quantize(values: v, geometry: g, qp: -32, qpDensity: 8))
        XCTAssertThrowsError(try Quantizer.quantize(values: v, geometry: g, qp: -32, qpDensity: 2, lambdaScale: .nan))
        XCTAssertThrowsError(try Quantizer.quantize(values: v, geometry: g, qp: -32, qpDensity: 2, maxError: .nan))
        XCTAssertThrowsError(try Quantizer.quantize(values: v, geometry: g, qp: -32, qpDensity: 2, maxError: -1))
        XCTAssertThrowsError(try Quantizer.quantize(values: v, geometry: g, qp: 500, qpDensity: 2))
        for m in QuantizationMethod.allCases {
            let empty = try? Quantizer.quantize(values: [], geometry: TensorGeometry(height: 0, width: 5, scanOrder: 1),
                                                qp: -32, qpDensity: 2, method: m, rowSkipping: true)
            XCTAssertEqual(empty?.q, [])
        }
        var o = QuantizerOptions()
        o.levelRange = 1...5
        XCTAssertThrowsError(try Quantizer(options: o).quantize(values: v, geometry: g, qp: -32, qpDensity: 2))
    }

    /// Every DQ result must be decodable: each q representable in the decoder's state at its
    /// position, with row skipping advancing w times per skipped segment.
    func testDependentFollowsDecoderStateMachine() throws {
        for (gi, g) in geometries.enumerated() {
            for lambda in [0.0, 1.0] {
                for skip in [false, true] {
                    let step = StepSize.float32(qp: -32, qpDensity: 2)
                    let v = rowData(g, seed: UInt64(gi * 10 + 1), step: step)
                    let t = try Quantizer.quantize(values: v, geometry: g, qp: -32, qpDensity: 2, method: .dependent,
                                                   lambdaScale: lambda, rowSkipping: skip)
                    XCTAssertTrue(t.dependentQuantization)
                    let k = decoderIndices(t, g)
                    XCTAssertNotNil(k, "geometry \(gi) lambda \(lambda) skip \(skip)")
                    if skip && g.hasRowSkipSyntax(profile1: true, codebookSize: 0) {
                        let flags = try XCTUnwrap(t.rowSkipFlags)
                        XCTAssertEqual(flags.count, g.height)
                        for r in 0..<g.height where r % 3 == 1 { XCTAssertTrue(flags[r], "exact-zero row \(r) must be skipped") }
                        XCTAssertGreaterThan(t.stats.skippedRows, 0)
                    } else {
                        XCTAssertNil(t.rowSkipFlags)
                    }
                    // DQ error per value: each parity of each quantizer has points 4Δ apart, so the
                    // trellis never needs more than 2Δ; the rate term may add a little.
                    let bound = Double(step) * (lambda > 0 ? 2.5 : 2.0) * (1 + 1e-6)
                    for i in 0..<v.count {
                        XCTAssertLessThanOrEqual(abs(Double(v[i]) - Double(step * Float(t.q[i]))), bound)
                    }
                }
            }
        }
    }

    /// Without rate the trellis minimises squared error: never worse than URQ at half the step's
    /// resolution of a single quantizer, and clearly better than URQ at the same Δ·2.
    func testDependentBeatsUniformAtSameRate() throws {
        let g = TensorGeometry(height: 128, width: 128, scanOrder: 0)
        let v = gaussian(g.count, sigma: 0.05, seed: 11)
        let dq = try Quantizer.quantize(values: v, geometry: g, qp: -32, qpDensity: 2, method: .dependent)
        // Same reconstruction density per quantizer: URQ with step 2Δ (qp + 4).
        let urq = try Quantizer.quantize(values: v, geometry: g, qp: -28, qpDensity: 2)
        XCTAssertGreaterThan(dq.stats.snrDB, urq.stats.snrDB + 1.0)
    }

    func testRateTermsReduceEstimatedBits() throws {
        let g = TensorGeometry(height: 128, width: 96, scanOrder: 0)
        let v = gaussian(g.count, sigma: 0.05, seed: 5)
        var last = Double.infinity
        for lambda in [0.0, 0.5, 2.0] {
            var o = QuantizerOptions(method: .dependent, lambdaScale: lambda)
            o.estimateRate = true
            let t = try Quantizer(options: o).quantize(values: v, geometry: g, qp: -32, qpDensity: 2)
            let bits = try XCTUnwrap(t.stats.estimatedPayloadBits)
            XCTAssertLessThan(bits, last)
            last = bits
        }
        var previous = Double.infinity
        for lambda in [0.0, 0.5, 2.0] {
            var o = QuantizerOptions(method: .rdoq, lambdaScale: lambda)
            o.estimateRate = true
            let t = try Quantizer(options: o).quantize(values: v, geometry: g, qp: -32, qpDensity: 2)
            let bits = try XCTUnwrap(t.stats.estimatedPayloadBits)
            XCTAssertLessThan(bits, previous)
            previous = bits
            // RDOQ only ever lowers |q| by one or zeroes.
            let step = t.stepSize
            for i in 0..<v.count {
                XCTAssertLessThanOrEqual(abs(Double(v[i]) - Double(step * Float(t.q[i]))), 1.5 * Double(step) + 1e-9)
            }
        }
    }

    func testErrorBoundedRandom() throws {
        var g = SplitMix(seed: 99)
        for trial in 0..<12 {
            let geo = geometries[trial % geometries.count]
            let sigma = [0.001, 0.05, 3.0][trial % 3]
            let v = gaussian(geo.count, sigma: sigma, seed: UInt64(trial))
            let e = Float(sigma * Double.random(in: 0.001...0.3, using: &g))
            for m in QuantizationMethod.allCases {
                for d in [0, 2, 5] {
                    var o = QuantizerOptions(method: m, lambdaScale: m == .nearest ? 0 : 0.7, rowSkipping: trial % 2 == 0)
                    o.maxError = e
                    let range = -(1 << (5 + d))...((1 << (5 + d)) - 1)
                    let t = try Quantizer(options: o).quantize(values: v, geometry: geo, qp: range.upperBound, qpDensity: d)
                    let rec = reconstruct(t.q, step: t.stepSize)
                    for i in 0..<v.count {
                        XCTAssertLessThanOrEqual(abs(Double(v[i]) - Double(rec[i])), Double(e), "trial \(trial) \(m) d \(d)")
                    }
                    XCTAssertLessThanOrEqual(t.stats.maxAbsError, Double(e))
                    if m == .dependent { XCTAssertNotNil(decoderIndices(t, geo)) }
                    // Coarsest for nearest: one QP coarser must fail somewhere.
                    if m == .nearest && t.qp < range.upperBound {
                        let coarser = try Quantizer.quantize(values: v, geometry: geo, qp: t.qp + 1, qpDensity: d)
                        XCTAssertGreaterThan(coarser.stats.maxAbsError, Double(e), "trial \(trial) d \(d) qp \(t.qp)")
                    }
                }
            }
        }
    }

    /// Values sitting exactly on or just beyond half-step boundaries, large magnitudes where
    /// float32 reconstruction rounding matters, and tiny bounds.
    func testErrorBoundedAdversarial() throws {
        let geo = TensorGeometry(height: 16, width: 16, scanOrder: 0)
        var cases: [([Float], Float)] = []
        // Midpoints of a step-2^-8 grid, bound exactly half a step.
        let s: Float = 1.0 / 256
        cases.append(((0..<256).map { Float($0 - 128) * s + s / 2 }, s / 2))
        cases.append(((0..<256).map { Float($0 - 128) * s + s / 2 }, s / 2 - s / 1024))
        // Large values where Float(Δ)·Float(q) loses precision (|q| > 2^24 would be needed).
        cases.append(((0..<256).map { 1.0e6 + Float($0) * 0.37 }, 0.01))
        cases.append(((0..<256).map { Float($0 % 2 == 0 ? 3.0e7 : -2.9e7) + Float($0) }, 0.5))
        // Tiny bound, tiny values, zeros and one outlier.
        var spiky = [Float](repeating: 0, count: 256)
        spiky[17] = 1000
        spiky[200] = -1e-3
        cases.append((spiky, 1e-4))
        cases.append(((0..<256).map { Float.leastNormalMagnitude * Float($0) }, Float.leastNormalMagnitude))
        for (ci, (v, e)) in cases.enumerated() {
            for m in QuantizationMethod.allCases {
                var o = QuantizerOptions(method: m, lambdaScale: m == .nearest ? 0 : 1)
                o.maxError = e
                o.qpRange = -600...60
                do {
                    let t = try Quantizer(options: o).quantize(values: v, geometry: geo, qp: 60, qpDensity: 2)
                    let rec = reconstruct(t.q, step: t.stepSize)
                    for i in 0..<v.count {
                        XCTAssertLessThanOrEqual(abs(Double(v[i]) - Double(rec[i])), Double(e), "case \(ci) \(m) i \(i)")
                    }
                    if m == .dependent { XCTAssertNotNil(decoderIndices(t, geo)) }
                } catch QuantizationError.errorBoundUnachievable {
                    // Acceptable only where no Int32 level grid can reach the bound.
                    XCTAssertEqual(ci, 3, "case \(ci) \(m) should be achievable")
                }
            }
        }
        // A bound below float32 resolution of a large value is unachievable, reported as such.
        let big = [Float](repeating: 1.0e30, count: 4)
        var o = QuantizerOptions()
        o.maxError = 1
        XCTAssertThrowsError(try Quantizer(options: o).quantize(values: big, geometry: TensorGeometry(height: 2, width: 2, scanOrder: 0),
                                                                qp: 127, qpDensity: 2)) {
            guard case QuantizationError.errorBoundUnachievable = $0 else { return XCTFail("\($0)") }
        }
    }

    func testOverflowRaisesQPLikeNNCodec() throws {
        let g = TensorGeometry(height: 2, width: 2, scanOrder: 0)
        let v: [Float] = [1.0e6, -3.0, 0.5, 2.0e5]
        for m in QuantizationMethod.allCases {
            let t = try Quantizer.quantize(values: v, geometry: g, qp: -128, qpDensity: 2, method: m)
            XCTAssertGreaterThan(t.qp, -128)
            XCTAssertLessThanOrEqual(t.q.map { abs(Int64($0)) }.max() ?? 0, (1 << 31) - 1)
            // One QP finer would overflow.
            let finer = Double(1.0e6) / StepSize.delta(qp: t.qp - 1, qpDensity: 2)
            XCTAssertGreaterThan(finer, Double((1 << 31) - 3) - 1)
        }
    }

    func testBitDepthLevelsStayInRange() throws {
        let g = TensorGeometry(height: 64, width: 64, scanOrder: 0)
        var v = gaussian(g.count, sigma: 0.05, seed: 4)
        v[10] = 3      // outliers beyond the range
        v[20] = -3
        for bits in [2, 4, 8] {
            let (qp, limit) = try BitDepthLimit.nncodecQP(values: v, bits: bits, qpDensity: 2)
            XCTAssertFalse(limit.unsigned)
            for m in QuantizationMethod.allCases {
                var o = QuantizerOptions(method: m, lambdaScale: m == .rdoq ? 1 : 0)
                o.levelRange = limit.levelRange
                let t = try Quantizer(options: o).quantize(values: v, geometry: g, qp: qp, qpDensity: 2)
                XCTAssertTrue(t.q.allSatisfy { limit.levelRange.contains($0) }, "\(bits) bits \(m)")
                if m == .dependent { XCTAssertNotNil(decoderIndices(t, g)) }
                // The outlier gets the outermost level its quantizer allows.
                XCTAssertGreaterThanOrEqual(t.q[10], limit.levelRange.upperBound - (m == .dependent ? 1 : 0))
                XCTAssertLessThanOrEqual(t.q[20], limit.levelRange.lowerBound + (m == .dependent ? 1 : 0))
            }
        }
        let positive = v.map { abs($0) }
        let (_, ulimit) = try BitDepthLimit.nncodecQP(values: positive, bits: 4, qpDensity: 2)
        XCTAssertTrue(ulimit.unsigned)
        XCTAssertEqual(ulimit.levelRange, 0...15)
        XCTAssertEqual(try BitDepthLimit(bits: 8).levelRange, -128...127)
        XCTAssertEqual(try BitDepthLimit.nncodecQP(values: [0, 0, 0], bits: 8, qpDensity: 2).qp, 0)
        XCTAssertThrowsError(try BitDepthLimit(bits: 0))
    }

    func testPercentileMatchesNumpyLinear() {
        // numpy.percentile([1,2,3,4], 50) = 2.5; ([0,10], 99.95) = 9.995
        XCTAssertEqual(BitDepthLimit.percentile(sorted: [1, 2, 3, 4], 50), 2.5)
        XCTAssertEqual(BitDepthLimit.percentile(sorted: [0, 10], 99.95), 9.995, accuracy: 1e-5)
        XCTAssertEqual(BitDepthLimit.percentile(sorted: [7], 99.95), 7)
    }

    func testCodebookMonotoneAndIndicesInRange() throws {
        let g = TensorGeometry(height: 64, width: 48, scanOrder: 0)
        // Clustered data: six centres plus noise.
        var rng = SplitMix(seed: 21)
        let centres: [Double] = [-0.3, -0.12, -0.02, 0.05, 0.2, 0.41]
        let v = (0..<g.count).map { _ in Float(centres[Int.random(in: 0..<6, using: &rng)] + rng.normal() * 0.0005) }
        for mode in [CodebookMode.always, .byCost] {
            for skip in [false, true] {
                var o = QuantizerOptions(method: .nearest)
                o.rowSkipping = skip
                let t = try Quantizer(options: o).quantizeWithCodebook(values: v, geometry: g, qp: -32, qpDensity: 2, mode: mode)
                let cb = try XCTUnwrap(t.codebook, "clustered data should pick the codebook")
                XCTAssertFalse(t.dependentQuantization)
                for i in 1..<cb.entries.count { XCTAssertLessThan(cb.entries[i - 1], cb.entries[i]) }
                let range = -Int32(cb.cbZeroOffset)...Int32(cb.entries.count - 1 - cb.cbZeroOffset)
                XCTAssertTrue(t.q.allSatisfy { range.contains($0) })
                // Reconstruction = the uniform level's multiple of Δ.
                let rec = t.reconstructedDouble()
                let s = Float(1) / t.stepSize
                for i in 0..<v.count {
                    XCTAssertEqual(rec[i], Double(Int32((s * v[i]).rounded(.toNearestOrAwayFromZero))) * Double(t.stepSize))
                }
                XCTAssertEqual(cb.syntaxBits, NNRCodebook.syntaxBits(entries: cb.entries, zeroOffset: cb.cbZeroOffset, egk: cb.codebookEgk))
            }
        }
        // Gaussian data at a fine QP: uniform is cheaper than a codebook with many entries.
        let gauss = gaussian(g.count, sigma: 0.05, seed: 2)
        let u = try Quantizer().quantizeWithCodebook(values: gauss, geometry: g, qp: -38, qpDensity: 2, mode: .byCost)
        XCTAssertNil(u.codebook)
        // DQ requested: the codebook uses qp − 2^d without DQ.
        let d = try Quantizer(options: QuantizerOptions(method: .dependent)).quantizeWithCodebook(values: v, geometry: g, qp: -32, qpDensity: 2, mode: .always)
        XCTAssertEqual(d.qp, -36)
        XCTAssertFalse(d.dependentQuantization)
        XCTAssertThrowsError(try NNRCodebook(choosingEgk: [1, 1, 2], cbZeroOffset: 0))
        XCTAssertThrowsError(try NNRCodebook(choosingEgk: [], cbZeroOffset: 0))
    }

    func testSNRHelpers() {
        let one: [Float] = [1, 1]
        XCTAssertEqual(QuantizationStats.snrDB(original: one, reconstructed: one), .infinity)
        XCTAssertEqual(QuantizationStats.snrDB(original: [1, 0], reconstructed: [Float(0.9), 0]) ?? 0, 20, accuracy: 1e-5)
        XCTAssertEqual(QuantizationStats.snrDB(original: [1, 0], reconstructed: [Double(0.9), 0]) ?? 0, 20, accuracy: 1e-9)
        XCTAssertNil(QuantizationStats.snrDB(original: [1], reconstructed: [Float(1), 2]))
        XCTAssertEqual(QuantizationStats.maxAbsError(original: [1, -2], reconstructed: [1.5, -2]), 0.5)
    }

    func testRateEstimateRejectsInconsistentDQ() throws {
        let g = TensorGeometry(height: 2, width: 4, scanOrder: 0)
        // State 0 is quantizer 0 (even q only): q = 1 first is not representable.
        XCTAssertThrowsError(try PayloadRateEstimate.bits(levels: [1, 0, 0, 0, 0, 0, 0, 0], geometry: g, dependentQuantization: true))
        XCTAssertNil(DependentQuantizationPath.quantizationIndices(q: [1, 0, 0, 0, 0, 0, 0, 0], geometry: g))
        XCTAssertNotNil(DependentQuantizationPath.quantizationIndices(q: [2, 2, 1, 0, 0, 0, 0, 0], geometry: g))
        XCTAssertNil(DependentQuantizationPath.quantizationIndices(q: [2, 1, 0, 0, 0, 0, 0, 0], geometry: g))
        XCTAssertThrowsError(try PayloadRateEstimate.bits(levels: [2, 0, 0, 0, 0, 0, 0, 0], geometry: g, dependentQuantization: true,
                                                          rowSkipFlags: [true, false]))
    }
}
