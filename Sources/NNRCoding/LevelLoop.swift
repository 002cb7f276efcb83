import Dispatch
import Foundation

// The per-position loop of one tensor: scan (row-major or block), row skipping, dependent
// quantization, context selection (neighbour / TCA / HDSP), binarization (spec 5.4), block-row
// resets and entry-point observation (spec 5.8).
//
// The loop is specialised by a "mode" type so the common case (no TCA, no HDSP, no codebook)
// compiles to a tight loop with its state in registers.

protocol LevelLoopMode {
    /// Dependent quantization is on.
    static var dq: Bool { get }
    /// TCA, HDSP, a bounded (codebook) binarization or an empty binarization may be active.
    static var general: Bool { get }
}

enum PlainMode: LevelLoopMode {
    static var dq: Bool { false }
    static var general: Bool { false }
}

enum PlainDQMode: LevelLoopMode {
    static var dq: Bool { true }
    static var general: Bool { false }
}

enum GeneralMode: LevelLoopMode {
    static var dq: Bool { false }
    static var general: Bool { true }
}

enum GeneralDQMode: LevelLoopMode {
    static var dq: Bool { true }
    static var general: Bool { true }
}

struct LevelLoop {
    enum Failure: Error {
        case overread
        case overflow(position: Int)
    }

    /// (A row-major tensor is streamed through a copy whose geometry is a chunk of its rows.)
    var geometry: TensorGeometry
    let blockRows: Int
    let dq: Bool
    let tca: Bool
    let hdsp: Bool
    let rowSkip: Bool
    let codesLevels: Bool
    let bounded: Bool
    let layout: ContextLayout
    let maxPositive: Int
    let maxNegative: Int
    let inferSign: Bool
    let inferredNegative: Bool
    let ctx: UnsafeMutablePointer<DecoderContext>
    let store: ContextStore
    let ctxCount: Int
    /// State after `width` parity-0 transitions, per state (row skipping).
    let skipAdvance: [Int]

    init(setup s: TensorCodingSetup, layout: ContextLayout, ctx: UnsafeMutablePointer<DecoderContext>,
         store: ContextStore, ctxCount: Int, codesLevels: Bool, rowSkip: Bool, hdsp: Bool) {
        geometry = s.geometry
        blockRows = s.geometry.blockRows
        dq = s.dq
        tca = s.tca
        self.hdsp = hdsp
        self.rowSkip = rowSkip
        self.codesLevels = codesLevels
        self.layout = layout
        if let cb = s.codebook {
            bounded = true
            maxPositive = cb.maxPositive
            maxNegative = cb.maxNegative
            inferSign = cb.signInferred
            inferredNegative = cb.cbZeroOffset != 0
        } else {
            bounded = false
            maxPositive = Int.max
            maxNegative = Int.max
            inferSign = false
            inferredNegative = false
        }
        self.ctx = ctx
        self.store = store
        self.ctxCount = ctxCount
        skipAdvance = DependentQuantization.stateAfterSkippedSegment(width: s.geometry.width)
    }

    /// Where the sequential decoder is between block rows.
    struct Cursor {
        /// DQ state.
        var state = 0
        /// Neighbour class of the previous k: 0 zero, 1 negative, 2 positive.
        var nb = 0
        /// P at the start of the current block row.
        var lastP = 0
    }

