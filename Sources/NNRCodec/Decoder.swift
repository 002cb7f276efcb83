import Foundation
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRCoding
import NNRModelIO

/// One tensor out of a bitstream.
public struct DecodedTensor: Sendable {
    /// Reconstructed values in the reference decoder's dtype (float32; float64 for codebook
    /// tensors; int32 for NNR_PT_INT).
    public var tensor: Tensor
    /// Integer levels out of the entropy decoder (uniform: reconstruction index q after DQ;
    /// codebook: signed index relative to CbZeroOffset; INT: the values). Empty for RAW_FLOAT.
    public var levels: [Int32]
    public var unitIndex: Int
    public var payloadType: NNRPayloadType
    /// Role inside an NNR_PT_BLOCK ("weight", "bias", …), nil outside blocks.
    public var role: String?
    /// The tensor's QP (base QP + qp_offset), nil when not coded.
    public var qp: Int?
    public var qpDensity: Int
    public var dqFlag: Bool
    public var codebook: NNRCodebook?
    public var rowSkipEnabled: Bool
    public var hdspEnabled: Bool
    public var scanOrder: Int

    public var name: String { tensor.name }
    /// Δ in float32, as reconstruction uses it.
    public var stepSize: Float? { qp.map { StepSize.float32(qp: $0, qpDensity: qpDensity) } }
}

/// What decoding one NDU observed, for checking.
public struct DecodedNDUInfo: Sendable {
    public var unitIndex: Int
    public var payloadEnd: PayloadEnd?
    public var payloadBytes: Int
    public var headerEntryPoints: [EntryPoint]
    public var observedEntryPoints: [EntryPoint]
    public var tensorNames: [String]
}

/// A decoded bitstream.
public struct DecodedBitstream: Sendable {
    public var units: [NNRParsedUnit]
    public var tensors: [DecodedTensor]
    public var ndus: [DecodedNDUInfo]

    public func tensor(named name: String) -> DecodedTensor? { tensors.first { $0.name == name } }
}

/// State carried from one bitstream of an incremental sequence to the next: the TCA bases
/// (previous reconstruction indices of each tensor) and the HDSP histories.
public struct IncrementalDecoderState: Sendable {
    public var previousLevels: [String: [Int32]] = [:]
    public var history: [String: [UInt8]] = [:]
    public init() {}
}

public struct DecoderOptions: Sendable {
    public var limits: NNRLimits = .default
    /// Decode independent NDUs concurrently.
    public var concurrent = true
    /// Keep the integer levels in the result.
    public var keepLevels = true
    /// Keep what a later bitstream of an incremental sequence needs (TCA bases, HDSP history).
    /// Turn off for the last (or only) bitstream to save the memory of the levels.
    public var carryState = true
    public init(limits: NNRLimits = .default, concurrent: Bool = true, keepLevels: Bool = true, carryState: Bool = true) {
        self.limits = limits
        self.concurrent = concurrent
        self.keepLevels = keepLevels
        self.carryState = carryState
    }
}

/// Decodes NNR bitstreams; feed the bitstreams of an incremental sequence to the same decoder in order.
public struct NNRDecoder: Sendable {
    public var options: DecoderOptions
    public var state = IncrementalDecoderState()

    public init(options: DecoderOptions = DecoderOptions()) { self.options = options }

    /// One tensor of an NDU payload, in payload order.
    struct PlannedTensor {
        var name: String
        var role: String?
        var dims: [Int]
        var codebook: NNRCodebook?
        var entryPoints: [EntryPoint]
    }

    struct Job {
        var unit: NNRParsedUnit
        var header: NDUHeader
        var tensors: [PlannedTensor]
        var qp: Int
        var qpDensity: Int
    }

    public mutating func decode(_ source: NNRByteSource) throws -> DecodedBitstream {
        let (units, error) = NNRUnitParser.parseAll(source, limits: options.limits)
        if let e = error { throw e }
        return try decode(units: units, source: source)
    }

