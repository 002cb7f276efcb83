// Test-only helpers for the payload encoder: read a reference case (units.json header fields,
// case.json settings, levels.npz) and describe each NDU as the tensors the encoder must code.

import Foundation
import NNRBitIO
import NNRCoding
import NNRSyntax
import NNRModelIO
import NNRTestSupport

/// Encoder settings NNCodec used for a stream (from case.json).
struct ReferenceEncoderSettings {
    var rowSkipping: Bool
    var paramOpt: Bool
    var hdspTool: Bool

    /// `step` is the index of the stream in an incremental case (nil otherwise).
    static func from(caseInfo info: [String: Any], step: Int?) -> ReferenceEncoderSettings {
        var s = ReferenceEncoderSettings(rowSkipping: false, paramOpt: true, hdspTool: false)
        guard let cfg = CaseJSON.dict(info["config"]) else { return s }
        if let ea = CaseJSON.dict(cfg["effective_args"]) {
            // nncodec.nn / nncodec.tensor APIs (defaults: row_skipping True, param_opt True)
            s.rowSkipping = CaseJSON.bool(ea["row_skipping"]) ?? true
            s.paramOpt = CaseJSON.bool(ea["param_opt"]) ?? true
        } else if let args = CaseJSON.dict(cfg["args"]), let ck = CaseJSON.dict(args["compress_model_kwargs"]) {
            s.rowSkipping = CaseJSON.bool(ck["row_skipping"]) ?? false
            s.paramOpt = CaseJSON.bool(ck["param_opt"]) ?? true
        } else if let kw = CaseJSON.dict(cfg["kwargs"]) {
            // nnc.compress (defaults: row_skipping False, param_opt True)
            s.rowSkipping = CaseJSON.bool(kw["row_skipping"]) ?? false
            s.paramOpt = CaseJSON.bool(kw["param_opt"]) ?? true
        } else if let steps = cfg["kwargs_per_step"] as? [[String: Any]], let k = step, k < steps.count {
            let kw = steps[k]
            s.rowSkipping = CaseJSON.bool(kw["row_skipping"]) ?? false
            s.paramOpt = CaseJSON.bool(kw["param_opt"]) ?? true
            s.hdspTool = kw["hdsp_tool"] != nil
        }
        return s
    }
}

/// One tensor of a reference NDU, ready to encode.
struct ReferenceTensorJob {
    var name: String
    var levels: [Int32]
    var parameters: TensorPayloadParameters
    var qpOffset: Int
}

/// One reference NDU: its tensors in payload order and the expected payload.
struct ReferenceNDUJob {
    var unitIndex: Int
    var tensors: [ReferenceTensorJob]
    var expectedPayload: [UInt8]
    var headerEntryPoints: [EntryPoint]
}

struct ReferenceFailure: Error, CustomStringConvertible {
    var description: String
}

