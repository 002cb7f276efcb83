import Foundation
import XCTest
import NNRBitIO
import NNRContainer
import NNRModelIO
import NNRCodec
import NNRTestSupport

/// The decoding session streams: tensors reach a `TensorSink` in file order, and the headers-only
/// manifest lists them (names, shapes, dtypes) before any payload is decoded.
final class DecodingSessionTests: XCTestCase {
    func testSessionSinkAndManifestMatchTheDecoder() throws {
        let root = Vectors.bundledConformance
        var checked = 0
        for name in ["m_torch_smallcnn_blocks", "c_multi_tensor_dict", "t2d_codebook_clustered", "t_int16_signed_64x48", "gen_inc_tca_hdsp_48x32"] {
            let files = CaseFiles.bitstreams(of: root.appendingPathComponent(name)).map(\.bitstream)
            XCTAssertFalse(files.isEmpty, name)
            var decoder = NNRDecoder()
            var session = DecodingSession()
            session.window = 2
            for f in files {
                let source = try NNRByteSource(contentsOf: f)
                let expected = try decoder.decode(source).tensors.map(\.tensor)
                var sink = TensorSinkAdapter(TensorCollector())
                try session.decode(source, sink: &sink)
                XCTAssertEqual(sink.sink.tensors, expected, f.path)
                let manifest = try DecodingSession.manifest(source)
                XCTAssertEqual(manifest, expected.map { TensorManifestEntry(name: $0.name, shape: $0.shape, dtype: $0.dtype) }, f.path)
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 7)
    }

    /// The concurrent pipeline hands the same NDUs over in the same order as sequential decoding,
    /// also when it is full after one NDU (depth 1) or after a few elements (each NDU waits for
    /// the one before it to be handed over), and carries the incremental state the same way.
    func testPipelineEqualsSequentialDecoding() throws {
        let root = Vectors.bundledConformance
        for name in ["m_torch_smallcnn_blocks", "c_multi_tensor_dict", "gen_inc_tca_hdsp_48x32"] {
            let files = CaseFiles.bitstreams(of: root.appendingPathComponent(name)).map(\.bitstream)
            XCTAssertFalse(files.isEmpty, name)
            var sequential = DecodingSession(options: DecoderOptions(concurrent: false))
            var pipelines = [(1, 1 << 26), (2, 1), (6, 1 << 26)].map { depth, elements in
                var s = DecodingSession(options: DecoderOptions(concurrent: true))
                s.pipelineDepth = depth
                s.pipelineElements = elements
                return s
            }
            for f in files {
                let source = try NNRByteSource(contentsOf: f)
                var expected = TensorSinkAdapter(TensorCollector())
                try sequential.decode(source, sink: &expected)
                XCTAssertFalse(expected.sink.tensors.isEmpty, f.path)
                for k in pipelines.indices {
                    var sink = TensorSinkAdapter(TensorCollector())
                    try pipelines[k].decode(source, sink: &sink)
                    XCTAssertEqual(sink.sink.tensors, expected.sink.tensors, "\(f.path), pipeline \(k)")
                }
            }
        }
    }

    /// A payload error stops the session at that NDU with the decoder's typed error.
    func testTruncatedPayloadIsATypedError() throws {
        let f = Vectors.bundledConformance.appendingPathComponent("t_tiny_1x1/bitstream.nnc")
        var bytes = Array(try Data(contentsOf: f))
        bytes[bytes.count - 1] ^= 0xFF
        var session = DecodingSession()
        var sink = TensorSinkAdapter(TensorCollector())
        XCTAssertThrowsError(try session.decode(NNRByteSource(bytes: bytes), sink: &sink)) { e in
            XCTAssertNotNil(e as? NNRError)
            XCTAssertEqual((e as? NNRError)?.unitIndex, 3)
        }
        XCTAssertTrue(sink.sink.tensors.isEmpty)
    }
}
