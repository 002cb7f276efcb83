import Foundation
import NNRBitIO
import NNRCoding
import XCTest

/// A small test-only arithmetic encoder (spec 5.6) used to craft payloads bin by bin.
struct TestBinEncoder {
    var low: UInt32 = 0
    var range: UInt32 = 510
    var bitsLeft: Int = 23
    var bufferedByte: UInt32 = 0xFF
    var numBuffered = 0
    var bytes: [UInt8] = []

    mutating func encodeBin(_ bin: Int, _ ctx: inout ContextModel) {
        let rlps = UInt32(nnrRangeLPSTable[ctx.lpsTableIndex(range: range)])
        range -= rlps
        if UInt32(bin) == ctx.mps {
            if range < 256 {
                range <<= 1
                low <<= 1
                bitsLeft -= 1
            }
        } else {
            let n = rlps.leadingZeroBitCount - 23
            low &+= range
            range = rlps << UInt32(n)
            low <<= UInt32(n)
            bitsLeft -= n
        }
        if bitsLeft < 12 { writeOut() }
        ctx.update(bin: UInt32(bin))
    }

    mutating func encodeBypass(_ bin: Int) {
        low <<= 1
        if bin != 0 { low &+= range }
        bitsLeft -= 1
        if bitsLeft < 12 { writeOut() }
    }

    mutating func encodeBypassBins(_ value: Int, count: Int) {
        for i in stride(from: count - 1, through: 0, by: -1) { encodeBypass((value >> i) & 1) }
    }

    mutating func encodeTerminate(_ bin: Int) {
        range -= 2
        if bin != 0 {
            low &+= range
            low <<= 7
            range = 2 << 7
            bitsLeft -= 7
        } else if range >= 256 {
            return
        } else {
            low <<= 1
            range <<= 1
            bitsLeft -= 1
        }
        if bitsLeft < 12 { writeOut() }
    }

    mutating func writeOut() {
        let lead = low >> UInt32(24 - bitsLeft)
        bitsLeft += 8
        low &= 0xFFFF_FFFF >> UInt32(bitsLeft)
        if lead == 0xFF {
            numBuffered += 1
        } else if numBuffered > 0 {
            let carry = lead >> 8
            bytes.append(UInt8(truncatingIfNeeded: bufferedByte + carry))
            bufferedByte = lead & 0xFF
            let fill = UInt8(truncatingIfNeeded: 0xFF + carry)
            while numBuffered > 1 {
                bytes.append(fill)
                numBuffered -= 1
            }
        } else {
            numBuffered = 1
            bufferedByte = lead
        }
    }

    mutating func finish() -> [UInt8] {
        if (low >> UInt32(32 - bitsLeft)) != 0 {
            bytes.append(UInt8(truncatingIfNeeded: bufferedByte + 1))
            while numBuffered > 1 {
                bytes.append(0)
                numBuffered -= 1
            }
            low -= 1 << UInt32(32 - bitsLeft)
        } else {
            if numBuffered > 0 { bytes.append(UInt8(truncatingIfNeeded: bufferedByte)) }
            while numBuffered > 1 {
                bytes.append(0xFF)
                numBuffered -= 1
            }
        }
        low >>= 8
        low = (low << 1) + 1
        bitsLeft -= 1
        let nbits = 24 - bitsLeft
        low <<= UInt32(32 - nbits)
        var i = 0
        while i < nbits {
            bytes.append(UInt8(truncatingIfNeeded: low >> UInt32(24 - i)))
            i += 8
        }
        return bytes
    }
}

/// Writes the tensor-level syntax of one tensor with default estimator sets (all selection flags 0)
/// so that tests can append level bins.
struct TestTensorWriter {
    var enc = TestBinEncoder()
    var contexts: [ContextModel]
    let layout: ContextLayout

    init(unaryMinus1: Int) {
        layout = ContextLayout(cabacUnaryLengthMinus1: unaryMinus1)
        contexts = Array(repeating: ContextModel(set: 0), count: layout.count)
    }

