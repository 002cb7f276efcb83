import NNRCoding

/// A run of consecutive scan positions that lie in one matrix row (ISO/IEC 15938-17 payload scan,
/// spec-notes 4.2/4.3): the row-major indices `start ..< start + length`, all in row `row`.
///
/// With row skipping, a segment is the unit the row_skip_flag applies to: the whole row for
/// scan_order 0, one block-wide piece of it for block scan. A skipped segment decodes as zeros and,
/// with dependent quantization, advances the DQ state `width` times with parity 0 (spec 4.3, 6).
struct ScanSegment: Sendable, Equatable {
    var start: Int
    var length: Int
    var row: Int
    /// First segment of a block row other than the first: all contexts are reset and the
    /// neighbour value is set to 0 before it (entry point, spec 4.3 item 6 / 5.8).
    var startsBlockRow: Bool
}

extension TensorGeometry {
    /// The scan of the payload as segments, in coding order. With `splitRows` false and
    /// scan_order 0 the whole tensor is one segment (no row can be skipped).
    func scanSegments(splitRows: Bool) -> [ScanSegment] {
        let h = height, w = width
        guard h > 0, w > 0 else { return [] }
        if scanOrder == 0 {
            if !splitRows { return [ScanSegment(start: 0, length: h * w, row: 0, startsBlockRow: false)] }
            var out: [ScanSegment] = []
            out.reserveCapacity(h)
            for r in 0..<h { out.append(ScanSegment(start: r * w, length: w, row: r, startsBlockRow: false)) }
            return out
        }
        let b = blockSize
        var out: [ScanSegment] = []
        out.reserveCapacity(h * ((w + b - 1) / b))
        var r0 = 0
        while r0 < h {
            let r1 = Swift.min(r0 + b, h)
            var c0 = 0
            var first = r0 > 0
            while c0 < w {
                let c1 = Swift.min(c0 + b, w)
                for r in r0..<r1 {
                    out.append(ScanSegment(start: r * w + c0, length: c1 - c0, row: r, startsBlockRow: first))
                    first = false
                }
                c0 = c1
            }
            r0 = r1
        }
        return out
    }

    /// Whether the payload carries row_skip_flags for this tensor when the encoder enables row
    /// skipping (profile 1, w > 1, more than one row; spec 4.3 item 3). Codebooks of size 1 are the
    /// caller's concern.
    public var supportsRowSkipping: Bool { width > 1 && height > 1 }
}

/// The DQ state permutation applied by one skipped segment: `width` transitions with parity 0.
/// `forward[s]` is the state after the segment, `backward` its inverse.
struct SkipPermutation {
    var forward: [Int] = Array(0..<8)
    var backward: [Int] = Array(0..<8)

    init(width: Int) {
        // T[.][0] is a permutation whose cycles have lengths 1, 4, 2, 1, so width mod 4 suffices.
        let steps = width & 3
        for s in 0..<8 {
            var t = s
            for _ in 0..<steps { t = DependentQuantization.nextState(t, parity: 0) }
            forward[s] = t
        }
        for s in 0..<8 { backward[forward[s]] = s }
    }
}