    /// Decodes all positions of the tensor. With `entryPoints` for every block row (and no tracer),
    /// block rows are decoded concurrently from the entry points, and the result is accepted only if
    /// every block row ends exactly at the next entry point; otherwise it decodes sequentially.
    /// Returns the observed entry points.
    func run<T: PayloadTracer>(levels: UnsafeMutablePointer<Int32>, base: UnsafePointer<Int32>?,
                               history: UnsafePointer<UInt8>?, skip: UnsafePointer<Bool>?,
                               reader: inout CABACReader, tracer: inout T, entryPoints: [EntryPoint],
                               parallel: Bool) throws -> (entryPoints: [EntryPoint], concurrent: Bool) {
        let general = (tca && base != nil) || (hdsp && history != nil) || bounded || !codesLevels
        switch (general, dq) {
        case (false, false):
            return try run(PlainMode.self, levels: levels, base: base, history: history, skip: skip, reader: &reader,
                           tracer: &tracer, entryPoints: entryPoints, parallel: parallel)
        case (false, true):
            return try run(PlainDQMode.self, levels: levels, base: base, history: history, skip: skip, reader: &reader,
                           tracer: &tracer, entryPoints: entryPoints, parallel: parallel)
        case (true, false):
            return try run(GeneralMode.self, levels: levels, base: base, history: history, skip: skip, reader: &reader,
                           tracer: &tracer, entryPoints: entryPoints, parallel: parallel)
        case (true, true):
            return try run(GeneralDQMode.self, levels: levels, base: base, history: history, skip: skip, reader: &reader,
                           tracer: &tracer, entryPoints: entryPoints, parallel: parallel)
        }
    }

    func run<T: PayloadTracer, M: LevelLoopMode>(_ mode: M.Type, levels: UnsafeMutablePointer<Int32>,
                                                 base: UnsafePointer<Int32>?, history: UnsafePointer<UInt8>?,
                                                 skip: UnsafePointer<Bool>?, reader: inout CABACReader,
                                                 tracer: inout T, entryPoints: [EntryPoint],
                                                 parallel: Bool) throws -> (entryPoints: [EntryPoint], concurrent: Bool) {
        if parallel && !T.isEnabled && blockRows > 1 && entryPoints.count == blockRows - 1,
           let eps = runConcurrently(M.self, levels: levels, base: base, history: history, skip: skip,
                                     reader: &reader, entryPoints: entryPoints) {
            return (eps, true)
        }
        var eps: [EntryPoint] = []
        var cursor = Cursor()
        try decodeBlockRows(M.self, rows: 0..<blockRows, seeded: false, observeNext: false, levels: levels,
                            base: base, history: history, skip: skip, ctx: ctx, sets: store.sets,
                            reader: &reader, cursor: &cursor, eps: &eps, tracer: &tracer)
        return (eps, false)
    }

