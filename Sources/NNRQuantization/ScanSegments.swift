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
    /// The scan of the payload as segments, in coding order (`forEachSegment`). With `splitRows`
    /// false and scan_order 0 the whole tensor is one segment (no row can be skipped).
    func scanSegments(splitRows: Bool) -> [ScanSegment] {
        guard height > 0, width > 0 else { return [] }
        if scanOrder == 0 && !splitRows {
            return [ScanSegment(start: 0, length: count, row: 0, startsBlockRow: false)]
        }
        var out: [ScanSegment] = []
        let b = scanOrder > 0 ? blockSize : width
        out.reserveCapacity(height * ((width + b - 1) / b))
        forEachSegment { r, c0, c1 in
            let first = scanOrder > 0 && r > 0 && c0 == 0 && r % b == 0
            out.append(ScanSegment(start: r * width + c0, length: c1 - c0, row: r, startsBlockRow: first))
        }
        return out
    }
}

/// The DQ state permutation applied by one skipped segment: `width` transitions with parity 0.
/// `forward[s]` is the state after the segment, `backward` its inverse.
struct SkipPermutation {
    var forward: [Int] = Array(0..<8)
    var backward: [Int] = Array(0..<8)

    init(width: Int) {
        forward = DependentQuantization.stateAfterSkippedSegment(width: width)
        for s in 0..<8 { backward[forward[s]] = s }
    }
}
