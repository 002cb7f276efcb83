import Foundation

/// Quality figures of a quantized tensor against its original values.
public struct QuantizationStats: Sendable, Equatable {
    /// Number of values.
    public var count: Int
    /// Number of non-zero levels.
    public var nonZeroCount: Int
    /// Number of rows flagged skipped (0 without row skipping).
    public var skippedRows: Int
    /// Largest |w − ŵ| (ŵ as the decoder reconstructs it), computed in double.
    public var maxAbsError: Double
    /// Mean of (w − ŵ)².
    public var meanSquaredError: Double
    /// 10·log10(Σw² / Σ(w − ŵ)²); +∞ if lossless, −∞ for an all-zero original with error.
    public var snrDB: Double
    /// Estimated payload bits of the levels (see `PayloadRateEstimate`), if requested.
    public var estimatedPayloadBits: Double?

    public init(count: Int, nonZeroCount: Int, skippedRows: Int, maxAbsError: Double,
                meanSquaredError: Double, snrDB: Double, estimatedPayloadBits: Double?) {
        self.count = count
        self.nonZeroCount = nonZeroCount
        self.skippedRows = skippedRows
        self.maxAbsError = maxAbsError
        self.meanSquaredError = meanSquaredError
        self.snrDB = snrDB
        self.estimatedPayloadBits = estimatedPayloadBits
    }

    /// SNR in dB of a reconstruction: 10·log10(Σw² / Σ(w − ŵ)²), sums in double. Returns nil if
    /// the lengths differ or a value is not finite.
    public static func snrDB(original: [Float], reconstructed: [Float]) -> Double? {
        snr(original: original.map(Double.init), reconstructed: reconstructed.map(Double.init))
    }

    /// Same, for a float64 reconstruction (codebook tensors).
    public static func snrDB(original: [Float], reconstructed: [Double]) -> Double? {
        snr(original: original.map(Double.init), reconstructed: reconstructed)
    }

    /// Largest |w − ŵ| in double; nil if the lengths differ or a value is not finite.
    public static func maxAbsError(original: [Float], reconstructed: [Float]) -> Double? {
        guard original.count == reconstructed.count else { return nil }
        var m = 0.0
        for i in 0..<original.count {
            let e = abs(Double(original[i]) - Double(reconstructed[i]))
            guard e.isFinite else { return nil }
            m = max(m, e)
        }
        return m
    }

    static func snr(original: [Double], reconstructed: [Double]) -> Double? {
        guard original.count == reconstructed.count else { return nil }
        var signal = 0.0, noise = 0.0
        for i in 0..<original.count {
            let d = original[i] - reconstructed[i]
            signal += original[i] * original[i]
            noise += d * d
        }
        guard signal.isFinite, noise.isFinite else { return nil }
        return snrFromEnergies(signal: signal, noise: noise)
    }

    static func snrFromEnergies(signal: Double, noise: Double) -> Double {
        if noise == 0 { return .infinity }
        if signal == 0 { return -.infinity }
        return 10 * log10(signal / noise)
    }
}
