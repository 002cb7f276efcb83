import Foundation
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRCoding
import NNRQuantization
import NNRModelIO

/// Settings of `IncrementalEncoder`.
public struct IncrementalEncoderOptions: Sendable {
    /// Quantization and coding settings. `qp`, `nonWeightQP` and `qpForTensor` apply to step 0
    /// (the whole model); codebooks and `maxError` are not available for sequences.
    public var encoder = EncoderOptions()
    /// QP of weight updates (tensors with more than one dimension); nil = `encoder.qp`.
    public var updateQP: Int? = nil
    /// QP of 1-D updates; nil = `encoder.nonWeightQP`.
    public var updateNonWeightQP: Int? = nil
    /// Temporal context adaptation (temporal_context_modeling_flag): the update's contexts follow
    /// the previous levels of the same tensor.
    public var temporalContextAdaptation = false
    /// History-dependent significance probability: each update is coded with and without it and
    /// the shorter kept (as NNCodec's HDSP tool), once the tensor has a history.
    public var historyDependentSignificance = false
    /// Step 0 with mps_parent_signalling_enabled_flag = 1 and nnr_pre_flag = 1 (NNCodec's
    /// `pre_signalling`): a decoder then starts the HDSP history with the base model's levels.
    public var preSignalling = false
    /// Fraction (0 ≤ f < 1) of each tensor's update values set to zero before quantization,
    /// smallest magnitudes first; the dropped part stays in the next step's difference.
    public var sparsity: Double = 0
    /// With `sparsity`: zero whole rows (output channels / filters), smallest energy first.
    public var structuredSparsity = false
    /// device_id (and parent_device_id) of every NDU.
    public var deviceId = 0
    /// Code each update as the difference to the previous *input* model (as NNCodec's callers do)
    /// instead of to the receiver's reconstruction: quantization error then accumulates. For
    /// comparisons with open-loop encoders only.
    public var openLoop = false

    public init() {}
}

/// One tensor's levels as a step carries them (the level interface, for re-encoding reference
/// streams): reconstruction indices q for uniform tensors, integers for NNR_PT_INT.
public struct StepLevels: Sendable {
    public var name: String
    public var shape: [Int]
    public var levels: [Int32]
    /// The tensor's QP; nil for NNR_PT_INT.
    public var qp: Int?
    public var dependentQuantization: Bool

    public init(name: String, shape: [Int], levels: [Int32], qp: Int?, dependentQuantization: Bool) {
        self.name = name
        self.shape = shape
        self.levels = levels
        self.qp = qp
        self.dependentQuantization = dependentQuantization
    }
}

/// What one step wrote.
public struct IncrementalStepReport: Sendable {
    /// 0 for the whole model, k for the k-th update.
    public var step: Int
    public var bytes: Int
    /// Parameters of the model (every tensor's element count).
    public var parameterCount: Int
    /// Tensors whose update was all zero: no NDU, the receiver keeps them.
    public var skippedTensors: [String]
    /// Zero levels in the step over all tensors (skipped tensors count as zeros).
    public var zeroLevels: Int
    /// SNR (dB) of the decoded update against the exact difference (step 0: the model); nil if the
    /// difference is zero.
    public var updateSNR: Double?
    /// SNR (dB) of the receiver's model after this step against the input model.
    public var modelSNR: Double?
    /// Per coded tensor (skipped tensors are absent).
    public var tensors: [EncodedTensorReport]

    public var bitsPerParameter: Double { parameterCount > 0 ? Double(bytes * 8) / Double(parameterCount) : 0 }
    /// Fraction of zero levels in the step.
    public var sparsity: Double { parameterCount > 0 ? Double(zeroLevels) / Double(parameterCount) : 0 }
}

public struct IncrementalStep: Sendable {
    public var bitstream: EncodedBitstream
    public var report: IncrementalStepReport
}

