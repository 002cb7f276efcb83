import Foundation
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRCoding
import NNRQuantization
import NNRModelIO

/// Settings of `NNREncoder` (defaults = NNCodec 2.1.3's `nnc.compress` defaults).
public struct EncoderOptions: Sendable {
    /// QP of weights (tensors with more than one dimension).
    public var qp: Int = -38
    /// mps_qp_density (0…7).
    public var qpDensity: Int = 2
    /// QP of 1-D tensors (biases, norms); NNCodec's default −75.
    public var nonWeightQP: Int = -75
    /// Per-tensor QP overrides by name.
    public var qpForTensor: [String: Int] = [:]
    /// Dependent quantization (dq_flag).
    public var dependentQuantization = true
    /// NNCodec's lambda_scale (0 = no rate term, its default).
    public var lambdaScale: Double = 0
    /// scan_order for tensors with more than one column (0 row-major, 1…4 block scan).
    public var scanOrder = 0
    /// cabac_unary_length_minus1.
    public var cabacUnaryLengthMinus1 = 10
    /// Row skipping (profile 1).
    public var rowSkipping = true
    /// Estimator parameter selection per context (NNCodec param_opt).
    public var optimizeEstimators = true
    /// With `optimizeEstimators`: the largest number of values per tensor that the selection
    /// pseudo-codes. Larger tensors are sampled in windows of 2048 consecutive values spread over the
    /// tensor (`EstimatorSelectionMode.sampled`); 0 pseudo-codes every value, as NNCodec does (its
    /// exact choice, at a cost proportional to the tensor). On MiniLM-L6 the default choice makes
    /// the file 0.002% larger than the exhaustive one and the encoder about 1.4x faster.
    public var estimatorSampleValues = 65_536
    /// Codebook quantization of weights: nil = off.
    public var codebook: CodebookMode? = nil
    /// Error bound: every reconstructed float within this of the input (checked after encoding).
    public var maxError: Float? = nil
    /// Allowed levels (bit-depth limit), e.g. BitDepthLimit.
    public var levelRange: ClosedRange<Int32>? = nil
    /// NNR_PT_BLOCK units: each weight ("X.weight", more than one dimension) with its bias
    /// ("X.bias") and the batch-norm layer that follows it ("Y.weight", "Y.bias", "Y.running_mean",
    /// "Y.running_var", one value per output channel) in one NDU, as NNCodec groups PyTorch models.
    public var blockUnits = false
    /// Encode tensors concurrently.
    public var concurrent = true
    public var limits: NNRLimits = .default

    public init() {}
}

/// What was written for one tensor.
public struct EncodedTensorReport: Sendable {
    public var name: String
    public var shape: [Int]
    public var payloadType: NNRPayloadType
    public var qp: Int?
    public var stepSize: Float?
    public var dependentQuantization: Bool
    public var codebookSize: Int?
    /// Bytes of the tensor's NDU (header + payload).
    public var bytes: Int
    public var elementCount: Int
    public var bitsPerParameter: Double { elementCount > 0 ? Double(bytes * 8) / Double(elementCount) : 0 }
    /// SNR of the reconstruction in dB (nil for integer tensors or an all-zero input).
    public var snrDB: Double?
    /// Largest |w − ŵ|.
    public var maxAbsError: Double
    /// Σ(w − ŵ)² over the tensor (0 for integer tensors); what the target search adds up.
    public var squaredErrorSum: Double = 0
}

public struct EncodedBitstream: Sendable {
    public var bytes: [UInt8]
    public var tensors: [EncodedTensorReport]
}

/// Errors of the encoder front end that are about the user's model, named by tensor.
public struct EncoderError: Error, CustomStringConvertible, Sendable {
    public var tensor: String
    public var message: String
    public var description: String { "tensor \(tensor): \(message)" }
}

/// Turns tensors into an NNR bitstream: STR, MPS, TPL, then one NDU per tensor in the given order.
public struct NNREncoder: Sendable {
    public var options: EncoderOptions
    public init(options: EncoderOptions = EncoderOptions()) { self.options = options }

    struct TensorResult {
        var unit: [UInt8]
        var report: EncodedTensorReport
    }

