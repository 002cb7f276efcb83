import Foundation
import NNRCoding
@testable import NNRQuantization

/// Deterministic generator for test data (SplitMix64).
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Standard normal (Box–Muller).
    mutating func normal() -> Double {
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self)
        let u2 = Double.random(in: 0..<1, using: &self)
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

func gaussian(_ n: Int, sigma: Double, seed: UInt64) -> [Float] {
    var g = SplitMix(seed: seed)
    return (0..<n).map { _ in Float(g.normal() * sigma) }
}

/// Reconstruction as the decoder computes it for uniform / DQ levels.
func reconstruct(_ q: [Int32], step: Float) -> [Float] { q.map { step * Float($0) } }

/// Walks the decoder's DQ state machine; returns nil on the first inconsistent level.
func decoderIndices(_ t: QuantizedTensor, _ g: TensorGeometry) -> [Int32]? {
    DependentQuantizationPath.quantizationIndices(q: t.q, geometry: g, rowSkipFlags: t.rowSkipFlags)
}