    public mutating func decode(url: URL) throws -> DecodedBitstream {
        try decode(NNRByteSource(contentsOf: url))
    }

    /// Decodes already-parsed units (top level, and the units inside NNR_AGG).
    public mutating func decode(units: [NNRParsedUnit], source: NNRByteSource) throws -> DecodedBitstream {
        var flat: [NNRParsedUnit] = []
        func add(_ u: NNRParsedUnit) {
            flat.append(u)
            for c in u.children { add(c) }
        }
        units.forEach(add)

        // Unit order and parameter sets.
        guard let first = units.first else {
            throw NNRError(.invalidValue("empty bitstream"), element: "nnr_unit", byteOffset: 0)
        }
        guard case .start = first.content else {
            throw NNRError(.invalidValue("the first unit must be NNR_STR, found \(first.typeName)"), element: "nnr_unit_type",
                           byteOffset: first.location.offset, unitIndex: 0)
        }
        var mps: NNRModelParameterSet?
        var lps: NNRLayerParameterSet?
        var jobs: [Job] = []
        var rawJobs: [(NNRParsedUnit, NDUHeader)] = []
        var totalBytes = 0
        var parentSignalling = false
        for u in flat {
            switch u.content {
            case let .modelParameterSet(m):
                mps = m
                parentSignalling = m.mpsParentSignallingEnabledFlag
            case let .layerParameterSet(l):
                lps = l
            case let .compressedData(h):
                guard let m = mps else {
                    throw NNRError(.invalidValue("NNR_NDU before any NNR_MPS"), element: "nnr_unit_type",
                                   byteOffset: u.location.offset, unitIndex: u.location.index)
                }
                if u.common.partialDataCounterPresentFlag {
                    throw NNRError(.unsupported("partial data units (partial_data_counter_present_flag = 1)"), element: "partial_data_counter_present_flag",
                                   byteOffset: u.location.offset, unitIndex: u.location.index)
                }
                let plan = try Self.plan(h, unit: u)
                for t in plan {
                    guard let n = NDUHeader.elementCount(t.dims, limit: options.limits.maxTensorElements) else {
                        throw NNRError(.limitExceeded("tensor \(t.name) \(t.dims) exceeds \(options.limits.maxTensorElements) elements"),
                                       element: "tensor_dimensions", byteOffset: u.location.offset, unitIndex: u.location.index)
                    }
                    let (sum, o) = totalBytes.addingReportingOverflow(n &* 8)
                    guard !o, sum <= options.limits.maxTotalDecodedBytes else {
                        throw NNRError(.limitExceeded("decoded tensors exceed \(options.limits.maxTotalDecodedBytes) bytes"),
                                       element: "tensor_dimensions", byteOffset: u.location.offset, unitIndex: u.location.index)
                    }
                    totalBytes = sum
                }
                if h.payloadType == .rawFloat {
                    rawJobs.append((u, h))
                    continue
                }
                guard h.payloadType != nil else {
                    throw NNRError(.unsupported("nnr_compressed_data_unit_payload_type \(h.nnrCompressedDataUnitPayloadType)"),
                                   element: "nnr_compressed_data_unit_payload_type", byteOffset: u.location.offset + u.common.byteLength,
                                   unitIndex: u.location.index)
                }
                var qp = m.mpsQuantizationParameter, density = m.mpsQpDensity
                var hasQP = m.hasQuantizationParameters
                if let l = lps, l.hasQuantizationParameters {
                    qp = l.lpsQuantizationParameter
                    density = l.lpsQpDensity
                    hasQP = true
                }
                if h.payloadType != .int && !hasQP {
                    throw NNRError(.invalidValue("NNR_PT_FLOAT/BLOCK data needs mps_qp_density and mps_quantization_parameter (mps_quantization_method_flags is 0)"),
                                   element: "mps_quantization_method_flags", byteOffset: u.location.offset, unitIndex: u.location.index)
                }
                jobs.append(Job(unit: u, header: h, tensors: plan, qp: qp, qpDensity: density))
            case .reserved(let t):
                throw NNRError(.unsupported("nnr_unit_type \(t) is reserved"), element: "nnr_unit_type",
                               byteOffset: u.location.offset, unitIndex: u.location.index)
            default:
                break
            }
        }

        // Decode NDUs (independent within one bitstream) — concurrently when allowed.
        let state = self.state
        let limits = options.limits
        // Levels are kept for the caller, or for the next bitstream of an incremental sequence.
        let keep = options.keepLevels || options.carryState
        var results = [Result<([DecodedTensor], DecodedNDUInfo, Int), Error>?](repeating: nil, count: jobs.count)
        let work: (Int) -> Result<([DecodedTensor], DecodedNDUInfo, Int), Error> = { i in
            Result {
                let (t, info) = try Self.decodeJob(jobs[i], source: source, state: state, limits: limits, keepLevels: keep)
                return (t, info, jobs[i].unit.location.offset)
            }
        }
        if options.concurrent && jobs.count > 1 && ProcessInfo.processInfo.activeProcessorCount > 1 {
            let box = ResultBox(count: jobs.count)
            DispatchQueue.concurrentPerform(iterations: jobs.count) { i in box.set(i, work(i)) }
            results = box.values
        } else {
            for i in jobs.indices { results[i] = work(i) }
        }

        var tensors: [DecodedTensor] = []
        var infos: [DecodedNDUInfo] = []
        var byUnit: [Int: ([DecodedTensor], DecodedNDUInfo)] = [:]
        for r in results {
            switch r {
            case let .success(v)?: byUnit[v.2] = (v.0, v.1)
            case let .failure(e)?: throw e
            case nil: break
            }
        }
        for (u, h) in rawJobs {
            let t = try Self.decodeRawFloat(u, header: h, source: source)
            byUnit[u.location.offset] = ([t], DecodedNDUInfo(unitIndex: u.location.index, payloadEnd: nil, payloadBytes: u.payloadRange.count,
                                                            headerEntryPoints: [], observedEntryPoints: [], tensorNames: [t.name]))
        }
        // File order (units inside an AGG keep their own indices; order by file offset).
        for u in flat {
            guard case .compressedData = u.content, let v = byUnit[u.location.offset] else { continue }
            tensors += v.0
            infos.append(v.1)
        }

        // Carry incremental state.
        for t in tensors where !t.levels.isEmpty || t.payloadType == .rawFloat {
            if t.payloadType == .rawFloat { continue }
            self.state.previousLevels[t.name] = t.levels
            if parentSignalling {
                var h = self.state.history[t.name] ?? [UInt8](repeating: 0, count: t.levels.count)
                if h.count == t.levels.count {
                    for i in 0..<h.count where t.levels[i] != 0 { h[i] = 1 }
                    self.state.history[t.name] = h
                }
            }
        }
        if !options.keepLevels {
            for i in tensors.indices { tensors[i].levels = [] }
        }
        return DecodedBitstream(units: units, tensors: tensors, ndus: infos)
    }

