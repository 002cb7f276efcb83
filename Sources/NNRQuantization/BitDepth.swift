import Foundation
import NNRCoding

/// Levels limited to an integer bit depth (NNCodec `int_quant_bw` / `bitdepth`): signed levels in
/// [−2^(b−1), 2^(b−1) − 1], unsigned in [0, 2^b − 1].
public struct BitDepthLimit: Sendable, Equatable {
    public var bits: Int
    public var unsigned: Bool

    public init(bits: Int, unsigned: Bool = false) throws {
        guard (1...31).contains(bits) else {
            throw QuantizationError.invalidParameter("bit depth \(bits) outside 1…31")
        }
        self.bits = bits
        self.unsigned = unsigned
    }

    /// The allowed levels q (the decoder's levels; for DQ the reconstruction indices).
    public var levelRange: ClosedRange<Int32> {
        if unsigned { return 0...Int32(truncatingIfNeeded: (Int64(1) << bits) - 1) }
        let half = Int64(1) << (bits - 1)
        return Int32(truncatingIfNeeded: -half)...Int32(truncatingIfNeeded: half - 1)
    }

    /// NNCodec's choice of the QP for a bit depth (`ApproxInfo._get_intaligned_qp`): the step that
    /// maps the 99.95th percentile of |w| (numpy's linear interpolation, in float32) onto the
    /// largest level (2^b − 1 when no value is negative and unsigned levels are allowed, else
    /// 2^(b−1) − 1; the max |w| if the percentile is 0), converted to a fractional QP
    /// (`get_qp_from_stepsize`), clipped to [−2^(5+d), 2^(5+d) − 1] and rounded half to even.
    /// An all-zero tensor gets QP 0. Returns the QP and the matching level limit.
    public static func nncodecQP(values: [Float], bits: Int, qpDensity: Int,
                                 allowUnsigned: Bool = true) throws -> (qp: Int, limit: BitDepthLimit) {
        guard (0...7).contains(qpDensity) else {
            throw QuantizationError.invalidParameter("qpDensity \(qpDensity) outside 0…7")
        }
        var magnitudes = [Float](repeating: 0, count: values.count)
        var anyNegative = false
        for (i, v) in values.enumerated() {
            guard v.isFinite else { throw QuantizationError.nonFiniteValue(index: i) }
            if v < 0 { anyNegative = true }
            magnitudes[i] = abs(v)
        }
        let unsigned = allowUnsigned && !anyNegative
        let limit = try BitDepthLimit(bits: bits, unsigned: unsigned)
        guard let maxAbs = magnitudes.max(), maxAbs > 0 else { return (0, limit) }
        let denom = unsigned ? Double((Int64(1) << bits) - 1) : Double((Int64(1) << (bits - 1)) - 1)
        let maxQP = 1 << (5 + qpDensity)
        guard denom > 0 else { return (maxQP - 1, limit) }
        magnitudes.sort()
        var step = Double(percentile(sorted: magnitudes, 99.95)) / denom
        if step == 0 { step = Double(maxAbs) / denom }
        let k = Double(1 << qpDensity)
        let baseQP = floor(log2(step)) * k
        var qp = baseQP + ((step * k) / pow(2.0, baseQP / k) - k)
        qp = Swift.min(Swift.max(qp, Double(-maxQP)), Double(maxQP - 1))
        return (Int(qp.rounded(.toNearestOrEven)), limit)
    }

    /// numpy `percentile(a, p)` (method "linear") of an ascending float32 array, in float32 as
    /// numpy computes it for float32 input.
    static func percentile(sorted a: [Float], _ p: Double) -> Float {
        guard a.count > 1 else { return a.first ?? 0 }
        let virtualIndex = p / 100.0 * Double(a.count - 1)
        let lo = Swift.min(Swift.max(Int(virtualIndex.rounded(.down)), 0), a.count - 1)
        let hi = Swift.min(lo + 1, a.count - 1)
        let gamma = virtualIndex - Double(lo)
        let lower = a[lo], upper = a[hi]
        let diff = upper - lower
        if gamma >= 0.5 { return upper - diff * Float(1 - gamma) }
        return lower + diff * Float(gamma)
    }
}
