import Foundation
import XCTest
import NNRBitIO
import NNRContainer
import NNRTools
import NNRTestSupport

/// Where a trace of a payload that ends too early stops.
final class TraceOverreadTests: XCTestCase {
    /// NNR-P001's payload ends inside its tensor: the trace holds every level up to position 1196
    /// (decoding 1197 makes the byte-wise decoder fetch a byte beyond the payload), then the error.
    /// The arithmetic decoder fetches up to 8 bytes ahead; the trace must not show what that allows.
    func testTraceOfTruncatedPayloadStopsWhereTheReadPastTheEndHappens() throws {
        let url = Vectors.repoRoot.appendingPathComponent("Conformance/negative/NNR-P001.nnc")
        let source = try NNRByteSource(contentsOf: url)
        var session = DumpSession(options: DumpOptions(trace: true))
        var file = NNRDump.structure(path: url.path, source: source, options: session.options)
        var levels: [Int] = []
        session.decode(&file, source: source, carryState: false) { line in
            if line.element == "level" { levels.append(line.position) }
        }
        XCTAssertEqual(levels.count, 1261)
        XCTAssertEqual(levels.last, 1196)
        XCTAssertEqual(file.failure?.error.reason, .payload("read past end of payload"))
        XCTAssertEqual(file.failure?.error.element, "quant_tensor")
    }
}