    /// The tensors of an NDU in payload order with their shapes, codebooks and entry points.
    static func plan(_ h: NDUHeader, unit u: NNRParsedUnit) throws -> [PlannedTensor] {
        let headerEPs = h.entryPoints
        let pos = u.location.offset
        if h.isBlock {
            let names = h.topologyElemIdList
            let expected = BlockLayout.topologyElementCount(compressedParameterTypes: h.compressedParameterTypes)
            guard names.count == expected else {
                throw NNRError(.invalidValue("NNR_PT_BLOCK with compressed_parameter_types \(h.compressedParameterTypes) needs \(expected) topology elements, has \(names.count)"),
                               element: "count_topology_elements_minus2", byteOffset: pos, unitIndex: u.location.index)
            }
            let layout: [BlockTensor]
            do {
                layout = try BlockLayout.tensors(compressedParameterTypes: h.compressedParameterTypes, dims: h.tensorDimensions,
                                                 decompositionRank: h.hasDecomposition ? h.decompositionRank : nil,
                                                 gNumberOfRows: h.hasDecomposition ? h.gNumberOfRows : nil)
            } catch var e as NNRError {
                e.position = BitPosition(byteOffset: pos, bitOffset: 0)
                throw e.inUnit(u.location.index)
            }
            var out: [PlannedTensor] = []
            var epStart = 0
            for t in layout {
                var cb: NNRCodebook?
                if h.codebookPresentFlag {
                    if t.codebookIndex == 0 { cb = h.codebook }
                    if t.codebookIndex == 1 { cb = h.codebookDC }
                }
                var eps: [EntryPoint] = []
                if t.dims.count > 1 && h.scanOrder > 0 {
                    let n = TensorGeometry.blockRowCount(rows: t.dims[0], scanOrder: h.scanOrder) - 1
                    let lo = Swift.min(epStart, headerEPs.count), hi = Swift.min(epStart + n, headerEPs.count)
                    eps = Array(headerEPs[lo..<hi])
                    epStart += n
                }
                out.append(PlannedTensor(name: names[t.topologyIndex], role: t.role.rawValue, dims: t.dims, codebook: cb, entryPoints: eps))
            }
            return out
        }
        var dims = h.tensorDimensions
        if h.hasDecomposition {
            // DC outside a block: G or H by the element name's suffix (as the reference).
            let total = NDUHeader.elementCount(dims, limit: Int.max) ?? 0
            guard h.gNumberOfRows >= 1, h.decompositionRank >= 1 else {
                throw NNRError(.invalidValue("g_number_of_rows and decomposition_rank must be ≥ 1"), element: "g_number_of_rows",
                               byteOffset: pos, unitIndex: u.location.index)
            }
            dims = h.topologyElemId.hasSuffix("_G") ? [h.gNumberOfRows, h.decompositionRank]
                : [h.decompositionRank, total / h.gNumberOfRows]
        }
        let name = h.nnrMultipleTopologyElementsPresentFlag ? (h.topologyElemIdList.first ?? "")
            : (u.context.mpsTopologyIndexedReferenceFlag ? "#\(h.topologyElemIdIndex)" : h.topologyElemId)
        return [PlannedTensor(name: name, role: nil, dims: dims, codebook: h.codebookPresentFlag ? h.codebook : nil, entryPoints: headerEPs)]
    }