    /// Splits the block rows into contiguous chunks, one worker per chunk, each started from the
    /// entry point of its first block row with fresh contexts; nil if any block row start observed
    /// by a worker differs from the header's entry point (or a worker fails).
    func runConcurrently<M: LevelLoopMode>(_ mode: M.Type, levels: UnsafeMutablePointer<Int32>,
                                           base: UnsafePointer<Int32>?, history: UnsafePointer<UInt8>?,
                                           skip: UnsafePointer<Bool>?, reader: inout CABACReader,
                                           entryPoints: [EntryPoint]) -> [EntryPoint]? {
        let rows = blockRows
        // absolute P of every block row start
        var starts = [reader.bitOffset]
        starts.reserveCapacity(rows)
        for ep in entryPoints {
            guard let last = starts.last else { return nil }
            let (p, o) = last.addingReportingOverflow(ep.bitOffsetDelta)
            guard !o, p >= 0, p <= 8 &* reader.count, ep.value >= 0, ep.value <= 255,
                  ep.dqState >= 0, ep.dqState <= 7, dq || ep.dqState == 0 else { return nil }
            starts.append(p)
        }
        let workers = Swift.min(rows, Swift.max(2, 2 * ProcessInfo.processInfo.activeProcessorCount))
        // chunk w decodes block rows first[w] ..< first[w + 1]
        let first = (0...workers).map { $0 * rows / workers }
        let ctxCount = self.ctxCount
        let contexts = UnsafeMutablePointer<DecoderContext>.allocate(capacity: workers * ctxCount)
        defer { contexts.deallocate() }
        for w in 0..<workers { (contexts + w * ctxCount).initialize(from: ctx, count: ctxCount) }
        var readers = [CABACReader](repeating: reader, count: workers)
        var observed = [[EntryPoint]](repeating: [], count: workers)
        var ok = [Bool](repeating: false, count: workers)
        let sets = UnsafePointer(store.sets)
        readers.withUnsafeMutableBufferPointer { rd in
            observed.withUnsafeMutableBufferPointer { ob in
                ok.withUnsafeMutableBufferPointer { okb in
                    guard let rdp = rd.baseAddress, let obp = ob.baseAddress, let okp = okb.baseAddress else { return }
                    DispatchQueue.concurrentPerform(iterations: workers) { w in
                        let a = first[w]
                        let b = first[w + 1]
                        var r = rdp[w]
                        var cursor = Cursor()
                        if a > 0 {
                            let ep = entryPoints[a - 1]
                            guard r.seek(bitOffset: starts[a], epValue: ep.value) else { return }
                            cursor.state = ep.dqState
                            cursor.lastP = starts[a]
                        }
                        var eps: [EntryPoint] = []
                        var none = NoTracer()
                        do {
                            try decodeBlockRows(M.self, rows: a..<b, seeded: a > 0, observeNext: b < rows,
                                                levels: levels, base: base, history: history, skip: skip,
                                                ctx: contexts + w * ctxCount, sets: sets, reader: &r,
                                                cursor: &cursor, eps: &eps, tracer: &none)
                        } catch {
                            return
                        }
                        rdp[w] = r
                        obp[w] = eps
                        okp[w] = true
                    }
                }
            }
        }
        for w in 0..<workers where !ok[w] { return nil }
        // every block row start (1 ..< rows) observed exactly once, in order
        guard observed.joined().elementsEqual(entryPoints) else { return nil }
        reader = readers[workers - 1]
        return entryPoints
    }

    @inline(__always)
    static func resetContexts(_ ctx: UnsafeMutablePointer<DecoderContext>, sets: UnsafePointer<UInt8>, count: Int) {
        let initial = DecoderTables.initialContexts
        for i in 0..<count { ctx[i] = initial[Int(sets[i])] }
    }

    /// Start of block row `br` (spec 5.8): contexts and neighbour reset (after the first row),
    /// range := 256, entry point observed.
    @inline(__always)
    func startBlockRow(_ br: Int, ctx: UnsafeMutablePointer<DecoderContext>, sets: UnsafePointer<UInt8>,
                       reader r: inout CABACReader, cursor: inout Cursor, eps: inout [EntryPoint]) {
        if br > 0 {
            LevelLoop.resetContexts(ctx, sets: sets, count: ctxCount)
            cursor.nb = 0
        }
        r.range = 256
        let P = r.bitOffset
        if br > 0 {
            eps.append(EntryPoint(bitOffsetDelta: P &- cursor.lastP, value: r.value >> 7, dqState: cursor.state))
        }
        cursor.lastP = P
    }

    /// Decodes the tensor a bounded chunk of rows at a time into one reusable buffer and hands each
    /// chunk to `body` in row order (see `PayloadDecoder.decodeTensor(_:chunkElements:rows:)`):
    /// whole block rows for block scan, rows for row-major scan. A chunk whose rows are all skipped
    /// is not visited: its block-row starts are performed and the DQ state advanced once per row.
    /// Sequential (no entry-point concurrency). Returns the observed entry points.
    func runStreaming(chunkElements: Int, base: UnsafePointer<Int32>?, history: UnsafePointer<UInt8>?,
                      skip: UnsafeBufferPointer<Bool>, reader: inout CABACReader,
                      body: (Range<Int>, UnsafeBufferPointer<Int32>?) throws -> Void) throws -> [EntryPoint] {
        let general = (tca && base != nil) || (hdsp && history != nil) || bounded || !codesLevels
        switch (general, dq) {
        case (false, false):
            return try runStreaming(PlainMode.self, chunkElements: chunkElements, base: base, history: history, skip: skip, reader: &reader, body: body)
        case (false, true):
            return try runStreaming(PlainDQMode.self, chunkElements: chunkElements, base: base, history: history, skip: skip, reader: &reader, body: body)
        case (true, false):
            return try runStreaming(GeneralMode.self, chunkElements: chunkElements, base: base, history: history, skip: skip, reader: &reader, body: body)
        case (true, true):
            return try runStreaming(GeneralDQMode.self, chunkElements: chunkElements, base: base, history: history, skip: skip, reader: &reader, body: body)
        }
    }