    /// NNR_STR, NNR_MPS and NNR_TPL as NNCodec writes them (profile 1, QP 0 in the MPS: every
    /// tensor's QP is its qp_offset). `parentSignalling` sets mps_parent_signalling_enabled_flag
    /// (an incremental update, or with `preFlag` a base that later updates refer to).
    func parameterSetUnits(parentSignalling: Bool, preFlag: Bool) throws -> [UInt8] {
        let ctx = SyntaxContext(generalProfileIdc: 1)
        var out: [UInt8] = []
        out += try NNRUnitSerializer.serialize(common: NNRUnitCommonHeader(type: NNRUnitType.startUnit.rawValue), content: .start(NNRStartUnitHeader(generalProfileIdc: 1)), context: ctx)
        var mps = NNRModelParameterSet()
        mps.mpsQpDensity = options.qpDensity
        mps.mpsQuantizationParameter = 0
        mps.mpsQuantizationMethodFlags = NNRQuantizationMethod.scalarUniform
        mps.mpsParentSignallingEnabledFlag = parentSignalling
        mps.nnrPreFlag = parentSignalling && preFlag
        out += try NNRUnitSerializer.serialize(common: NNRUnitCommonHeader(type: NNRUnitType.modelParameterSet.rawValue), content: .modelParameterSet(mps), context: ctx)
        var tpl = NNRTopologyUnit()
        tpl.topologyStorageFormat = 0
        out += try NNRUnitSerializer.serialize(common: NNRUnitCommonHeader(type: NNRUnitType.topology.rawValue), content: .topology(tpl), context: ctx)
        return out
    }

    /// Checks the options and the tensor names, and returns the units before the first NDU
    /// (NNR_STR, NNR_MPS, NNR_TPL).
    func leadingUnits(names tensorNames: [String]) throws -> [UInt8] {
        guard !tensorNames.isEmpty else { throw EncoderError(tensor: "-", message: "the model has no tensors") }
        guard (0...7).contains(options.qpDensity) else { throw EncoderError(tensor: "-", message: "qp density \(options.qpDensity) outside 0…7") }
        guard (0...4).contains(options.scanOrder) else { throw EncoderError(tensor: "-", message: "scan order \(options.scanOrder) outside 0…4") }
        var names = Set<String>()
        for name in tensorNames {
            guard names.insert(name).inserted else { throw EncoderError(tensor: name, message: "duplicate tensor name") }
            guard !name.utf8.contains(0) else { throw EncoderError(tensor: name, message: "name contains a NUL byte") }
        }
        return try parameterSetUnits(parentSignalling: false, preFlag: false)
    }

    public func encode(_ tensors: [Tensor], progress: ((Int, Int, String) -> Void)? = nil) throws -> EncodedBitstream {
        var out = try leadingUnits(names: tensors.map(\.name))

        // One NDU per tensor, or per block (a weight with its bias and batch-norm parameters).
        let units: [EncoderUnit] = options.blockUnits ? try BlockGrouping.units(tensors) : tensors.indices.map { .tensor($0) }
        var results = [Result<[TensorResult], Error>?](repeating: nil, count: units.count)
        let lock = NSLock()
        var done = 0
        let work: (Int) -> Void = { i in
            let r = Result { () throws -> [TensorResult] in
                switch units[i] {
                case .tensor(let k): return [try self.encodeTensor(tensors[k], parameterId: k)]
                case .block(let b): return try self.encodeBlock(b, tensors: tensors)
                }
            }
            lock.lock()
            results[i] = r
            done += 1
            let d = done
            lock.unlock()
            progress?(d, units.count, tensors[units[i].first].name)
        }
        if options.concurrent && units.count > 1 && ProcessInfo.processInfo.activeProcessorCount > 1 {
            DispatchQueue.concurrentPerform(iterations: units.count, execute: work)
        } else {
            for i in units.indices { work(i) }
        }
        var reports: [EncodedTensorReport] = []
        for r in results {
            switch r {
            case let .success(ts)?:
                for t in ts {
                    out += t.unit
                    reports.append(t.report)
                }
            case let .failure(e)?: throw e
            case nil: throw EncoderError(tensor: "-", message: "internal: tensor not encoded")
            }
        }
        let encoded = EncodedBitstream(bytes: out, tensors: reports)
        if let e = options.maxError { try verifyErrorBound(encoded, original: tensors, bound: e) }
        return encoded
    }