    static func decodeJob(_ job: Job, source: NNRByteSource, state: IncrementalDecoderState, limits: NNRLimits,
                          keepLevels: Bool) throws -> ([DecodedTensor], DecodedNDUInfo) {
        let u = job.unit
        let h = job.header
        let payload = source.bytes(u.payloadRange)
        var dec: PayloadDecoder
        do {
            dec = try PayloadDecoder(payload: payload, fileOffset: u.payloadRange.lowerBound, limits: limits)
        } catch let e as NNRError { throw e.inUnit(u.location.index) }
        let profile = u.context.generalProfileIdc
        let pt = h.payloadType ?? .float
        var out: [DecodedTensor] = []
        var observed: [EntryPoint] = []
        for t in job.tensors {
            var p = TensorPayloadParameters(dims: t.dims)
            p.generalProfileIdc = profile
            p.scanOrder = t.dims.count > 1 ? h.scanOrder : 0
            p.dqFlag = pt != .int && h.dqFlag
            p.cabacUnaryLengthMinus1 = h.cabacUnaryLengthMinus1
            p.codesQPOffset = pt == .float || pt == .block
            p.qpDensity = job.qpDensity
            p.codebook = t.codebook
            p.parentNodeIdPresent = h.parentNodeIdPresentFlag
            if h.temporalContextModelingFlag && profile == 1 {
                guard let base = state.previousLevels[t.name] else {
                    throw NNRError(.invalidValue("temporal_context_modeling_flag = 1 but no earlier bitstream carried tensor \(t.name)"),
                                   element: "temporal_context_modeling_flag", byteOffset: u.location.offset, unitIndex: u.location.index)
                }
                p.tcaBase = base
            }
            if h.parentNodeIdPresentFlag, let hist = state.history[t.name] { p.hdspHistory = hist }
            p.entryPoints = t.entryPoints
            let r: DecodedTensorPayload
            do { r = try dec.decodeTensor(p) } catch let e as NNRError { throw e.inUnit(u.location.index) }
            observed += r.observedEntryPoints
            let tensor: Tensor
            var qp: Int? = nil
            switch pt {
            case .int:
                tensor = Tensor(name: t.name, shape: t.dims, int32: r.levels)
            default:
                let tqp = job.qp + r.qpOffset
                qp = tqp
                if let cb = t.codebook {
                    let values: [Double]
                    do {
                        values = try Reconstruction.codebookFloat64(levels: r.levels, codebook: cb.entries, zeroOffset: cb.cbZeroOffset,
                                                                    qp: tqp, qpDensity: job.qpDensity)
                    } catch var e as NNRError {
                        e.position = BitPosition(byteOffset: u.payloadRange.lowerBound, bitOffset: 0)
                        throw e.inUnit(u.location.index)
                    }
                    tensor = Tensor(name: t.name, shape: t.dims, float64: values)
                } else {
                    tensor = Tensor(name: t.name, shape: t.dims, float32: Reconstruction.float32(levels: r.levels, qp: tqp, qpDensity: job.qpDensity))
                }
            }
            out.append(DecodedTensor(tensor: tensor, levels: keepLevels ? r.levels : [], unitIndex: u.location.index, payloadType: pt, role: t.role,
                                     qp: qp, qpDensity: job.qpDensity, dqFlag: p.dqFlag, codebook: t.codebook,
                                     rowSkipEnabled: r.rowSkipEnabled, hdspEnabled: r.hdspEnabled, scanOrder: p.scanOrder))
        }
        let end: PayloadEnd
        do { end = try dec.finish() } catch let e as NNRError { throw e.inUnit(u.location.index) }
        if end.bytesConsumed != payload.count {
            throw NNRError(.sizeMismatch("the arithmetic-coded payload ends after \(end.bytesConsumed) bytes but the unit holds \(payload.count)"),
                           element: "nnr_unit_size", byteOffset: u.location.offset, bitOffset: 1, unitIndex: u.location.index)
        }
        let info = DecodedNDUInfo(unitIndex: u.location.index, payloadEnd: end, payloadBytes: payload.count,
                                  headerEntryPoints: h.entryPoints, observedEntryPoints: observed, tensorNames: job.tensors.map(\.name))
        return (out, info)
    }