/// A problem with a step's tensors or with the earlier bitstreams of a sequence, naming the file
/// (when known) and the tensor.
public struct IncrementalInputError: Error, CustomStringConvertible, Sendable {
    public var file: String?
    public var tensor: String?
    public var message: String
    public init(file: String? = nil, tensor: String? = nil, message: String) {
        self.file = file
        self.tensor = tensor
        self.message = message
    }
    public var description: String {
        [file, tensor.map { "tensor \($0)" }, message].compactMap { $0 }.joined(separator: ": ")
    }
}

/// Closed-loop incremental encoder: step 0 writes the whole model; every later step writes the
/// difference between the new model and what the receiver holds (the decoder's reconstruction of
/// the previous steps), so quantization error never accumulates. The encoder keeps the receiver's
/// state (model, TCA bases, HDSP history, node depths): a long-running sender calls `encode(step:)`
/// once per round. `init(resumingAfter:options:)` rebuilds that state from earlier bitstreams.
///
/// Node identities as NNCodec writes them with one `approx_param_base` carried along: device_id,
/// parameter_id = the tensor's index in step 0, put_node_depth = 1 for step 0 and one more for
/// every NDU of the tensor after it; updates have parent_node_id_type 0 (ICNN_NDU_ID). An update
/// whose levels are all zero gets no NDU.
public struct IncrementalEncoder: Sendable {
    public var options: IncrementalEncoderOptions
    /// What a decoder fed the same bitstreams holds (`NNRDecoder.state`).
    public private(set) var decoderState = IncrementalDecoderState()
    /// The receiver's model after the last step (running sum of the decoded updates, float32).
    public private(set) var reconstruction: [Tensor] = []
    /// put_node_depth of each tensor's last NDU.
    public private(set) var putNodeDepth: [String: Int] = [:]
    /// Steps written (or read by `init(resumingAfter:)`).
    public private(set) var stepCount = 0
    /// The previous step's input (kept only with `options.openLoop`).
    var previousInput: [Tensor] = []

    public init(options: IncrementalEncoderOptions = IncrementalEncoderOptions()) {
        self.options = options
    }

    var coder: NNREncoder { NNREncoder(options: options.encoder) }

    // MARK: - Steps from models

    /// Encodes the next step: the whole model for the first, else the closed-loop difference.
    public mutating func encode(step tensors: [Tensor]) throws -> IncrementalStep {
        try checkOptions()
        let isBase = stepCount == 0
        let ordered = try isBase ? checkedBase(tensors) : matched(tensors)
        let o = options
        let enc = coder
        let receiver = reconstruction
        let base = options.openLoop && !isBase && previousInput.count == ordered.count ? previousInput : reconstruction
        // Quantize each tensor's difference (in parallel when allowed).
        let quantized: [Result<(QuantizedForNDU, [Float]?), Error>] = concurrentMap(ordered.count, enc.options.concurrent) { i in
            Result {
                let t = ordered[i]
                if isBase { return (try enc.quantizeTensor(t), nil) }
                return try Self.quantizeUpdate(t, previous: base[i], encoder: enc, options: o)
            }
        }
        var levels: [StepLevels] = []
        var differences: [[Float]?] = []
        var reports: [EncodedTensorReport] = []
        for r in quantized {
            let (q, diff) = try r.get()
            levels.append(StepLevels(name: q.name, shape: q.dims, levels: q.levels, qp: q.qp, dependentQuantization: q.dependentQuantization))
            differences.append(diff)
            reports.append(q.report)
        }
        var step = try encode(levels: levels, reports: reports)
        if options.openLoop { previousInput = ordered }
        // SNR of the update and of the receiver's model.
        var upd = SNRAccumulator(), model = SNRAccumulator()
        for (i, t) in ordered.enumerated() where t.dtype.isFloatingPoint {
            let target = t.floatValues()
            let rec = reconstruction[i].floatValues()
            model.add(original: target, reconstructed: rec)
            if let d = differences[i] {
                let prev = receiver[i].floatValues()
                upd.add(original: d, reconstructed: zip(rec, prev).map { $0 - $1 })
            } else {
                upd.add(original: target, reconstructed: rec)
            }
        }
        step.report.updateSNR = upd.snrDB
        step.report.modelSNR = model.snrDB
        return step
    }

