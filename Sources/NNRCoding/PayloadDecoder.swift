import NNRBitIO

// Decoder of the arithmetic-coded NDU payload (NNR_PT_INT / NNR_PT_FLOAT / NNR_PT_BLOCK):
// spec sections 4.3, 5 and 6, NNCodec 2.1.3 semantics.

/// Context storage for one payload decoder: the largest layout (L = 256) is allocated once.
@usableFromInline
final class ContextStore {
    static let capacity = ContextLayout(cabacUnaryLengthMinus1: 255).count
    let contexts: UnsafeMutablePointer<DecoderContext>
    /// Selected estimator set per context (restored by block-row resets).
    let sets: UnsafeMutablePointer<UInt8>

    init() {
        contexts = UnsafeMutablePointer<DecoderContext>.allocate(capacity: ContextStore.capacity)
        contexts.initialize(repeating: DecoderContext(set: 0), count: ContextStore.capacity)
        sets = UnsafeMutablePointer<UInt8>.allocate(capacity: ContextStore.capacity)
        sets.initialize(repeating: 0, count: ContextStore.capacity)
    }

    deinit {
        contexts.deallocate()
        sets.deallocate()
    }

    func initializeAll(count: Int) {
        let c0 = DecoderContext(set: 0)
        for i in 0..<count {
            contexts[i] = c0
            sets[i] = 0
        }
    }

    func select(_ index: Int, set: Int) {
        contexts[index] = DecoderContext(set: set)
        sets[index] = UInt8(truncatingIfNeeded: set)
    }

}

/// Decodes the tensors of one NDU payload in order, then its terminating bin.
public struct PayloadDecoder {
    let bytes: PayloadBytes
    var reader: CABACReader
    let store: ContextStore
    /// File offset of the payload's first byte.
    public let fileOffset: Int
    public let limits: NNRLimits
    /// Decode the block rows of large block-scan tensors concurrently from their entry points (the
    /// result is used only if every block row ends exactly at the next entry point; otherwise the
    /// tensor is decoded sequentially). Set to false to force sequential decoding.
    public var concurrentBlockRows = true
    /// Tensors with fewer elements are always decoded sequentially.
    public var concurrencyMinimumElements = 1 << 16
    /// Tensors decoded so far.
    public private(set) var tensorsDecoded = 0
    /// Tensors whose block rows were decoded concurrently from their entry points.
    public private(set) var tensorsDecodedConcurrently = 0
    private var finished = false

    /// `payload` = the bytes after the NDU header up to the unit end; `fileOffset` = the file offset
    /// of `payload[0]` (for error positions).
    public init(payload: [UInt8], fileOffset: Int, limits: NNRLimits = .default) throws {
        self = try payload.withUnsafeBytes { try PayloadDecoder(payload: $0, fileOffset: fileOffset, limits: limits) }
    }

    /// The same from raw bytes (copied once, e.g. straight out of a mapped file).
    public init(payload: UnsafeRawBufferPointer, fileOffset: Int, limits: NNRLimits = .default) throws {
        guard payload.count >= 2 else {
            throw NNRError(.truncated(neededBits: 16, availableBits: payload.count * 8),
                           element: "cabac_init", byteOffset: fileOffset + payload.count)
        }
        bytes = PayloadBytes(payload)
        reader = CABACReader(base: bytes.base, count: bytes.count)
        // an encoder always starts below 510 · 2^7 (its first 9 bits are < range); anything else would
        // break the decoder's invariant value < range · 2^7
        guard reader.value < reader.range << 7 else {
            throw NNRError(.payload("first two payload bytes \(payload[0]) \(payload[1]) exceed the initial range"),
                           element: "cabac_init", byteOffset: fileOffset)
        }
        store = ContextStore()
        self.fileOffset = fileOffset
        self.limits = limits
    }

    /// Payload length in bytes.
    public var payloadCount: Int { bytes.count }
    /// Bytes the arithmetic decoder has fetched so far.
    public var bytesFetched: Int { reader.pos }
    /// The arithmetic decoder's bit offset P (value shifts since init).
    public var bitOffset: Int { reader.bitOffset }

    /// Decodes the next tensor of the payload.
    /// After an error the decoder is unusable: later calls throw.
    public mutating func decodeTensor(_ p: TensorPayloadParameters) throws -> DecodedTensorPayload {
        var t = NoTracer()
        return try decodeTensorImpl(p, tracer: &t)
    }

