import XCTest
import NNRBitIO
@testable import NNRCoding

extension EncoderRoundTripTests {
    /// `decodeTensor(_:into:)` writes every element (a buffer filled with a sentinel ends up equal
    /// to the levels, rows skipped by row_skip_flag included) and leaves the payload's levels empty.
    func testDecodeIntoBufferWritesEveryLevel() throws {
        var g = EncoderTestRNG(seed: 19)
        var skippedRowsSeen = 0
        for i in 0..<150 {
            let c = randomCase(&g, index: i)
            var enc = PayloadEncoder()
            _ = try enc.encodeTensor(levels: c.levels, parameters: c.params, options: c.options)
            let payload = enc.finish()
            var p = c.params
            p.entryPoints = enc.encodedTensors[0].entryPoints
            var dec = try PayloadDecoder(payload: payload, fileOffset: 0)
            var buffer = [Int32](repeating: 0x5A5A_5A5A, count: c.levels.count)
            let r = try buffer.withUnsafeMutableBufferPointer { try dec.decodeTensor(p, into: $0) }
            XCTAssertEqual(buffer, c.levels, "case \(i)")
            XCTAssertTrue(r.levels.isEmpty)
            XCTAssertEqual(r.observedEntryPoints, p.entryPoints)
            XCTAssertEqual(try dec.finish().bytesConsumed, payload.count)
            skippedRowsSeen += r.rowSkipFlags.filter { $0 }.count
        }
        XCTAssertGreaterThan(skippedRowsSeen, 0, "no case skipped a row")
    }

    func testDecodeIntoBufferOfTheWrongSizeIsRefused() throws {
        var enc = PayloadEncoder()
        let p = TensorPayloadParameters(dims: [2, 2])
        _ = try enc.encodeTensor(levels: [1, 0, -2, 3], parameters: p, options: TensorEncodeOptions())
        var dec = try PayloadDecoder(payload: enc.finish(), fileOffset: 7)
        var buffer = [Int32](repeating: 0, count: 3)
        XCTAssertThrowsError(try buffer.withUnsafeMutableBufferPointer { try dec.decodeTensor(p, into: $0) }) { e in
            XCTAssertEqual((e as? NNRError)?.reason, .invalidValue("level buffer of 3 elements for a tensor of 4"))
            XCTAssertEqual((e as? NNRError)?.element, "tensor_payload")
        }
    }
}

final class InPlaceReconstructionTests: XCTestCase {
    /// Int32 levels turned into float32 values in their own memory equal `Reconstruction.float32`.
    func testInPlaceEqualsFloat32() {
        var g = EncoderTestRNG(seed: 7)
        let levels: [Int32] = (0..<1000).map { i in
            i % 97 == 0 ? Int32(truncatingIfNeeded: g.int(-(1 << 30)...(1 << 30))) : Int32(g.int(-300...300))
        } + [Int32.max, Int32.min, 0, 16_777_217]
        for step: Float in [0.00390625, 0.3, 1, 1e-7] {
            var bytes = [UInt8](repeating: 0, count: levels.count * 4)
            bytes.withUnsafeMutableBytes { b in
                guard let base = b.baseAddress else { return }
                for (i, q) in levels.enumerated() { b.storeBytes(of: q, toByteOffset: i * 4, as: Int32.self) }
                Reconstruction.float32InPlace(base, count: levels.count, stepSize: step)
            }
            let expected = Reconstruction.float32(levels: levels, stepSize: step)
            let got = bytes.withUnsafeBytes { b in (0..<levels.count).map { b.load(fromByteOffset: $0 * 4, as: Float.self) } }
            XCTAssertEqual(got.map(\.bitPattern), expected.map(\.bitPattern), "step \(step)")
        }
    }
}
