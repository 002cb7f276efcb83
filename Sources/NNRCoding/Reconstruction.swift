import NNRBitIO

/// From decoded levels to tensor values, with NNCodec 2.1.3's exact precision (spec section 7).
public enum Reconstruction {
    /// Uniform quantization: w = Float32(Δ) × Float32(q), one float32 product per value
    /// (q → float32 rounds to nearest for |q| > 2^24).
    public static func float32(levels: [Int32], stepSize: Float) -> [Float] {
        [Float](unsafeUninitializedCapacity: levels.count) { buf, initialized in
            levels.withUnsafeBufferPointer { src in
                if let out = buf.baseAddress { float32(levels: src, stepSize: stepSize, into: UnsafeMutableRawPointer(out)) }
            }
            initialized = levels.count
        }
    }

    /// The same, written as float32 (native byte order) to `out`, which holds 4 · `levels.count`
    /// bytes (straight into an output buffer, no intermediate array).
    public static func float32(levels: UnsafeBufferPointer<Int32>, stepSize: Float, into out: UnsafeMutableRawPointer) {
        guard let src = levels.baseAddress else { return }
        for i in 0..<levels.count {
            out.storeBytes(of: stepSize * Float(src[i]), toByteOffset: i &* 4, as: Float.self)
        }
    }

    /// The same in place: the `count` int32 levels at `storage` become their float32 values (native
    /// byte order), so decoded levels turn into the output without a second buffer.
    public static func float32InPlace(_ storage: UnsafeMutableRawPointer, count: Int, stepSize: Float) {
        for i in 0..<count {
            let q = storage.load(fromByteOffset: i &* 4, as: Int32.self)
            storage.storeBytes(of: stepSize * Float(q), toByteOffset: i &* 4, as: Float.self)
        }
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