    /// Decodes the next tensor, reporting every syntax element to `tracer`.
    public mutating func decodeTensor<T: PayloadTracer>(_ p: TensorPayloadParameters, tracer: inout T) throws -> DecodedTensorPayload {
        // callers in other modules get this generic entry unspecialised: route "no tracing" to the
        // specialised fast path
        if !T.isEnabled { return try decodeTensor(p) }
        return try decodeTensorImpl(p, tracer: &tracer)
    }

    private var failed = false

    private func checkUsable(_ element: String) throws {
        if failed {
            throw NNRError(.invalidValue("payload decoder used after an error"), element: element,
                           byteOffset: fileOffset + bytes.count)
        }
    }

    /// Decodes the terminating bin (must be 1) and checks the end of the payload.
    public mutating func finish() throws -> PayloadEnd {
        try checkUsable("terminating_bin")
        guard !finished else {
            throw NNRError(.invalidValue("payload already finished"), element: "terminating_bin",
                           byteOffset: fileOffset + bytes.count)
        }
        let bin = reader.decodeTerminate()
        if reader.overread {
            failed = true
            throw overreadError("terminating_bin")
        }
        guard bin == 1 else {
            failed = true
            throw NNRError(.payload("terminating bin is 0 (expected 1)"), element: "terminating_bin",
                           position: reader.filePosition(fileOffset: fileOffset))
        }
        finished = true
        let consumed = reader.pos
        let last = UInt32(bytes.base[consumed - 1])
        let shift = UInt32(truncatingIfNeeded: 8 + reader.bitsNeeded)
        let stopOK = ((last &<< shift) & 0xFF) == 0x80
        return PayloadEnd(bytesConsumed: consumed, stopPatternValid: stopOK, trailingBytes: bytes.count - consumed)
    }

    func overreadError(_ element: String) -> NNRError {
        NNRError(.payload("read past end of payload"), element: element, byteOffset: fileOffset + bytes.count)
    }

    // MARK: - Parameter validation

    /// The shared parameter rules (`TensorCodingSetup`), plus: nothing after `finish()`.
    func validate(_ p: TensorPayloadParameters) throws -> TensorCodingSetup {
        let pos = BitPosition(byteOffset: fileOffset + min(reader.pos, bytes.count), bitOffset: 0)
        guard !finished else {
            throw NNRError(.invalidValue("payload already finished"), element: "tensor_payload", position: pos)
        }
        return try TensorCodingSetup(p, limits: limits, position: pos)
    }

    // MARK: - Tensor

    mutating func decodeTensorImpl<T: PayloadTracer>(_ p: TensorPayloadParameters, tracer: inout T) throws -> DecodedTensorPayload {
        try checkUsable("tensor_payload")
        do {
            return try decodeTensorBody(p, tracer: &tracer)
        } catch {
            failed = true
            throw error
        }
    }

    /// Decodes the next tensor without holding its levels: `rows` receives them a bounded chunk of
    /// rows at a time, in row order — `(rows, levels)` with the rows' levels row-major (q after the
    /// DQ mapping, as `DecodedTensorPayload.levels`), or `(rows, nil)` for rows whose levels are all
    /// 0 (rows skipped by row_skip_flag; a run of them costs O(1) per row). The buffer is reused:
    /// copy what you keep. `chunkElements` bounds the levels held (at least one row, or one block
    /// row for block scan). `qpOffset` is decoded before the first call. The returned payload has
    /// no levels. Decoding is sequential (no entry-point concurrency); TCA bases and HDSP histories
    /// are read from `p` as usual, so streaming fits any tensor whose levels the caller need not keep.
    public mutating func decodeTensor(_ p: TensorPayloadParameters, chunkElements: Int = 1 << 18,
                                      rows body: (_ qpOffset: Int, _ rows: Range<Int>, _ levels: UnsafeBufferPointer<Int32>?) throws -> Void) throws -> DecodedTensorPayload {
        try checkUsable("tensor_payload")
        do {
            var t = NoTracer()
            return try withoutActuallyEscaping(body) { b in
                try decodeTensorBody(p, tracer: &t, streaming: chunkElements, rows: b)
            }
        } catch {
            failed = true
            throw error
        }
    }

    /// Decodes the next tensor with its levels written to `levels` (exactly the tensor's element
    /// count, row-major, q after the DQ mapping; every element is written) instead of
    /// `DecodedTensorPayload.levels`, which stays empty (e.g. into the memory that then holds the
    /// reconstructed values).
    public mutating func decodeTensor(_ p: TensorPayloadParameters, into levels: UnsafeMutableBufferPointer<Int32>) throws -> DecodedTensorPayload {
        try checkUsable("tensor_payload")
        do {
            var t = NoTracer()
            return try decodeTensorBody(p, tracer: &t, into: levels)
        } catch {
            failed = true
            throw error
        }
    }

