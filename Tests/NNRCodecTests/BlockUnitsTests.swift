import Foundation
import XCTest
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRCodec
import NNRModelIO
import NNRTestSupport

/// `EncoderOptions.blockUnits`: NNR_PT_BLOCK units grouped as NNCodec groups a PyTorch model, and
/// decoded to the same tensors as one NDU per tensor.
final class BlockUnitsTests: XCTestCase {
    static func smallCNN() -> [Tensor] {
        func values(_ n: Int, _ scale: Float, _ seed: Int) -> [Float] { (0..<n).map { Float((($0 + seed) * 7919) % 201 - 100) * scale / 100 } }
        return [Tensor(name: "0.weight", shape: [8, 3, 3, 3], float32: values(216, 0.2, 1)),
                Tensor(name: "1.weight", shape: [8], float32: values(8, 1, 2).map { 1 + $0 / 10 }),
                Tensor(name: "1.bias", shape: [8], float32: values(8, 0.1, 3)),
                Tensor(name: "1.running_mean", shape: [8], float32: values(8, 0.05, 4)),
                Tensor(name: "1.running_var", shape: [8], float32: values(8, 0.5, 5).map { abs($0) + 0.5 }),
                Tensor(name: "1.num_batches_tracked", shape: [], int64: [100]),
                Tensor(name: "3.weight", shape: [4, 8, 3, 3], float32: values(288, 0.1, 6)),
                Tensor(name: "3.bias", shape: [4], float32: values(4, 0.1, 7)),
                Tensor(name: "fc.weight", shape: [10, 4], float32: values(40, 0.3, 8)),
                Tensor(name: "fc.bias", shape: [10], float32: values(10, 0.1, 9)),
                Tensor(name: "head.weight", shape: [2, 10], float32: values(20, 0.3, 10))]
    }

    func encode(_ tensors: [Tensor], blocks: Bool) throws -> [UInt8] {
        var o = EncoderOptions()
        o.qp = -32
        o.concurrent = false
        o.blockUnits = blocks
        return try NNREncoder(options: o).encode(tensors).bytes
    }

    func testBlocksGroupWeightBiasAndBatchNormAndDecodeToTheSameTensors() throws {
        let model = Self.smallCNN()
        let blocks = try encode(model, blocks: true)
        let plain = try encode(model, blocks: false)
        var d1 = NNRDecoder(), d2 = NNRDecoder()
        let a = try d1.decode(NNRByteSource(bytes: blocks))
        let b = try d2.decode(NNRByteSource(bytes: plain))
        var headers: [NDUHeader] = []
        for u in a.units { if case let .compressedData(h) = u.content { headers.append(h) } }
        XCTAssertEqual(headers.map(\.nnrCompressedDataUnitPayloadType), [3, 0, 3, 3, 1])
        XCTAssertEqual(headers[0].topologyElemIdList, ["0.weight", "1.bias", "1.weight", "1.running_mean", "1.running_var"])
        XCTAssertEqual(headers[0].compressedParameterTypes, 4)
        XCTAssertEqual(headers[1].topologyElemId, "1.num_batches_tracked")
        XCTAssertEqual(headers[2].topologyElemIdList, ["3.weight", "3.bias"])
        XCTAssertEqual(headers[2].compressedParameterTypes, 8)
        XCTAssertEqual(headers[3].topologyElemIdList, ["fc.weight", "fc.bias"])
        XCTAssertEqual(headers[4].topologyElemId, "head.weight", "a weight without bias or batch norm stays alone")
        XCTAssertEqual(headers.map(\.parameterId), [0, 5, 6, 8, 10])
        let byName = Dictionary(uniqueKeysWithValues: b.tensors.map { ($0.name, $0.tensor) })
        XCTAssertEqual(a.tensors.count, model.count)
        for t in a.tensors { XCTAssertEqual(t.tensor, byName[t.name], t.name) }
        XCTAssertLessThan(blocks.count, plain.count, "fewer unit headers")
    }

    func testReferenceBlockCaseDecodesToTheReferenceTensors() throws {
        guard let dir = Vectors.sharedCase("m_torch_smallcnn_blocks") else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        let input = try loadNPZOrdered(dir.appendingPathComponent("input.npz"))
        var o = EncoderOptions()
        o.qp = -32
        o.concurrent = false
        o.estimatorSampleValues = 0
        o.blockUnits = true
        let ours = try NNREncoder(options: o).encode(input).bytes
        let expected = try [UInt8](Data(contentsOf: dir.appendingPathComponent("bitstream.nnc")))
        // Same size; NNCodec's TPL says "PyTorch" and its parameter_ids count the num_batches_tracked
        // buffers the case's input does not hold, so 4 bytes differ.
        XCTAssertEqual(ours.count, expected.count)
        XCTAssertEqual(zip(ours, expected).filter { $0 != $1 }.count, 4)
        var dec = NNRDecoder()
        let decoded = try dec.decode(NNRByteSource(bytes: ours))
        let reference = try loadNPZ(dir.appendingPathComponent("decoded.npz"))
        XCTAssertEqual(decoded.tensors.count, reference.count)
        for t in decoded.tensors { XCTAssertEqual(t.tensor.storage, reference[t.name]?.storage, t.name) }
    }
}