    /// The difference of one tensor against the receiver's copy, sparsified and quantized at the
    /// update QP; also returns the exact difference (for the report).
    static func quantizeUpdate(_ t: Tensor, previous: Tensor, encoder: NNREncoder, options o: IncrementalEncoderOptions) throws
        -> (QuantizedForNDU, [Float]?) {
        let dims = t.shape.isEmpty ? [1] : t.shape
        if t.dtype.isInteger || t.dtype == .bool {
            let a = t.int64Values(), b = previous.int64Values()
            var d = [Int64](repeating: 0, count: a.count)
            for i in a.indices {
                let (v, overflow) = a[i].subtractingReportingOverflow(b[i])
                guard !overflow else {
                    throw EncoderError(tensor: t.name, message: "the update \(a[i]) − \(b[i]) at element \(i) overflows 64 bits")
                }
                d[i] = v
            }
            return (try encoder.quantizeTensor(Tensor(name: t.name, shape: t.shape, int64: d)), nil)
        }
        let a = t.floatValues(), b = previous.floatValues()
        var d = [Float](repeating: 0, count: a.count)
        for i in a.indices { d[i] = a[i] - b[i] }
        let exact = d
        if o.sparsity > 0 {
            if o.structuredSparsity {
                Sparsification.zeroSmallestRows(&d, rows: dims[0], fraction: o.sparsity)
            } else {
                Sparsification.zeroSmallest(&d, fraction: o.sparsity)
            }
        }
        let qp = dims.count > 1 ? (o.updateQP ?? o.encoder.qp) : (o.updateNonWeightQP ?? o.encoder.nonWeightQP)
        var q = try encoder.quantizeTensor(Tensor(name: t.name, shape: t.shape, float32: d), qp: qp)
        if o.sparsity > 0 {
            // The report's SNR is against the difference before sparsification.
            let rec = Reconstruction.float32(levels: q.levels, qp: q.qp ?? qp, qpDensity: o.encoder.qpDensity)
            q.report.snrDB = QuantizationStats.snrDB(original: exact, reconstructed: rec)
            var m = 0.0
            for i in exact.indices { m = Swift.max(m, abs(Double(exact[i]) - Double(rec[i]))) }
            q.report.maxAbsError = m
        }
        return (q, exact)
    }

    func checkOptions() throws {
        let o = options
        guard o.sparsity.isFinite, o.sparsity >= 0, o.sparsity < 1 else {
            throw IncrementalInputError(message: "sparsity \(o.sparsity) outside [0, 1)")
        }
        guard o.encoder.codebook == nil else {
            throw IncrementalInputError(message: "codebook quantization is not available for incremental sequences")
        }
        guard !o.encoder.blockUnits else {
            throw IncrementalInputError(message: "NNR_PT_BLOCK units are not available for incremental sequences")
        }
        guard o.encoder.maxError == nil else {
            throw IncrementalInputError(message: "an error bound (max error) is not available for incremental sequences")
        }
        guard (0...7).contains(o.encoder.qpDensity) else { throw IncrementalInputError(message: "qp density \(o.encoder.qpDensity) outside 0…7") }
        guard (0...4).contains(o.encoder.scanOrder) else { throw IncrementalInputError(message: "scan order \(o.encoder.scanOrder) outside 0…4") }
    }

    func checkedBase(_ tensors: [Tensor]) throws -> [Tensor] {
        guard !tensors.isEmpty else { throw IncrementalInputError(message: "the model has no tensors") }
        var names = Set<String>()
        for t in tensors {
            guard names.insert(t.name).inserted else { throw IncrementalInputError(tensor: t.name, message: "duplicate tensor name") }
            guard !t.name.utf8.contains(0) else { throw IncrementalInputError(tensor: t.name, message: "name contains a NUL byte") }
        }
        return tensors
    }