    /// Decodes what was written and checks every value against the bound (the guarantee of --max-error).
    func verifyErrorBound(_ encoded: EncodedBitstream, original: [Tensor], bound: Float) throws {
        var decoder = NNRDecoder(options: DecoderOptions(limits: options.limits, concurrent: options.concurrent, keepLevels: false))
        let decoded = try decoder.decode(NNRByteSource(bytes: encoded.bytes))
        let byName = Dictionary(uniqueKeysWithValues: original.map { ($0.name, $0) })
        for t in decoded.tensors {
            guard let o = byName[t.name], o.dtype.isFloatingPoint else { continue }
            let a = o.floatValues(), b = t.tensor.doubleValues()
            for i in a.indices where abs(Double(a[i]) - b[i]) > Double(bound) {
                throw EncoderError(tensor: t.name, message: "reconstruction error \(abs(Double(a[i]) - b[i])) at element \(i) exceeds --max-error \(bound)")
            }
        }
    }

    func encodeTensor(_ t: Tensor, parameterId: Int) throws -> TensorResult {
        let q = try quantizeTensor(t)
        return try writeNDU(q, node: NDUNode(parameterId: parameterId))
    }

    /// Codes the tensor taken out of `slot`; its bytes are released as soon as they are
    /// converted (the streaming encoder hands over its only copy).
    func encodeTensor(taking slot: inout Tensor?, parameterId: Int) throws -> TensorResult {
        guard let t = slot.take() else { throw EncoderError(tensor: "-", message: "internal: no tensor") }
        let q = try quantizeTensor(consume t)
        return try writeNDU(q, node: NDUNode(parameterId: parameterId))
    }

    /// Checks and quantizes one tensor (NNR_PT_INT for integers): the levels to code and the report
    /// (without the unit's bytes). `qp` overrides the QP chosen from the options.
    func quantizeTensor(_ t: consuming Tensor, qp qpOverride: Int? = nil) throws -> QuantizedForNDU {
        let dims = t.shape.isEmpty ? [1] : t.shape
        guard let count = NDUHeader.elementCount(dims, limit: options.limits.maxTensorElements) else {
            throw EncoderError(tensor: t.name, message: "shape \(t.shape) exceeds the limit of \(options.limits.maxTensorElements) elements")
        }
        guard count > 0 else { throw EncoderError(tensor: t.name, message: "empty tensor (shape \(t.shape))") }
        guard t.storage.count == count * t.dtype.byteWidth else {
            throw EncoderError(tensor: t.name, message: "holds \(t.storage.count) bytes, shape \(t.shape) × \(t.dtype.rawValue) needs \(count * t.dtype.byteWidth)")
        }
        var out = QuantizedForNDU(name: t.name, dims: dims, levels: [], payloadType: .float, qp: nil, dependentQuantization: false,
                                  codebook: nil,
                                  report: EncodedTensorReport(name: t.name, shape: dims, payloadType: .float, qp: nil, stepSize: nil,
                                                              dependentQuantization: false, codebookSize: nil, bytes: 0, elementCount: count,
                                                              snrDB: nil, maxAbsError: 0))
        if t.dtype.isInteger || t.dtype == .bool {
            // NNR_PT_INT: lossless integers.
            let wide = t.int64Values()
            t.storage = []
            var v = [Int32](repeating: 0, count: wide.count)
            for i in wide.indices {
                guard let x = Int32(exactly: wide[i]), x != Int32.min else {
                    throw EncoderError(tensor: t.name, message: "integer value \(wide[i]) at element \(i) does not fit NNR_PT_INT (int32)")
                }
                v[i] = x
            }
            out.levels = v
            out.payloadType = .int
            out.report.payloadType = .int
            return out
        }
        let geometry = TensorGeometry(dims: dims, scanOrder: options.scanOrder)
        let isWeight = dims.count > 1
        let qp = qpOverride ?? options.qpForTensor[t.name] ?? (isWeight ? options.qp : options.nonWeightQP)
        var qo = QuantizerOptions()
        qo.method = options.dependentQuantization ? .dependent : (options.lambdaScale > 0 ? .rdoq : .nearest)
        qo.lambdaScale = options.lambdaScale
        qo.rowSkipping = options.rowSkipping
        qo.maxError = options.maxError
        qo.levelRange = options.levelRange
        qo.cabacUnaryLengthMinus1 = options.cabacUnaryLengthMinus1
        let limit = 1 << (5 + options.qpDensity)
        qo.qpRange = -limit...(limit - 1)
        // The payload encoder checks the DQ path of these levels itself (PreparedTensor).
        qo.verifiesDependentPath = false
        let quant = try quantizeFloats(&t, options: qo, geometry: geometry, qp: qp,
                                       codebook: isWeight ? options.codebook : nil)
        out.levels = quant.q
        out.qp = quant.qp
        out.dependentQuantization = quant.dependentQuantization
        if let cb = quant.codebook {
            out.codebook = cb
            out.report.codebookSize = cb.entries.count
        }
        out.report.qp = quant.qp
        out.report.stepSize = quant.stepSize
        out.report.dependentQuantization = quant.dependentQuantization
        out.report.snrDB = quant.stats.snrDB.isFinite ? quant.stats.snrDB : nil
        out.report.maxAbsError = quant.stats.maxAbsError
        out.report.squaredErrorSum = quant.stats.meanSquaredError * Double(quant.stats.count)
        return out
    }