    mutating func decodeTensorBody<T: PayloadTracer>(_ p: TensorPayloadParameters, tracer: inout T, streaming chunkElements: Int? = nil,
                                                     rows: ((Int, Range<Int>, UnsafeBufferPointer<Int32>?) throws -> Void)? = nil,
                                                     into destination: UnsafeMutableBufferPointer<Int32>? = nil) throws -> DecodedTensorPayload {
        let s = try validate(p)
        if let d = destination, d.count != s.count || d.baseAddress == nil {
            throw NNRError(.invalidValue("level buffer of \(d.count) elements for a tensor of \(s.count)"), element: "tensor_payload",
                           byteOffset: fileOffset + min(reader.pos, bytes.count))
        }
        var out = DecodedTensorPayload()
        var r = reader
        defer { reader = r }

        // 1. qp_offset (6 + d bypass bins, two's complement)
        if p.codesQPOffset {
            let nb = 6 + p.qpDensity
            let raw = r.decodeBypassBins(nb)
            let shift = 64 - nb
            out.qpOffset = (Int(raw) << shift) >> shift
            if T.isEnabled {
                tracer.element(PayloadTraceElement(name: "qp_offset", position: -1, dqState: 0, context: -1,
                                                   bins: PayloadDecoder.bits(raw, count: nb), value: Int64(out.qpOffset)))
            }
            if r.overread { throw overreadError("qp_offset") }
        }

        // 2. contexts (re)initialised for this tensor
        let layout = s.layout
        let ctxCount = layout.count
        store.initializeAll(count: ctxCount)
        let ctx = store.contexts

        // 3. HDSP flag and row skipping
        let (hdsp, rowSkip, skipFlags) = try decodeRowSkipping(&r, setup: s, parameters: p, layout: layout, tracer: &tracer)
        out.hdspEnabled = hdsp
        out.rowSkipEnabled = rowSkip
        out.rowSkipFlags = skipFlags

        // 4. estimator selection list
        decodeEstimatorSelection(&r, layout: layout, setup: s, hdsp: hdsp, tracer: &tracer)
        if r.overread { throw overreadError("estimator_selection_flag") }
        out.estimatorSets = Array(UnsafeBufferPointer(start: store.sets, count: ctxCount))

        // 5./6. the levels (block rows concurrently from the entry points when worthwhile)
        let loop = LevelLoop(setup: s, layout: layout, ctx: ctx, store: store, ctxCount: ctxCount,
                             codesLevels: s.codesValues, rowSkip: rowSkip, hdsp: hdsp)
        if let chunkElements, let body = rows {
            let qpOffset = out.qpOffset
            do {
                out.observedEntryPoints = try PayloadDecoder.withOptionalPointer(p.tcaBase) { base in
                    try PayloadDecoder.withOptionalPointer(p.hdspHistory) { hist in
                        try skipFlags.withUnsafeBufferPointer { sk in
                            try loop.runStreaming(chunkElements: chunkElements, base: base, history: hist, skip: sk, reader: &r) {
                                try body(qpOffset, $0, $1)
                            }
                        }
                    }
                }
            } catch let e as LevelLoop.Failure {
                throw levelFailure(e, reader: r)
            }
            tensorsDecoded += 1
            return out
        }
        let parallel = concurrentBlockRows && s.count >= concurrencyMinimumElements
        var eps: [EntryPoint] = []
        var concurrent = false
        // every position is written by the level loop (skipped rows as zeros)
        func decodeLevels(_ lvBase: UnsafeMutablePointer<Int32>) throws {
            (eps, concurrent) = try PayloadDecoder.withOptionalPointer(p.tcaBase) { base in
                try PayloadDecoder.withOptionalPointer(p.hdspHistory) { hist in
                    try skipFlags.withUnsafeBufferPointer { sk in
                        try loop.run(levels: lvBase, base: base, history: hist,
                                     skip: sk.baseAddress, reader: &r, tracer: &tracer,
                                     entryPoints: p.entryPoints, parallel: parallel)
                    }
                }
            }
        }
        do {
            if let d = destination?.baseAddress {
                try decodeLevels(d)
            } else {
                out.levels = try [Int32](unsafeUninitializedCapacity: s.count) { lv, initialized in
                    guard let lvBase = lv.baseAddress else { return }
                    try decodeLevels(lvBase)
                    initialized = lv.count
                }
            }
        } catch let e as LevelLoop.Failure {
            throw levelFailure(e, reader: r)
        }
        out.observedEntryPoints = eps
        tensorsDecoded += 1
        if concurrent { tensorsDecodedConcurrently += 1 }
        return out
    }

