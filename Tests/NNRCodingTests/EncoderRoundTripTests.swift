// Property tests of the payload encoder: random tensors and settings → encode → PayloadDecoder → the
// same levels, flags, estimator sets and entry points. Plus the encoder's input validation.

import XCTest
import NNRBitIO
@testable import NNRCoding

/// Deterministic generator for reproducible random cases.
struct EncoderTestRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ r: ClosedRange<Int>) -> Int {
        r.lowerBound + Int(next() % UInt64(r.upperBound - r.lowerBound + 1))
    }
    mutating func chance(_ p: Double) -> Bool { Double(next() % 1_000_000) < p * 1_000_000 }
}

/// Reconstruction indices q for quantization indices k (row-major) under DQ, following the coder's
/// scan order, row skipping (a skipped segment advances the state w times with parity 0) and
/// the state machine — written independently of the encoder.
func dqReconstruction(k: [Int32], height h: Int, width w: Int, scanOrder: Int, skippedRows: Set<Int>) -> [Int32] {
    var q = [Int32](repeating: 0, count: k.count)
    var state = 0
    let s = (w == 1 || h == 1) ? 0 : scanOrder
    let b = s > 0 ? 4 << s : w
    let bh = s > 0 ? b : h
    var r0 = 0
    while r0 < h {
        var c0 = 0
        while c0 < w {
            let c1 = min(c0 + b, w)
            for r in r0..<min(r0 + bh, h) {
                if skippedRows.contains(r) {
                    for _ in 0..<w { state = DependentQuantization.nextState(state, parity: 0) }
                    continue
                }
                for c in c0..<c1 {
                    let v = k[r * w + c]
                    q[r * w + c] = DependentQuantization.reconstructionIndex(k: v, state: state)
                    state = DependentQuantization.nextState(state, parity: Int(v & 1))
                }
            }
            c0 = c1
        }
        r0 += bh
    }
    return q
}

final class EncoderRoundTripTests: XCTestCase {
    struct Case {
        var params: TensorPayloadParameters
        var options: TensorEncodeOptions
        var levels: [Int32]
    }

    /// A random tensor with random settings. `profile1Features` enables codebooks, TCA, HDSP.
    func randomCase(_ g: inout EncoderTestRNG, index: Int) -> Case {
        let ndims = g.int(1...4)
        var dims: [Int] = []
        for d in 0..<ndims { dims.append(d == 0 ? g.int(1...70) : g.int(1...(ndims > 2 ? 6 : 90))) }
        let n = dims.reduce(1, *)
        let h = dims[0]
        let w = n / h
        var p = TensorPayloadParameters(dims: dims)
        p.generalProfileIdc = g.chance(0.8) ? 1 : 0
        p.scanOrder = g.int(0...4)
        p.cabacUnaryLengthMinus1 = [0, 1, 2, 3, 5, 10, 10, 10, 20, 40][g.int(0...9)]
        p.qpDensity = g.int(0...7)
        let kind = g.int(0...9)  // 0: INT, 1-2: codebook, else uniform
        p.codesQPOffset = kind != 0
        if kind == 1 || kind == 2 {
            let size = g.chance(0.1) ? 1 : g.int(2...40)
            let zo = g.chance(0.2) ? (g.chance(0.5) ? 0 : size - 1) : g.int(0...(size - 1))
            p.codebook = NNRCodebook(entries: Array(0..<size), cbZeroOffset: zo)
        } else if kind != 0 {
            p.dqFlag = g.chance(0.6)
        }
        if p.generalProfileIdc == 1 && g.chance(0.4) {
            p.parentNodeIdPresent = true
            if g.chance(0.5) {
                p.tcaBase = (0..<n).map { _ in g.chance(0.5) ? 0 : Int32(g.int(-5...5)) }
            }
            if g.chance(0.7) {
                p.hdspHistory = (0..<n).map { _ in g.chance(0.5) ? 1 : 0 }
            }
        }
        var o = TensorEncodeOptions()
        let limit = 1 << (5 + p.qpDensity)
        o.qpOffset = g.int(-limit...(limit - 1))
        o.rowSkipping = g.chance(0.5)
        o.hdsp = [.off, .on, .auto][g.int(0...2)]
        switch g.int(0...4) {
        case 0: o.estimatorSelection = .none
        case 1: o.estimatorSelection = .explicit((0..<300).map { _ in UInt8(g.int(0...8)) })
        case 2: o.estimatorSelection = .sampled(values: g.int(1...400), window: g.int(1...90))
        default: o.estimatorSelection = .optimize
        }

        // Levels: k values, some rows zero, occasional large values.
        let zeroRows = Set((0..<h).filter { _ in g.chance(0.2) })
        let sparsity = [0.0, 0.3, 0.7, 0.95][g.int(0...3)]
        let scale = [1, 3, 20, 1000][g.int(0...3)]
        var k = [Int32](repeating: 0, count: n)
        for r in 0..<h where !zeroRows.contains(r) {
            for c in 0..<w {
                if g.chance(sparsity) { continue }
                var v: Int
                if let cb = p.codebook {
                    v = g.int(-cb.cbZeroOffset...(cb.codebookSize - 1 - cb.cbZeroOffset))
                } else if g.chance(0.01) {
                    v = g.int(-(1 << 29)...(1 << 29))
                } else {
                    v = g.int(-scale...scale)
                }
                k[r * w + c] = Int32(v)
            }
        }
        var levels = k
        if p.dqFlag {
            // Which rows the encoder will skip: all-zero rows, when the syntax exists and it is enabled.
            let syntax = p.generalProfileIdc == 1 && w > 1 && n > w
            var skipped = Set<Int>()
            if syntax && o.rowSkipping {
                for r in 0..<h where (0..<w).allSatisfy({ k[r * w + $0] == 0 }) { skipped.insert(r) }
            }
            levels = dqReconstruction(k: k, height: h, width: w, scanOrder: p.scanOrder, skippedRows: skipped)
        }
        return Case(params: p, options: o, levels: levels)
    }

