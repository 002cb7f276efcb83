import Foundation
import XCTest
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRCodec
import NNRModelIO
import NNRTestSupport

/// The closed-loop incremental encoder: the receiver's state after every step (model, TCA bases,
/// HDSP history) equals what NNRDecoder holds after decoding the same bitstreams.
final class IncrementalEncoderTests: XCTestCase {
    /// A small model drifting over `steps` rounds (deterministic).
    static func sequence(steps: Int, seed: UInt64 = 7) -> [[Tensor]] {
        var rng = seed
        func next() -> Float {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: rng >> 11) % 2_000_001 - 1_000_000) / 1_000_000
        }
        var w1 = (0..<(24 * 20)).map { _ in next() * 0.1 }
        var w2 = (0..<(8 * 4 * 3 * 3)).map { _ in next() * 0.2 }
        var b = (0..<24).map { _ in next() * 0.05 }
        var counts: [Int32] = (0..<6).map { Int32($0) }
        var out: [[Tensor]] = []
        for k in 0..<steps {
            out.append([Tensor(name: "fc.weight", shape: [24, 20], float32: w1),
                        Tensor(name: "conv.weight", shape: [8, 4, 3, 3], float32: w2),
                        Tensor(name: "fc.bias", shape: [24], float32: b),
                        Tensor(name: "steps", shape: [6], int32: counts)])
            for i in w1.indices where i % 3 != k % 3 { w1[i] += next() * 0.01 }
            for i in w2.indices { w2[i] += next() * 0.02 }
            for i in b.indices where i % 2 == 0 { b[i] += next() * 0.002 }
            if k % 2 == 0 { counts = counts.map { $0 + 1 } }
        }
        return out
    }

    static func options(_ configure: (inout IncrementalEncoderOptions) -> Void = { _ in }) -> IncrementalEncoderOptions {
        var o = IncrementalEncoderOptions()
        o.encoder.qp = -32
        o.updateQP = -26
        o.encoder.concurrent = false
        configure(&o)
        return o
    }

    /// Encodes the sequence and decodes every step with NNRDecoder, adding parent-signalled tensors
    /// in float32 (int32 for integers); checks the encoder's state against the decoder's each step.
    func checkClosedLoop(_ o: IncrementalEncoderOptions, steps: Int = 5, line: UInt = #line) throws -> [IncrementalStep] {
        let seq = Self.sequence(steps: steps)
        var enc = IncrementalEncoder(options: o)
        var dec = NNRDecoder(options: DecoderOptions(concurrent: false, keepLevels: true))
        var model: [String: Tensor] = [:]
        var written: [IncrementalStep] = []
        for (k, step) in seq.enumerated() {
            let s = try enc.encode(step: step)
            written.append(s)
            let d = try dec.decode(NNRByteSource(bytes: s.bitstream.bytes))
            for t in d.tensors {
                guard let u = d.units.first(where: { $0.location.index == t.unitIndex }), case let .compressedData(h) = u.content else {
                    return []
                }
                XCTAssertEqual(h.parentNodeIdPresentFlag, k > 0, line: line)
                XCTAssertEqual(h.putNodeDepth, (enc.putNodeDepth[t.name] ?? -1), line: line)
                if h.parentNodeIdPresentFlag, let prev = model[t.name] {
                    if t.tensor.dtype == .int32 {
                        model[t.name] = Tensor(name: t.name, shape: prev.shape, int32: zip(prev.int32Values(), t.tensor.int32Values()).map { $0 &+ $1 })
                    } else {
                        model[t.name] = Tensor(name: t.name, shape: prev.shape, float32: zip(prev.floatValues(), t.tensor.floatValues()).map { $0 + $1 })
                    }
                } else {
                    model[t.name] = t.tensor
                }
            }
            XCTAssertEqual(enc.reconstruction.count, step.count, line: line)
            for r in enc.reconstruction {
                XCTAssertEqual(model[r.name]?.storage, r.storage, "step \(k) tensor \(r.name): encoder and decoder models differ", line: line)
            }
            XCTAssertEqual(dec.state.previousLevels, enc.decoderState.previousLevels, "step \(k): TCA bases differ", line: line)
            XCTAssertEqual(dec.state.history, enc.decoderState.history, "step \(k): HDSP histories differ", line: line)
        }
        return written
    }

    func testClosedLoopStateEqualsDecoderEveryStep() throws {
        let plain = try checkClosedLoop(Self.options())
        let tca = try checkClosedLoop(Self.options { $0.temporalContextAdaptation = true })
        _ = try checkClosedLoop(Self.options { $0.temporalContextAdaptation = true; $0.encoder.dependentQuantization = false })
        _ = try checkClosedLoop(Self.options { $0.historyDependentSignificance = true; $0.preSignalling = true })
        _ = try checkClosedLoop(Self.options { $0.temporalContextAdaptation = true; $0.historyDependentSignificance = true; $0.encoder.scanOrder = 1 })
        _ = try checkClosedLoop(Self.options { $0.sparsity = 0.9 })
        _ = try checkClosedLoop(Self.options { $0.sparsity = 0.5; $0.structuredSparsity = true; $0.temporalContextAdaptation = true })
        // TCA changes the updates' bytes, never step 0's.
        XCTAssertEqual(plain[0].bitstream.bytes, tca[0].bitstream.bytes)
        XCTAssertNotEqual(plain[2].bitstream.bytes, tca[2].bitstream.bytes)
    }

    func testErrorDoesNotAccumulate() throws {
        let seq = Self.sequence(steps: 8)
        var enc = IncrementalEncoder(options: Self.options())
        // Δ of qp −26 at density 2 is about 2^-6.5; the trellis keeps each error within 2Δ at every
        // step (an open loop would add the steps' errors up).
        let bound = 2 * Double(StepSizeForTests.delta(qp: -26))
        for step in seq {
            _ = try enc.encode(step: step)
            let w = step[0].floatValues(), r = enc.reconstruction[0].floatValues()
            let err = zip(w, r).map { abs(Double($0) - Double($1)) }.max() ?? 0
            XCTAssertLessThanOrEqual(err, bound)
        }
        XCTAssertEqual(enc.reconstruction[3].int32Values(), seq[7][3].int32Values(), "integers are exact")
    }

    func testSparsityZeroesTheRequestedFractionAndCarriesTheRest() throws {
        let seq = Self.sequence(steps: 3)
        var enc = IncrementalEncoder(options: Self.options { $0.sparsity = 0.9 })
        _ = try enc.encode(step: seq[0])
        let s1 = try enc.encode(step: seq[1])
        XCTAssertGreaterThanOrEqual(s1.report.sparsity, 0.88, "floor(0.9 n) per float tensor; integers are not sparsified")
        // The dropped part is in the next difference: a step with the same model sends it.
        let again = try enc.encode(step: seq[1])
        XCTAssertGreaterThan(again.report.parameterCount - again.report.zeroLevels, 0)
    }

    func testStructuredSparsityEmptiesWholeRows() throws {
        let seq = Self.sequence(steps: 2)
        var enc = IncrementalEncoder(options: Self.options { $0.sparsity = 0.5; $0.structuredSparsity = true })
        _ = try enc.encode(step: seq[0])
        let before = enc.reconstruction[0].floatValues()
        _ = try enc.encode(step: seq[1])
        let after = enc.reconstruction[0].floatValues()
        var unchangedRows = 0
        for r in 0..<24 where (0..<20).allSatisfy({ before[r * 20 + $0] == after[r * 20 + $0] }) { unchangedRows += 1 }
        XCTAssertGreaterThanOrEqual(unchangedRows, 12)
    }

    func testAllZeroUpdateIsOmitted() throws {
        let seq = Self.sequence(steps: 1)
        var enc = IncrementalEncoder(options: Self.options())
        _ = try enc.encode(step: seq[0])
        // The receiver's own model as the next step: every update is zero.
        let s = try enc.encode(step: enc.reconstruction)
        XCTAssertEqual(s.report.skippedTensors, seq[0].map(\.name))
        XCTAssertTrue(s.bitstream.tensors.isEmpty)
        var dec = NNRDecoder()
        let d = try dec.decode(NNRByteSource(bytes: s.bitstream.bytes))
        XCTAssertTrue(d.tensors.isEmpty)
        XCTAssertEqual(enc.putNodeDepth["fc.weight"], 1, "no NDU, no new node")
    }

    func testResumingFromBitstreamsContinuesTheSameSequence() throws {
        let seq = Self.sequence(steps: 4)
        let o = Self.options { $0.temporalContextAdaptation = true; $0.historyDependentSignificance = true }
        var full = IncrementalEncoder(options: o)
        let steps = try seq.map { try full.encode(step: $0) }
        let files = steps.prefix(3).enumerated().map { ("s\($0.offset).nnr", NNRByteSource(bytes: $0.element.bitstream.bytes)) }
        var resumed = try IncrementalEncoder(resumingAfter: Array(files), options: o)
        XCTAssertEqual(resumed.stepCount, 3)
        let last = try resumed.encode(step: seq[3])
        XCTAssertEqual(last.bitstream.bytes, steps[3].bitstream.bytes)
        XCTAssertEqual(resumed.reconstruction, full.reconstruction)
    }

    // MARK: - Bad input

    func assertInputError(_ body: () throws -> Void, file: String?, tensor: String?, contains text: String, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { e in
            guard let err = e as? IncrementalInputError else { return XCTFail("\(e)", line: line) }
            XCTAssertEqual(err.file, file, line: line)
            XCTAssertEqual(err.tensor, tensor, line: line)
            XCTAssertTrue(err.message.contains(text), err.description, line: line)
        }
    }

    func testStepWithDifferentShapeOrNamesIsRefusedByTensor() throws {
        let seq = Self.sequence(steps: 2)
        var enc = IncrementalEncoder(options: Self.options())
        _ = try enc.encode(step: seq[0])
        var reshaped = seq[1]
        reshaped[1] = Tensor(name: "conv.weight", shape: [8, 36], float32: reshaped[1].floatValues())
        assertInputError({ _ = try enc.encode(step: reshaped) }, file: nil, tensor: "conv.weight", contains: "differs from the previous step")
        assertInputError({ _ = try enc.encode(step: Array(seq[1].prefix(2))) }, file: nil, tensor: "fc.bias", contains: "missing")
        var renamed = seq[1]
        renamed[2].name = "fc.bias2"
        assertInputError({ _ = try enc.encode(step: renamed) }, file: nil, tensor: "fc.bias", contains: "missing")
        assertInputError({ _ = try enc.encode(step: seq[1] + [Tensor(name: "extra", shape: [2], float32: [1, 2])]) },
                         file: nil, tensor: "extra", contains: "not in the previous step")
        XCTAssertEqual(enc.stepCount, 1, "a refused step changes nothing")
    }

    func testIntegerUpdatesThatDoNotFitAreRefusedByTensor() throws {
        var enc = IncrementalEncoder(options: Self.options())
        _ = try enc.encode(step: [Tensor(name: "ids", shape: [2], int64: [-1, 5])])
        for bad: Int64 in [Int64.max, Int64(Int32.max) + 10] {
            XCTAssertThrowsError(try enc.encode(step: [Tensor(name: "ids", shape: [2], int64: [bad, 5])])) { e in
                XCTAssertEqual((e as? EncoderError)?.tensor, "ids", "\(e)")
            }
        }
        XCTAssertEqual(enc.stepCount, 1)
    }

    func testSparsityOutsideRangeIsRefused() {
        for f in [-0.1, 1.0, 1.5, Double.nan] {
            var enc = IncrementalEncoder(options: Self.options { $0.sparsity = f })
            assertInputError({ _ = try enc.encode(step: Self.sequence(steps: 1)[0]) }, file: nil, tensor: nil, contains: "outside [0, 1)")
        }
    }

    func testMissingReorderedOrForeignEarlierBitstreamsAreRefusedByFile() throws {
        let seq = Self.sequence(steps: 4)
        let o = Self.options { $0.temporalContextAdaptation = true }
        var enc = IncrementalEncoder(options: o)
        let b = try seq.map { NNRByteSource(bytes: try enc.encode(step: $0).bitstream.bytes) }
        assertInputError({ _ = try IncrementalEncoder(resumingAfter: [("s0.nnr", b[0]), ("s2.nnr", b[2])], options: o) },
                         file: "s2.nnr", tensor: "conv.weight", contains: "missing or out of order")
        assertInputError({ _ = try IncrementalEncoder(resumingAfter: [("s0.nnr", b[0]), ("s2.nnr", b[2]), ("s1.nnr", b[1])], options: o) },
                         file: "s2.nnr", tensor: "conv.weight", contains: "missing or out of order")
        assertInputError({ _ = try IncrementalEncoder(resumingAfter: [("s1.nnr", b[1]), ("s0.nnr", b[0])], options: o) },
                         file: "s1.nnr", tensor: "conv.weight", contains: "the first bitstream must be the whole model")
        assertInputError({ _ = try IncrementalEncoder(resumingAfter: [("s0.nnr", b[0]), ("s0.nnr", b[0])], options: o) },
                         file: "s0.nnr", tensor: "conv.weight", contains: "missing or out of order")
        let junk = NNRByteSource(bytes: Array("PK\u{3}\u{4} not an nnr file".utf8))
        assertInputError({ _ = try IncrementalEncoder(resumingAfter: [("s0.nnr", b[0]), ("model.zip", junk)], options: o) },
                         file: "model.zip", tensor: nil, contains: "not a valid NNR bitstream")
    }
}

enum StepSizeForTests {
    /// Δ = 2^(qp/4) at qp density 2, from the definition (2^d + (qp & (2^d − 1))) · 2^((qp >> d) − d).
    static func delta(qp: Int) -> Float {
        Float(Double(4 + (qp & 3)) * pow(2.0, Double((qp >> 2) - 2)))
    }
}
