/// Where each context of a tensor lives in the per-tensor context array, for
/// L = cabac_unary_length_minus1 + 1 greater-than flags (layout as in NNCodec 2.1.3; total 90 + 4L).
public struct ContextLayout: Sendable, Equatable {
    /// Number of greater-than flags (cabac_unary_length_minus1 + 1).
    public let gtCount: Int

    public init(cabacUnaryLengthMinus1: Int) { gtCount = cabacUnaryLengthMinus1 + 1 }

    /// sig_flag, neighbour rule: 3·state + c (c: 0 neighbour == 0, 1 negative, 2 positive). 0…23.
    public static let sigBase = 0
    /// sig_flag with TCA (parent value ≠ 0): 24 + 2·state + (|base| > 1 ? 1 : 0). 24…39.
    public static let sigTCABase = 24
    /// sig_flag with HDSP (history bit set): 40 + state. 40…47.
    public static let sigHDSPBase = 40
    /// sign_flag: 48 + c.
    public static let signBase = 48
    /// sign_flag with TCA: 51 + (base > 0 ? 1 : 0).
    public static let signTCABase = 51
    /// abs_level_greater flag j: 53 + 2j + (negative ? 1 : 0).
    public static let gtBase = 53

    /// gt flags with TCA: 53 + 2L + 2j + (|base| ≥ j ? 0 : 1).
    public var gtTCABase: Int { 53 + 2 * gtCount }
    /// Remainder prefix bin m (0…30): 53 + 4L + m (32 allocated).
    public var remainderBase: Int { 53 + 4 * gtCount }
    /// Estimator-selection flag context.
    public var selectionFlag: Int { 53 + 4 * gtCount + 34 }
    /// row_skip_flag context.
    public var rowSkipFlag: Int { 53 + 4 * gtCount + 36 }
    /// Total number of contexts allocated per tensor.
    public var count: Int { 90 + 4 * gtCount }
}