    func roundTrip(_ cases: [Case], file: StaticString = #filePath, line: UInt = #line) throws {
        var enc = PayloadEncoder()
        var infos: [EncodedTensorInfo] = []
        for c in cases {
            infos.append(try enc.encodeTensor(levels: c.levels, parameters: c.params, options: c.options))
        }
        let payload = enc.finish()
        let finalInfos = enc.encodedTensors
        XCTAssertEqual(finalInfos.count, cases.count, file: file, line: line)
        var dec = try PayloadDecoder(payload: payload, fileOffset: 0)
        for (i, c) in cases.enumerated() {
            var p = c.params
            p.entryPoints = finalInfos[i].entryPoints
            let r = try dec.decodeTensor(p)
            let what = "tensor \(i) dims \(c.params.dims) profile \(c.params.generalProfileIdc) dq \(c.params.dqFlag) scan \(c.params.scanOrder)"
            XCTAssertEqual(r.levels, c.levels, "levels, " + what, file: file, line: line)
            XCTAssertEqual(r.qpOffset, c.params.codesQPOffset ? c.options.qpOffset : 0, what, file: file, line: line)
            XCTAssertEqual(r.estimatorSets, finalInfos[i].estimatorSets, "sets, " + what, file: file, line: line)
            XCTAssertEqual(r.rowSkipEnabled, finalInfos[i].rowSkipEnabled, what, file: file, line: line)
            XCTAssertEqual(r.rowSkipFlags, finalInfos[i].rowSkipFlags, what, file: file, line: line)
            XCTAssertEqual(r.hdspEnabled, finalInfos[i].hdspEnabled, what, file: file, line: line)
            XCTAssertEqual(r.observedEntryPoints, finalInfos[i].entryPoints, "entry points, " + what, file: file, line: line)
            XCTAssertTrue(finalInfos[i].entryPointsFinal, file: file, line: line)
            XCTAssertEqual(infos[i].estimatorSets, finalInfos[i].estimatorSets, file: file, line: line)
        }
        let end = try dec.finish()
        XCTAssertEqual(end.bytesConsumed, payload.count, "payload length", file: file, line: line)
        XCTAssertTrue(end.stopPatternValid, file: file, line: line)
    }

    func testRandomSingleTensors() throws {
        var g = EncoderTestRNG(seed: 1)
        for i in 0..<400 {
            let c = randomCase(&g, index: i)
            try roundTrip([c])
        }
    }

    func testRandomMultiTensorPayloads() throws {
        var g = EncoderTestRNG(seed: 7)
        for i in 0..<120 {
            let count = g.int(2...4)
            var cs: [Case] = []
            for j in 0..<count { cs.append(randomCase(&g, index: i * 10 + j)) }
            try roundTrip(cs)
        }
    }

