// Benchmarks (ordo-one/benchmark). Added to the package only when ENABLE_BENCHMARKS is set:
//   ENABLE_BENCHMARKS=1 swift package benchmark
// Inputs: the bundled example, and the public 1024x1024 vector when ../shared is present.
import Benchmark
import Foundation
import NNRKit

let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func load(_ relative: String) -> NNRByteSource? {
    try? NNRByteSource(contentsOf: root.appendingPathComponent(relative))
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput], maxDuration: .seconds(5), maxIterations: 50)

    var inputs: [(String, NNRByteSource)] = []
    if let s = load("Examples/small_cnn_qp-32.nnr") { inputs.append(("small_cnn", s)) }
    if let s = load("../shared/conformance/t2d_1024x1024_qp-32_dq/bitstream.nnc") { inputs.append(("t2d_1024x1024_qp-32_dq", s)) }
    if let s = load("../shared/conformance/m_minilm_layer0_qp-38/bitstream.nnc") { inputs.append(("m_minilm_layer0_qp-38", s)) }

    for (name, source) in inputs {
        Benchmark("decode \(name) (1 core)") { benchmark in
            for _ in benchmark.scaledIterations {
                var d = NNRDecoder(options: DecoderOptions(concurrent: false, keepLevels: false, carryState: false))
                blackHole(try d.decode(source))
            }
        }
        Benchmark("decode \(name) (all cores)") { benchmark in
            for _ in benchmark.scaledIterations {
                var d = NNRDecoder(options: DecoderOptions(concurrent: true, keepLevels: false, carryState: false))
                blackHole(try d.decode(source))
            }
        }
        Benchmark("dump headers \(name)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(NNRUnitParser.parseAll(source))
            }
        }
    }

    if let tensors = try? ModelFile.read(root.appendingPathComponent("Examples/small_cnn.npz")) {
        Benchmark("encode small_cnn qp -32 DQ (1 core)") { benchmark in
            var o = EncoderOptions()
            o.qp = -32
            o.concurrent = false
            for _ in benchmark.scaledIterations {
                blackHole(try NNREncoder(options: o).encode(tensors))
            }
        }
    }
}
