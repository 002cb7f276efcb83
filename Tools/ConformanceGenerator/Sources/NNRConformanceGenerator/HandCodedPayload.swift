import NNRCoding

// MARK: Hand-coded payloads

extension ConformanceSuiteBuilder {
    /// Codes the bins of a one-element tensor directly with the arithmetic encoder (for payloads
    /// no encoder writes: levels beyond int32, codebook indices out of range, a terminating bin 0).
    struct HandCodedPayload {
        var encoder = ArithmeticEncoder()
        let layout: ContextLayout
        var contexts: [ContextModel]

        init(cabacUnaryLengthMinus1: Int) {
            layout = ContextLayout(cabacUnaryLengthMinus1: cabacUnaryLengthMinus1)
            contexts = Array(repeating: ContextModel(set: 0), count: layout.count)
        }

        mutating func bin(_ b: Int, _ ctx: Int) { encoder.encodeBin(UInt32(b & 1), context: &contexts[ctx]) }

        /// qp_offset: 6 + qpDensity bypass bins, two's complement.
        mutating func qpOffset(_ value: Int, qpDensity: Int) {
            let n = 6 + qpDensity
            encoder.encodeBypassBins(UInt32(truncatingIfNeeded: value) & ((1 << UInt32(n)) - 1), count: n)
        }

        /// Every estimator-selection flag 0 (no codebook, no TCA/HDSP).
        mutating func estimatorSelectionNone(dq: Bool) {
            let entries = (dq ? 24 : 3) + 3 + 2 * layout.gtCount + 31
            for _ in 0..<entries { bin(0, layout.selectionFlag) }
        }

        /// One level at the start of a tensor (DQ state 0, neighbour 0), magnitude `a` ≥ 0.
        mutating func level(magnitude a: UInt64, negative: Bool = false) {
            bin(a == 0 ? 0 : 1, ContextLayout.sigBase)
            guard a > 0 else { return }
            bin(negative ? 1 : 0, ContextLayout.signBase)
            let L = UInt64(layout.gtCount)
            var j: UInt64 = 0
            while j < L {
                let flag = a > j + 1 ? 1 : 0
                bin(flag, ContextLayout.gtBase + 2 * Int(j) + (negative ? 1 : 0))
                if flag == 0 { return }
                j += 1
            }
            // Exp-Golomb-0 remainder of a − L − 1: n prefix ones (context per position), a 0 unless
            // the prefix is the longest (31), then n suffix bits.
            let v = a - L - 1
            var n = 0
            while n < 31 && v >= (UInt64(1) << UInt64(n + 1)) - 1 { n += 1 }
            for m in 0..<n { bin(1, layout.remainderBase + m) }
            if n < 31 { bin(0, layout.remainderBase + n) }
            let suffix = v - ((UInt64(1) << UInt64(n)) - 1)
            if n > 0 { encoder.encodeBypassBins(UInt32(truncatingIfNeeded: suffix), count: n) }
        }

        mutating func finish(terminatingBin: Int = 1) -> [UInt8] {
            encoder.encodeTerminatingBin(UInt32(terminatingBin))
            return encoder.finish()
        }
    }
}
