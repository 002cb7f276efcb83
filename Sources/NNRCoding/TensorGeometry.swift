/// The 2-D view of a tensor used by the payload: h = dims[0] rows, w = prod(dims[1...]) columns.
public struct TensorGeometry: Sendable, Equatable {
    public let height: Int
    public let width: Int
    /// Effective scan order: 0 whenever w == 1 or h == 1, else the header's scan_order.
    public let scanOrder: Int

    public var count: Int { height &* width }
    /// Block size B = 4 << scan_order (0 for row-major).
    public var blockSize: Int { scanOrder > 0 ? 4 << scanOrder : 0 }
    /// Number of block rows ((h + B − 1) / B), 1 for row-major.
    public var blockRows: Int { scanOrder > 0 ? (height + blockSize - 1) / blockSize : 1 }

    /// `dims` must be validated (each ≥ 1, product within limits) by the caller.
    public init(dims: [Int], scanOrder: Int) {
        let h = dims.first ?? 1
        var w = 1
        for d in dims.dropFirst() { w = w &* d }
        height = h
        width = w
        self.scanOrder = (w == 1 || h == 1) ? 0 : scanOrder
    }

    public init(height: Int, width: Int, scanOrder: Int) {
        self.height = height
        self.width = width
        self.scanOrder = (width == 1 || height == 1) ? 0 : scanOrder
    }

    /// Number of block rows the entry-point list of a header describes for `dim0` rows:
    /// rows(h) = (h + B − 1) >> (2 + scan_order).
    public static func blockRowCount(rows: Int, scanOrder: Int) -> Int {
        guard scanOrder > 0 else { return 1 }
        let b = 4 << scanOrder
        return (rows + b - 1) >> (2 + scanOrder)
    }

    /// Calls `body(index)` with the row-major index of every position in scan order.
    @inline(__always)
    public func forEachPositionInScanOrder(_ body: (Int) throws -> Void) rethrows {
        if scanOrder == 0 {
            for i in 0..<count { try body(i) }
            return
        }
        let b = blockSize
        var r0 = 0
        while r0 < height {
            let r1 = Swift.min(r0 + b, height)
            var c0 = 0
            while c0 < width {
                let c1 = Swift.min(c0 + b, width)
                for r in r0..<r1 {
                    let base = r * width
                    for c in c0..<c1 { try body(base + c) }
                }
                c0 = c1
            }
            r0 = r1
        }
    }
}