    func testBlockScanWithManyBlockRowsAndRowSkipping() throws {
        // Entry points with DQ, row skipping and widths larger than the block size.
        var g = EncoderTestRNG(seed: 3)
        for scan in 1...4 {
            let b = 4 << scan
            let h = 3 * b + 5
            let w = b + 7
            var p = TensorPayloadParameters(dims: [h, w])
            p.scanOrder = scan
            p.dqFlag = true
            var k = [Int32](repeating: 0, count: h * w)
            var skipped = Set<Int>()
            for r in 0..<h {
                if r % 4 == 1 { skipped.insert(r); continue }
                for c in 0..<w where g.chance(0.6) { k[r * w + c] = Int32(g.int(-9...9)) }
                if (0..<w).allSatisfy({ k[r * w + $0] == 0 }) { skipped.insert(r) }
            }
            let q = dqReconstruction(k: k, height: h, width: w, scanOrder: scan, skippedRows: skipped)
            let o = TensorEncodeOptions(qpOffset: -38, rowSkipping: true, hdsp: .off, estimatorSelection: .optimize)
            try roundTrip([Case(params: p, options: o, levels: q)])
            var enc = PayloadEncoder()
            try enc.encodeTensor(levels: q, parameters: p, options: o)
            _ = enc.finish()
            XCTAssertEqual(enc.encodedTensors[0].entryPoints.count, TensorGeometry.blockRowCount(rows: h, scanOrder: scan) - 1)
        }
    }

    func testAllZeroAndTinyTensors() throws {
        let shapes: [[Int]] = [[1], [1, 1], [64, 64], [5, 1, 1], [1, 4096], [3]]
        for dims in shapes {
            for dq in [false, true] {
                var p = TensorPayloadParameters(dims: dims)
                p.dqFlag = dq
                p.scanOrder = 2
                let n = dims.reduce(1, *)
                try roundTrip([Case(params: p, options: TensorEncodeOptions(qpOffset: -32, rowSkipping: true),
                                    levels: [Int32](repeating: 0, count: n))])
            }
        }
    }

    /// HDSP .auto keeps the shorter of the two finished payloads (ties: off), like NNCodec's tool.
    func testHDSPAutoPicksShorterPayload() throws {
        var g = EncoderTestRNG(seed: 21)
        for round in 0..<20 {
            let h = g.int(2...20), w = g.int(2...30)
            var p = TensorPayloadParameters(dims: [h, w])
            p.parentNodeIdPresent = true
            p.dqFlag = round % 2 == 0
            // History: a fixed mask; the update is nonzero mostly where the mask is set.
            let mask = (0..<(h * w)).map { _ in UInt8(g.chance(0.5) ? 1 : 0) }
            p.hdspHistory = mask
            var k = [Int32](repeating: 0, count: h * w)
            for i in 0..<(h * w) where g.chance(mask[i] == 1 ? 0.8 : 0.05) { k[i] = Int32(g.int(-3...3)) }
            let q = p.dqFlag ? dqReconstruction(k: k, height: h, width: w, scanOrder: 0, skippedRows: []) : k
            func encode(_ mode: HDSPMode) throws -> ([UInt8], Bool) {
                var enc = PayloadEncoder()
                let info = try enc.encodeTensor(levels: q, parameters: p,
                                                options: TensorEncodeOptions(qpOffset: -40, hdsp: mode))
                return (enc.finish(), info.hdspEnabled)
            }
            let (off, offFlag) = try encode(.off)
            let (on, onFlag) = try encode(.on)
            let (auto, autoFlag) = try encode(.auto)
            XCTAssertFalse(offFlag)
            XCTAssertTrue(onFlag)
            XCTAssertEqual(auto, on.count < off.count ? on : off)
            XCTAssertEqual(autoFlag, on.count < off.count)
            try roundTrip([Case(params: p, options: TensorEncodeOptions(qpOffset: -40, hdsp: .auto), levels: q)])
        }
    }

    // MARK: - validation

    func expectInvalid(_ body: () throws -> Void, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            try body()
            XCTFail("expected an NNRError: " + message, file: file, line: line)
        } catch let e as NNRError {
            if case .invalidValue = e.reason { return }
            if case .limitExceeded = e.reason { return }
            XCTFail("unexpected reason \(e): " + message, file: file, line: line)
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }

    func testQPOffsetRange() throws {
        for d in 0...7 {
            var p = TensorPayloadParameters(dims: [2, 3])
            p.qpDensity = d
            let limit = 1 << (5 + d)
            var enc = PayloadEncoder()
            expectInvalid({ try enc.encodeTensor(levels: [0, 0, 0, 0, 0, 0], parameters: p,
                                                 options: TensorEncodeOptions(qpOffset: limit)) }, "qp \(limit)")
            expectInvalid({ try enc.encodeTensor(levels: [0, 0, 0, 0, 0, 0], parameters: p,
                                                 options: TensorEncodeOptions(qpOffset: -limit - 1)) }, "qp \(-limit - 1)")
            try roundTrip([Case(params: p, options: TensorEncodeOptions(qpOffset: -limit), levels: [1, 0, 0, 0, 0, 2])])
            try roundTrip([Case(params: p, options: TensorEncodeOptions(qpOffset: limit - 1), levels: [1, 0, 0, 0, 0, 2])])
        }
    }

    func testRejectsUnrepresentableLevelsWithoutWriting() throws {
        var p = TensorPayloadParameters(dims: [2, 3])
        p.dqFlag = true
        var enc = PayloadEncoder()
        // State 0 needs even q: 3 is not representable.
        expectInvalid({ try enc.encodeTensor(levels: [3, 0, 0, 0, 0, 0], parameters: p, options: TensorEncodeOptions()) },
                      "odd q in state 0")
        // q = 2 (k = 1 → state 2, quantizer 0) then 1 (state 2 needs even) is invalid.
        expectInvalid({ try enc.encodeTensor(levels: [2, 1, 0, 0, 0, 0], parameters: p, options: TensorEncodeOptions()) },
                      "odd q in state 2")
        XCTAssertEqual(enc.bitPosition, 0, "nothing written on error")
        // q = 2 (k = 1 → state 2), -4 (k = -2 → state 1), 3 (odd quantizer) is valid.
        try roundTrip([Case(params: p, options: TensorEncodeOptions(), levels: [2, -4, 3, 0, 0, 0])])

        var cb = TensorPayloadParameters(dims: [2, 2])
        cb.codebook = NNRCodebook(entries: Array(0..<5), cbZeroOffset: 1)
        expectInvalid({ try enc.encodeTensor(levels: [-2, 0, 0, 0], parameters: cb, options: TensorEncodeOptions()) },
                      "codebook below range")
        expectInvalid({ try enc.encodeTensor(levels: [4, 0, 0, 0], parameters: cb, options: TensorEncodeOptions()) },
                      "codebook above range")
        try roundTrip([Case(params: cb, options: TensorEncodeOptions(), levels: [-1, 3, 0, 2])])

        var int = TensorPayloadParameters(dims: [4])
        int.codesQPOffset = false
        expectInvalid({ try enc.encodeTensor(levels: [Int32.min, 0, 0, 0], parameters: int, options: TensorEncodeOptions()) },
                      "Int32.min")
        try roundTrip([Case(params: int, options: TensorEncodeOptions(), levels: [Int32.max, -Int32.max, 0, 7])])

        expectInvalid({ try enc.encodeTensor(levels: [1, 2, 3], parameters: int, options: TensorEncodeOptions()) },
                      "count mismatch")
        var bad = TensorPayloadParameters(dims: [2, 2])
        bad.scanOrder = 5
        // the decoder's rule (TensorCodingSetup): scan orders above 4 are unsupported
        XCTAssertThrowsError(try enc.encodeTensor(levels: [0, 0, 0, 0], parameters: bad, options: TensorEncodeOptions())) {
            XCTAssertEqual(($0 as? NNRError)?.reasonCode, "unsupported")
            XCTAssertEqual(($0 as? NNRError)?.element, "scan_order")
        }
        XCTAssertEqual(enc.bitPosition, 0, "nothing written on error")

        // After finish: no more tensors.
        try enc.encodeTensor(levels: [0, 0, 0, 0], parameters: int, options: TensorEncodeOptions())
        let bytes = enc.finish()
        XCTAssertEqual(enc.finish(), bytes)
        expectInvalid({ try enc.encodeTensor(levels: [0, 0, 0, 0], parameters: int, options: TensorEncodeOptions()) },
                      "after finish")
    }

