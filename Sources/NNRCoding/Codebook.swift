/// codebook(): integer codebook entries (multiples of the step size), strictly increasing, and the
/// entry that level k = 0 refers to. One type for the syntax (NNRSyntax reads and writes it), the
/// payload coder (profile 1 bounds the binarization by it) and the quantizer (which builds it).
public struct NNRCodebook: Sendable, Equatable {
    /// codebook_egk u(4): Exp-Golomb order of the deltas.
    public var codebookEgk: Int = 0
    /// The entries; codebook_size = entries.count.
    public var entries: [Int] = [0]
    /// CbZeroOffset = (codebook_size >> 1) + codebook_center_offset.
    public var cbZeroOffset: Int = 0

    public init(codebookEgk: Int = 0, entries: [Int] = [0], cbZeroOffset: Int = 0) {
        self.codebookEgk = codebookEgk
        self.entries = entries
        self.cbZeroOffset = cbZeroOffset
    }

    /// codebook_size.
    public var codebookSize: Int { entries.count }
    /// Largest |k| of a positive index (codebook_size − 1 − CbZeroOffset).
    public var maxPositive: Int { entries.count &- 1 &- cbZeroOffset }
    /// Largest |k| of a negative index (CbZeroOffset).
    public var maxNegative: Int { cbZeroOffset }
    /// The zero entry is at an end of the codebook: the sign of a non-zero level is inferred.
    public var signInferred: Bool { cbZeroOffset == 0 || cbZeroOffset == entries.count - 1 }
}
