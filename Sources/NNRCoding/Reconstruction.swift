import NNRBitIO

/// From decoded levels to tensor values, with NNCodec 2.1.3's exact precision (spec section 7).
public enum Reconstruction {
    /// Uniform quantization: w = Float32(Δ) × Float32(q), one float32 product per value
    /// (q → float32 rounds to nearest for |q| > 2^24).
    public static func float32(levels: [Int32], stepSize: Float) -> [Float] {
        [Float](unsafeUninitializedCapacity: levels.count) { buf, initialized in
            levels.withUnsafeBufferPointer { src in float32(levels: src, stepSize: stepSize, into: buf) }
            initialized = levels.count
        }
    }

    /// The same into `out` (`levels.count` values), e.g. the storage of the output tensor.
    @inlinable
    public static func float32(levels: UnsafeBufferPointer<Int32>, stepSize: Float, into out: UnsafeMutableBufferPointer<Float>) {
        for i in 0..<Swift.min(levels.count, out.count) { out[i] = stepSize * Float(levels[i]) }
    }

    /// Uniform quantization from qp and qp_density (Δ rounded to float32 as the reference does).
    public static func float32(levels: [Int32], qp: Int, qpDensity: Int) -> [Float] {
        float32(levels: levels, stepSize: StepSize.float32(qp: qp, qpDensity: qpDensity))
    }

    /// Codebook tensors: w = Double(codebook[k + CbZeroOffset]) × Δ in float64, where Δ is the exact
    /// float64 step size (NNCodec computes `cb * stepsize` in numpy float64, Δ not rounded to float32).
    /// Throws if an index falls outside the codebook.
    public static func codebookFloat64(levels: [Int32], codebook: [Int], zeroOffset: Int, stepSize: Double,
                                       fileOffset: Int = 0) throws -> [Double] {
        let scaled = codebook.map { Double($0) * stepSize }
        var out = [Double](repeating: 0, count: levels.count)
        for i in 0..<levels.count {
            let (idx, o) = Int(levels[i]).addingReportingOverflow(zeroOffset)
            guard !o, idx >= 0, idx < scaled.count else {
                throw NNRError(.invalidValue("codebook index \(levels[i]) + CbZeroOffset \(zeroOffset) outside 0..<\(codebook.count) at position \(i)"),
                               element: "codebook_index", byteOffset: fileOffset)
            }
            out[i] = scaled[idx]
        }
        return out
    }

    /// Codebook tensors from qp and qp_density.
    public static func codebookFloat64(levels: [Int32], codebook: [Int], zeroOffset: Int, qp: Int, qpDensity: Int,
                                       fileOffset: Int = 0) throws -> [Double] {
        try codebookFloat64(levels: levels, codebook: codebook, zeroOffset: zeroOffset,
                            stepSize: StepSize.delta(qp: qp, qpDensity: qpDensity), fileOffset: fileOffset)
    }
}