    /// qp_offset, then the selection flags of a 1-D, non-DQ, non-TCA tensor without codebook
    /// (3 sig + 3 sign + 2L gt + 31 remainder entries, all 0).
    mutating func header1D(qpOffset: Int, qpDensity: Int) {
        for i in 0..<contexts.count { contexts[i] = ContextModel(set: 0) }
        enc.encodeBypassBins(qpOffset & ((1 << (6 + qpDensity)) - 1), count: 6 + qpDensity)
        let n = 3 + 3 + 2 * layout.gtCount + 31
        for _ in 0..<n { enc.encodeBin(0, &contexts[layout.selectionFlag]) }
    }

    mutating func bin(_ b: Int, _ ctx: Int) { enc.encodeBin(b, &contexts[ctx]) }
}

final class PayloadDecoderEngineTests: XCTestCase {
    // MARK: arithmetic decoder on hand-made bytes

    func testFirstDecisionBinMPSFromZeros() throws {
        var d = try ArithmeticDecoder(bytes: [0, 0, 0, 0])
        var c = ContextModel(set: 0)
        XCTAssertEqual(try d.decodeBin(context: &c), 1)  // S01 = 0 → MPS 1; value 0 < 282 << 7
        XCTAssertEqual(d.range, 282)                     // 510 − rLPS(row 7, col 0) = 510 − 228
        XCTAssertEqual(c.s0, 2)                          // 0 + (64 >> 5)
        XCTAssertEqual(c.s01, 36)                        // S1 = 64 >> 4 = 4; 4 + 16·2
        XCTAssertEqual(d.bytesFetched, 2)
        XCTAssertEqual(d.bitOffset, 0)
    }

    func testFirstDecisionBinLPSFromOnes() throws {
        var d = try ArithmeticDecoder(bytes: [0xFE, 0xFF, 0x00, 0x00])
        var c = ContextModel(set: 0)
        XCTAssertEqual(try d.decodeBin(context: &c), 0)  // 65279 ≥ 282 << 7 → LPS
        XCTAssertEqual(d.range, 456)                     // 228 << 1
        XCTAssertEqual(d.value, (65279 - 36096) << 1)
        XCTAssertEqual(d.bitsNeeded, -7)
        XCTAssertEqual(c.s0, -2)
        XCTAssertEqual(c.s01, -36)
    }

    func testBypassBins() throws {
        var d = try ArithmeticDecoder(bytes: [0x80, 0x00, 0x00])
        XCTAssertEqual(try d.decodeBypass(), 1)  // 65536 ≥ 510 << 7
        XCTAssertEqual(d.value, 256)
        XCTAssertEqual(try d.decodeBypass(), 0)
        var z = try ArithmeticDecoder(bytes: [0, 0, 0, 0, 0])
        XCTAssertEqual(try z.decodeBypassBins(20), 0)
        XCTAssertEqual(z.bytesFetched, 4)  // 2 at init, one more after every 8 bypass bins
    }

    func testTerminatingBin() throws {
        var one = try ArithmeticDecoder(bytes: [0xFE, 0xFF])
        XCTAssertEqual(try one.decodeTerminate(), 1)
        var zero = try ArithmeticDecoder(bytes: [0x00, 0x00])
        XCTAssertEqual(try zero.decodeTerminate(), 0)
        XCTAssertEqual(zero.range, 508)
    }

    func testTooShortAndOverread() {
        XCTAssertThrowsError(try ArithmeticDecoder(bytes: [0x12])) { e in
            XCTAssertEqual((e as? NNRError)?.reasonCode, "truncated")
        }
        // no encoder can start at or above 510 · 2^7
        XCTAssertThrowsError(try ArithmeticDecoder(bytes: [0xFF, 0x00])) { e in
            XCTAssertEqual((e as? NNRError)?.element, "cabac_init")
        }
        XCTAssertThrowsError(try PayloadDecoder(payload: [0xFF, 0xFF, 0, 0], fileOffset: 5)) { e in
            XCTAssertEqual((e as? NNRError)?.element, "cabac_init")
            XCTAssertEqual((e as? NNRError)?.position.byteOffset, 5)
        }
        var d = try? ArithmeticDecoder(bytes: [0, 0])
        XCTAssertNotNil(d)
        XCTAssertThrowsError(try d?.decodeBypassBins(16)) { e in
            XCTAssertEqual((e as? NNRError)?.reason, .payload("read past end of payload"))
        }
    }