    static func decodeRawFloat(_ u: NNRParsedUnit, header h: NDUHeader, source: NNRByteSource) throws -> DecodedTensor {
        let plan = try Self.plan(h, unit: u)
        guard let t = plan.first, let n = NDUHeader.elementCount(t.dims, limit: Int.max / 4) else {
            throw NNRError(.invalidValue("NNR_PT_RAW_FLOAT without dimensions"), element: "tensor_dimensions", byteOffset: u.location.offset, unitIndex: u.location.index)
        }
        guard u.payloadRange.count == n * 4 else {
            throw NNRError(.sizeMismatch("NNR_PT_RAW_FLOAT payload holds \(u.payloadRange.count) bytes, \(n * 4) expected"),
                           element: "raw_float32_parameter", byteOffset: u.payloadRange.lowerBound, unitIndex: u.location.index)
        }
        let tensor = Tensor(name: t.name, dtype: .float32, shape: t.dims, storage: source.bytes(u.payloadRange))
        return DecodedTensor(tensor: tensor, levels: [], unitIndex: u.location.index, payloadType: .rawFloat, role: nil, qp: nil,
                             qpDensity: 0, dqFlag: false, codebook: nil, rowSkipEnabled: false, hdspEnabled: false, scanOrder: 0)
    }
}

/// Collects results from concurrent work.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [Result<([DecodedTensor], DecodedNDUInfo, Int), Error>?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ v: Result<([DecodedTensor], DecodedNDUInfo, Int), Error>) {
        lock.lock(); values[i] = v; lock.unlock()
    }
}
