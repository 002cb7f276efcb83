/// Why a quantization request was refused. Every failure on input data is one of these; the
/// quantizers never trap on values, shapes or parameters.
public enum QuantizationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `values[index]` is NaN or ±infinity.
    case nonFiniteValue(index: Int)
    /// The number of values does not match the geometry (h·w).
    case countMismatch(values: Int, geometry: Int)
    /// A parameter is outside what the quantizer or the bitstream allows (name and reason).
    case invalidParameter(String)
    /// The error bound cannot be met by any allowed QP (for example, values so large that a fine
    /// enough step would overflow the 32-bit levels, or the QP range is exhausted).
    case errorBoundUnachievable(maxError: Float, finestQP: Int)
    /// The levels would not fit in Int32 even at the coarsest allowed QP.
    case levelOverflow(qp: Int)
    /// Internal consistency check failed (a bug, reported instead of trapping).
    case internalInconsistency(String)

    public var description: String {
        switch self {
        case .nonFiniteValue(let i): return "value \(i) is not finite (NaN or infinity)"
        case .countMismatch(let v, let g): return "\(v) values for a geometry of \(g) elements"
        case .invalidParameter(let s): return "invalid parameter: \(s)"
        case .errorBoundUnachievable(let e, let qp):
            return "no QP down to \(qp) reconstructs every value within \(e)"
        case .levelOverflow(let qp): return "levels overflow Int32 even at qp \(qp)"
        case .internalInconsistency(let s): return "internal inconsistency: \(s)"
        }
    }
}

/// Rejects NaN and infinities with the index of the first offending value.
@inline(__always)
func checkFinite(_ values: UnsafeBufferPointer<Float>) throws {
    if let i = firstNonFinite(values) { throw QuantizationError.nonFiniteValue(index: i) }
}

/// The index of the first NaN or infinity, if any. A branch-free pass over the exponents, eight at a
/// time, first (bit 31 of (bits & 0x7F800000) + 0x00800000 is set exactly for exponent 0xFF); the
/// index is looked for only when there is one.
public func firstNonFinite(_ values: UnsafeBufferPointer<Float>) -> Int? {
    guard let base = values.baseAddress else { return nil }
    let raw = UnsafeRawPointer(base)
    let exponent = SIMD8<UInt32>(repeating: 0x7F80_0000), one = SIMD8<UInt32>(repeating: 0x0080_0000)
    var any = SIMD8<UInt32>(repeating: 0)
    var i = 0
    while i &+ 8 <= values.count {
        any |= (raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<UInt32>.self) & exponent) &+ one
        i &+= 8
    }
    var tail = false
    while i < values.count {
        tail = tail || !values[i].isFinite
        i &+= 1
    }
    guard tail || (any & SIMD8(repeating: 0x8000_0000)) != .zero else { return nil }
    return values.firstIndex { !$0.isFinite }
}