enum ReferenceEncoderJobs {
    /// Every NDU of `stream` with the levels and header settings that produced it.
    /// `history`/`previous` carry the incremental state (HDSP history = union of nonzero masks of the
    /// earlier streams' levels; TCA base = previous stream's levels).
    static func jobs(caseDir: URL, stream: CaseBitstream, stepIndex: Int?, previous: [String: [Int32]],
                     history: [String: [UInt8]]) throws -> [ReferenceNDUJob] {
        let info = try CaseFiles.caseInfo(caseDir)
        let levelsInfo: [String: Any]
        if let k = stepIndex, let steps = info["steps"] as? [[String: Any]], k < steps.count {
            levelsInfo = CaseJSON.dict(steps[k]["levels"]) ?? [:]
        } else {
            levelsInfo = CaseJSON.dict(info["levels"]) ?? [:]
        }
        let bytes = [UInt8](try Data(contentsOf: stream.bitstream))
        let units = try CaseFiles.units(stream.unitsJSON)
        let npz = try loadNPZ(stream.levels)
        var profile = 0
        var qpDensity = 0
        var baseQP = 0
        var out: [ReferenceNDUJob] = []
        for (ui, u) in units.enumerated() {
            guard let type = CaseJSON.int(u["type"]), let f = CaseJSON.dict(u["fields"]) else { continue }
            if type == 0 { profile = CaseJSON.int(f["general_profile_idc"]) ?? 0 }
            if type == 1 {
                qpDensity = CaseJSON.int(f["mps_qp_density"]) ?? 0
                baseQP = CaseJSON.int(f["mps_quantization_parameter"]) ?? 0
            }
            guard type == 5 else { continue }
            guard let ndu = CaseNDU(unit: u, fields: f), ndu.offset + ndu.size <= bytes.count else {
                throw ReferenceFailure(description: "unit \(ui): extent missing")
            }
            let (offset, size, header) = (ndu.offset, ndu.size, ndu.headerBytes)
            let payloadType = ndu.payloadType
            let dims = ndu.dims
            let scanOrder = ndu.scanOrder
            let dq = ndu.dq
            let unary = ndu.cabacUnaryLengthMinus1
            let parent = ndu.parentNodeIdPresent
            let tca = ndu.temporalContextModeling
            let cb = ndu.codebook
            let cbZero = ndu.codebookZeroOffset
            let headerEPs = ndu.entryPoints.map { EntryPoint(packed: $0) }

            var items: [(name: String, dims: [Int], codebook: [Int]?)] = []
            if payloadType == 3 {
                let names = ndu.topologyElementIdList
                let layout = try BlockLayout.tensors(compressedParameterTypes: ndu.compressedParameterTypes, dims: dims,
                                                     decompositionRank: ndu.decompositionRank,
                                                     gNumberOfRows: ndu.gNumberOfRows)
                for t in layout {
                    guard t.topologyIndex < names.count else { throw ReferenceFailure(description: "id list") }
                    items.append((names[t.topologyIndex], t.dims, t.codebookIndex == 0 ? cb : nil))
                }
            } else {
                items.append((ndu.topologyElementId, dims, cb))
            }

            var jobs: [ReferenceTensorJob] = []
            for it in items {
                guard let t = npz[it.name] else { throw ReferenceFailure(description: "no levels for \(it.name)") }
                var p = TensorPayloadParameters(dims: it.dims)
                p.generalProfileIdc = profile
                p.scanOrder = it.dims.count > 1 ? scanOrder : 0
                p.dqFlag = payloadType != 0 && dq
                p.cabacUnaryLengthMinus1 = unary
                p.codesQPOffset = payloadType == 1 || payloadType == 3
                p.qpDensity = qpDensity
                if let c = it.codebook { p.codebook = NNRCodebook(entries: Array(0..<c.count), cbZeroOffset: cbZero) }
                p.parentNodeIdPresent = parent
                if tca && profile == 1 { p.tcaBase = previous[it.name] }
                if parent { p.hdspHistory = history[it.name] }
                var qpOffset = 0
                if p.codesQPOffset {
                    guard let li = CaseJSON.dict(levelsInfo[it.name]), let qp = CaseJSON.int(li["qp"]) else {
                        throw ReferenceFailure(description: "no qp for \(it.name)")
                    }
                    qpOffset = qp - baseQP
                }
                jobs.append(ReferenceTensorJob(name: it.name, levels: t.int32Values(), parameters: p, qpOffset: qpOffset))
            }
            out.append(ReferenceNDUJob(unitIndex: ui, tensors: jobs,
                                       expectedPayload: Array(bytes[(offset + header)..<(offset + size)]),
                                       headerEntryPoints: headerEPs))
        }
        return out
    }

    /// Encodes one NDU job with the reference settings: payload bytes and the entry points of all its
    /// tensors in order.
    static func encode(_ job: ReferenceNDUJob, settings: ReferenceEncoderSettings,
                       explicitSets: [[UInt8]]? = nil) throws
        -> (payload: [UInt8], entryPoints: [EntryPoint], infos: [EncodedTensorInfo]) {
        var enc = PayloadEncoder()
        for (i, t) in job.tensors.enumerated() {
            var o = TensorEncodeOptions(qpOffset: t.qpOffset, rowSkipping: settings.rowSkipping,
                                        hdsp: settings.hdspTool ? .auto : .off,
                                        estimatorSelection: settings.paramOpt ? .optimize : .none)
            if let sets = explicitSets, i < sets.count { o.estimatorSelection = .explicit(sets[i]) }
            try enc.encodeTensor(levels: t.levels, parameters: t.parameters, options: o)
        }
        let payload = enc.finish()
        return (payload, enc.encodedTensors.flatMap { $0.entryPoints }, enc.encodedTensors)
    }

    /// The estimator sets of each tensor of the reference payload, read with the payload decoder.
    static func referenceEstimatorSets(_ job: ReferenceNDUJob) throws -> [[UInt8]] {
        var dec = try PayloadDecoder(payload: job.expectedPayload, fileOffset: 0)
        var out: [[UInt8]] = []
        for t in job.tensors { out.append(try dec.decodeTensor(t.parameters).estimatorSets) }
        return out
    }
}
