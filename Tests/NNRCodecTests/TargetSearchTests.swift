import Foundation
import XCTest
import NNRContainer
import NNRCodec
import NNRModelIO

/// `NNREncoder.encode(_:target:)`: targets met on the real file, never below an SNR target, clear
/// errors for targets no QP reaches; `QPSweepRange` parsing of `nnr rd --qp A:B`.
final class TargetSearchTests: XCTestCase {
    /// Deterministic bell-shaped values (sum of uniforms), scaled.
    static func values(_ n: Int, scale: Float, seed: UInt64) -> [Float] {
        var s = seed
        func next() -> Float {
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Float(s >> 40) / Float(1 << 24)
        }
        return (0..<n).map { _ in (next() + next() + next() - 1.5) * scale }
    }

    /// Three weight tensors of different scales, a bias and an integer buffer (about 7,000 values).
    let model: [Tensor] = [
        Tensor(name: "a.weight", shape: [48, 64], float32: values(48 * 64, scale: 0.08, seed: 1)),
        Tensor(name: "b.weight", shape: [64, 32], float32: values(64 * 32, scale: 0.02, seed: 2)),
        Tensor(name: "c.weight", shape: [32, 40], float32: values(32 * 40, scale: 0.3, seed: 3)),
        Tensor(name: "c.bias", shape: [40], float32: values(40, scale: 0.05, seed: 4)),
        Tensor(name: "ids", shape: [16], int64: (0..<16).map { Int64($0) }),
    ]

    var encoder: NNREncoder {
        var o = EncoderOptions()
        o.concurrent = false
        return NNREncoder(options: o)
    }

    /// SNR of the decoded file over all float tensors, computed independently of the encoder.
    func decodedSNR(_ bytes: [UInt8]) throws -> Double {
        var decoder = NNRDecoder(options: DecoderOptions(concurrent: false))
        let decoded = try decoder.decode(NNRByteSource(bytes: bytes))
        var signal = 0.0, noise = 0.0
        for d in decoded.tensors {
            guard let o = model.first(where: { $0.name == d.name }), o.dtype.isFloatingPoint else { continue }
            let a = o.floatValues(), b = d.tensor.doubleValues()
            for i in a.indices {
                signal += Double(a[i]) * Double(a[i])
                noise += (Double(a[i]) - b[i]) * (Double(a[i]) - b[i])
            }
        }
        return 10 * log10(signal / noise)
    }

    func testSNRTargetIsMetOnTheDecodedFileAndNotOvershotByMuch() throws {
        for target in [18.0, 31.5] {
            let r = try encoder.encode(model, target: .snr(target))
            let real = try decodedSNR(r.encoded.bytes)
            XCTAssertGreaterThanOrEqual(real, target, "target \(target)")
            XCTAssertEqual(real, r.snrDB, accuracy: 1e-6)
            XCTAssertLessThan(real, target + 0.75, "target \(target)")
            // The search spends no more than the cheapest single QP for every tensor that meets it.
            var uniformBest = Int.max
            for qp in stride(from: -10, through: -60, by: -1) {
                var e = encoder
                e.options.qpForTensor = Dictionary(uniqueKeysWithValues: model.filter { $0.dtype.isFloatingPoint }.map { ($0.name, qp) })
                let enc = try e.encode(model)
                if try decodedSNR(enc.bytes) >= target {
                    uniformBest = enc.bytes.count
                    break
                }
            }
            XCTAssertLessThanOrEqual(r.bytes, uniformBest, "target \(target)")
        }
    }

    func testSizeAndBitsPerParameterTargetsLandJustBelow() throws {
        let plain = try encoder.encode(model).bytes.count
        for bytes in [plain / 2, plain * 3 / 4] {
            let r = try encoder.encode(model, target: .bytes(bytes))
            XCTAssertLessThanOrEqual(r.bytes, bytes)
            XCTAssertGreaterThanOrEqual(Double(r.bytes), 0.97 * Double(bytes), "size \(bytes)")
            XCTAssertEqual(try decodedSNR(r.encoded.bytes), r.snrDB, accuracy: 1e-6)
        }
        let r = try encoder.encode(model, target: .bitsPerParameter(3))
        XCTAssertLessThanOrEqual(r.bitsPerParameter, 3)
        XCTAssertGreaterThanOrEqual(r.bitsPerParameter, 0.97 * 3)
        XCTAssertEqual(r.parameterCount, 48 * 64 + 64 * 32 + 32 * 40 + 40 + 16)
    }

    func testUnreachableTargetsSayTheBestReachableValue() {
        XCTAssertThrowsError(try encoder.encode(model, target: .snr(200))) { e in
            guard let err = e as? TargetUnreachableError else { return XCTFail("\(e)") }
            XCTAssertEqual(err.target, .snr(200))
            XCTAssertTrue(err.bestReachable.hasPrefix("SNR "), err.bestReachable)
            XCTAssertTrue(err.description.contains("unreachable"), err.description)
        }
        XCTAssertThrowsError(try encoder.encode(model, target: .bytes(40))) { e in
            guard let err = e as? TargetUnreachableError else { return XCTFail("\(e)") }
            XCTAssertTrue(err.bestReachable.hasSuffix("bits/parameter)"), err.bestReachable)
            let reached = Int(err.bestReachable.prefix { $0.isNumber }) ?? 0
            XCTAssertGreaterThan(reached, 40)
        }
    }

    func testTargetWithMaxErrorOrPerTensorQPsIsRefused() {
        var e = encoder
        e.options.maxError = 0.01
        XCTAssertThrowsError(try e.encode(model, target: .snr(20))) { XCTAssertTrue("\($0)".contains("--max-error"), "\($0)") }
        var f = encoder
        f.options.qpForTensor = ["a.weight": -30]
        XCTAssertThrowsError(try f.encode(model, target: .bytes(3000))) { XCTAssertTrue("\($0)".contains("--qp-for"), "\($0)") }
    }

    func testQPSweepRangeParsing() {
        XCTAssertEqual(QPSweepRange("-20:-40", allowed: -128...127)?.qps, Array((-40 ... -20).reversed()))
        XCTAssertEqual(QPSweepRange("-40:-38", allowed: -128...127)?.qps, [-40, -39, -38])
        XCTAssertEqual(QPSweepRange("-30:-30", allowed: -128...127)?.qps, [-30])
        for bad in ["-20", "-20:", ":-40", "a:b", "-20:-40:2", "-20:-400", "200:0", "-20.5:-30", ""] {
            XCTAssertNil(QPSweepRange(bad, allowed: -128...127), bad)
        }
        XCTAssertNil(QPSweepRange("0:-100", allowed: -128...127, maxPoints: 50))
    }
}
