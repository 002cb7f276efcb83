// Sparsification of model updates before quantization: the smallest-magnitude part of an update is
// set to zero (element-wise, or whole rows). In a closed-loop incremental encoder the dropped part
// is still in the next step's difference, so it is sent later instead of lost.

/// Magnitude-based sparsification of one tensor's values (row-major, `rows` rows).
public enum Sparsification {
    /// Sets to zero the `fraction` (0 ≤ fraction < 1) of `values` with the smallest magnitude:
    /// floor(fraction · n) of them, ties broken by position (earlier first). Returns how many were
    /// set to zero (values already zero count).
    @discardableResult
    public static func zeroSmallest(_ values: inout [Float], fraction: Double) -> Int {
        let n = values.count
        let k = zeroCount(n, fraction: fraction)
        guard k > 0 else { return 0 }
        var order = Array(0..<n)
        order.withUnsafeMutableBufferPointer { o in
            values.withUnsafeBufferPointer { v in
                o.sort { a, b in
                    let x = abs(v[a]), y = abs(v[b])
                    return x < y || (x == y && a < b)
                }
            }
        }
        for i in order[0..<k] { values[i] = 0 }
        return k
    }

    /// Sets to zero whole rows: the floor(fraction · rows) rows of `values` (rows × width,
    /// row-major) with the smallest sum of squares, ties broken by row index. A tensor with one
    /// value per row is sparsified element-wise. Returns the number of rows set to zero.
    @discardableResult
    public static func zeroSmallestRows(_ values: inout [Float], rows: Int, fraction: Double) -> Int {
        guard rows > 0, values.count % rows == 0 else { return 0 }
        let width = values.count / rows
        let k = zeroCount(rows, fraction: fraction)
        guard k > 0 else { return 0 }
        var energy = [Double](repeating: 0, count: rows)
        for r in 0..<rows {
            var s = 0.0
            for x in values[(r * width)..<((r + 1) * width)] { s += Double(x) * Double(x) }
            energy[r] = s
        }
        let order = (0..<rows).sorted { energy[$0] < energy[$1] || (energy[$0] == energy[$1] && $0 < $1) }
        for r in order[0..<k] {
            for i in (r * width)..<((r + 1) * width) { values[i] = 0 }
        }
        return k
    }

    /// floor(fraction · n), clamped to 0…n (fraction outside [0, 1) or not finite gives 0).
    static func zeroCount(_ n: Int, fraction: Double) -> Int {
        guard fraction.isFinite, fraction > 0, fraction < 1 else { return 0 }
        return Swift.min(n, Swift.max(0, Int((fraction * Double(n)).rounded(.down))))
    }
}
