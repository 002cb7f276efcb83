import NNRCoding

/// The quantizer's side of a codebook (spec-notes 3.5): a codebook tensor's level k reconstructs
/// as entries[k + CbZeroOffset] · Δ.
extension NNRCodebook {
    /// Builds a codebook and picks the cheapest codebook_egk. Throws unless the entries are
    /// non-empty and strictly increasing and the offset is in range.
    public init(choosingEgk entries: [Int], cbZeroOffset: Int) throws {
        guard !entries.isEmpty, (0..<entries.count).contains(cbZeroOffset) else {
            throw QuantizationError.invalidParameter("codebook of \(entries.count) entries, zero offset \(cbZeroOffset)")
        }
        for i in 1..<entries.count where entries[i] <= entries[i - 1] {
            throw QuantizationError.invalidParameter("codebook entries not strictly increasing at \(i)")
        }
        var best = (egk: 0, bits: Int.max)
        for k in 0..<16 {
            let b = NNRCodebook.syntaxBits(entries: entries, zeroOffset: cbZeroOffset, egk: k)
            if b < best.bits { best = (k, b) }   // first minimum, as NNCodec's search
        }
        self.init(codebookEgk: best.egk, entries: entries, cbZeroOffset: cbZeroOffset)
    }

    /// Size in bits of the codebook() syntax with these values.
    public var syntaxBits: Int { NNRCodebook.syntaxBits(entries: entries, zeroOffset: cbZeroOffset, egk: codebookEgk) }

    /// Bits of codebook(): codebook_egk u(4), codebook_size ue(2), codebook_center_offset ie(2),
    /// codebook_zero_value ie(7), then the deltas (minus one) to the left and right with ue(egk).
    public static func syntaxBits(entries: [Int], zeroOffset: Int, egk: Int) -> Int {
        var bits = 4 + expGolombLength(UInt64(entries.count), order: 2)
        bits += signedExpGolombLength(Int64(zeroOffset) - Int64(entries.count >> 1), order: 2)
        bits += signedExpGolombLength(Int64(entries[zeroOffset]), order: 7)
        for j in 0..<entries.count where j != zeroOffset {
            let d = j < zeroOffset ? Int64(entries[j + 1]) - Int64(entries[j]) : Int64(entries[j]) - Int64(entries[j - 1])
            bits += expGolombLength(UInt64(d - 1), order: egk)
        }
        return bits
    }

    /// Length of ue(k) for x: n leading zeros, a one, then k + n bits, where n is the smallest with
    /// x < 2^k·(2^(n+1) − 1).
    static func expGolombLength(_ x: UInt64, order k: Int) -> Int {
        var n = 0
        while n < 62 - k && x >= ((UInt64(1) << (n + 1)) - 1) << k { n += 1 }
        return 2 * n + 1 + k
    }

    /// Length of ie(k): +v coded as 2v − 1, −v as 2v.
    static func signedExpGolombLength(_ v: Int64, order k: Int) -> Int {
        let x: UInt64 = v > 0 ? UInt64(2 * v - 1) : UInt64(-2 * v)
        return expGolombLength(x, order: k)
    }

    /// Reconstruction of level k: entries[k + CbZeroOffset] · Δ in float64 (as NNCodec decodes
    /// codebook tensors), or nil if k is outside the codebook.
    public func value(level k: Int32, stepSize: Float) -> Double? {
        let i = Int(k) + cbZeroOffset
        guard entries.indices.contains(i) else { return nil }
        return Double(entries[i]) * Double(stepSize)
    }
}

/// NNCodec's codebook construction (`approximator/codebook.py`): the sorted distinct uniform levels
/// become the codebook, each value's index into it the level, and CbZeroOffset is the offset whose
/// shifted indices (index − offset) code cheapest. NNCodec measures that with a real encoder run per
/// offset; here the estimate of `PayloadRateEstimate` is used, with the profile-1 bounded
/// binarization and the row skipping the payload will use. Offsets tried: all of them while
/// size × count ≤ 2^23, else a window around the most frequent entry and the entry nearest zero.
public enum CodebookBuilder {
    public static func build(levels: [Int32], geometry: TensorGeometry, rowSkipping: Bool = false,
                             cabacUnaryLengthMinus1: Int = 10) throws -> (codebook: NNRCodebook, indices: [Int32]) {
        guard levels.count == geometry.count, !levels.isEmpty else {
            throw QuantizationError.countMismatch(values: levels.count, geometry: geometry.count)
        }
        let entries = Array(Set(levels)).sorted()
        var indexOf: [Int32: Int32] = [:]
        indexOf.reserveCapacity(entries.count)
        for (i, e) in entries.enumerated() { indexOf[e] = Int32(i) }
        var rawIndex = [Int32](repeating: 0, count: levels.count)
        var histogram = [Int](repeating: 0, count: entries.count)
        for (i, l) in levels.enumerated() {
            let idx = indexOf[l] ?? 0
            rawIndex[i] = idx
            histogram[Int(idx)] += 1
        }
        var candidates: [Int]
        if entries.count * levels.count <= 1 << 23 {
            candidates = Array(0..<entries.count)
        } else {
            var mode = 0
            for i in 1..<histogram.count where histogram[i] > histogram[mode] { mode = i }
            var nearZero = 0
            for i in 1..<entries.count where abs(Int64(entries[i])) < abs(Int64(entries[nearZero])) { nearZero = i }
            var set = Set<Int>()
            for c in [mode, nearZero] {
                for o in -4...4 where (0..<entries.count).contains(c + o) { set.insert(c + o) }
            }
            candidates = set.sorted()
        }
        var bestOffset = candidates[0]
        var bestBits = Double.infinity
        let splitRows = rowSkipping && geometry.hasRowSkipSyntax(profile1: true, codebookSize: entries.count)
        var shifted = [Int32](repeating: 0, count: levels.count)
        var candidate = NNRCodebook(entries: entries.map(Int.init))
        for off in candidates {
            candidate.cbZeroOffset = off
            let o = Int32(off)
            for i in 0..<rawIndex.count { shifted[i] = rawIndex[i] - o }
            let flags = splitRows ? allZeroRows(shifted, geometry) : nil
            let bits = try PayloadRateEstimate.bits(levels: shifted, geometry: geometry, dependentQuantization: false,
                                                    rowSkipFlags: flags, codebook: candidate,
                                                    cabacUnaryLengthMinus1: cabacUnaryLengthMinus1)
            if bits < bestBits {
                bestBits = bits
                bestOffset = off
            }
        }
        let cb = try NNRCodebook(choosingEgk: entries.map(Int.init), cbZeroOffset: bestOffset)
        let o = Int32(bestOffset)
        return (cb, rawIndex.map { $0 - o })
    }
}

/// Rows whose levels are all zero.
func allZeroRows(_ levels: [Int32], _ g: TensorGeometry) -> [Bool] {
    var flags = [Bool](repeating: true, count: g.height)
    for r in 0..<g.height {
        let base = r * g.width
        for c in 0..<g.width where levels[base + c] != 0 {
            flags[r] = false
            break
        }
    }
    return flags
}