    // MARK: estimator update, hand-computed

    /// The decoder's update tables hold the slow half only for the parameter sets' shift1 values;
    /// any other shift1 (3 and 7 here) gives the same states as `ContextModel.update` (shifts
    /// below these reach states beyond the bounds the tables and `ContextModel` share).
    func testEstimatorUpdateForShiftPairsMatchesContextModel() throws {
        var rng = SplitMix64(seed: 19)
        let bytes = (0..<3000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        for shift0 in Int32(4)...7 {
            for shift1 in Int32(3)...7 {
                var d = try ArithmeticDecoder(bytes: [0x40] + bytes)
                var c = ContextModel(set: 0)
                c.shift0 = shift0
                c.shift1 = shift1
                var reference = c
                for i in 0..<2000 {
                    let bin = try d.decodeBin(context: &c)
                    reference.update(bin: UInt32(bin))
                    XCTAssertEqual(c, reference, "shift0 \(shift0), shift1 \(shift1), bin \(i)")
                    if c != reference { return }
                }
            }
        }
    }

    func testEstimatorUpdateByHand() throws {
        // set 4 (sh0 6, sh1 6, S01 962, S0 30), bin 1 as MPS (value 0)
        var d = try ArithmeticDecoder(bytes: [0, 0, 0, 0])
        var c = ContextModel(set: 4)
        XCTAssertEqual(try d.decodeBin(context: &c), 1)
        XCTAssertEqual(c.s0, 31)    // 30 + (C[16 + 3] >> 6) = 30 + 1
        XCTAssertEqual(c.s01, 979)  // S1 = 482 + (C[19] >> 6) = 483; 483 + 16·31
        // set 4, bin 0 as LPS (value 0xFEFF): rLPS(row 7, col 7) = 90
        var e = try ArithmeticDecoder(bytes: [0xFE, 0xFF, 0, 0])
        var c2 = ContextModel(set: 4)
        XCTAssertEqual(try e.decodeBin(context: &c2), 0)
        XCTAssertEqual(c2.s0, 26)   // 30 − (C[16 + (−30 >> 3)] >> 6) = 30 − (C[12] = 272 >> 6 = 4)
        XCTAssertEqual(c2.s01, 894) // S1 = 482 − (C[12] >> 6) = 478; 478 + 16·26
        XCTAssertEqual(e.range, 360)
        XCTAssertEqual(e.value, (65279 - 420 * 128) << 2)
        // set 6 (S01 −673, S0 −21), MPS 0, bin 0
        var f = try ArithmeticDecoder(bytes: [0, 0, 0, 0])
        var c3 = ContextModel(set: 6)
        XCTAssertEqual(try f.decodeBin(context: &c3), 0)
        XCTAssertEqual(c3.s0, -22)
        XCTAssertEqual(c3.s01, -690)
        // the shared ContextModel.update agrees
        var m = ContextModel(set: 6)
        m.update(bin: 0)
        XCTAssertEqual(m, c3)
    }

    /// Random bins through the test encoder and back through the decoder, many contexts and bypass.
    func testRandomBinRoundTrip() throws {
        var rng = SplitMix64(seed: 12345)
        for trial in 0..<20 {
            let nctx = 9
            var encCtx = (0..<nctx).map { ContextModel(set: $0) }
            var enc = TestBinEncoder()
            var script: [(ctx: Int, bin: Int)] = []
            let count = 200 + trial * 300
            for _ in 0..<count {
                let ctx = Int(rng.next() % UInt64(nctx + 1)) - 1  // −1 = bypass
                let skew = rng.next() % 100
                let bin = ctx >= 0 ? (skew < UInt64(10 + 8 * ctx) ? 0 : 1) : Int(rng.next() & 1)
                script.append((ctx, bin))
                if ctx < 0 { enc.encodeBypass(bin) } else { enc.encodeBin(bin, &encCtx[ctx]) }
            }
            enc.encodeTerminate(1)
            let bytes = enc.finish()
            var dec = try ArithmeticDecoder(bytes: bytes)
            var decCtx = (0..<nctx).map { ContextModel(set: $0) }
            for (i, s) in script.enumerated() {
                let b = s.ctx < 0 ? try dec.decodeBypass() : try dec.decodeBin(context: &decCtx[s.ctx])
                XCTAssertEqual(b, s.bin, "trial \(trial) bin \(i)")
                if b != s.bin { return }
            }
            XCTAssertEqual(try dec.decodeTerminate(), 1)
            XCTAssertEqual(dec.bytesFetched, bytes.count)
            XCTAssertEqual(decCtx, encCtx)
        }
    }

    // MARK: DQ, step size, reconstruction, layout

    func testDependentQuantizationMapping() {
        XCTAssertEqual(DependentQuantization.reconstructionIndex(k: 0, state: 1), 0)
        XCTAssertEqual(DependentQuantization.reconstructionIndex(k: 3, state: 0), 6)
        XCTAssertEqual(DependentQuantization.reconstructionIndex(k: 3, state: 1), 5)
        XCTAssertEqual(DependentQuantization.reconstructionIndex(k: -3, state: 3), -5)
        XCTAssertEqual(DependentQuantization.reconstructionIndex(k: -3, state: 2), -6)
        let t: [[Int]] = [[0, 2], [7, 5], [1, 3], [6, 4], [2, 0], [5, 7], [3, 1], [4, 6]]
        for s in 0..<8 {
            for p in 0..<2 { XCTAssertEqual(DependentQuantization.nextState(s, parity: p), t[s][p]) }
        }
    }

    func testStepSize() {
        XCTAssertEqual(StepSize.delta(qp: -38, qpDensity: 2), 6.0 / 4096.0)
        XCTAssertEqual(StepSize.float32(qp: -38, qpDensity: 2), Float(6.0 / 4096.0))
        XCTAssertEqual(StepSize.delta(qp: -75, qpDensity: 2), 5.0 * pow(2.0, -21))
        XCTAssertEqual(StepSize.delta(qp: 0, qpDensity: 0), 1)
        XCTAssertEqual(StepSize.delta(qp: -32, qpDensity: 2), 1.0 / 256)
    }

    func testReconstruction() throws {
        let big: Int32 = (1 << 24) + 1  // rounds to 2^24 in float32
        let w = Reconstruction.float32(levels: [0, 1, -3, big], stepSize: 0.5)
        XCTAssertEqual(w, [0, 0.5, -1.5, Float(1 << 23)])
        let c = try Reconstruction.codebookFloat64(levels: [-1, 0, 1], codebook: [-7, 0, 5], zeroOffset: 1, stepSize: 0.25)
        XCTAssertEqual(c, [-1.75, 0, 1.25])
        XCTAssertThrowsError(try Reconstruction.codebookFloat64(levels: [2], codebook: [-7, 0, 5], zeroOffset: 1, stepSize: 1))
        XCTAssertThrowsError(try Reconstruction.codebookFloat64(levels: [Int32.min], codebook: [0], zeroOffset: 0, stepSize: 1))
    }

    // MARK: crafted payloads: level limits

    /// One 1-D tensor [1], L = 1, no DQ: sig 1, sign, gt 1, remainder with `prefixOnes` context bins 1
    /// (then a 0 if fewer than 31), then `suffix` in `prefixOnes` bypass bins.
    func craftedLevel(negative: Bool, prefixOnes: Int, suffix: Int) -> [UInt8] {
        var w = TestTensorWriter(unaryMinus1: 0)
        w.header1D(qpOffset: -3, qpDensity: 2)
        w.bin(1, 0)                         // sig, neighbour 0
        w.bin(negative ? 1 : 0, 48)         // sign
        w.bin(1, ContextLayout.gtBase + (negative ? 1 : 0))  // gt flag 0
        for m in 0..<prefixOnes { w.bin(1, w.layout.remainderBase + m) }
        if prefixOnes < 31 { w.bin(0, w.layout.remainderBase + prefixOnes) }
        w.enc.encodeBypassBins(suffix, count: prefixOnes)
        w.enc.encodeTerminate(1)
        return w.enc.finish()
    }

    func decodeCrafted(_ bytes: [UInt8]) throws -> (DecodedTensorPayload, PayloadEnd) {
        var d = try PayloadDecoder(payload: bytes, fileOffset: 100)
        let p = TensorPayloadParameters(generalProfileIdc: 1, dims: [1], cabacUnaryLengthMinus1: 0, qpDensity: 2)
        let r = try d.decodeTensor(p)
        return (r, try d.finish())
    }

    func testLargestLevelsFitInt32() throws {
        // |k| = 2 + (2^30 − 1) + suffix
        let (pos, endPos) = try decodeCrafted(craftedLevel(negative: false, prefixOnes: 30, suffix: (1 << 30) - 2))
        XCTAssertEqual(pos.qpOffset, -3)
        XCTAssertEqual(pos.levels, [Int32.max])
        XCTAssertTrue(endPos.stopPatternValid)
        let (neg, _) = try decodeCrafted(craftedLevel(negative: true, prefixOnes: 30, suffix: (1 << 30) - 1))
        XCTAssertEqual(neg.levels, [Int32.min])
        let (small, _) = try decodeCrafted(craftedLevel(negative: true, prefixOnes: 2, suffix: 3))
        XCTAssertEqual(small.levels, [-(2 + 3 + 3)])
    }

    func testLevelOverflowIsTypedError() throws {
        let bytes = craftedLevel(negative: false, prefixOnes: 31, suffix: Int(UInt32.max >> 1))
        XCTAssertThrowsError(try decodeCrafted(bytes)) { e in
            guard let err = e as? NNRError else { return XCTFail("untyped error \(e)") }
            XCTAssertEqual(err.reasonCode, "overflow")
            XCTAssertEqual(err.element, "abs_remainder")
            XCTAssertGreaterThanOrEqual(err.position.byteOffset, 100)
        }
        let minimum = craftedLevel(negative: true, prefixOnes: 30, suffix: (1 << 30) - 1)  // −(2^31) fits
        XCTAssertNoThrow(try decodeCrafted(minimum))
    }

    /// Row skipping with DQ in block scan advances the DQ state by the full width w for every skipped
    /// row segment (NNCodec), not by the segment length: dims [2, 9], scan_order 1 (8×8 blocks), row 1
    /// skipped, so its 8-wide segment advances 9 transitions.
    func testRowSkipAdvancesDQStateByWidthPerSegment() throws {
        let L = 11
        var w = TestTensorWriter(unaryMinus1: L - 1)
        let lay = w.layout
        w.enc.encodeBypassBins(0, count: 8)             // qp_offset 0 (d = 2)
        w.enc.encodeBypass(1)                          // row_skip_enabled_flag
        w.bin(0, lay.rowSkipFlag)                      // row 0 coded
        w.bin(1, lay.rowSkipFlag)                      // row 1 skipped
        let flags = 24 + 3 + 2 * L + 31                // DQ sig sets, sign, gt, remainder
        for _ in 0..<flags { w.bin(0, lay.selectionFlag) }
        var state = 0
        var nb = 0
        var expected = [Int32](repeating: 0, count: 18)
        func code(_ k: Int, at pos: Int) {
            w.bin(k != 0 ? 1 : 0, 3 * state + nb)
            if k != 0 {
                w.bin(0, 48 + nb)                      // positive
                w.bin(0, ContextLayout.gtBase)         // |k| = 1
            }
            expected[pos] = DependentQuantization.reconstructionIndex(k: Int32(k), state: state)
            state = DependentQuantization.nextState(state, parity: k & 1)
            nb = k != 0 ? 2 : 0
        }
        func skipSegment() {
            for _ in 0..<9 { state = DependentQuantization.nextState(state, parity: 0) }
        }
        // block column 0: row 0 cols 0…7, then row 1 (skipped)
        for (c, k) in [1, 1, 1, 0, 0, 0, 0, 0].enumerated() { code(k, at: c) }
        XCTAssertEqual(state, 2)
        skipSegment()
        XCTAssertEqual(state, 1)  // a per-position rule (8 transitions) would leave 2
        // block column 1: row 0 col 8, then row 1 col 8 (skipped)
        code(1, at: 8)
        skipSegment()
        w.enc.encodeTerminate(1)
        let bytes = w.enc.finish()

        var d = try PayloadDecoder(payload: bytes, fileOffset: 0)
        let r = try d.decodeTensor(TensorPayloadParameters(generalProfileIdc: 1, dims: [2, 9], scanOrder: 1, dqFlag: true,
                                                           cabacUnaryLengthMinus1: L - 1, qpDensity: 2))
        XCTAssertTrue(r.rowSkipEnabled)
        XCTAssertEqual(r.rowSkipFlags, [false, true])
        XCTAssertEqual(r.levels, expected)
        XCTAssertEqual(r.levels[8], 1)  // k = 1 in state 1 (odd quantizer)
        let end = try d.finish()
        XCTAssertEqual(end.bytesConsumed, bytes.count)
        XCTAssertTrue(end.stopPatternValid)
    }

    // MARK: parameter validation

    func testParameterValidation() throws {
        let payload: [UInt8] = [0, 0, 0, 0]
        func expect(_ p: TensorPayloadParameters, _ code: String, limits: NNRLimits = .default) {
            do {
                var d = try PayloadDecoder(payload: payload, fileOffset: 7, limits: limits)
                _ = try d.decodeTensor(p)
                XCTFail("no error for \(p)")
            } catch let e as NNRError {
                XCTAssertEqual(e.reasonCode, code, "\(e)")
            } catch {
                XCTFail("untyped \(error)")
            }
        }
        expect(TensorPayloadParameters(dims: []), "invalid_value")
        expect(TensorPayloadParameters(dims: [4, 0]), "invalid_value")
        expect(TensorPayloadParameters(dims: [Int.max, 3]), "limit_exceeded")
        expect(TensorPayloadParameters(dims: [1 << 40, 1 << 40]), "limit_exceeded")
        expect(TensorPayloadParameters(dims: [100, 100]), "limit_exceeded",
               limits: NNRLimits(maxTensorElements: 9999))
        expect(TensorPayloadParameters(dims: [4, 4], scanOrder: 5), "unsupported")
        expect(TensorPayloadParameters(dims: [4, 4], cabacUnaryLengthMinus1: 256), "invalid_value")
        expect(TensorPayloadParameters(dims: [4, 4], qpDensity: 8), "invalid_value")
        expect(TensorPayloadParameters(dims: [4, 4], codebook: NNRCodebook(entries: Array(0..<3), cbZeroOffset: 3)), "invalid_value")
        expect(TensorPayloadParameters(dims: [4, 4], tcaBase: [1, 2]), "invalid_value")
        expect(TensorPayloadParameters(dims: [4, 4], hdspHistory: [1]), "invalid_value")
    }

    /// A one-entry codebook in profile 1 codes no bins at all.
    func testCodebookOfSizeOneCodesNothing() throws {
        var w = TestTensorWriter(unaryMinus1: 10)
        w.enc.encodeBypassBins(5, count: 8)  // qp_offset
        w.enc.encodeTerminate(1)
        let bytes = w.enc.finish()
        var d = try PayloadDecoder(payload: bytes, fileOffset: 0)
        let r = try d.decodeTensor(TensorPayloadParameters(dims: [64, 64], codebook: NNRCodebook(entries: Array(0..<1), cbZeroOffset: 0)))
        XCTAssertEqual(r.qpOffset, 5)
        XCTAssertEqual(r.levels.count, 4096)
        XCTAssertTrue(r.levels.allSatisfy { $0 == 0 })
        XCTAssertFalse(r.rowSkipEnabled)
        let end = try d.finish()
        XCTAssertEqual(end.bytesConsumed, bytes.count)
    }

    func testFinishTwiceAndDecodeAfterFinish() throws {
        var w = TestTensorWriter(unaryMinus1: 0)
        w.header1D(qpOffset: 0, qpDensity: 2)
        w.bin(0, 0)
        w.enc.encodeTerminate(1)
        var d = try PayloadDecoder(payload: w.enc.finish(), fileOffset: 0)
        _ = try d.decodeTensor(TensorPayloadParameters(dims: [1], cabacUnaryLengthMinus1: 0))
        _ = try d.finish()
        XCTAssertThrowsError(try d.finish())
        XCTAssertThrowsError(try d.decodeTensor(TensorPayloadParameters(dims: [1])))
    }
}

/// Deterministic generator for tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