    /// The step's tensors in the receiver's order; names and shapes must be the previous step's.
    func matched(_ tensors: [Tensor]) throws -> [Tensor] {
        var byName: [String: Tensor] = [:]
        for t in tensors {
            guard byName.updateValue(t, forKey: t.name) == nil else {
                throw IncrementalInputError(tensor: t.name, message: "duplicate tensor name")
            }
        }
        var out: [Tensor] = []
        for r in reconstruction {
            guard let t = byName.removeValue(forKey: r.name) else {
                throw IncrementalInputError(tensor: r.name, message: "missing (the previous step has it)")
            }
            let a = t.shape.isEmpty ? [1] : t.shape, b = r.shape.isEmpty ? [1] : r.shape
            guard a == b else {
                throw IncrementalInputError(tensor: t.name, message: "shape \(t.shape) differs from the previous step's \(r.shape)")
            }
            guard t.dtype.isFloatingPoint == r.dtype.isFloatingPoint else {
                throw IncrementalInputError(tensor: t.name, message: "dtype \(t.dtype.rawValue) differs in kind from the previous step's \(r.dtype.rawValue)")
            }
            out.append(t)
        }
        if let extra = byName.keys.sorted().first {
            throw IncrementalInputError(tensor: extra, message: "not in the previous step")
        }
        return out
    }

    // MARK: - Steps from levels

    /// Encodes a step from levels (the whole model for the first step, else the update's levels in
    /// the receiver's tensor order) and advances the state. Used by `encode(step:)` and to re-encode
    /// reference streams.
    public mutating func encode(levels: [StepLevels]) throws -> IncrementalStep {
        try encode(levels: levels, reports: nil)
    }

