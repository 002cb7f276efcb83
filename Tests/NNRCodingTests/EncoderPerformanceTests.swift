// Throughput of the payload encoder on the 1024×1024 reference tensor (release builds only; prints
// MB/s of float32-equivalent input, asserts nothing about speed).

import Foundation
import XCTest
import NNRCoding
import NNRTestSupport

final class EncoderPerformanceTests: XCTestCase {
    func testThroughput1024x1024() throws {
        #if DEBUG
        throw XCTSkip("throughput is only meaningful in release builds (swift test -c release)")
        #else
        guard let dir = Vectors.sharedCase("t2d_1024x1024_qp-32_dq") else {
            throw XCTSkip(Vectors.skipReasonNoShared())
        }
        let npz = try loadNPZ(dir.appendingPathComponent("levels.npz"))
        guard let t = npz["big"] else { throw XCTSkip("levels.npz without 'big'") }
        let levels = t.int32Values()
        var p = TensorPayloadParameters(dims: t.shape)
        p.dqFlag = true
        let megabytes = Double(levels.count * 4) / 1e6
        for mode in [EstimatorSelectionMode.optimize, .none] {
            let o = TensorEncodeOptions(qpOffset: -32, rowSkipping: true, hdsp: .off, estimatorSelection: mode)
            var best = Double.infinity
            var bytes = 0
            for _ in 0..<5 {
                let start = DispatchTime.now().uptimeNanoseconds
                var enc = PayloadEncoder()
                try enc.encodeTensor(levels: levels, parameters: p, options: o)
                bytes = enc.finish().count
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            print(String(format: "payload encoder, estimator selection %@: %.1f ms, %.1f MB/s float32-equivalent, %d bytes",
                         "\(mode)", best * 1e3, megabytes / best, bytes))
        }
        #endif
    }
}