    /// hist_dep_sig_prob_enabled_flag, row_skip_enabled_flag and the row_skip_flag of every row
    /// (spec 4.3 items 3–4), when the tensor codes them.
    func decodeRowSkipping<T: PayloadTracer>(_ r: inout CABACReader, setup s: TensorCodingSetup, parameters p: TensorPayloadParameters,
                                             layout: ContextLayout, tracer: inout T) throws -> (hdsp: Bool, rowSkip: Bool, flags: [Bool]) {
        var hdsp = false
        var rowSkip = false
        var skipFlags: [Bool] = []
        guard s.rowSkipSyntax else { return (hdsp, rowSkip, skipFlags) }
        if s.hdspFlagCoded(parentNodeIdPresent: p.parentNodeIdPresent) {
            hdsp = r.decodeBypass() == 1
            if T.isEnabled {
                tracer.element(PayloadTraceElement(name: "hist_dep_sig_prob_enabled_flag", position: -1, dqState: 0,
                                                   context: -1, bins: [hdsp ? 1 : 0], value: hdsp ? 1 : 0))
            }
        }
        rowSkip = r.decodeBypass() == 1
        if T.isEnabled {
            tracer.element(PayloadTraceElement(name: "row_skip_enabled_flag", position: -1, dqState: 0,
                                               context: -1, bins: [rowSkip ? 1 : 0], value: rowSkip ? 1 : 0))
        }
        if r.overread { throw overreadError("row_skip_enabled_flag") }
        if rowSkip {
            skipFlags = [Bool](repeating: false, count: s.geometry.height)
            let c = store.contexts + layout.rowSkipFlag
            for row in 0..<s.geometry.height {
                let b = r.decodeBin(c)
                if r.overread { throw overreadError("row_skip_flag") }
                skipFlags[row] = b != 0
                if T.isEnabled {
                    tracer.element(PayloadTraceElement(name: "row_skip_flag", position: row * s.geometry.width, dqState: 0,
                                                       context: layout.rowSkipFlag, bins: [UInt8(b)], value: Int64(b)))
                }
            }
        }
        return (hdsp, rowSkip, skipFlags)
    }

    func levelFailure(_ e: LevelLoop.Failure, reader r: CABACReader) -> NNRError {
        switch e {
        case .overread:
            return overreadError("quant_tensor")
        case let .overflow(position):
            return NNRError(.overflow("level at position \(position) does not fit in int32"),
                            element: "abs_remainder", position: r.filePosition(fileOffset: fileOffset))
        }
    }

    /// The estimator-selection syntax (spec 5.3): a flag (and 3 bypass bins for the set) per present
    /// entry of `EstimatorSelectionList`.
    func decodeEstimatorSelection<T: PayloadTracer>(_ r: inout CABACReader, layout: ContextLayout,
                                                    setup s: TensorCodingSetup, hdsp: Bool, tracer: inout T) {
        let flagCtx = store.contexts + layout.selectionFlag
        EstimatorSelectionList.forEach(layout: layout, dq: s.dq, tca: s.tca, hdsp: hdsp,
                                       codebook: s.codebook) { index, coded in
            var set = 0
            if coded {
                let f = r.decodeBin(flagCtx)
                var idx: UInt32 = 0
                if f != 0 {
                    idx = r.decodeBypassBins(3)
                    set = 1 + Int(idx)
                }
                if T.isEnabled {
                    var bins: [UInt8] = [UInt8(f)]
                    if f != 0 { bins += PayloadDecoder.bits(idx, count: 3) }
                    tracer.element(PayloadTraceElement(name: "estimator_selection", position: -1, dqState: 0,
                                                       context: index, bins: bins, value: Int64(set)))
                }
            }
            store.select(index, set: set)
        }
    }

    static func bits(_ v: UInt32, count: Int) -> [UInt8] {
        (0..<count).map { UInt8((v >> UInt32(count - 1 - $0)) & 1) }
    }

    static func withOptionalPointer<E, R>(_ a: [E]?, _ body: (UnsafePointer<E>?) throws -> R) rethrows -> R {
        guard let a else { return try body(nil) }
        return try a.withUnsafeBufferPointer { try body($0.baseAddress) }
    }
}
