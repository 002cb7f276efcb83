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

    /// Number of sig_flag contexts of each kind with and without dependent quantization
    /// (neighbour rule: 3 per DQ state; TCA: 2 per state; HDSP: 1 per state).
    static func sigCount(dq: Bool) -> (neighbour: Int, tca: Int, hdsp: Int) { dq ? (24, 16, 8) : (3, 2, 1) }

    // MARK: context selection (spec 5.1), shared by the decoder and the encoder

    /// sig_flag context: HDSP when the position's history bit is set, else TCA when the parent value
    /// `parent` is non-zero, else the neighbour rule. `state` is 0 without dependent quantization;
    /// `neighbour` is the class of the previous k (0 zero, 1 negative, 2 positive).
    @inlinable @inline(__always)
    public static func sigContext(state: Int, neighbour: Int, parent: Int32, history: Bool) -> Int {
        if history { return sigHDSPBase &+ state }
        if parent != 0 { return sigTCABase &+ 2 &* state &+ (parent.magnitude > 1 ? 1 : 0) }
        return 3 &* state &+ neighbour
    }

    /// sign_flag context: TCA when the parent value is non-zero, else the neighbour rule.
    @inlinable @inline(__always)
    public static func signContext(neighbour: Int, parent: Int32) -> Int {
        parent != 0 ? signTCABase &+ (parent > 0 ? 1 : 0) : signBase &+ neighbour
    }

    /// Context of abs_level_greater flag j of a level of sign `negative`; with a non-zero parent
    /// value of magnitude `parentMagnitude` the TCA contexts (0 = no TCA).
    @inlinable @inline(__always)
    public func gtContext(_ j: Int, negative: Bool, parentMagnitude: Int) -> Int {
        parentMagnitude != 0 ? gtTCABase &+ 2 &* j &+ (parentMagnitude >= j ? 0 : 1)
            : ContextLayout.gtBase &+ 2 &* j &+ (negative ? 1 : 0)
    }
}