    mutating func encode(levels: [StepLevels], reports given: [EncodedTensorReport]?) throws -> IncrementalStep {
        let isBase = stepCount == 0
        if !isBase {
            guard levels.count == reconstruction.count else {
                throw IncrementalInputError(message: "the step has \(levels.count) tensors, the model \(reconstruction.count)")
            }
            for (l, r) in zip(levels, reconstruction) where l.name != r.name || l.levels.count != r.elementCount {
                throw IncrementalInputError(tensor: l.name, message: "does not match the model's tensor \(r.name) \(r.shape)")
            }
        }
        let enc = coder
        let parentSignalling = !isBase || options.preSignalling
        var out = try enc.parameterSetUnits(parentSignalling: parentSignalling, preFlag: isBase)
        let state = decoderState
        let depth = putNodeDepth
        let o = options
        // An all-zero update is omitted (the receiver keeps the tensor).
        let coded = levels.indices.filter { isBase || levels[$0].levels.contains { $0 != 0 } }
        let units: [Result<NNREncoder.TensorResult, Error>] = concurrentMap(coded.count, enc.options.concurrent) { j in
            Result {
                let i = coded[j]
                let l = levels[i]
                var node = NDUNode(parameterId: i)
                node.deviceId = o.deviceId
                node.putNodeDepth = (depth[l.name] ?? 0) + 1
                node.mpsParentSignalling = parentSignalling
                if !isBase {
                    node.parentPresent = true
                    if o.temporalContextAdaptation { node.tcaBase = state.previousLevels[l.name] }
                    node.hdspHistory = state.history[l.name]
                    node.hdsp = o.historyDependentSignificance ? .auto : .off
                }
                let q = QuantizedForNDU(name: l.name, dims: l.shape.isEmpty ? [1] : l.shape, levels: l.levels,
                                        payloadType: l.qp == nil ? .int : .float, qp: l.qp,
                                        dependentQuantization: l.dependentQuantization, codebook: nil,
                                        report: given?[i] ?? Self.levelReport(l, qpDensity: o.encoder.qpDensity))
                return try enc.writeNDU(q, node: node)
            }
        }
        var reports: [EncodedTensorReport] = []
        for u in units {
            let r = try u.get()
            out += r.unit
            reports.append(r.report)
        }
        // Advance the receiver's state exactly as NNRDecoder does for these units.
        var zero = 0
        var skipped: [String] = []
        var newModel: [Tensor] = []
        let codedSet = Set(coded)
        for (i, l) in levels.enumerated() {
            zero += l.levels.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }
            guard codedSet.contains(i) else {
                skipped.append(l.name)
                newModel.append(reconstruction[i])
                continue
            }
            decoderState.previousLevels[l.name] = l.levels
            if parentSignalling {
                var h = decoderState.history[l.name] ?? [UInt8](repeating: 0, count: l.levels.count)
                if h.count == l.levels.count {
                    for k in 0..<h.count where l.levels[k] != 0 { h[k] = 1 }
                    decoderState.history[l.name] = h
                }
            }
            putNodeDepth[l.name] = (putNodeDepth[l.name] ?? 0) + 1
            let decoded = Self.decodedTensor(l, qpDensity: o.encoder.qpDensity)
            newModel.append(isBase ? decoded : Self.adding(decoded, to: reconstruction[i]))
        }
        reconstruction = newModel
        let report = IncrementalStepReport(step: stepCount, bytes: out.count,
                                           parameterCount: levels.reduce(0) { $0 + $1.levels.count },
                                           skippedTensors: skipped, zeroLevels: zero, updateSNR: nil, modelSNR: nil,
                                           tensors: reports)
        stepCount += 1
        return IncrementalStep(bitstream: EncodedBitstream(bytes: out, tensors: reports), report: report)
    }

    static func levelReport(_ l: StepLevels, qpDensity: Int) -> EncodedTensorReport {
        EncodedTensorReport(name: l.name, shape: l.shape, payloadType: l.qp == nil ? .int : .float, qp: l.qp,
                            stepSize: l.qp.map { StepSize.float32(qp: $0, qpDensity: qpDensity) }, dependentQuantization: l.dependentQuantization,
                            codebookSize: nil, bytes: 0, elementCount: l.levels.count, snrDB: nil, maxAbsError: 0)
    }

    /// What a decoder outputs for these levels (float32 Δ·q, or the integers).
    static func decodedTensor(_ l: StepLevels, qpDensity: Int) -> Tensor {
        let shape = l.shape.isEmpty ? [1] : l.shape
        guard let qp = l.qp else { return Tensor(name: l.name, shape: shape, int32: l.levels) }
        return Tensor(name: l.name, shape: shape, float32: Reconstruction.float32(levels: l.levels, qp: qp, qpDensity: qpDensity))
    }

    /// previous + update, element by element: float32 additions for float32 models, float64 for
    /// float64 ones, wrapping int32 additions for integers.
    public static func adding(_ update: Tensor, to previous: Tensor) -> Tensor {
        switch previous.dtype {
        case .float64:
            let a = previous.doubleValues(), b = update.doubleValues()
            return Tensor(name: previous.name, shape: previous.shape, float64: zip(a, b).map { $0 + $1 })
        case _ where previous.dtype.isFloatingPoint:
            let a = previous.floatValues(), b = update.floatValues()
            return Tensor(name: previous.name, shape: previous.shape, float32: zip(a, b).map { $0 + $1 })
        default:
            let a = previous.int32Values(), b = update.int32Values()
            return Tensor(name: previous.name, shape: previous.shape, int32: zip(a, b).map { $0 &+ $1 })
        }
    }
}

/// Signal and noise energy over several tensors.
struct SNRAccumulator {
    var signal = 0.0, noise = 0.0
    mutating func add(original: [Float], reconstructed: [Float]) {
        for i in 0..<Swift.min(original.count, reconstructed.count) {
            let x = Double(original[i]), e = x - Double(reconstructed[i])
            signal += x * x
            noise += e * e
        }
    }
    var snrDB: Double? {
        guard signal > 0 else { return nil }
        return noise > 0 ? 10 * log10(signal / noise) : .infinity
    }
}

/// Results written from concurrent work.
final class ConcurrentSlots<T>: @unchecked Sendable {
    let lock = NSLock()
    var values: [T?]
    init(_ n: Int) { values = Array(repeating: nil, count: n) }
}

