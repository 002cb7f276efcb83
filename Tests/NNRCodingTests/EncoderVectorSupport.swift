// Test-only helpers for the payload encoder: read a reference case (units.json header fields,
// case.json settings, levels.npz) and describe each NDU as the tensors the encoder must code.

import Foundation
import NNRBitIO
import NNRCoding
import NNRModelIO
import NNRTestSupport

enum EncJSON {
    static func int(_ v: Any?) -> Int? {
        if let b = v as? Bool { return b ? 1 : 0 }
        if let i = v as? Int { return i }
        if let n = v as? NSNumber { return n.intValue }
        return nil
    }

    static func bool(_ v: Any?) -> Bool? {
        if let b = v as? Bool { return b }
        if let n = v as? NSNumber { return n.intValue != 0 }
        return nil
    }

    static func ints(_ v: Any?) -> [Int]? {
        guard let a = v as? [Any] else { return nil }
        var out: [Int] = []
        for e in a {
            guard let i = int(e) else { return nil }
            out.append(i)
        }
        return out
    }

    static func dict(_ v: Any?) -> [String: Any]? { v as? [String: Any] }
}

/// Encoder settings NNCodec used for a stream (from case.json).
struct ReferenceEncoderSettings {
    var rowSkipping: Bool
    var paramOpt: Bool
    var hdspTool: Bool

    /// `step` is the index of the stream in an incremental case (nil otherwise).
    static func from(caseInfo info: [String: Any], step: Int?) -> ReferenceEncoderSettings {
        var s = ReferenceEncoderSettings(rowSkipping: false, paramOpt: true, hdspTool: false)
        guard let cfg = EncJSON.dict(info["config"]) else { return s }
        if let ea = EncJSON.dict(cfg["effective_args"]) {
            // nncodec.nn / nncodec.tensor APIs (defaults: row_skipping True, param_opt True)
            s.rowSkipping = EncJSON.bool(ea["row_skipping"]) ?? true
            s.paramOpt = EncJSON.bool(ea["param_opt"]) ?? true
        } else if let args = EncJSON.dict(cfg["args"]), let ck = EncJSON.dict(args["compress_model_kwargs"]) {
            s.rowSkipping = EncJSON.bool(ck["row_skipping"]) ?? false
            s.paramOpt = EncJSON.bool(ck["param_opt"]) ?? true
        } else if let kw = EncJSON.dict(cfg["kwargs"]) {
            // nnc.compress (defaults: row_skipping False, param_opt True)
            s.rowSkipping = EncJSON.bool(kw["row_skipping"]) ?? false
            s.paramOpt = EncJSON.bool(kw["param_opt"]) ?? true
        } else if let steps = cfg["kwargs_per_step"] as? [[String: Any]], let k = step, k < steps.count {
            let kw = steps[k]
            s.rowSkipping = EncJSON.bool(kw["row_skipping"]) ?? false
            s.paramOpt = EncJSON.bool(kw["param_opt"]) ?? true
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
            levelsInfo = EncJSON.dict(steps[k]["levels"]) ?? [:]
        } else {
            levelsInfo = EncJSON.dict(info["levels"]) ?? [:]
        }
        let bytes = [UInt8](try Data(contentsOf: stream.bitstream))
        let units = try CaseFiles.units(stream.unitsJSON)
        let npz = try loadNPZ(stream.levels)
        var profile = 0
        var qpDensity = 0
        var baseQP = 0
        var out: [ReferenceNDUJob] = []
        for (ui, u) in units.enumerated() {
            guard let type = EncJSON.int(u["type"]), let f = EncJSON.dict(u["fields"]) else { continue }
            if type == 0 { profile = EncJSON.int(f["general_profile_idc"]) ?? 0 }
            if type == 1 {
                qpDensity = EncJSON.int(f["mps_qp_density"]) ?? 0
                baseQP = EncJSON.int(f["mps_quantization_parameter"]) ?? 0
            }
            guard type == 5 else { continue }
            guard let offset = EncJSON.int(u["offset"]), let size = EncJSON.int(u["nnr_unit_size"]),
                  let header = EncJSON.int(u["header_bytes"]), offset + size <= bytes.count else {
                throw ReferenceFailure(description: "unit \(ui): extent missing")
            }
            let payloadType = EncJSON.int(f["nnr_compressed_data_unit_payload_type"]) ?? 1
            let dims = EncJSON.ints(f["tensor_dimensions"]) ?? []
            let scanOrder = EncJSON.int(f["scan_order"]) ?? 0
            let dq = EncJSON.int(f["dq_flag"]) == 1
            let unary = EncJSON.int(f["cabac_unary_length_minus1"]) ?? 9
            let cpt = EncJSON.int(f["compressed_parameter_types"]) ?? 0
            let parent = EncJSON.int(f["parent_node_id_present_flag"]) == 1
            let tca = EncJSON.int(f["temporal_context_modeling_flag"]) == 1
            let cb = EncJSON.int(f["codebook_present_flag"]) == 1 ? EncJSON.ints(f["codebook__"]) : nil
            let cbZero = EncJSON.int(f["CbZeroOffset__"]) ?? 0
            let headerEPs = (EncJSON.ints(f["cabac_entry_point_list"]) ?? []).map { EntryPoint(packed: $0) }

            var items: [(name: String, dims: [Int], codebook: [Int]?)] = []
            if payloadType == 3 {
                let names = (f["topology_elem_id_list"] as? [Any])?.compactMap { $0 as? String } ?? []
                let layout = try BlockLayout.tensors(compressedParameterTypes: cpt, dims: dims,
                                                     decompositionRank: EncJSON.int(f["decomposition_rank"]),
                                                     gNumberOfRows: EncJSON.int(f["g_number_of_rows"]))
                for t in layout {
                    guard t.topologyIndex < names.count else { throw ReferenceFailure(description: "id list") }
                    items.append((names[t.topologyIndex], t.dims, t.codebookIndex == 0 ? cb : nil))
                }
            } else {
                items.append((f["topology_elem_id"] as? String ?? "?", dims, cb))
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
                if let c = it.codebook { p.codebook = CodebookInfo(size: c.count, zeroOffset: cbZero) }
                p.parentNodeIdPresent = parent
                if tca && profile == 1 { p.tcaBase = previous[it.name] }
                if parent { p.hdspHistory = history[it.name] }
                var qpOffset = 0
                if p.codesQPOffset {
                    guard let li = EncJSON.dict(levelsInfo[it.name]), let qp = EncJSON.int(li["qp"]) else {
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
