import Foundation
import XCTest
import NNRContainer
import NNRModelIO
import NNRSyntax
import NNRTestSupport
@testable import NNRCodec

/// The concurrent pipeline starts with the second NDU (issue 19): a bitstream of one NDU is
/// decoded on the calling thread, without a worker thread, and gives the same tensors.
final class PipelineStartTests: XCTestCase {
    /// Feeds every unit of `file` to a concurrent session; returns the NDUs submitted to the
    /// pipeline and the NDUs held back before `end`, then the decoded tensors.
    private func feed(_ file: URL) throws -> (submitted: Int, held: Int, tensors: [Tensor]) {
        let source = try NNRByteSource(contentsOf: file)
        var session = DecodingSession(options: DecoderOptions(concurrent: true))
        var sink = TensorSinkAdapter(TensorCollector())
        session.begin()
        guard let pipeline = session.pipeline else { throw XCTSkip("one core: the session decodes sequentially") }
        var parser = NNRUnitParser(source: source, limits: session.options.limits)
        for r in NNRUnitScanner(source: source, limits: session.options.limits) {
            try session.feed(parser.parse(r.get()), source: source, sink: &sink)
        }
        let submitted = pipeline.submitted, held = session.pending.count
        try session.end(source: source, sink: &sink)
        return (submitted, held, sink.sink.tensors)
    }

    func testOneNDUIsDecodedWithoutThePipeline() throws {
        let f = Vectors.bundledConformance.appendingPathComponent("t_tiny_1x1/bitstream.nnc")
        let r = try feed(f)
        XCTAssertEqual(r.submitted, 0)
        XCTAssertEqual(r.held, 1)
        var decoder = NNRDecoder(options: DecoderOptions(concurrent: false))
        let expected = try decoder.decode(NNRByteSource(contentsOf: f))
        XCTAssertEqual(r.tensors, expected.tensors.map { $0.tensor })
    }

    func testSecondNDUStartsThePipelineWithBoth() throws {
        let files = CaseFiles.bitstreams(of: Vectors.bundledConformance.appendingPathComponent("m_torch_smallcnn_blocks")).map(\.bitstream)
        let f = try XCTUnwrap(files.first)
        var decoder = NNRDecoder(options: DecoderOptions(concurrent: false))
        let expected = try decoder.decode(NNRByteSource(contentsOf: f))
        let ndus = Set(expected.tensors.map { $0.unitIndex }).count
        XCTAssertGreaterThan(ndus, 1)
        let r = try feed(f)
        XCTAssertEqual(r.submitted, ndus)
        XCTAssertEqual(r.held, 0)
        XCTAssertEqual(r.tensors, expected.tensors.map { $0.tensor })
    }
}