    func runStreaming<M: LevelLoopMode>(_ mode: M.Type, chunkElements: Int, base: UnsafePointer<Int32>?,
                                        history: UnsafePointer<UInt8>?, skip: UnsafeBufferPointer<Bool>,
                                        reader: inout CABACReader,
                                        body: (Range<Int>, UnsafeBufferPointer<Int32>?) throws -> Void) throws -> [EntryPoint] {
        let g = geometry
        let width = g.width
        let blockScan = g.scanOrder > 0
        // a unit = one block row (block scan) or one row (row-major)
        let unitRows = blockScan ? g.blockSize : 1
        let unitCount = blockScan ? blockRows : g.height
        let unitsPerChunk = Swift.max(1, chunkElements / Swift.max(1, unitRows &* width))
        let chunkRows = Swift.min(g.height, unitsPerChunk &* unitRows)
        let buffer = UnsafeMutablePointer<Int32>.allocate(capacity: Swift.max(1, chunkRows &* width))
        defer { buffer.deallocate() }
        let skipping = rowSkip && skip.count == g.height
        // DQ state after one skipped row: one skipped-segment transition per segment of the row
        let segments = (width &+ g.segmentWidth &- 1) / Swift.max(1, g.segmentWidth)
        let rowAdvance = (0..<8).map { s0 in
            var s = s0
            for _ in 0..<segments { s = skipAdvance[s] }
            return s
        }
        var eps: [EntryPoint] = []
        var cursor = Cursor()
        var none = NoTracer()
        var u = 0
        while u < unitCount {
            let u1 = Swift.min(unitCount, u &+ unitsPerChunk)
            let rows = blockScan ? (u &* unitRows)..<Swift.min(u1 &* unitRows, g.height) : u..<u1
            var allSkipped = skipping
            if skipping { for row in rows where !skip[row] { allSkipped = false; break } }
            if allSkipped {
                if blockScan && blockRows > 1 {
                    for br in u..<u1 {
                        startBlockRow(br, ctx: ctx, sets: store.sets, reader: &reader, cursor: &cursor, eps: &eps)
                        if M.dq { for _ in g.rows(ofBlockRow: br) { cursor.state = rowAdvance[cursor.state] } }
                    }
                } else if M.dq {
                    for _ in rows { cursor.state = rowAdvance[cursor.state] }
                }
                try body(rows, nil)
            } else if blockScan {
                // the buffer holds `rows`: position p is stored at buffer[p - rows.lowerBound · width]
                let biased = buffer - rows.lowerBound &* width
                try decodeBlockRows(M.self, rows: u..<u1, seeded: false, observeNext: false, levels: biased, base: base,
                                    history: history, skip: skip.baseAddress, ctx: ctx, sets: store.sets, reader: &reader,
                                    cursor: &cursor, eps: &eps, tracer: &none)
            } else {
                // row-major: the rows as a tensor of their own (positions, skip flags, bases and
                // histories relative to the chunk's first row)
                var part = self
                part.geometry = TensorGeometry(height: rows.count, width: width, scanOrder: 0)
                let first = rows.lowerBound &* width
                do {
                    try part.decodeBlockRows(M.self, rows: 0..<1, seeded: false, observeNext: false, levels: buffer,
                                             base: base.map { $0 + first }, history: history.map { $0 + first },
                                             skip: skip.baseAddress.map { $0 + rows.lowerBound }, ctx: ctx, sets: store.sets,
                                             reader: &reader, cursor: &cursor, eps: &eps, tracer: &none)
                } catch let Failure.overflow(position) {
                    throw Failure.overflow(position: first &+ position)
                }
            }
            if !allSkipped {
                // hand over runs of decoded rows and runs of skipped rows
                var a = rows.lowerBound
                while a < rows.upperBound {
                    let skipped = skipping && skip[a]
                    var b = a &+ 1
                    while b < rows.upperBound && (skipping && skip[b]) == skipped { b &+= 1 }
                    if skipped {
                        try body(a..<b, nil)
                    } else {
                        try body(a..<b, UnsafeBufferPointer(start: buffer + (a &- rows.lowerBound) &* width, count: (b &- a) &* width))
                    }
                    a = b
                }
            }
            u = u1
        }
        if reader.overread { throw Failure.overread }
        return eps
    }