    /// The encoder renormalises after an MPS by one comparison: every rMPS is at least 128.
    func testMPSRenormalisationIsAtMostOneShift() {
        XCTAssertTrue(EncoderTables.mpsShiftIsAtMostOne)
        let t = EncoderTables.shared
        for cls in 0..<8 {
            for m in -32..<32 {
                let index = 64 * cls + m
                let rlps = t.rangeLPSSigned[index]
                XCTAssertEqual(t.lpsShiftSigned[index], t.renorm[Int(rlps >> 1)], "class \(cls) m \(m)")
                XCTAssertGreaterThanOrEqual(rlps << t.lpsShiftSigned[index], 256)
                // The packed words the coder reads: byte `cls` of the state's word.
                let byte = UInt64(8 * cls)
                XCTAssertEqual(UInt32((t.rangeLPSPacked[m] >> byte) & 0xFF), rlps, "packed class \(cls) m \(m)")
                XCTAssertEqual(UInt32((t.lpsShiftPacked[m] >> byte) & 0xFF), t.lpsShiftSigned[index])
            }
        }
    }

    func testArithmeticEncoderBasics() throws {
        // Bypass-only stream: the decoder reads the same bins back (via a uniform INT tensor of zeros
        // we already test); here check finish() shape and bit position bookkeeping.
        var a = ArithmeticEncoder()
        XCTAssertEqual(a.bitPosition, 0)
        a.encodeBypassBins(0b1011, count: 4)
        XCTAssertEqual(a.bitPosition, 4)
        a.encodeBypassBins(0x1234_5678, count: 31)
        XCTAssertEqual(a.bitPosition, 35)
        a.encodeTerminatingBin(1)
        XCTAssertEqual(a.bitPosition, 42)
        let bytes = a.finish()
        XCTAssertFalse(bytes.isEmpty)
        XCTAssertNotEqual(bytes.last, 0)
    }

    func testScaledBitsTable() {
        XCTAssertEqual(nnrScaledEstimatedBits.count, 2048)
        // Equiprobable state (S01 = 0): index 512, both costs near one bit.
        let c = ContextModel(set: 0)
        XCTAssertEqual(c.scaledBits(for: 0), 32968)
        XCTAssertEqual(c.scaledBits(for: 1), 32568)
        // A strongly positive state makes 1 cheap.
        let p = ContextModel(set: 2)
        XCTAssertLessThan(p.scaledBits(for: 1), p.scaledBits(for: 0))
    }
}

final class EncoderEstimatorOptimizerTests: XCTestCase {
    /// The optimizer against a direct per-bin simulation with ContextModel and the bit-cost table,
    /// including block-row resets.
    func testOptimizerMatchesContextModel() {
        var g = EncoderTestRNG(seed: 5)
        var rec = BinRecorder(contextCount: 1)
        defer { rec.deallocate() }
        var models = (0..<9).map { ContextModel(set: $0) }
        var expected = [UInt64](repeating: 0, count: 9)
        for step in 0..<20_000 {
            let bin: UInt32 = g.chance([0.9, 0.5, 0.1, 0.02][(step / 1_000) % 4]) ? 1 : 0
            rec.push(bin, 0)
            for e in 0..<9 {
                expected[e] += UInt64(models[e].scaledBits(for: bin))
                models[e].update(bin: bin)
            }
            if step % 6_000 == 5_999 {
                rec.markReset()
                for e in 0..<9 { models[e].reset() }
            }
        }
        let o = EstimatorOptimizer(contextCount: 1)
        defer { o.deallocate() }
        o.accumulate(rec)
        for e in 0..<9 { XCTAssertEqual(o.costs[e], expected[e], "set \(e)") }
    }

}

/// Estimator selection on a sample of a large tensor (`EstimatorSelectionMode.sampled`).
extension EncoderRoundTripTests {

    func testSampledWindowsSpreadOverTheTensor() {
        // Small tensors, or a sample at least as large: the whole tensor, as `optimize`.
        XCTAssertEqual(EstimatorSelectionMode.sampled(values: 100, window: 10).pseudoCodedWindows(count: 100), [0..<100])
        XCTAssertEqual(EstimatorSelectionMode.sampled(values: 100, window: 0).pseudoCodedWindows(count: 1000), [0..<1000])
        XCTAssertEqual(EstimatorSelectionMode.optimize.pseudoCodedWindows(count: 1000), [0..<1000])
        XCTAssertEqual(EstimatorSelectionMode.sampled(values: 15, window: 10).pseudoCodedWindows(count: 1000), [0..<10])
        XCTAssertEqual(EstimatorSelectionMode.sampled(values: 30, window: 10).pseudoCodedWindows(count: 101),
                       [0..<10, 45..<55, 91..<101])
        for (n, values, window) in [(1_000_003, 65_536, 2048), (65_537, 65_536, 2048), (5_000, 999, 7), (12, 11, 3)] {
            let w = EstimatorSelectionMode.sampled(values: values, window: window).pseudoCodedWindows(count: n)
            XCTAssertEqual(w.count, values / window, "\(n)")
            XCTAssertEqual(w.first?.lowerBound, 0)
            XCTAssertEqual(w.last?.upperBound, n)
            XCTAssertTrue(w.allSatisfy { $0.count == window })
            XCTAssertTrue(zip(w, w.dropFirst()).allSatisfy { $0.upperBound <= $1.lowerBound }, "disjoint, ascending, \(n)")
        }
    }

