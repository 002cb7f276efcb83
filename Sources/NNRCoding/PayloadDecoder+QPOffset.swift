import NNRBitIO

extension PayloadDecoder {
    /// The qp_offset the next tensor starts with (6 + `qpDensity` bypass bins), read from a copy of
    /// the arithmetic decoder: nothing is consumed. nil if the payload ends first.
    public func peekQPOffset(qpDensity: Int) -> Int? {
        var r = reader
        let nb = 6 + qpDensity
        let raw = r.decodeBypassBins(nb)
        if r.overread { return nil }
        return PayloadDecoder.signExtend(raw, bits: nb)
    }

    /// Two's complement value of the low `bits` bits.
    @inline(__always)
    static func signExtend<T: BinaryInteger>(_ raw: T, bits: Int) -> Int {
        let shift = 64 - bits
        return (Int(raw) << shift) >> shift
    }
}