    /// Decodes block rows `rows` (spec 4.3 item 6). `seeded`: the reader, contexts and cursor are
    /// already at the start of the first row (entry point), so its block-row start is skipped.
    /// `observeNext`: after the last row, also performs the next row's start (context reset,
    /// range := 256) and records that entry point.
    func decodeBlockRows<T: PayloadTracer, M: LevelLoopMode>(_ mode: M.Type, rows: Range<Int>, seeded: Bool,
                                                             observeNext: Bool, levels: UnsafeMutablePointer<Int32>,
                                                             base: UnsafePointer<Int32>?, history: UnsafePointer<UInt8>?,
                                                             skip: UnsafePointer<Bool>?,
                                                             ctx: UnsafeMutablePointer<DecoderContext>,
                                                             sets: UnsafePointer<UInt8>, reader: inout CABACReader,
                                                             cursor: inout Cursor, eps: inout [EntryPoint],
                                                             tracer: inout T) throws {
        // everything the loop needs, as locals (no reloads through `self` after pointer stores)
        var r = reader
        defer { reader = r }
        let width = geometry.width
        let rowSkip = self.rowSkip && skip != nil
        let skipAdvance = self.skipAdvance
        let multipleRows = blockRows > 1
        let limit = r.start + r.count + CABACReader.fetchAhead
        let level = LevelRules(self, M.self, ctx: ctx, base: base, history: history)
        var state = cursor.state
        var nb = cursor.nb
        var overflowAt = -1
        defer {
            cursor.state = state
            cursor.nb = nb
        }

        for br in rows {
            if multipleRows && !(seeded && br == rows.lowerBound) {
                cursor.state = state
                cursor.nb = nb
                startBlockRow(br, ctx: ctx, sets: sets, reader: &r, cursor: &cursor, eps: &eps)
                nb = cursor.nb
            }
            try geometry.forEachSegment(inBlockRow: br) { row, c0, c1 in
                if rowSkip, let sk = skip, sk[row] {
                    // (the levels are not zeroed in advance)
                    (levels + (row &* width &+ c0)).initialize(repeating: 0, count: c1 &- c0)
                    if M.dq { state = skipAdvance[state] }
                    return
                }
                let rowStart = row &* width
                try decodeSegment(M.self, level: level, levels: levels, positions: (rowStart &+ c0)..<(rowStart &+ c1),
                                  limit: limit, state: &state, neighbour: &nb, reader: &r, tracer: &tracer,
                                  overflowAt: &overflowAt)
                if overflowAt >= 0 {
                    // a read past the payload anywhere in the segment comes first
                    if r.overread { throw Failure.overread }
                    throw Failure.overflow(position: overflowAt)
                }
            }
        }
        if r.overread { throw Failure.overread }
        if observeNext && multipleRows && rows.upperBound < blockRows {
            cursor.state = state
            cursor.nb = nb
            startBlockRow(rows.upperBound, ctx: ctx, sets: sets, reader: &r, cursor: &cursor, eps: &eps)
            nb = cursor.nb
        }
    }
}

