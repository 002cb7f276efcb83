import Foundation
import XCTest
import NNRContainer
import NNRCodec
import NNRModelIO
import NNRTestSupport

/// Runs without ../shared: the bundled example encodes to the committed bitstream (which is
/// byte-identical to NNCodec's) and decodes back within the quantization error.
final class ExampleTests: XCTestCase {
    let model = Vectors.repoRoot.appendingPathComponent("Examples/small_cnn.npz")
    let bitstream = Vectors.repoRoot.appendingPathComponent("Examples/small_cnn_qp-32.nnr")

    func testExampleEncodesToCommittedBitstream() throws {
        let tensors = try ModelFile.read(model)
        var o = EncoderOptions()
        o.qp = -32
        let encoded = try NNREncoder(options: o).encode(tensors)
        XCTAssertEqual(encoded.bytes, try Array(Data(contentsOf: bitstream)))
        XCTAssertEqual(encoded.tensors.count, 10)
    }

    func testExampleDecodesWithinQuantizationError() throws {
        let tensors = try ModelFile.readDictionary(model)
        var decoder = NNRDecoder()
        let result = try decoder.decode(url: bitstream)
        XCTAssertEqual(result.tensors.count, 10)
        for t in result.tensors {
            let x = try XCTUnwrap(tensors[t.name]).floatValues()
            let y = t.tensor.floatValues()
            let step = try XCTUnwrap(t.stepSize)
            XCTAssertEqual(t.tensor.shape, tensors[t.name]?.shape)
            for i in x.indices {
                // Each of the two DQ quantizers has step 2Δ; the trellis stays within 2Δ.
                XCTAssertLessThanOrEqual(abs(x[i] - y[i]), step * 2.0001, "\(t.name)[\(i)]")
            }
        }
    }
}
