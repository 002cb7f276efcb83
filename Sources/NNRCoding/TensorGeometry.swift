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
    public var blockRows: Int { TensorGeometry.blockRowCount(rows: height, scanOrder: scanOrder) }

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
    /// rows(h) = (h + B − 1) >> (2 + scan_order) (NDUHeader uses this too).
    public static func blockRowCount(rows: Int, scanOrder: Int) -> Int {
        guard scanOrder > 0 else { return 1 }
        // ⌈rows / B⌉ without overflow (rows may come from a header)
        return rows <= 0 ? 0 : ((rows - 1) >> (2 + scanOrder)) + 1
    }

    /// Whether the payload carries hist_dep_sig_prob_enabled_flag and row_skip_enabled_flag (spec 4.3
    /// item 3): profile 1, w > 1, more than one row, codebook_size ≠ 1 (0 = no codebook).
    public func hasRowSkipSyntax(profile1: Bool, codebookSize: Int) -> Bool {
        profile1 && width > 1 && count > width && codebookSize != 1
    }

    // MARK: the scan (spec 4.2): the one definition of the block-scan walk

    /// Rows of block row `blockRow` (all rows for row-major scan).
    @inline(__always)
    public func rows(ofBlockRow blockRow: Int) -> Range<Int> {
        guard scanOrder > 0 else { return 0..<height }
        let b = blockSize
        let r0 = blockRow &* b
        return r0..<Swift.min(r0 &+ b, height)
    }

    /// Width of a row segment: the block size, or the whole row for row-major scan.
    @inline(__always)
    public var segmentWidth: Int { scanOrder > 0 ? blockSize : width }

    /// Calls `body(row, c0, c1)` for every row segment [c0, c1) of block row `blockRow`, in scan
    /// order: block by block from the left, row by row inside a block (whole rows for row-major scan).
    @inline(__always)
    public func forEachSegment(inBlockRow blockRow: Int,
                               _ body: (_ row: Int, _ c0: Int, _ c1: Int) throws -> Void) rethrows {
        let rows = rows(ofBlockRow: blockRow)
        let bw = segmentWidth
        var c0 = 0
        while c0 < width {
            let c1 = Swift.min(c0 &+ bw, width)
            var r = rows.lowerBound
            while r < rows.upperBound {
                try body(r, c0, c1)
                r &+= 1
            }
            c0 = c1
        }
    }

    /// Calls `body(row, c0, c1)` for every row segment of the tensor in scan order.
    @inline(__always)
    public func forEachSegment(_ body: (_ row: Int, _ c0: Int, _ c1: Int) throws -> Void) rethrows {
        for br in 0..<blockRows { try forEachSegment(inBlockRow: br, body) }
    }

    /// Calls `body(index)` with the row-major index of every position in scan order.
    @inline(__always)
    public func forEachPositionInScanOrder(_ body: (Int) throws -> Void) rethrows {
        try forEachSegment { row, c0, c1 in
            let base = row &* width
            for c in c0..<c1 { try body(base &+ c) }
        }
    }
}