    /// Checks that a floating-point tensor's values are finite and quantizes them. float32 (on a
    /// little-endian host, without a codebook) is quantized in the memory of its bytes: no copy, and
    /// no fresh memory for one (whose first touch costs a page fault per 4 KiB); other types from a
    /// float32 copy, the bytes released first.
    func quantizeFloats(_ t: inout Tensor, options qo: QuantizerOptions, geometry: TensorGeometry, qp: Int,
                        codebook: CodebookMode?) throws -> QuantizedTensor {
        let name = t.name
        let density = options.qpDensity
        func checkFinite(_ v: UnsafeBufferPointer<Float>) throws {
            if let i = firstNonFinite(v) {
                throw EncoderError(tensor: name, message: "non-finite value \(v[i]) at element \(i)")
            }
        }
        func quantized(_ body: (Quantizer) throws -> QuantizedTensor) throws -> QuantizedTensor {
            do { return try body(Quantizer(options: qo)) } catch { throw EncoderError(tensor: name, message: "\(error)") }
        }
        if codebook == nil && t.dtype == .float32 && UInt32(littleEndian: 1) == 1 {
            return try t.storage.withUnsafeBytes { raw in
                try raw.withMemoryRebound(to: Float.self) { v in
                    try checkFinite(v)
                    return try quantized { try $0.quantize(buffer: v, geometry: geometry, qp: qp, qpDensity: density) }
                }
            }
        }
        let values = t.floatValues()
        t.storage = []
        try values.withUnsafeBufferPointer { try checkFinite($0) }
        if let mode = codebook {
            return try quantized {
                try $0.quantizeWithCodebook(values: values, geometry: geometry, qp: qp, qpDensity: density, mode: mode)
            }
        }
        return try quantized { try $0.quantize(values: values, geometry: geometry, qp: qp, qpDensity: density) }
    }

    /// Writes one NDU (header and arithmetic-coded payload) for quantized levels; `node` gives the
    /// node identity (parameter update tree) and, for an update, its parent and coding tools.
    func writeNDU(_ q: QuantizedForNDU, node: NDUNode) throws -> TensorResult {
        try writeUnit([q], block: nil, node: node)[0]
    }

