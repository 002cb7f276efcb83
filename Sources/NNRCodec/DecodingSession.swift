import Foundation
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRCoding
import NNRModelIO

// The one decoding path of decode, dump and check: units are fed one at a time, each NDU is
// planned (NDUPlan), its payload decoded and its tensors reconstructed, and every finished NDU is
// handed to a sink in file order and released. The incremental state (TCA bases, HDSP histories)
// is carried from one bitstream to the next.

/// Receives a payload's syntax elements while an NDU is decoded (`nnr dump --trace`).
public protocol NDUTracer: AnyObject {
    /// Called before each tensor's payload: true to receive its elements.
    func beginTensor(_ t: NDUTensorPlan, of plan: NDUPlan) -> Bool
    func element(_ e: PayloadTraceElement)
    /// After the last element of a traced tensor.
    func endTensor(_ t: NDUTensorPlan, of plan: NDUPlan)
    /// After the terminating bin of a payload.
    func endPayload(_ plan: NDUPlan)
}

/// Forwards the payload decoder's elements to an `NDUTracer`.
struct NDUTracerAdapter: PayloadTracer {
    let target: NDUTracer
    func element(_ e: PayloadTraceElement) { target.element(e) }
}

/// What to produce while decoding an NDU.
public struct NDUDecodeOptions: Sendable {
    public var limits: NNRLimits
    /// Keep the integer levels in each `DecodedTensor`.
    public var keepLevels: Bool
    /// Reconstruct the values (off: `DecodedTensor.tensor` holds no data; for statistics of levels).
    public var reconstruct: Bool
    /// Leave float32 and int32 tensors unreconstructed (their levels are kept): the caller reads
    /// them a block at a time with `DecodedTensor.reconstructedBlocks`. Codebook tensors are
    /// reconstructed whole.
    public var inBlocks = false
    /// Levels held at most by a streamed tensor (`NDUPlan.decode(…, stream:)`).
    public var streamChunkElements = 1 << 18

    public init(limits: NNRLimits = .default, keepLevels: Bool = true, reconstruct: Bool = true) {
        self.limits = limits
        self.keepLevels = keepLevels
        self.reconstruct = reconstruct
    }
}

/// Receives a streamed tensor's levels: `(qpOffset, rows, levels)`, levels nil for rows that are all 0.
public typealias LevelRowsHandler = (_ qpOffset: Int, _ rows: Range<Int>, _ levels: UnsafeBufferPointer<Int32>?) throws -> Void

/// One decoded NDU: its plan, its tensors in payload order and what decoding observed.
public struct DecodedNDU: Sendable {
    public var plan: NDUPlan
    public var tensors: [DecodedTensor]
    public var info: DecodedNDUInfo
}

