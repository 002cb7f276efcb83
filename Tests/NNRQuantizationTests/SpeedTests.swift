import XCTest
import Foundation
import NNRCoding
import NNRQuantization

/// Throughput of the quantizers on a 1M-element tensor. Runs only with NNR_QUANT_BENCH=1
/// (measure in release: `NNR_QUANT_BENCH=1 swift test -c release --filter SpeedTests`).
final class SpeedTests: XCTestCase {
    func testThroughput1M() throws {
        guard ProcessInfo.processInfo.environment["NNR_QUANT_BENCH"] == "1" else {
            throw XCTSkip("set NNR_QUANT_BENCH=1 to measure")
        }
        let rows = Int(ProcessInfo.processInfo.environment["NNR_QUANT_BENCH_ROWS"] ?? "") ?? 1024
        let g = TensorGeometry(height: rows, width: 1024, scanOrder: 0)
        let v = gaussian(g.count, sigma: 0.02, seed: 42)
        let megabytes = Double(g.count * 4) / 1_000_000
        let runs: [(String, QuantizerOptions)] = [
            ("nearest", QuantizerOptions(method: .nearest)),
            ("rdoq lambda 1", QuantizerOptions(method: .rdoq, lambdaScale: 1)),
            ("dq lambda 0 (NNCodec default)", QuantizerOptions(method: .dependent)),
            ("dq lambda 0 + row skipping", QuantizerOptions(method: .dependent, rowSkipping: true)),
            ("dq lambda 1 (rate model)", QuantizerOptions(method: .dependent, lambdaScale: 1)),
        ]
        // Wall time and this thread's CPU time (the CPU time is the steadier figure on a shared,
        // loaded machine); best of 5.
        let only = ProcessInfo.processInfo.environment["NNR_QUANT_BENCH_ONLY"]
        for (name, o) in runs where only == nil || name.hasPrefix(only ?? "") {
            var bestWall = Double.infinity, bestCPU = Double.infinity
            for _ in 0..<(rows == 1024 ? 5 : 1) {
                let c0 = threadCPUSeconds()
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try Quantizer(options: o).quantize(values: v, geometry: g, qp: -32, qpDensity: 2)
                bestWall = min(bestWall, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                bestCPU = min(bestCPU, threadCPUSeconds() - c0)
            }
            print(String(format: "[quant-speed] %@: wall %.3f s (%.1f MB/s), CPU %.3f s (%.1f MB/s) per 1M floats",
                         name, bestWall, megabytes / bestWall, bestCPU, megabytes / bestCPU))
        }
        guard only == nil else { return }
        var o = QuantizerOptions(method: .dependent)
        o.maxError = 0.0005
        let c0 = threadCPUSeconds()
        let t = try Quantizer(options: o).quantize(values: v, geometry: g, qp: 127, qpDensity: 2)
        let s = threadCPUSeconds() - c0
        print(String(format: "[quant-speed] dq error-bounded E=5e-4: qp %d, CPU %.3f s, %.1f MB/s", t.qp, s, megabytes / s))
    }
}

/// CPU time consumed by the calling thread.
func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