/// `body(0..<count)` in parallel (when allowed and useful), results in index order.
func concurrentMap<T>(_ count: Int, _ concurrent: Bool, _ body: @escaping @Sendable (Int) -> T) -> [T] {
    guard concurrent && count > 1 && ProcessInfo.processInfo.activeProcessorCount > 1 else {
        return (0..<count).map(body)
    }
    let slots = ConcurrentSlots<T>(count)
    DispatchQueue.concurrentPerform(iterations: count) { i in
        let v = body(i)
        slots.lock.lock(); slots.values[i] = v; slots.lock.unlock()
    }
    return slots.values.compactMap { $0 }
}

extension IncrementalEncoder {
    /// Rebuilds the sender's state from the bitstreams of the earlier steps, in order: each is
    /// decoded as a receiver would (nothing private is needed). The first must be the whole model;
    /// put_node_depth must grow by one per NDU of a tensor, so a missing or reordered bitstream is
    /// refused, naming the file and the tensor.
    public init(resumingAfter bitstreams: [(name: String, source: NNRByteSource)],
                options: IncrementalEncoderOptions) throws {
        self.init(options: options)
        let limits = options.encoder.limits
        var decoder = NNRDecoder(options: DecoderOptions(limits: limits, concurrent: options.encoder.concurrent,
                                                         keepLevels: false, carryState: true))
        for (k, file) in bitstreams.enumerated() {
            let (units, error) = NNRUnitParser.parseAll(file.source, limits: limits)
            if let e = error {
                throw IncrementalInputError(file: file.name, message: "not a valid NNR bitstream: \(e)")
            }
            var headers: [Int: NDUHeader] = [:]
            func collect(_ u: NNRParsedUnit) {
                if case let .compressedData(h) = u.content { headers[u.location.index] = h }
                u.children.forEach(collect)
            }
            units.forEach(collect)
            guard !headers.isEmpty || k > 0 else {
                throw IncrementalInputError(file: file.name, message: "holds no NNR_NDU: not a model")
            }
            for h in headers.values.sorted(by: { $0.topologyElemId < $1.topologyElemId }) {
                let names = h.nnrMultipleTopologyElementsPresentFlag ? h.topologyElemIdList : [h.topologyElemId]
                for name in names {
                    if k == 0 && h.parentNodeIdPresentFlag {
                        throw IncrementalInputError(file: file.name, tensor: name,
                                                    message: "is an update (parent_node_id_present_flag = 1); the first bitstream must be the whole model")
                    }
                    if k > 0 && h.nodeIdPresentFlag {
                        let expected = (putNodeDepth[name] ?? 0) + 1
                        guard h.putNodeDepth == expected else {
                            throw IncrementalInputError(file: file.name, tensor: name,
                                                        message: "put_node_depth \(h.putNodeDepth) where \(expected) follows the earlier bitstreams: one is missing or out of order")
                        }
                    }
                    if k > 0 && h.parentNodeIdPresentFlag && !reconstruction.contains(where: { $0.name == name }) {
                        throw IncrementalInputError(file: file.name, tensor: name, message: "is an update of a tensor no earlier bitstream carries")
                    }
                }
            }
            let decoded: DecodedBitstream
            do {
                decoded = try decoder.decode(units: units, source: file.source)
            } catch {
                throw IncrementalInputError(file: file.name, message: "\(error)")
            }
            for t in decoded.tensors {
                let h = headers[t.unitIndex]
                if h?.nodeIdPresentFlag == true, let d = h?.putNodeDepth { putNodeDepth[t.name] = d }
                else { putNodeDepth[t.name] = (putNodeDepth[t.name] ?? 0) + 1 }
                if let i = reconstruction.firstIndex(where: { $0.name == t.name }) {
                    guard reconstruction[i].elementCount == t.tensor.elementCount else {
                        throw IncrementalInputError(file: file.name, tensor: t.name,
                                                    message: "shape \(t.tensor.shape) differs from the earlier \(reconstruction[i].shape)")
                    }
                    reconstruction[i] = h?.parentNodeIdPresentFlag == true ? Self.adding(t.tensor, to: reconstruction[i]) : t.tensor
                } else {
                    reconstruction.append(t.tensor)
                }
            }
        }
        decoderState = decoder.state
        stepCount = bitstreams.count
    }
}