extension NDUPlan {
    /// Decodes the payload. `state`: the incremental state the bitstream started with.
    /// `tensorDone` sees each tensor as soon as it is decoded (also those before a later error).
    /// `stream`: asked before each tensor (its index and plan); a handler it returns receives the
    /// tensor's levels a chunk of rows at a time (`PayloadDecoder.decodeTensor(_:chunkElements:rows:)`)
    /// and the `DecodedTensor` then holds neither levels nor values (its dtype and shape are set).
    /// Streaming applies when the caller need not keep the levels (no later bitstream of the
    /// sequence uses them as TCA bases or HDSP history) and no tracer is set.
    public func decode(_ source: NNRByteSource, state: IncrementalDecoderState, options: NDUDecodeOptions,
                       tracer: NDUTracer? = nil, tensorDone: ((Int, DecodedTensor) -> Void)? = nil,
                       stream: ((Int, NDUTensorPlan) -> LevelRowsHandler?)? = nil) throws -> DecodedNDU {
        if payloadType == .rawFloat { return try decodeRawFloat(source) }
        let u = unit
        var dec: PayloadDecoder
        do {
            // copied once, from the source's bytes into the decoder's padded buffer
            dec = try source.withBytes(u.payloadRange) {
                try PayloadDecoder(payload: $0, fileOffset: u.payloadRange.lowerBound, limits: options.limits)
            }
        } catch let e as NNRError { throw e.inUnit(u.location.index) }
        source.release(u.payloadRange)
        var out: [DecodedTensor] = []
        var observed: [EntryPoint] = []
        for t in tensors {
            let p = try payloadParameters(t, state: state)
            let before = dec.bitOffset
            let r: DecodedTensorPayload
            var streamed = false
            var values: [UInt8]? = nil
            do {
                if tracer == nil, let handler = stream?(out.count, t) {
                    r = try dec.decodeTensor(p, chunkElements: options.streamChunkElements, rows: handler)
                    streamed = true
                } else if let tr = tracer, tr.beginTensor(t, of: self) {
                    var adapter = NDUTracerAdapter(target: tr)
                    r = try dec.decodeTensor(p, tracer: &adapter)
                    tr.endTensor(t, of: self)
                } else {
                    // Levels (int32) and values (the output dtype) are held whole: ask first.
                    let elements = t.dims.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
                    try MemoryProbe.require(elements: elements, bytesPerElement: 4 + dtype(of: t).byteWidth, tensor: t.name,
                                            unit: u.location.index, at: u.location.offset)
                    if payloadType != .int && t.codebook == nil && options.reconstruct && !options.keepLevels && !options.inBlocks
                        && elements <= options.limits.maxTensorElements {
                        // float32 values: the levels are decoded into the output's memory and
                        // reconstructed there (`reconstruct(…, values:)`)
                        var decoded = DecodedTensorPayload()
                        values = try HugePages.byteArray(count: elements * 4) { b in
                            try b.assumingMemoryBound(to: UInt8.self).withMemoryRebound(to: Int32.self, capacity: elements) { lv in
                                decoded = try dec.decodeTensor(p, into: UnsafeMutableBufferPointer(start: lv, count: elements))
                            }
                            Reconstruction.float32InPlace(b, count: elements, stepSize: stepSize(decoded))
                        }
                        r = decoded
                    } else {
                        r = try dec.decodeTensor(p)
                    }
                }
            } catch let e as NNRError { throw e.inUnit(u.location.index) }
            observed += r.observedEntryPoints
            var o = options
            if streamed {
                o.inBlocks = false
                o.reconstruct = false
                o.keepLevels = false
            }
            var d = try reconstruct(t, r, parameters: p, options: o, values: values)
            d.streamed = streamed
            d.bits = dec.bitOffset - before
            tensorDone?(out.count, d)
            out.append(d)
        }
        let end: PayloadEnd
        do { end = try dec.finish() } catch let e as NNRError { throw e.inUnit(u.location.index) }
        tracer?.endPayload(self)
        if end.bytesConsumed != dec.payloadCount {
            throw NNRError(.sizeMismatch("the arithmetic-coded payload ends after \(end.bytesConsumed) bytes but the unit holds \(dec.payloadCount)"),
                           element: "nnr_unit_size", byteOffset: u.location.offset, bitOffset: 1, unitIndex: u.location.index)
        }
        if out.count == 1 { out[0].bits = dec.payloadCount * 8 }
        let info = DecodedNDUInfo(unitIndex: u.location.index, payloadEnd: end, payloadBytes: dec.payloadCount,
                                  headerEntryPoints: header.entryPoints, observedEntryPoints: observed, tensorNames: tensors.map(\.name))
        return DecodedNDU(plan: self, tensors: out, info: info)
    }

    /// The float32 step size of a tensor without codebook (its qp = the NDU's QP + qp_offset).
    func stepSize(_ r: DecodedTensorPayload) -> Float {
        StepSize.float32(qp: (baseQP ?? 0) + r.qpOffset, qpDensity: qpDensity ?? 0)
    }