    /// Writes one NDU carrying `parts` in payload order: one tensor, or with `block` the tensors of
    /// an NNR_PT_BLOCK (satellites first, the weight last). The unit's bytes are reported on the
    /// last part (the weight), 0 on the satellites.
    func writeUnit(_ parts: [QuantizedForNDU], block: BlockHeader?, node: NDUNode) throws -> [TensorResult] {
        guard let main = parts.last else { throw EncoderError(tensor: "-", message: "internal: empty NDU") }
        let dims = main.dims
        var h = NDUHeader()
        if let b = block {
            h.nnrCompressedDataUnitPayloadType = NNRPayloadType.block.rawValue
            h.nnrMultipleTopologyElementsPresentFlag = true
            h.topologyElemIdList = b.topologyElemIdList
            h.compressedParameterTypes = b.compressedParameterTypes
        } else {
            h.nnrCompressedDataUnitPayloadType = main.payloadType.rawValue
            h.topologyElemId = main.name
        }
        h.nodeIdPresentFlag = true
        h.deviceId = node.deviceId
        h.parameterId = node.parameterId
        h.putNodeDepth = node.putNodeDepth
        h.parentNodeIdPresentFlag = node.parentPresent
        if node.parentPresent {
            h.parentNodeIdType = 0
            h.parentDeviceId = node.deviceId
            h.temporalContextModelingFlag = node.tcaBase != nil
        }
        h.tensorDimensions = dims
        h.cabacUnaryLengthMinus1 = options.cabacUnaryLengthMinus1
        let geometry = TensorGeometry(dims: dims, scanOrder: options.scanOrder)
        h.scanOrder = dims.count > 1 ? geometry.scanOrder : 0
        h.dqFlag = main.payloadType != .int && main.dependentQuantization
        if let cb = main.codebook {
            h.codebookPresentFlag = true
            h.codebook = cb
        }
        let estimatorSelection: EstimatorSelectionMode = options.optimizeEstimators
            ? .sample(values: options.estimatorSampleValues) : .none
        var payloadEncoder = PayloadEncoder()
        for q in parts {
            var params = TensorPayloadParameters(dims: q.dims)
            params.generalProfileIdc = 1
            params.scanOrder = q.dims.count > 1 ? h.scanOrder : 0
            params.cabacUnaryLengthMinus1 = options.cabacUnaryLengthMinus1
            params.qpDensity = options.qpDensity
            params.parentNodeIdPresent = node.parentPresent
            params.tcaBase = node.parentPresent ? node.tcaBase : nil
            params.hdspHistory = node.parentPresent ? node.hdspHistory : nil
            params.codesQPOffset = q.payloadType != .int
            params.dqFlag = h.dqFlag
            params.codebook = q.codebook
            let enc = TensorEncodeOptions(qpOffset: q.qp ?? 0, rowSkipping: options.rowSkipping, hdsp: node.hdsp,
                                          estimatorSelection: node.estimatorSelection ?? estimatorSelection)
            do {
                try payloadEncoder.encodeTensor(levels: q.levels, parameters: params, options: enc)
            } catch {
                throw EncoderError(tensor: q.name, message: "\(error)")
            }
        }
        let payload = payloadEncoder.finish()
        h.entryPoints = payloadEncoder.encodedTensors.flatMap(\.entryPoints)
        let context = SyntaxContext(generalProfileIdc: 1, mpsParentSignallingEnabledFlag: node.mpsParentSignalling)
        let unit = try NNRUnitSerializer.serialize(common: NNRUnitCommonHeader(type: NNRUnitType.compressedData.rawValue), content: .compressedData(h),
                                                   context: context, payload: payload)
        return parts.enumerated().map { i, q in
            var report = q.report
            report.payloadType = block == nil ? q.payloadType : .block
            report.bytes = i == parts.count - 1 ? unit.count : 0
            return TensorResult(unit: i == parts.count - 1 ? unit : [], report: report)
        }
    }
}

/// A tensor ready for its NDU: the levels to code and what the header needs.
struct QuantizedForNDU: Sendable {
    var name: String
    var dims: [Int]
    /// Uniform: reconstruction indices q; codebook: signed indices; NNR_PT_INT: the integers.
    var levels: [Int32]
    var payloadType: NNRPayloadType
    /// The tensor's QP (nil for NNR_PT_INT).
    var qp: Int?
    var dependentQuantization: Bool
    var codebook: NNRCodebook?
    var report: EncodedTensorReport
}

/// Node identity (parameter update tree) and update tools of one NDU.
struct NDUNode: Sendable {
    var deviceId = 0
    var parameterId: Int
    /// 0 for a model written on its own; NNCodec counts 1, 2, … along a sequence.
    var putNodeDepth = 0
    /// mps_parent_signalling_enabled_flag of the stream (the NDU header has parent fields).
    var mpsParentSignalling = false
    /// parent_node_id_present_flag: this NDU is a differential update.
    var parentPresent = false
    /// TCA: the parent's reconstruction indices (temporal_context_modeling_flag = 1); nil = off.
    var tcaBase: [Int32]? = nil
    /// HDSP history of the tensor (nil = none yet).
    var hdspHistory: [UInt8]? = nil
    var hdsp: HDSPMode = .off
    /// Overrides the options' estimator selection (reference re-encoding: every value pseudo-coded).
    var estimatorSelection: EstimatorSelectionMode? = nil

    init(parameterId: Int) { self.parameterId = parameterId }
}