extension LevelLoop {
    /// Decodes the positions of one row segment (registers as locals of their own function, so they
    /// stay in machine registers).
    @inline(never)
    func decodeSegment<T: PayloadTracer, M: LevelLoopMode>(_ mode: M.Type, level: LevelRules,
                                                           levels: UnsafeMutablePointer<Int32>, positions: Range<Int>,
                                                           limit: UnsafePointer<UInt8>, state stateIO: inout Int,
                                                           neighbour nbIO: inout Int, reader: inout CABACReader,
                                                           tracer: inout T, overflowAt overflowIO: inout Int) throws {
        var r = reader
        var state = stateIO
        var nb = nbIO
        var overflowAt = overflowIO
        defer {
            reader = r
            stateIO = state
            nbIO = nb
            overflowIO = overflowAt
        }
        var pos = positions.lowerBound
        let end = positions.upperBound
        while pos < end {
            let k = !M.general && !T.isEnabled
                ? level.decodePlain(M.self, at: pos, state: state, neighbour: &nb, reader: &r, overflowAt: &overflowAt)
                : level.decode(M.self, at: pos, state: state, neighbour: &nb, reader: &r, tracer: &tracer,
                               overflowAt: &overflowAt)
            var q = k
            let oldState = state
            if M.dq {
                if k != 0 { q = DependentQuantization.reconstructionIndex(k: k, state: state) }
                state = DependentQuantization.nextState(state, parity: k)
            }
            levels[pos] = Int32(truncatingIfNeeded: q)
            if T.isEnabled {
                tracer.element(PayloadTraceElement(name: "level", position: pos, dqState: oldState,
                                                   context: -1, bins: [], value: Int64(q)))
            }
            pos &+= 1
            if T.isEnabled {
                // a trace ends at the position where the byte-wise decoder reads past the payload
                if r.overread { throw Failure.overread }
            } else if r.ptr > limit {
                // keeps reads within the zero padding after the payload (beyond `limit`, the
                // byte-wise decoder has read past the payload; the exact test follows at the
                // segment end)
                throw Failure.overread
            }
        }
    }
}

/// The per-position rules of the level loop (context selection and binarization, spec 5.1, 5.4),
/// with the loop invariants as one value.
struct LevelRules {
    let ctx: UnsafeMutablePointer<DecoderContext>
    let layout: ContextLayout
    let base: UnsafePointer<Int32>?
    let history: UnsafePointer<UInt8>?
    let useBase: Bool
    let useHistory: Bool
    let codesLevels: Bool
    let bounded: Bool
    let inferSign: Bool
    let inferredNegative: Bool
    let maxPositive: Int
    let maxNegative: Int

    @inline(__always)
    init<M: LevelLoopMode>(_ loop: LevelLoop, _ mode: M.Type, ctx: UnsafeMutablePointer<DecoderContext>,
                           base: UnsafePointer<Int32>?, history: UnsafePointer<UInt8>?) {
        self.ctx = ctx
        layout = loop.layout
        self.base = base
        self.history = history
        useBase = M.general && loop.tca && base != nil
        useHistory = M.general && loop.hdsp && history != nil
        codesLevels = !M.general || loop.codesLevels
        bounded = loop.bounded
        inferSign = M.general && loop.inferSign
        inferredNegative = loop.inferredNegative
        maxPositive = loop.maxPositive
        maxNegative = loop.maxNegative
    }