    /// The values of one tensor from its levels (`values`: a float32 tensor's values already
    /// reconstructed, `r` without levels).
    func reconstruct(_ t: NDUTensorPlan, _ r: DecodedTensorPayload, parameters p: TensorPayloadParameters,
                     options: NDUDecodeOptions, values: [UInt8]? = nil) throws -> DecodedTensor {
        let u = unit
        var tensor = Tensor(name: t.name, dtype: dtype(of: t), shape: t.dims, storage: [])
        var qp: Int? = nil
        var options = options
        if options.inBlocks && t.codebook == nil {
            options.reconstruct = false
            options.keepLevels = true
        }
        if payloadType == .int {
            if options.reconstruct { tensor = Tensor(name: t.name, shape: t.dims, int32: r.levels) }
        } else {
            let tqp = (baseQP ?? 0) + r.qpOffset
            let density = qpDensity ?? 0
            qp = tqp
            if options.reconstruct, let cb = t.codebook {
                do {
                    let values = try Reconstruction.codebookFloat64(levels: r.levels, codebook: cb.entries, zeroOffset: cb.cbZeroOffset,
                                                                    qp: tqp, qpDensity: density)
                    tensor = Tensor(name: t.name, shape: t.dims, float64: values)
                } catch var e as NNRError {
                    e.position = BitPosition(byteOffset: u.payloadRange.lowerBound, bitOffset: 0)
                    throw e.inUnit(u.location.index)
                }
            } else if options.reconstruct {
                tensor = Tensor(name: t.name, dtype: .float32, shape: t.dims,
                                storage: values ?? NDUPlan.float32Bytes(r.levels, stepSize: stepSize(r)))
            }
        }
        return DecodedTensor(tensor: tensor, levels: options.keepLevels ? r.levels : [], unitIndex: u.location.index,
                             payloadType: payloadType ?? .float, role: t.role, qp: qp, qpOffset: p.codesQPOffset ? r.qpOffset : nil,
                             qpDensity: qpDensity ?? 0, dqFlag: p.dqFlag, codebook: t.codebook, rowSkipEnabled: r.rowSkipEnabled,
                             hdspEnabled: r.hdspEnabled, scanOrder: p.scanOrder, bits: 0)
    }

    /// The float32 reconstruction as (host, little-endian) bytes, written straight into the
    /// tensor's storage: no [Float] copy exists beside the levels and the bytes.
    static func float32Bytes(_ levels: [Int32], stepSize: Float) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: levels.count * 4) { out, initialized in
            levels.withUnsafeBufferPointer { src in
                if let o = out.baseAddress { Reconstruction.float32(levels: src, stepSize: stepSize, into: UnsafeMutableRawPointer(o)) }
            }
            initialized = levels.count * 4
        }
    }

    /// The bytes of successive blocks of elements: float32 values (`stepSize` × level) or, without
    /// a step size, the int32 levels themselves. `body` gets each block's first element index.
    static func blocks(_ levels: [Int32], stepSize: Float?, _ body: (Int, UnsafeRawBufferPointer) throws -> Void) rethrows {
        let block = 1 << 16
        var values = [Float](repeating: 0, count: stepSize == nil ? 0 : Swift.min(block, levels.count))
        try levels.withUnsafeBufferPointer { all in
            try values.withUnsafeMutableBytes { buffer in
                var start = 0
                while start < all.count {
                    let end = Swift.min(all.count, start + block)
                    let chunk = UnsafeBufferPointer(rebasing: all[start..<end])
                    if let step = stepSize, let out = buffer.baseAddress {
                        Reconstruction.float32(levels: chunk, stepSize: step, into: out)
                        try body(start, UnsafeRawBufferPointer(rebasing: buffer[..<(chunk.count * 4)]))
                    } else {
                        try body(start, UnsafeRawBufferPointer(chunk))
                    }
                    start = end
                }
            }
        }
    }

    func decodeRawFloat(_ source: NNRByteSource) throws -> DecodedNDU {
        let u = unit
        guard let t = tensors.first, let n = NDUHeader.elementCount(t.dims, limit: Int.max / 4) else {
            throw NNRError(.invalidValue("NNR_PT_RAW_FLOAT without dimensions"), element: "tensor_dimensions", byteOffset: u.location.offset, unitIndex: u.location.index)
        }
        guard u.payloadRange.count == n * 4 else {
            throw NNRError(.sizeMismatch("NNR_PT_RAW_FLOAT payload holds \(u.payloadRange.count) bytes, \(n * 4) expected"),
                           element: "raw_float32_parameter", byteOffset: u.payloadRange.lowerBound, unitIndex: u.location.index)
        }
        let tensor = Tensor(name: t.name, dtype: .float32, shape: t.dims, storage: source.bytes(u.payloadRange))
        let d = DecodedTensor(tensor: tensor, levels: [], unitIndex: u.location.index, payloadType: .rawFloat, role: nil, qp: nil, qpOffset: nil,
                              qpDensity: 0, dqFlag: false, codebook: nil, rowSkipEnabled: false, hdspEnabled: false, scanOrder: 0,
                              bits: u.payloadRange.count * 8)
        let info = DecodedNDUInfo(unitIndex: u.location.index, payloadEnd: nil, payloadBytes: u.payloadRange.count,
                                  headerEntryPoints: [], observedEntryPoints: [], tensorNames: [t.name])
        return DecodedNDU(plan: self, tensors: [d], info: info)
    }
}

