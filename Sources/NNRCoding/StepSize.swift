import Foundation

/// Quantization step size from QP and qp_density d (0…7):
/// Δ(qp, d) = (2^d + (qp & (2^d − 1))) · 2^((qp >> d) − d), with floor semantics for negative qp,
/// computed in double and rounded to float32 as the reference does.
public enum StepSize {
    public static func delta(qp: Int, qpDensity d: Int) -> Double {
        let mask = (1 << d) - 1
        let mantissa = Double((1 << d) + (qp & mask))
        let exponent = (qp >> d) - d
        return mantissa * pow(2.0, Double(exponent))
    }

    public static func float32(qp: Int, qpDensity d: Int) -> Float {
        Float(delta(qp: qp, qpDensity: d))
    }
}
