import Foundation
import XCTest
import NNRBitIO
import NNRContainer
import NNRModelIO
import NNRCodec
import NNRTestSupport

/// Records what reaches a writer in pieces: how many tensors, the largest piece, and whether
/// each piece starts with zero bytes (for the zero bomb).
private final class PieceCounter: TensorSink {
    var tensors = 0
    var bytes = 0
    var largestPiece = 0
    var nonZero = 0
    func begin(manifest: [TensorManifestEntry]?) throws {}
    func consume(_ tensor: Tensor) throws { XCTFail("\(tensor.name) was decoded whole") }
    func beginPieces(_ entry: TensorManifestEntry) throws -> TensorPieceWriter? {
        tensors += 1
        return TensorPieceWriter(entry: entry, file: "<count>", write: { [unowned self] raw in
            self.bytes += raw.count
            self.largestPiece = max(self.largestPiece, raw.count)
            // (the head of each piece: a whole-gigabyte scan is slow in a debug build)
            if raw.prefix(4096).contains(where: { $0 != 0 }) { self.nonZero += 1 }
        }, end: {})
    }
    func finish() throws {}
}

/// Tensors too large to hold decoded go to the writer a chunk of rows at a time
/// (`DecodingSession.streamElements`); the files are the same bytes as decoding whole.
final class StreamedTensorDecodeTests: XCTestCase {
    private func decode(_ source: NNRByteSource, streamElements: Int, dtype: TensorDTypePolicy, to url: URL) throws {
        var session = DecodingSession(options: DecoderOptions(keepLevels: false, carryState: false))
        session.streamElements = streamElements
        session.dtype = dtype
        let manifest = try DecodingSession.manifest(source).map(dtype.apply)
        if url.pathExtension == "npz" {
            try run(&session, source, manifest, into: NPZStreamWriter(url: url, dtype: dtype))
        } else {
            try run(&session, source, manifest, into: SafetensorsStreamWriter(url: url, dtype: dtype))
        }
    }

    private func run<W: TensorSink>(_ session: inout DecodingSession, _ source: NNRByteSource, _ manifest: [TensorManifestEntry],
                                    into writer: W) throws {
        var sink = TensorSinkAdapter(writer)
        try sink.sink.begin(manifest: manifest)
        try session.decode(source, sink: &sink)
        try sink.sink.finish()
    }

    /// Every bundled vector (first bitstream of each case), streamed tensor by tensor, gives the
    /// bytes of the whole-tensor decode: safetensors and npz, float32 and bfloat16.
    func testStreamedFilesEqualWholeDecoding() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nnr-streamed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases = try FileManager.default.contentsOfDirectory(atPath: Vectors.bundledConformance.path).sorted()
        var compared = 0
        for name in cases {
            guard let first = CaseFiles.bitstreams(of: Vectors.bundledConformance.appendingPathComponent(name)).first else { continue }
            let source = try NNRByteSource(contentsOf: first.bitstream)
            for (ext, dtype) in [("safetensors", TensorDTypePolicy.keep), ("safetensors", TensorDTypePolicy(floatingPoint: .bfloat16)),
                                 ("npz", TensorDTypePolicy.keep)] {
                let whole = dir.appendingPathComponent("whole.\(ext)")
                let streamed = dir.appendingPathComponent("streamed.\(ext)")
                do {
                    try decode(source, streamElements: 0, dtype: dtype, to: whole)
                } catch {
                    continue  // a bitstream that needs an earlier one of its sequence
                }
                try decode(source, streamElements: 1, dtype: dtype, to: streamed)
                XCTAssertEqual(try Data(contentsOf: streamed), try Data(contentsOf: whole), "\(name) \(ext) \(dtype)")
                compared += 1
            }
        }
        XCTAssertGreaterThanOrEqual(compared, 60)
    }

    /// The streamed path is taken: every tensor of the vectors reaches the writer in pieces.
    func testTensorsReachTheWriterInPieces() throws {
        let source = try NNRByteSource(contentsOf: Vectors.bundledConformance.appendingPathComponent("m_torch_smallcnn_blocks/bitstream.nnc"))
        var session = DecodingSession(options: DecoderOptions(keepLevels: false, carryState: false))
        session.streamElements = 1
        var sink = TensorSinkAdapter(PieceCounter())
        try session.decode(source, sink: &sink)
        XCTAssertEqual(sink.sink.tensors, try DecodingSession.manifest(source).count)
        XCTAssertGreaterThan(sink.sink.bytes, 0)
    }

    /// The 128-byte conforming bitstream of 65536x4096 zeros (row skipping) reaches the writer as
    /// 1 GiB of zero bytes in pieces of at most 1 MiB: nothing of the tensor's size is held.
    func testZeroBombStreamsInBoundedPieces() throws {
        guard let url = Vectors.sharedHostile("rowskip_valid_65536x4096.nnc") else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        let source = try NNRByteSource(contentsOf: url)
        var session = DecodingSession(options: DecoderOptions(keepLevels: false, carryState: false))
        var sink = TensorSinkAdapter(PieceCounter())
        try session.decode(source, sink: &sink)
        XCTAssertEqual(sink.sink.tensors, 1)
        XCTAssertEqual(sink.sink.bytes, 65536 * 4096 * 4)
        XCTAssertEqual(sink.sink.nonZero, 0)
        XCTAssertLessThanOrEqual(sink.sink.largestPiece, 1 << 20)
    }
}