extension DecodedTensor {
    /// The tensor's bytes (as `tensor.storage` holds them after reconstruction), a block of
    /// elements at a time: from the storage, or computed from the levels when the tensor was left
    /// unreconstructed (`NDUDecodeOptions.inBlocks`).
    public func reconstructedBlocks(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        if !tensor.storage.isEmpty || levels.isEmpty {
            try tensor.storage.withUnsafeBytes { try body($0) }
            return
        }
        let step = payloadType == .int ? nil : qp.map { StepSize.float32(qp: $0, qpDensity: qpDensity) }
        try NDUPlan.blocks(levels, stepSize: step) { try body($1) }
    }
}

extension DecodedNDU {
    /// The NDU with its tensors converted as `policy` says. Tensors left unreconstructed
    /// (`NDUDecodeOptions.inBlocks`) are built in the target dtype a block at a time, so that no
    /// whole-tensor float32 copy exists beside the levels and the result (at 10^9 parameters the
    /// page faults of those copies cost more than a fifth of the time); their levels are then
    /// dropped unless `keepLevels`.
    func converted(_ policy: TensorDTypePolicy, keepLevels: Bool) -> DecodedNDU {
        guard policy != .keep else { return self }
        var d = self
        for i in d.tensors.indices {
            let t = d.tensors[i]
            if t.tensor.storage.isEmpty && !t.levels.isEmpty {
                let (dtype, bytes) = t.blocksConverted(to: policy.target(for: t.tensor.dtype))
                d.tensors[i].tensor = Tensor(name: t.tensor.name, dtype: dtype, shape: t.tensor.shape, storage: bytes)
                if !keepLevels { d.tensors[i].levels = [] }
            }
            d.tensors[i].tensor = policy.apply(d.tensors[i].tensor)
        }
        return d
    }
}

extension DecodedTensor {
    /// The values of an unreconstructed tensor as bytes of `target` (its own dtype, or float16 or
    /// bfloat16 for float32), converted from the levels a block at a time; other targets go
    /// through the tensor's own dtype (the caller converts the result).
    func blocksConverted(to target: TensorDType) -> (TensorDType, [UInt8]) {
        let n = levels.count
        let narrow = tensor.dtype == .float32 ? FloatBits.narrowing(to: target) : nil
        guard let narrow else {
            return (tensor.dtype, [UInt8](unsafeUninitializedCapacity: n * 4) { out, initialized in
                var at = 0
                reconstructedBlocks { block in
                    UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(out)[at...]).copyMemory(from: block)
                    at += block.count
                }
                initialized = at
            })
        }
        return (target, [UInt8](unsafeUninitializedCapacity: n * 2) { out, initialized in
            let raw = UnsafeMutableRawBufferPointer(out)
            var at = 0
            reconstructedBlocks { block in
                for k in 0..<(block.count / 4) {
                    let v = Float(bitPattern: UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self)))
                    raw.storeBytes(of: narrow(v).littleEndian, toByteOffset: at, as: UInt16.self)
                    at += 2
                }
            }
            initialized = at
        })
    }
}

/// Receives decoded NDUs in file order.
public protocol DecodedNDUSink {
    /// An NDU's tensors in order; those already written in pieces (`DecodedTensor.streamed`)
    /// hold no data.
    mutating func consume(_ ndu: DecodedNDU) throws
    /// Opens the next tensor's data in pieces, for a tensor of an NDU the session streams
    /// (`DecodingSession.streamElements`). Nil (the default): the tensor is decoded whole.
    mutating func beginPieces(_ entry: TensorManifestEntry) throws -> TensorPieceWriter?
}

