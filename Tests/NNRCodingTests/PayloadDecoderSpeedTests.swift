import Foundation
import NNRBitIO
import NNRCoding
import NNRTestSupport
import XCTest

/// Release-mode timing of the payload decoder on the 1M-parameter reference tensor
/// (`swift test -c release --filter PayloadDecoderSpeedTests`).
final class PayloadDecoderSpeedTests: XCTestCase {
    struct BinCounter: PayloadTracer {
        var bins = 0
        var contextBins = 0
        mutating func element(_ e: PayloadTraceElement) {
            bins += e.bins.count
            if e.context >= 0 && e.name != "estimator_selection" { contextBins += e.bins.count }
        }
    }

    func testDecodeSpeed1024x1024() throws {
        #if DEBUG
        throw XCTSkip("timing only in release builds")
        #else
        guard let dir = Vectors.sharedCase("t2d_1024x1024_qp-32_dq") else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        let bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent("bitstream.nnc")))
        let units = try CaseFiles.units(dir.appendingPathComponent("units.json"))
        guard let u = units.first(where: { JSONValue.int($0["type"]) == 5 }), let f = u["fields"] as? [String: Any],
              let off = JSONValue.int(u["offset"]), let size = JSONValue.int(u["nnr_unit_size"]),
              let hb = JSONValue.int(u["header_bytes"]) else { return XCTFail("no NDU") }
        let payload = Array(bytes[(off + hb)..<(off + size)])
        let p = TensorPayloadParameters(generalProfileIdc: 1, dims: JSONValue.ints(f["tensor_dimensions"]) ?? [],
                                        scanOrder: JSONValue.int(f["scan_order"]) ?? 0,
                                        dqFlag: JSONValue.int(f["dq_flag"]) == 1,
                                        cabacUnaryLengthMinus1: JSONValue.int(f["cabac_unary_length_minus1"]) ?? 10,
                                        qpDensity: 2)
        var counter = BinCounter()
        var traced = try PayloadDecoder(payload: payload, fileOffset: off + hb)
        _ = try traced.decodeTensor(p, tracer: &counter)

        func threadCPU() -> Double {
            var ts = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
            return Double(ts.tv_sec) * 1e9 + Double(ts.tv_nsec)
        }
        var best = Double.infinity
        var bestCPU = Double.infinity
        var bestRecon = Double.infinity
        var checksum: Int32 = 0
        for _ in 0..<15 {
            let c0 = threadCPU()
            let t0 = DispatchTime.now().uptimeNanoseconds
            var d = try PayloadDecoder(payload: payload, fileOffset: off + hb)
            let r = try d.decodeTensor(p)
            _ = try d.finish()
            let t1 = DispatchTime.now().uptimeNanoseconds
            bestCPU = min(bestCPU, threadCPU() - c0)
            let w = Reconstruction.float32(levels: r.levels, qp: -32 + 0, qpDensity: 2)
            let t2 = DispatchTime.now().uptimeNanoseconds
            checksum ^= r.levels[r.levels.count / 2] ^ Int32(w.count)
            best = min(best, Double(t1 - t0))
            bestRecon = min(bestRecon, Double(t2 - t0))
        }
        let n = p.dims.reduce(1, *)
        let ms = best / 1e6
        let mbps = Double(n * 4) / (bestRecon / 1e9) / 1e6
        print(String(format: "PayloadDecoder speed: %d params, %d bytes, %d bins (%d context-coded): decode %.2f ms wall (%.2f ms thread CPU), with float32 reconstruction %.2f ms = %.1f MB/s float32; %.2f ns/bin wall, %.2f ns/bin CPU (checksum %d)",
                     n, payload.count, counter.bins, counter.contextBins, ms, bestCPU / 1e6, bestRecon / 1e6, mbps,
                     best / Double(counter.bins), bestCPU / Double(counter.bins), checksum))
        #endif
    }
}
