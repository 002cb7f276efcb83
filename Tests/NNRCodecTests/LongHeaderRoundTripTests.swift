import XCTest
import NNRBitIO
import NNRContainer
import NNRCodec
import NNRModelIO

/// Every tensor the encoder writes decodes, however long its NDU header gets: entry-point lists of
/// tall tensors at scan orders 1–4 and long codebooks go past the parser's first 4 KiB header
/// probe, which must grow instead of refusing the list (issue: "our own output always decodes").
final class LongHeaderRoundTripTests: XCTestCase {
    /// A tall tensor of small values with a few non-zero ones per row (cheap to code in debug builds).
    func tallTensor(rows: Int, cols: Int) -> Tensor {
        var v = [Float](repeating: 0, count: rows * cols)
        for r in 0..<rows { v[r * cols + (r % cols)] = Float((r % 7) - 3) * 0.01 }
        return Tensor(name: "embed.weight", shape: [rows, cols], float32: v)
    }

    func roundTrip(_ t: Tensor, scanOrder: Int, line: UInt = #line) throws {
        var o = EncoderOptions()
        o.qp = -32
        o.dependentQuantization = false
        o.scanOrder = scanOrder
        o.concurrent = false
        o.estimatorSampleValues = 4096
        let encoded = try NNREncoder(options: o).encode([t])
        var d = NNRDecoder()
        let out = try d.decode(NNRByteSource(bytes: encoded.bytes))
        XCTAssertEqual(out.tensors.count, 1, line: line)
        guard let back = out.tensors.first?.tensor else { return }
        XCTAssertEqual(back.shape, t.shape, line: line)
        let step = Float(0.00390625) // qp -32 at density 2: step 2^(-32/4)
        let maxErr = zip(back.floatValues(), t.floatValues()).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(maxErr, step, "scan order \(scanOrder)", line: line)
    }

    func testTallTensorsDecodeAtEveryScanOrder() throws {
        // 32000x64 at scan order 1 has 4000 block rows (the old probe allowed 3617); 128000x16 at
        // scan order 2 has 8000.
        try roundTrip(tallTensor(rows: 32000, cols: 64), scanOrder: 1)
        try roundTrip(tallTensor(rows: 128000, cols: 16), scanOrder: 2)
        for s in [3, 4] { try roundTrip(tallTensor(rows: 16 << s * 600, cols: 8), scanOrder: s) }
    }

    func testCodebookFarAbove32kEntriesRoundTrips() throws {
        // 100,000 distinct levels (multiples of the step 2^-8 at qp -32): codebook_size 100,000,
        // whose codebook() alone is far longer than the 4 KiB header probe.
        let n = 100_000
        let values = (0..<n).map { Float(($0 * 7919) % n - n / 2) * 0.00390625 }
        let t = Tensor(name: "codebook.weight", shape: [n / 100, 100], float32: values)
        var o = EncoderOptions()
        o.qp = -32
        o.dependentQuantization = false
        o.codebook = .always
        o.concurrent = false
        o.estimatorSampleValues = 4096
        let encoded = try NNREncoder(options: o).encode([t])
        XCTAssertEqual(encoded.tensors.first?.codebookSize, n)
        var d = NNRDecoder()
        let out = try d.decode(NNRByteSource(bytes: encoded.bytes))
        XCTAssertEqual(out.tensors.first?.tensor.shape, t.shape)
        XCTAssertEqual(out.tensors.first?.tensor.floatValues(), values)
    }
}