extension DecodedNDUSink {
    public mutating func beginPieces(_ entry: TensorManifestEntry) throws -> TensorPieceWriter? { nil }
}

/// Hands each decoded tensor to a `TensorSink` (file writers, hashers) and drops it.
public struct TensorSinkAdapter<S: TensorSink>: DecodedNDUSink {
    public var sink: S
    public init(_ sink: S) { self.sink = sink }
    public mutating func consume(_ ndu: DecodedNDU) throws {
        for t in ndu.tensors where !t.streamed { try sink.consume(t.tensor) }
    }
    public mutating func beginPieces(_ entry: TensorManifestEntry) throws -> TensorPieceWriter? {
        try sink.beginPieces(entry)
    }
}

/// The names a bitstream gives its tensors: decode writes them as file or archive member names,
/// so each appears once and fits the 16-bit name fields of ZIP and the limit of safetensors.
public struct TensorNameRules: Sendable {
    public static let maxNameBytes = 65_535
    var seen = Set<String>()

    public init() {}

    /// Throws if `t` cannot be written beside the names seen so far in this bitstream.
    public mutating func admit(_ t: NDUTensorPlan, unit u: NNRParsedUnit) throws {
        let element = u.context.mpsTopologyIndexedReferenceFlag ? "topology_elem_id_index" : "topology_elem_id"
        guard t.name.utf8.count <= TensorNameRules.maxNameBytes else {
            throw NNRError(.limitExceeded("tensor name of \(t.name.utf8.count) bytes (at most \(TensorNameRules.maxNameBytes))"),
                           element: element, byteOffset: u.location.offset, unitIndex: u.location.index)
        }
        guard seen.insert(t.name).inserted else {
            throw NNRError(.invalidValue("tensor \(String(t.name.prefix(200))) appears more than once in the bitstream"),
                           element: element, byteOffset: u.location.offset, unitIndex: u.location.index)
        }
    }
}

/// Decodes bitstreams unit by unit. Feed the units of a bitstream (`feed`) between `begin` and
/// `end`; give the bitstreams of an incremental sequence to the same session in order. Independent
/// NDUs are decoded concurrently in a bounded window; the sink receives them in file order.
///
/// Concurrent decoding is a pipeline: each NDU starts as soon as it is fed and there is room in
/// the pipeline (at most `pipelineDepth` NDUs and `pipelineElements` elements unless it is
/// empty, decoding or waiting to be handed over); finished NDUs go to the sink in file order, each
/// as soon as those before it are done. An NDU holds its place in the window until the sink has
/// it, so memory is bounded by the window, never by the model.
public struct DecodingSession {
    public var options: DecoderOptions
    /// The state the current bitstream started with (TCA bases, HDSP histories).
    public var state: IncrementalDecoderState
    /// Receives the payload elements; decoding is sequential while it is set.
    public var tracer: NDUTracer?
    /// NDUs decoded together at most, and their elements at most.
    public var window = 16
    public var windowElements = 1 << 24
    /// NDUs in flight at most in the concurrent pipeline (decoding or waiting for the sink): four
    /// per core, so that the NDU the sink waits for does not leave a core idle (cores + 2 gave
    /// CPU/wall 1.7 on 2 cores, 4 per core 1.88; memory is bounded by `pipelineElements`).
    public var pipelineDepth = 4 * ProcessInfo.processInfo.activeProcessorCount
    /// Elements in flight at most in the pipeline (unless one NDU alone is larger): at about 9
    /// bytes an element while decoded (levels, values, payload), 2^26 keeps it near 600 MB and
    /// lets two tensors of 4096×4096 decode side by side.
    public var pipelineElements = 1 << 26
    /// The dtype each decoded tensor is converted to, on the thread that decoded it (so that a
    /// writer's conversion does not run on the one thread that writes).
    public var dtype = TensorDTypePolicy.keep
    /// An NDU with a tensor of at least this many elements is decoded as a stream when the sink
    /// takes pieces and nobody needs the levels: its rows go to the writer a chunk at a time
    /// (memory: one chunk, `NDUDecodeOptions.streamChunkElements`), on this thread, after the
    /// NDUs before it, on one core. 0: never. The default, `pipelineElements`' 2^26, streams
    /// exactly the tensors that would fill the pipeline alone; smaller ones keep the concurrent
    /// path (and the entry-point concurrency inside a tensor).
    public var streamElements = 1 << 26