    /// The pseudo pass codes exactly the values inside the windows: one significance bin per coded
    /// value, none for skipped rows.
    func testSampledPseudoPassCodesOnlyTheWindows() throws {
        let h = 50, w = 40
        var p = TensorPayloadParameters(dims: [h, w])
        p.dqFlag = true
        var k = [Int32](repeating: 0, count: h * w)
        let zeroRows: Set<Int> = [0, 7, 8, 9, 30, 49]
        for r in 0..<h where !zeroRows.contains(r) {
            for c in 0..<w { k[r * w + c] = Int32((r * 7 + c * 3) % 9) - 4 }
            k[r * w] = 1
        }
        let q = dqReconstruction(k: k, height: h, width: w, scanOrder: 0, skippedRows: zeroRows)
        for windows in [[0..<(h * w)], [0..<25, 300..<340, 1190..<1250, 1960..<2000], [10..<20, 1230..<1240]] {
            let o = TensorEncodeOptions(qpOffset: 0, rowSkipping: true)
            let plan = try TensorPlan(levels: q.count, parameters: p, options: o, byteOffset: 0)
            let prepared = try q.withUnsafeBufferPointer { try PreparedTensor(levels: $0, plan: plan, byteOffset: 0) }
            defer { prepared.deallocate() }
            let layout = ContextLayout(cabacUnaryLengthMinus1: p.cabacUnaryLengthMinus1)
            var rec = BinRecorder(contextCount: layout.count)
            defer { rec.deallocate() }
            PayloadEncoder.recordPseudoBins(&rec, plan: plan, prepared: prepared, hdspOn: false,
                                            windows: windows)
            let sigBins = (0..<24).reduce(0) { $0 + rec.counts[$1] }
            let expected = windows.reduce(0) { sum, r in sum + r.filter { !zeroRows.contains($0 / w) }.count }
            XCTAssertEqual(sigBins, expected, "\(windows)")
        }
    }

    /// A sample as large as the tensor chooses exactly what `optimize` chooses; a real sample of a
    /// large tensor stays within 0.5% of its size, and both decode to the same levels.
    func testSampledSelectionAgainstExhaustive() throws {
        var g = EncoderTestRNG(seed: 99)
        let h = 300, w = 256
        var p = TensorPayloadParameters(dims: [h, w])
        p.dqFlag = true
        // Laplacian-like levels whose spread changes slowly over the rows.
        var k = [Int32](repeating: 0, count: h * w)
        for i in 0..<(h * w) {
            let spread = 1 + (i / w) % 40
            let u = Double(g.next() % 1_000_000) / 1_000_000 + 0.5e-6
            let m = Int32(-Double(spread) * log(u) / 4)
            k[i] = g.chance(0.5) ? m : -m
        }
        let q = dqReconstruction(k: k, height: h, width: w, scanOrder: 0, skippedRows: [])
        func encode(_ mode: EstimatorSelectionMode) throws -> (bytes: [UInt8], sets: [UInt8]) {
            var enc = PayloadEncoder()
            let info = try enc.encodeTensor(levels: q, parameters: p,
                                            options: TensorEncodeOptions(qpOffset: -32, estimatorSelection: mode))
            return (enc.finish(), info.estimatorSets)
        }
        let exhaustive = try encode(.optimize)
        let whole = try encode(.sampled(values: h * w, window: 512))
        XCTAssertEqual(whole.bytes, exhaustive.bytes)
        let sampled = try encode(.sampled(values: 8192, window: 512))
        let none = try encode(.none)
        XCTAssertNotEqual(sampled.sets, [UInt8](repeating: 0, count: sampled.sets.count), "the sample chose sets")
        XCTAssertLessThanOrEqual(Double(sampled.bytes.count), Double(exhaustive.bytes.count) * 1.005)
        XCTAssertLessThan(sampled.bytes.count, none.bytes.count)
        try roundTrip([Case(params: p, options: TensorEncodeOptions(qpOffset: -32,
                                                                    estimatorSelection: .sampled(values: 8192, window: 512)),
                            levels: q)])
    }
}