    /// Decodes the quantization index k at `pos` (DQ state `state`, neighbour class `nb`, updated).
    @inline(__always)
    func decode<T: PayloadTracer, M: LevelLoopMode>(_ mode: M.Type, at pos: Int, state: Int, neighbour nb: inout Int,
                                                    reader r: inout CABACReader, tracer: inout T,
                                                    overflowAt: inout Int) -> Int {
        // (every `M.general &&` below folds the plain modes at compile time)
        guard !M.general || codesLevels else {
            nb = 0
            return 0
        }
        let bv: Int32 = M.general && useBase ? base.unsafelyUnwrapped[pos] : 0
        let sigCtx = ContextLayout.sigContext(state: M.dq ? state : 0, neighbour: nb, parent: bv,
                                              history: M.general && useHistory && history.unsafelyUnwrapped[pos] == 1)
        let sig = r.decodeBin(ctx + sigCtx)
        if T.isEnabled { trace(&tracer, "sig_flag", pos, state, sigCtx, sig) }
        guard sig != 0 else {
            nb = 0
            return 0
        }
        let neg: Bool
        if M.general && inferSign {
            neg = inferredNegative
        } else {
            let sc = ContextLayout.signContext(neighbour: nb, parent: M.general ? bv : 0)
            let sb = r.decodeBin(ctx + sc)
            neg = sb != 0
            if T.isEnabled { trace(&tracer, "sign_flag", pos, state, sc, sb) }
        }
        let maxAbs = M.general ? (neg ? maxNegative : maxPositive) : Int.max
        var a = 1
        if !M.general || maxAbs > 1 {
            var flag = 0
            if T.isEnabled || (M.general && (bv != 0 || bounded)) {
                (a, flag) = decodeGreaterFlags(at: pos, state: state, negative: neg, parent: bv, maxAbs: maxAbs,
                                               reader: &r, tracer: &tracer)
            } else {
                // plain unary greater-than flags: a = 1 + number of 1 flags
                let g = ctx + (ContextLayout.gtBase &+ (neg ? 1 : 0))
                let L = layout.gtCount
                var j = 0
                repeat {
                    flag = r.decodeBin(g + (j &<< 1))
                    j &+= 1
                } while flag != 0 && j < L
                a = j &+ flag
            }
            if flag != 0 && maxAbs > a {
                a = decodeRemainder(M.self, at: pos, state: state, a: a, maxAbs: maxAbs, reader: &r, tracer: &tracer)
                checkOverflow(M.self, a, negative: neg, state: state, at: pos, overflowAt: &overflowAt)
            }
        }
        nb = neg ? 1 : 2
        return neg ? 0 &- a : a
    }

    /// `decode` for the plain modes without tracing (neighbour contexts, unbounded binarization).
    /// Every context address and the result depend on the bins only through branches, so the next
    /// position's contexts are known as soon as the branches are predicted (a select would make
    /// them wait for the arithmetic decoder).
    @inline(__always)
    func decodePlain<M: LevelLoopMode>(_ mode: M.Type, at pos: Int, state: Int, neighbour nb: inout Int,
                                       reader r: inout CABACReader, overflowAt: inout Int) -> Int {
        let sigCtx = ContextLayout.sigContext(state: M.dq ? state : 0, neighbour: nb, parent: 0, history: false)
        if r.decodeBin(ctx + sigCtx) == 0 {
            nb = 0
            return 0
        }
        let g = ctx + ContextLayout.gtBase
        if r.decodeBin(ctx + (ContextLayout.signBase &+ nb)) != 0 {
            nb = 1
            return 0 &- greaterFlags(M.self, g + 1, at: pos, state: state, negative: true, reader: &r, overflowAt: &overflowAt)
        } else {
            nb = 2
            return greaterFlags(M.self, g, at: pos, state: state, negative: false, reader: &r, overflowAt: &overflowAt)
        }
    }