    var sets = NNRParameterSets()
    var names = TensorNameRules()
    var unitCount = 0
    var totalBytes = 0
    var pending: [NDUPlan] = []
    var pendingElements = 0
    /// Elements of the first NDU, held in `pending` until a second one starts the pipeline.
    var heldElements = 0
    var carried: [(String, [Int32])] = []
    var pipeline: DecodePipeline?
    /// Plan only (no payload is decoded): the manifest of the tensors the bitstream gives.
    var manifest: [TensorManifestEntry]?

    public init(options: DecoderOptions = DecoderOptions(), state: IncrementalDecoderState = IncrementalDecoderState()) {
        self.options = options
        self.state = state
    }

    var ndu: NDUDecodeOptions {
        var o = NDUDecodeOptions(limits: options.limits, keepLevels: options.keepLevels || options.carryState, reconstruct: true)
        // converting: values go from the levels to the target dtype a block at a time
        o.inBlocks = dtype != .keep
        return o
    }

    /// Starts a bitstream.
    public mutating func begin() {
        if manifest != nil { manifest = [] }
        sets = NNRParameterSets()
        names = TensorNameRules()
        unitCount = 0
        totalBytes = 0
        pending = []
        pendingElements = 0
        carried = []
        pipeline?.cancel()
        pipeline = nil
        if manifest == nil, tracer == nil, options.concurrent, ProcessInfo.processInfo.activeProcessorCount > 1 {
            pipeline = DecodePipeline()
        }
    }

    /// Takes the next top-level unit (with the units an NNR_AGG carries).
    public mutating func feed<S: DecodedNDUSink>(_ u: NNRParsedUnit, source: NNRByteSource, sink: inout S) throws {
        if unitCount == 0, u.depth == 0 {
            guard case .start = u.content else {
                throw NNRError(.invalidValue("the first unit must be NNR_STR, found \(u.typeName)"), element: "nnr_unit_type",
                               byteOffset: u.location.offset, unitIndex: 0)
            }
        }
        unitCount += 1
        sets.observe(u)
        switch u.content {
        case let .compressedData(h):
            let plan = try NDUPlan(unit: u, header: h, parameterSets: sets, limits: options.limits)
            try admit(plan)
            if manifest != nil {
                for t in plan.tensors { manifest?.append(TensorManifestEntry(name: t.name, shape: t.dims, dtype: plan.dtype(of: t))) }
                break
            }
            if streams(plan) {
                try decodeStreamed(plan, source: source, sink: &sink)  // (its flush clears pendingElements)
                break
            }
            if let p = pipeline {
                let n = pendingElements
                pendingElements = 0
                // The first NDU waits for a second: a bitstream of one NDU is decoded on this
                // thread by `end`, without starting a worker thread.
                if p.submitted == 0, pending.isEmpty {
                    pending = [plan]
                    heldElements = n
                    break
                }
                if p.submitted == 0, let first = pending.first {
                    pending = []
                    try submit(first, elements: heldElements, to: p, source: source, sink: &sink)
                }
                try submit(plan, elements: n, to: p, source: source, sink: &sink)
                break
            }
            pending.append(plan)
            if pending.count >= window || pendingElements >= windowElements || tracer != nil { try flush(source: source, sink: &sink) }
        case .reserved(let t):
            throw NNRError(.unsupported("nnr_unit_type \(t) is reserved"), element: "nnr_unit_type",
                           byteOffset: u.location.offset, unitIndex: u.location.index)
        default:
            break
        }
        for c in u.children { try feed(c, source: source, sink: &sink) }
    }

