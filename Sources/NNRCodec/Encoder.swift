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

    public func encode(_ tensors: [Tensor], progress: ((Int, Int, String) -> Void)? = nil) throws -> EncodedBitstream {
        guard !tensors.isEmpty else { throw EncoderError(tensor: "-", message: "the model has no tensors") }
        guard (0...7).contains(options.qpDensity) else { throw EncoderError(tensor: "-", message: "qp density \(options.qpDensity) outside 0…7") }
        guard (0...4).contains(options.scanOrder) else { throw EncoderError(tensor: "-", message: "scan order \(options.scanOrder) outside 0…4") }
        var names = Set<String>()
        for t in tensors {
            guard names.insert(t.name).inserted else { throw EncoderError(tensor: t.name, message: "duplicate tensor name") }
            guard !t.name.utf8.contains(0) else { throw EncoderError(tensor: t.name, message: "name contains a NUL byte") }
        }
        let ctx = SyntaxContext(generalProfileIdc: 1)
        var out: [UInt8] = []
        out += try NNRUnitSerializer.serialize(common: NNRUnitCommonHeader(type: NNRUnitType.startUnit.rawValue), content: .start(NNRStartUnitHeader(generalProfileIdc: 1)), context: ctx)
        var mps = NNRModelParameterSet()
        mps.mpsQpDensity = options.qpDensity
        mps.mpsQuantizationParameter = 0
        mps.mpsQuantizationMethodFlags = NNRQuantizationMethod.scalarUniform
        out += try NNRUnitSerializer.serialize(common: NNRUnitCommonHeader(type: NNRUnitType.modelParameterSet.rawValue), content: .modelParameterSet(mps), context: ctx)
        var tpl = NNRTopologyUnit()
        tpl.topologyStorageFormat = 0
        out += try NNRUnitSerializer.serialize(common: NNRUnitCommonHeader(type: NNRUnitType.topology.rawValue), content: .topology(tpl), context: ctx)

        var results = [Result<TensorResult, Error>?](repeating: nil, count: tensors.count)
        let lock = NSLock()
        var done = 0
        let work: (Int) -> Void = { i in
            let r = Result { try self.encodeTensor(tensors[i], parameterId: i) }
            lock.lock()
            results[i] = r
            done += 1
            let d = done
            lock.unlock()
            progress?(d, tensors.count, tensors[i].name)
        }
        if options.concurrent && tensors.count > 1 && ProcessInfo.processInfo.activeProcessorCount > 1 {
            DispatchQueue.concurrentPerform(iterations: tensors.count, execute: work)
        } else {
            for i in tensors.indices { work(i) }
        }
        var reports: [EncodedTensorReport] = []
        for r in results {
            switch r {
            case let .success(t)?:
                out += t.unit
                reports.append(t.report)
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
        let dims = t.shape.isEmpty ? [1] : t.shape
        guard let count = NDUHeader.elementCount(dims, limit: options.limits.maxTensorElements) else {
            throw EncoderError(tensor: t.name, message: "shape \(t.shape) exceeds the limit of \(options.limits.maxTensorElements) elements")
        }
        guard count > 0 else { throw EncoderError(tensor: t.name, message: "empty tensor (shape \(t.shape))") }
        guard t.storage.count == count * t.dtype.byteWidth else {
            throw EncoderError(tensor: t.name, message: "holds \(t.storage.count) bytes, shape \(t.shape) × \(t.dtype.rawValue) needs \(count * t.dtype.byteWidth)")
        }
        var h = NDUHeader()
        h.topologyElemId = t.name
        h.nodeIdPresentFlag = true
        h.parameterId = parameterId
        h.tensorDimensions = dims
        h.cabacUnaryLengthMinus1 = options.cabacUnaryLengthMinus1
        let geometry = TensorGeometry(dims: dims, scanOrder: options.scanOrder)
        h.scanOrder = dims.count > 1 ? geometry.scanOrder : 0
        var params = TensorPayloadParameters(dims: dims)
        let estimatorSelection: EstimatorSelectionMode = options.optimizeEstimators
            ? .sample(values: options.estimatorSampleValues) : .none
        params.generalProfileIdc = 1
        params.scanOrder = h.scanOrder
        params.cabacUnaryLengthMinus1 = options.cabacUnaryLengthMinus1
        params.qpDensity = options.qpDensity
        var enc = TensorEncodeOptions(qpOffset: 0, rowSkipping: options.rowSkipping, hdsp: .off,
                                      estimatorSelection: estimatorSelection)
        let levels: [Int32]
        var report = EncodedTensorReport(name: t.name, shape: dims, payloadType: .float, qp: nil, stepSize: nil,
                                         dependentQuantization: false, codebookSize: nil, bytes: 0, elementCount: count,
                                         snrDB: nil, maxAbsError: 0)
        if t.dtype.isInteger || t.dtype == .bool {
            // NNR_PT_INT: lossless integers.
            let wide = t.int64Values()
            var v = [Int32](repeating: 0, count: wide.count)
            for i in wide.indices {
                guard let x = Int32(exactly: wide[i]), x != Int32.min else {
                    throw EncoderError(tensor: t.name, message: "integer value \(wide[i]) at element \(i) does not fit NNR_PT_INT (int32)")
                }
                v[i] = x
            }
            levels = v
            h.nnrCompressedDataUnitPayloadType = NNRPayloadType.int.rawValue
            h.dqFlag = false
            params.codesQPOffset = false
            params.dqFlag = false
            report.payloadType = .int
        } else {
            let values = t.floatValues()
            for (i, x) in values.enumerated() where !x.isFinite {
                throw EncoderError(tensor: t.name, message: "non-finite value \(x) at element \(i)")
            }
            let isWeight = dims.count > 1
            let qp = options.qpForTensor[t.name] ?? (isWeight ? options.qp : options.nonWeightQP)
            var qo = QuantizerOptions()
            qo.method = options.dependentQuantization ? .dependent : (options.lambdaScale > 0 ? .rdoq : .nearest)
            qo.lambdaScale = options.lambdaScale
            qo.rowSkipping = options.rowSkipping
            qo.maxError = options.maxError
            qo.levelRange = options.levelRange
            qo.cabacUnaryLengthMinus1 = options.cabacUnaryLengthMinus1
            let limit = 1 << (5 + options.qpDensity)
            qo.qpRange = -limit...(limit - 1)
            let quant: QuantizedTensor
            do {
                if let mode = options.codebook, isWeight {
                    quant = try Quantizer(options: qo).quantizeWithCodebook(values: values, geometry: geometry, qp: qp, qpDensity: options.qpDensity, mode: mode)
                } else {
                    quant = try Quantizer(options: qo).quantize(values: values, geometry: geometry, qp: qp, qpDensity: options.qpDensity)
                }
            } catch {
                throw EncoderError(tensor: t.name, message: "\(error)")
            }
            levels = quant.q
            h.nnrCompressedDataUnitPayloadType = NNRPayloadType.float.rawValue
            h.dqFlag = quant.dependentQuantization
            params.codesQPOffset = true
            params.dqFlag = quant.dependentQuantization
            enc.qpOffset = quant.qp
            if let cb = quant.codebook {
                h.codebookPresentFlag = true
                h.codebook = cb
                params.codebook = cb
                report.codebookSize = cb.entries.count
            }
            report.qp = quant.qp
            report.stepSize = quant.stepSize
            report.dependentQuantization = quant.dependentQuantization
            report.snrDB = quant.stats.snrDB.isFinite ? quant.stats.snrDB : nil
            report.maxAbsError = quant.stats.maxAbsError
        }
        var payloadEncoder = PayloadEncoder()
        do {
            try payloadEncoder.encodeTensor(levels: levels, parameters: params, options: enc)
        } catch {
            throw EncoderError(tensor: t.name, message: "\(error)")
        }
        let payload = payloadEncoder.finish()
        if let info = payloadEncoder.encodedTensors.first {
            h.entryPoints = info.entryPoints
        }
        let unit = try NNRUnitSerializer.serialize(common: NNRUnitCommonHeader(type: NNRUnitType.compressedData.rawValue), content: .compressedData(h),
                                                   context: SyntaxContext(generalProfileIdc: 1), payload: payload)
        report.bytes = unit.count
        return TensorResult(unit: unit, report: report)
    }
}
