// Bit-exact conversions between Float/Double and the 16-bit formats (IEEE binary16, bfloat16).
// Implemented with integer/bit arithmetic only so they behave identically on every platform
// (Swift's Float16 type is not available on all targets).

/// Conversions to and from the 16-bit floating-point formats. Narrowing rounds to nearest,
/// ties to even; overflow gives ±infinity; NaN stays NaN (quiet, sign and top payload bits kept).
public enum FloatBits {
    /// IEEE 754 binary16 bits nearest to `value` (round-to-nearest-even, gradual underflow).
    public static func float16Bits(from value: Float) -> UInt16 {
        UInt16(truncatingIfNeeded: narrow(Double(value), exponentBits: 5, mantissaBits: 10))
    }

    /// binary16 bits nearest to `value`, rounded once directly from the Double (no double rounding).
    public static func float16Bits(from value: Double) -> UInt16 {
        UInt16(truncatingIfNeeded: narrow(value, exponentBits: 5, mantissaBits: 10))
    }

    /// bfloat16 bits nearest to `value` (round-to-nearest-even; subnormals kept).
    public static func bfloat16Bits(from value: Float) -> UInt16 {
        if value.isNaN {
            // Keep sign and the top 7 payload bits; force the quiet bit.
            return UInt16(truncatingIfNeeded: value.bitPattern >> 16) | 0x0040
        }
        let bits = value.bitPattern
        // Adding 0x7FFF plus the lowest kept bit implements ties-to-even; carries into the exponent
        // correctly (largest finite values round to infinity).
        let lsb = (bits >> 16) & 1
        let rounded = bits &+ 0x7FFF &+ lsb
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    /// bfloat16 bits nearest to `value`, rounded once directly from the Double.
    public static func bfloat16Bits(from value: Double) -> UInt16 {
        UInt16(truncatingIfNeeded: narrow(value, exponentBits: 8, mantissaBits: 7))
    }

    /// The narrowing of float32 values to `dtype`'s bits: float16 or bfloat16, nil for any other
    /// dtype (what a float32 tensor can be written in directly, a value at a time).
    public static func narrowing(to dtype: TensorDType) -> ((Float) -> UInt16)? {
        switch dtype {
        case .bfloat16: return { bfloat16Bits(from: $0) }
        case .float16: return { float16Bits(from: $0) }
        default: return nil
        }
    }

    /// The exact Float value of binary16 `bits`.
    public static func float(fromFloat16 bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x03FF)
        if exponent == 0x1F {
            // Inf / NaN: widen the payload.
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        if exponent == 0 {
            // Zero or subnormal: mantissa * 2^-24, exact in Float.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign != 0 ? -magnitude : magnitude
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// The exact Float value of bfloat16 `bits`.
    public static func float(fromBFloat16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Rounds `value` to a binary format with the given field widths (exponentBits <= 11,
    /// mantissaBits <= 23) and returns its bit pattern in the low bits.
    static func narrow(_ value: Double, exponentBits: Int, mantissaBits: Int) -> UInt32 {
        let signShift = UInt32(exponentBits + mantissaBits)
        let sign: UInt32 = value.sign == .minus ? (1 << signShift) : 0
        let exponentMask = (UInt32(1) << UInt32(exponentBits)) - 1
        let infinity = sign | (exponentMask << UInt32(mantissaBits))
        if value.isNaN {
            let payload = UInt32(truncatingIfNeeded: value.bitPattern >> UInt64(52 - mantissaBits))
                & ((UInt32(1) << UInt32(mantissaBits)) - 1)
            return infinity | (UInt32(1) << UInt32(mantissaBits - 1)) | payload
        }
        if value.isInfinite { return infinity }
        let magnitude = value.magnitude
        if magnitude == 0 { return sign }
        let bias = (1 << (exponentBits - 1)) - 1
        let minNormalExponent = 1 - bias
        var exponent = Int(magnitude.exponent)
        if exponent > bias { return infinity }
        // Quantum (ulp) exponent at this magnitude; subnormals share the minimum exponent's quantum.
        let quantumExponent = max(exponent, minNormalExponent) - mantissaBits
        let scaled = magnitude * Double(sign: .plus, exponent: -quantumExponent, significand: 1)
        var significand = UInt32(scaled.rounded(.toNearestOrEven))  // <= 2^(mantissaBits+1)
        if exponent < minNormalExponent {
            // Subnormal result; a carry to 2^mantissaBits encodes the smallest normal correctly.
            return sign | significand
        }
        if significand == (UInt32(1) << UInt32(mantissaBits + 1)) {
            significand >>= 1
            exponent += 1
            if exponent > bias { return infinity }
        }
        let biased = UInt32(exponent + bias)
        return sign | (biased << UInt32(mantissaBits)) | (significand - (UInt32(1) << UInt32(mantissaBits)))
    }
}