    /// Names and sizes of a planned NDU against the bitstream's names and the output limit.
    mutating func admit(_ plan: NDUPlan) throws {
        let u = plan.unit
        for t in plan.tensors {
            try names.admit(t, unit: u)
            let n = NDUHeader.elementCount(t.dims, limit: options.limits.maxTensorElements) ?? 0
            let (sum, o) = totalBytes.addingReportingOverflow(n &* 8)
            guard !o, sum <= options.limits.maxTotalDecodedBytes else {
                throw NNRError(.limitExceeded("decoded tensors exceed \(options.limits.maxTotalDecodedBytes) bytes"),
                               element: "tensor_dimensions", byteOffset: u.location.offset, unitIndex: u.location.index)
            }
            totalBytes = sum
            pendingElements += n
        }
    }

    /// Ends the bitstream: decodes what is pending and carries the state to the next bitstream.
    public mutating func end<S: DecodedNDUSink>(source: NNRByteSource, sink: inout S) throws {
        guard unitCount > 0 else {
            throw NNRError(.invalidValue("empty bitstream"), element: "nnr_unit", byteOffset: 0)
        }
        if let p = pipeline {
            while p.handedOver < p.submitted { try handOver(p, sink: &sink) }
        }
        try flush(source: source, sink: &sink)
        let parentSignalling = sets.parentSignalling
        for (name, levels) in carried { state.carry(name, levels: levels, parentSignalling: parentSignalling) }
        carried = []
    }

    /// Starts decoding `plan` once there is room in the window, handing finished NDUs over in order.
    mutating func submit<S: DecodedNDUSink>(_ plan: NDUPlan, elements: Int, to p: DecodePipeline, source: NNRByteSource,
                                            sink: inout S) throws {
        let depth = Swift.max(1, pipelineDepth)
        while p.handedOver < p.submitted
                && (p.submitted - p.handedOver >= depth || p.elementsInFlight > pipelineElements - Swift.min(elements, pipelineElements)) {
            try handOver(p, sink: &sink)
        }
        let i = p.submitted
        p.start(i, elements: elements)
        let state = self.state, opts = ndu, dtype = self.dtype
        p.group.enter()
        DispatchQueue.global().async {
            let r = Result { try plan.decode(source, state: state, options: opts).converted(dtype, keepLevels: opts.keepLevels) }
            p.finish(i, r)
            p.group.leave()
        }
        // whatever is already done goes to the sink now
        while p.isDone(p.handedOver) { try handOver(p, sink: &sink) }
    }

    /// Waits for the next NDU in file order and hands it to the sink. On a failure (the NDU's or
    /// the sink's), waits for the NDUs still decoding and throws.
    mutating func handOver<S: DecodedNDUSink>(_ p: DecodePipeline, sink: inout S) throws {
        let r = p.take(p.handedOver)
        do {
            try deliver(r.get(), sink: &sink)
        } catch {
            p.cancel()
            pipeline = nil
            throw error
        }
    }

    /// Carries what the next bitstream needs, drops the levels nobody asked for, and hands over.
    mutating func deliver<S: DecodedNDUSink>(_ decoded: DecodedNDU, sink: inout S) throws {
        var d = decoded
        if options.carryState || options.keepLevels {
            for t in d.tensors where !t.levels.isEmpty { carried.append((t.name, t.levels)) }
        }
        if !options.keepLevels { for i in d.tensors.indices { d.tensors[i].levels = [] } }
        try sink.consume(d)
    }

    /// Decodes the pending NDUs (concurrently when allowed) and hands them to the sink in order.
    mutating func flush<S: DecodedNDUSink>(source: NNRByteSource, sink: inout S) throws {
        let jobs = pending
        pending = []
        pendingElements = 0
        guard !jobs.isEmpty else { return }
        let state = self.state, opts = ndu, tracer = self.tracer, dtype = self.dtype
        var results: [Result<DecodedNDU, Error>?]
        if tracer == nil && options.concurrent && jobs.count > 1 && ProcessInfo.processInfo.activeProcessorCount > 1 {
            let box = ResultBox(count: jobs.count)
            DispatchQueue.concurrentPerform(iterations: jobs.count) { i in
                box.set(i, Result { try jobs[i].decode(source, state: state, options: opts).converted(dtype, keepLevels: opts.keepLevels) })
            }
            results = box.values
        } else if tracer == nil {
            // one after another, each handed over as soon as it is decoded (the same NDUs reach the
            // sink before an error; no array of `Result`s, whose type metadata costs a run-time
            // conformance lookup of 0.3M instructions)
            for j in jobs {
                try deliver(j.decode(source, state: state, options: opts).converted(dtype, keepLevels: opts.keepLevels), sink: &sink)
            }
            return
        } else {
            results = jobs.map { j in Result { try j.decode(source, state: state, options: opts, tracer: tracer).converted(dtype, keepLevels: opts.keepLevels) } }
        }
        for k in results.indices {
            guard let d = try results[k]?.get() else { continue }
            results[k] = nil
            try deliver(d, sink: &sink)
        }
    }