    /// The unary greater-than flags (contexts g, g + 2, …) and the remainder: |k| ≥ 1.
    @inline(__always)
    func greaterFlags<M: LevelLoopMode>(_ mode: M.Type, _ g: UnsafeMutablePointer<DecoderContext>, at pos: Int, state: Int,
                                        negative: Bool, reader r: inout CABACReader, overflowAt: inout Int) -> Int {
        let L = layout.gtCount
        var a = 1
        var p = g
        while r.decodeBin(p) != 0 {
            if a == L {
                // all L flags 1
                var none = NoTracer()
                let v = decodeRemainder(M.self, at: pos, state: state, a: a &+ 1, maxAbs: Int.max, reader: &r, tracer: &none)
                checkOverflow(M.self, v, negative: negative, state: state, at: pos, overflowAt: &overflowAt)
                return v
            }
            a &+= 1
            p += 2
        }
        return a
    }

    /// Records the first position whose k (with DQ, q) does not fit in int32 (|k| < 2^33 here).
    @inline(__always)
    func checkOverflow<M: LevelLoopMode>(_ mode: M.Type, _ a: Int, negative neg: Bool, state: Int, at pos: Int,
                                         overflowAt: inout Int) {
        let limit = M.dq ? (1 << 30) - 1 : (1 << 31) - 1
        if a > limit && overflowAt < 0 {
            let q = M.dq ? 2 &* a &- (state & 1) : a
            let fits = neg ? q <= 1 << 31 : q <= (1 << 31) - 1
            if !fits { overflowAt = pos }
        }
    }

    /// The greater-than flags with the general contexts (TCA, codebook bound, tracing): (a, last flag).
    @inline(__always)
    func decodeGreaterFlags<T: PayloadTracer>(at pos: Int, state: Int, negative: Bool, parent: Int32, maxAbs: Int,
                                              reader r: inout CABACReader, tracer: inout T) -> (Int, Int) {
        let L = layout.gtCount
        let parentMagnitude = Int(parent.magnitude)
        var a = 1
        var flag = 0
        var j = 0
        repeat {
            let gc = layout.gtContext(j, negative: negative, parentMagnitude: parentMagnitude)
            flag = r.decodeBin(ctx + gc)
            if T.isEnabled { trace(&tracer, "abs_level_greater_flag", pos, state, gc, flag) }
            a &+= flag
            j &+= 1
        } while flag != 0 && j < L && maxAbs > a
        return (a, flag)
    }

    /// The remainder after the greater-than flags: EG0 with a context-coded unary prefix (≤ 31 bins)
    /// and a bypass suffix, bounded by `maxAbs`; returns the new |k|.
    @inline(__always)
    func decodeRemainder<T: PayloadTracer, M: LevelLoopMode>(_ mode: M.Type, at pos: Int, state: Int, a a0: Int,
                                                             maxAbs: Int, reader r: inout CABACReader,
                                                             tracer: inout T) -> Int {
        var a = a0
        var remBits = 0
        var m = 0
        var flag = 0
        repeat {
            let rc = layout.remainderBase &+ m
            flag = r.decodeBin(ctx + rc)
            if T.isEnabled { trace(&tracer, "abs_remainder_prefix", pos, state, rc, flag) }
            if flag != 0 && maxAbs > a {
                a &+= 1 &<< remBits
                remBits &+= 1
            }
            m &+= 1
        } while flag != 0 && m <= 30 && maxAbs >= a &+ (1 &<< remBits)
        let suffix = r.decodeBypassBins(remBits)
        if T.isEnabled && remBits > 0 {
            tracer.element(PayloadTraceElement(name: "abs_remainder_suffix", position: pos, dqState: state, context: -1,
                                               bins: PayloadDecoder.bits(suffix, count: remBits), value: Int64(suffix)))
        }
        return a &+ Int(suffix)
    }

    /// One traced context-coded flag.
    func trace<T: PayloadTracer>(_ tracer: inout T, _ name: String, _ pos: Int, _ state: Int, _ context: Int, _ bin: Int) {
        tracer.element(PayloadTraceElement(name: name, position: pos, dqState: state, context: context,
                                           bins: [UInt8(bin)], value: Int64(bin)))
    }
}
