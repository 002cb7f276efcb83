import NNRSyntax
import NNRCodec

/// `dump --stats` of a tensor whose levels are counted as the payload decoder hands over its rows
/// (`NDUPlan.decode(…, stream:)`): exact counts per level for |level| ≤ 65535 (one array) and a
/// bounded table of larger levels, from which the histogram's bins are summed at the end. A run of
/// zero rows costs O(1). When the table of large levels overflows, the NDU is decoded again whole.
final class LevelStatsStream: @unchecked Sendable {
    static let smallMax = 65_535
    static let largeCapacity = 1 << 16
    let width: Int
    var count = 0
    var zeros = 0
    var lo = Int.max
    var hi = Int.min
    var small: [Int] = []
    var large: [Int32: Int] = [:]
    private(set) var overflowed = false

    init?(tensor t: NDUTensorPlan, minimumElements: Int) {
        guard let n = NDUHeader.elementCount(t.dims, limit: Int.max), n >= minimumElements else { return nil }
        var w = 1
        for d in t.dims.dropFirst() { w = w &* d }
        width = Swift.max(1, w)
    }

    func rows(_ rows: Range<Int>, levels: UnsafeBufferPointer<Int32>?) {
        guard let levels else {
            let n = rows.count &* width
            count += n
            zeros += n
            if n > 0 { lo = Swift.min(lo, 0); hi = Swift.max(hi, 0) }
            return
        }
        if small.isEmpty { small = [Int](repeating: 0, count: 2 * LevelStatsStream.smallMax + 1) }
        count += levels.count
        let m = LevelStatsStream.smallMax
        small.withUnsafeMutableBufferPointer { c in
            for l in levels {
                let v = Int(l)
                if v < lo { lo = v }
                if v > hi { hi = v }
                if v >= -m && v <= m {
                    c[v &+ m] &+= 1
                } else if !overflowed {
                    large[l, default: 0] += 1
                    if large.count > LevelStatsStream.largeCapacity { overflowed = true; large = [:] }
                }
            }
        }
    }

    var stats: DumpTensorStats {
        let (a, b) = count == 0 ? (0, 0) : (lo, hi)
        let m = LevelStatsStream.smallMax
        let bins = DumpSession.histogram(maxAbs: Swift.max(abs(a), abs(b))) { width in
            var counts = [Int](repeating: 0, count: 11)
            counts[DumpSession.bin(0, width: width)] += zeros
            for (i, c) in small.enumerated() where c > 0 { counts[DumpSession.bin(i - m, width: width)] += c }
            for (v, c) in large { counts[DumpSession.bin(Int(v), width: width)] += c }
            return counts
        }
        // zeros counted from decoded rows are in `small[m]` already
        let decodedZeros = small.isEmpty ? 0 : small[m]
        return DumpTensorStats(count: count, minLevel: a, maxLevel: b, zeros: zeros + decodedZeros, histogram: bins)
    }
}

/// The streamed level statistics of one NDU's tensors, by tensor index.
final class LevelStatsStreams: @unchecked Sendable {
    var byTensor: [Int: LevelStatsStream] = [:]

    func handlers(minimumElements: Int) -> (Int, NDUTensorPlan) -> LevelRowsHandler? {
        { [self] i, t in
            guard let s = LevelStatsStream(tensor: t, minimumElements: minimumElements) else { return nil }
            byTensor[i] = s
            return { s.rows($1, levels: $2) }
        }
    }
}