    /// Decodes a whole bitstream, parsing its units one at a time.
    public mutating func decode<S: DecodedNDUSink>(_ source: NNRByteSource, sink: inout S) throws {
        begin()
        var parser = NNRUnitParser(source: source, limits: options.limits)
        do {
            for r in NNRUnitScanner(source: source, limits: options.limits) {
                let u = try parser.parse(r.get())
                try feed(u, source: source, sink: &sink)
            }
            try end(source: source, sink: &sink)
        } catch {
            // NDUs still decoding are waited for and dropped: nothing runs on after an error
            pipeline?.cancel()
            pipeline = nil
            throw error
        }
    }

    /// The tensors a bitstream will give, from its headers only, with every verdict decode reaches
    /// before reading a payload (a safetensors writer writes its header from it first).
    public static func manifest(_ units: [NNRParsedUnit], source: NNRByteSource, options: DecoderOptions = DecoderOptions()) throws -> [TensorManifestEntry] {
        var session = DecodingSession(options: options)
        session.manifest = []
        var sink = NoSink()
        session.begin()
        for u in units { try session.feed(u, source: source, sink: &sink) }
        try session.end(source: source, sink: &sink)
        return session.manifest ?? []
    }

    /// The manifest of a bitstream, parsing its units one at a time (none is kept).
    public static func manifest(_ source: NNRByteSource, options: DecoderOptions = DecoderOptions()) throws -> [TensorManifestEntry] {
        var session = DecodingSession(options: options)
        session.manifest = []
        var sink = NoSink()
        try session.decode(source, sink: &sink)
        return session.manifest ?? []
    }

    struct NoSink: DecodedNDUSink {
        func consume(_ ndu: DecodedNDU) throws {}
    }
}

/// The concurrent pipeline of a session: NDUs numbered in file order, decoded on the global
/// queue, their results kept until the session hands them over.
final class DecodePipeline: @unchecked Sendable {
    private let condition = NSCondition()
    private var results: [Int: Result<DecodedNDU, Error>] = [:]
    private var elements: [Int: Int] = [:]
    let group = DispatchGroup()
    /// NDUs started, NDUs handed to the sink (both only changed by the session's thread).
    private(set) var submitted = 0
    private(set) var handedOver = 0
    /// Elements of the NDUs started and not yet handed over.
    private(set) var elementsInFlight = 0

    func start(_ i: Int, elements n: Int) {
        condition.lock()
        elements[i] = n
        elementsInFlight += n
        submitted = i + 1
        condition.unlock()
    }

    func finish(_ i: Int, _ r: Result<DecodedNDU, Error>) {
        condition.lock()
        results[i] = r
        condition.broadcast()
        condition.unlock()
    }

    func isDone(_ i: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return i < submitted && results[i] != nil
    }

    /// Waits for NDU `i` and removes its result.
    func take(_ i: Int) -> Result<DecodedNDU, Error> {
        condition.lock()
        while results[i] == nil { condition.wait() }
        let r = results.removeValue(forKey: i) ?? .failure(CancellationError())
        elementsInFlight -= elements.removeValue(forKey: i) ?? 0
        handedOver = i + 1
        condition.unlock()
        return r
    }

    /// Waits for the NDUs still decoding and drops every result.
    func cancel() {
        group.wait()
        condition.lock()
        results = [:]
        elements = [:]
        elementsInFlight = 0
        handedOver = submitted
        condition.unlock()
    }
}

/// Collects results from concurrent work.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [Result<DecodedNDU, Error>?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ v: Result<DecodedNDU, Error>) {
        lock.lock(); values[i] = v; lock.unlock()
    }
}
