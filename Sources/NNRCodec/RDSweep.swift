import Foundation
import NNRModelIO

/// One point of a rate-distortion sweep: a whole-model encode on the real coder.
public struct RDPoint: Sendable, Equatable {
    /// The curve it belongs to (e.g. "swift-nnr DQ").
    public var curve: String
    public var qp: Int
    public var bytes: Int
    /// File bits / all tensor elements.
    public var bitsPerParameter: Double
    /// 10·log10(Σw² / Σ(w − ŵ)²) over all float tensors.
    public var snrDB: Double

    public init(curve: String, qp: Int, bytes: Int, bitsPerParameter: Double, snrDB: Double) {
        self.curve = curve
        self.qp = qp
        self.bytes = bytes
        self.bitsPerParameter = bitsPerParameter
        self.snrDB = snrDB
    }
}

/// Inclusive QP range of a sweep, written `A:B` (either order, e.g. `-20:-40`).
public struct QPSweepRange: Sendable, Equatable {
    public var qps: [Int]

    /// Parses `A:B`; nil unless both are integers within `allowed` and the range has at most
    /// `maxPoints` QPs.
    public init?(_ text: String, allowed: ClosedRange<Int>, maxPoints: Int = 256) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]),
              allowed.contains(a), allowed.contains(b), abs(a - b) < maxPoints else { return nil }
        qps = a <= b ? Array(a...b) : Array((b...a).reversed())
    }
}

extension NNREncoder {
    /// Whole-model SNR of an encode from its per-tensor squared errors.
    static func modelSNR(_ tensors: [Tensor], _ encoded: EncodedBitstream) -> Double {
        var signal = 0.0
        for t in tensors where t.dtype.isFloatingPoint {
            for x in t.floatValues() { signal += Double(x) * Double(x) }
        }
        let noise = encoded.tensors.reduce(0.0) { $0 + $1.squaredErrorSum }
        return noise > 0 ? 10 * log10(signal / noise) : .infinity
    }

    /// An RD sweep: every QP of `qps` applied to every weight tensor (1-D tensors keep
    /// `options.nonWeightQP`, as in a plain encode), coded for real with these options.
    public func rdSweep(_ tensors: [Tensor], qps: [Int], curve: String,
                        progress: ((RDPoint) -> Void)? = nil) throws -> [RDPoint] {
        let parameters = tensors.reduce(0) { $0 + max(1, $1.shape.reduce(1, *)) }
        var points: [RDPoint] = []
        for qp in qps {
            var e = self
            e.options.qp = qp
            let encoded = try e.encode(tensors)
            let p = RDPoint(curve: curve, qp: qp, bytes: encoded.bytes.count,
                            bitsPerParameter: Double(encoded.bytes.count * 8) / Double(max(1, parameters)),
                            snrDB: Self.modelSNR(tensors, encoded))
            progress?(p)
            points.append(p)
        }
        return points
    }
}
