import NNRCoding

/// Estimated size of a tensor's quantized values in the payload, from NNCodec's bit-cost table and
/// adaptive contexts (all contexts start in estimator set 0, as NNCodec's estimators do; the
/// encoder's estimator-selection usually saves a little more). Covers the row_skip_flags, the
/// levels (sig, sign, gt, remainder), DQ states, row skipping and block-row resets. Not included:
/// qp_offset, estimator-selection syntax and the terminating bin (a few bits per tensor).
public enum PayloadRateEstimate {
    /// Bits of `levels` (decoder levels: q for uniform/DQ, signed codebook indices k for a codebook).
    ///
    /// - Parameters:
    ///   - dependentQuantization: the levels are DQ reconstruction indices (dq_flag = 1); each is
    ///     mapped back to its quantization index k with the decoder's state machine.
    ///   - rowSkipFlags: the flags the payload will carry (h entries), or nil without row skipping.
    ///   - codebook: size and CbZeroOffset when the levels are codebook indices (profile-1 bounded
    ///     binarization).
    /// - Throws: `QuantizationError` if the levels do not follow the DQ state machine, a skipped row
    ///   is not all zero, or sizes disagree.
    public static func bits(levels: [Int32], geometry: TensorGeometry, dependentQuantization: Bool,
                            rowSkipFlags: [Bool]? = nil, codebook: NNRCodebook? = nil,
                            cabacUnaryLengthMinus1: Int = 10) throws -> Double {
        guard levels.count == geometry.count else {
            throw QuantizationError.countMismatch(values: levels.count, geometry: geometry.count)
        }
        guard (0...62).contains(cabacUnaryLengthMinus1) else {
            throw QuantizationError.invalidParameter("cabacUnaryLengthMinus1 \(cabacUnaryLengthMinus1)")
        }
        if let f = rowSkipFlags, f.count != geometry.height {
            throw QuantizationError.invalidParameter("rowSkipFlags has \(f.count) entries for \(geometry.height) rows")
        }
        if let cb = codebook {
            guard cb.codebookSize >= 1, (0..<cb.codebookSize).contains(cb.cbZeroOffset) else {
                throw QuantizationError.invalidParameter("codebook size \(cb.codebookSize) / zero offset \(cb.cbZeroOffset)")
            }
        }
        let bounds = codebook
        let t = RateTables(gtCount: cabacUnaryLengthMinus1 + 1)
        let store = UnsafeMutablePointer<Int16>.allocate(capacity: t.storeStride)
        defer { store.deallocate() }
        t.reset(store)
        var total: UInt64 = 0
        if let flags = rowSkipFlags {
            for f in flags {
                let b = f ? 1 : 0
                total &+= UInt64(t.cost(store, t.layout.rowSkipFlag, b))
                t.update(store, t.layout.rowSkipFlag, b)
            }
        }
        let skip = SkipPermutation(width: geometry.width)
        var state = 0
        var neighbour: Int32 = 0
        for seg in geometry.scanSegments(splitRows: rowSkipFlags != nil) {
            if seg.startsBlockRow {
                t.reset(store)
                neighbour = 0
            }
            if let flags = rowSkipFlags, flags[seg.row] {
                for i in seg.start..<(seg.start + seg.length) where levels[i] != 0 {
                    throw QuantizationError.invalidParameter("row \(seg.row) is flagged skipped but level \(i) is \(levels[i])")
                }
                if dependentQuantization { state = skip.forward[state] }
                continue
            }
            for i in seg.start..<(seg.start + seg.length) {
                var k = levels[i]
                if dependentQuantization {
                    guard let kk = DependentQuantization.quantizationIndex(q: k, state: state) else {
                        throw QuantizationError.invalidParameter("level \(i) = \(k) is not representable in DQ state \(state)")
                    }
                    k = kk
                }
                let c = RateTables.neighbourClass(neighbour)
                total &+= t.codeLevel(store, k: k, sigCtx: ContextLayout.sigContext(state: state, neighbour: c, parent: 0, history: false),
                                      neighbour: c, bounds: bounds)
                neighbour = k
                if dependentQuantization { state = DependentQuantization.nextState(state, parity: Int(k & 1)) }
            }
        }
        return Double(total) / Double(nnrScaledBitsOneBit)
    }
}

/// The decoder's view of dependent quantization over a whole tensor.
public enum DependentQuantizationPath {
    /// The quantization indices k the entropy coder codes for reconstruction indices `q`
    /// (row-major), following the decoder's state machine in scan order, with each skipped row
    /// segment advancing the state `width` times with parity 0. Returns nil if some q is not
    /// representable in the state the decoder is in at its position, or a skipped row is not zero.
    /// Whether `quantizationIndices` would succeed, without building the indices.
    public static func isRepresentable(q: [Int32], geometry: TensorGeometry, rowSkipFlags: [Bool]? = nil) -> Bool {
        guard q.count == geometry.count else { return false }
        if let f = rowSkipFlags, f.count != geometry.height { return false }
        let skip = SkipPermutation(width: geometry.width)
        var state = 0
        // Not written (store: false); the walk takes a pointer.
        let scratch = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        defer { scratch.deallocate() }
        return q.withUnsafeBufferPointer { q in
            for seg in geometry.scanSegments(splitRows: rowSkipFlags != nil) {
                if let f = rowSkipFlags, f[seg.row] {
                    for i in seg.start..<(seg.start + seg.length) where q[i] != 0 { return false }
                    state = skip.forward[state]
                    continue
                }
                // q ≠ 0 must have the parity of the state's quantizer (Int32.min is refused too:
                // its k is not an Int32 the coder takes).
                guard let base = q.baseAddress,
                      DependentQuantization.quantizationIndices(base + seg.start, count: seg.length, state: &state,
                                                                into: scratch, store: false) else { return false }
            }
            return true
        }
    }

    public static func quantizationIndices(q: [Int32], geometry: TensorGeometry,
                                           rowSkipFlags: [Bool]? = nil) -> [Int32]? {
        guard q.count == geometry.count else { return nil }
        if let f = rowSkipFlags, f.count != geometry.height { return nil }
        var k = [Int32](repeating: 0, count: q.count)
        let skip = SkipPermutation(width: geometry.width)
        var state = 0
        for seg in geometry.scanSegments(splitRows: rowSkipFlags != nil) {
            if let f = rowSkipFlags, f[seg.row] {
                for i in seg.start..<(seg.start + seg.length) where q[i] != 0 { return nil }
                state = skip.forward[state]
                continue
            }
            for i in seg.start..<(seg.start + seg.length) {
                guard let v = DependentQuantization.quantizationIndex(q: q[i], state: state) else { return nil }
                k[i] = v
                state = DependentQuantization.nextState(state, parity: Int(v & 1))
            }
        }
        return k
    }
}
