// Test-only helpers for the payload decoder: read the reference vectors' units.json (header fields
// parsed by NNCodec) and decode every NDU payload of a bitstream with PayloadDecoder.

import Foundation
import NNRBitIO
import NNRCoding
import NNRSyntax
import NNRModelIO
import NNRTestSupport

/// One tensor decoded from an NDU, with what reconstruction needs.
struct DecodedReferenceTensor {
    var name: String
    var payload: DecodedTensorPayload
    var dims: [Int]
    var qp: Int
    var qpDensity: Int
    /// payload type of the NDU (0 INT, 1 FLOAT, 3 BLOCK)
    var payloadType: Int
    var codebook: [Int]?
    var codebookZeroOffset: Int
}

/// The result of decoding one NDU.
struct DecodedReferenceNDU {
    var unitIndex: Int
    var tensors: [DecodedReferenceTensor]
    var end: PayloadEnd
    var expectedPayloadBytes: Int
    var headerEntryPoints: [EntryPoint]
    var observedEntryPoints: [EntryPoint]
}

/// Incremental decoding state carried between the steps of a sequence (spec section 8).
struct IncrementalState {
    /// Last decoded reconstruction indices q per tensor name (TCA base).
    var previousLevels: [String: [Int32]] = [:]
    /// Per tensor: 1 where any earlier decoded update (stream with parent signalling) had q ≠ 0.
    var history: [String: [UInt8]] = [:]
}

enum ReferenceStream {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Decodes every NDU of `bitstream` using the header fields of `unitsJSON`. `state` supplies and
    /// receives the TCA bases and HDSP histories.
    static func decode(bitstream: URL, unitsJSON: URL, state: inout IncrementalState,
                       limits: NNRLimits = .default) throws -> [DecodedReferenceNDU] {
        let bytes = [UInt8](try Data(contentsOf: bitstream))
        let units = try CaseFiles.units(unitsJSON)
        return try decode(bytes: bytes, units: units, state: &state, limits: limits)
    }

    /// Same from memory; `payloadTransform` may alter each NDU payload before decoding (corruption tests).
    static func decode(bytes: [UInt8], units: [[String: Any]], state: inout IncrementalState,
                       limits: NNRLimits = .default,
                       payloadTransform: ((Int, [UInt8]) -> [UInt8])? = nil) throws -> [DecodedReferenceNDU] {
        var profile = 0
        var qpDensity = 0
        var baseQP = 0
        var parentSignalling = false
        var out: [DecodedReferenceNDU] = []
        for (ui, u) in units.enumerated() {
            guard let type = CaseJSON.int(u["type"]), let fields = u["fields"] as? [String: Any] else {
                throw Failure(description: "unit \(ui): no type/fields")
            }
            switch type {
            case 0:
                profile = CaseJSON.int(fields["general_profile_idc"]) ?? 0
            case 1:
                qpDensity = CaseJSON.int(fields["mps_qp_density"]) ?? 0
                baseQP = CaseJSON.int(fields["mps_quantization_parameter"]) ?? 0
                parentSignalling = CaseJSON.int(fields["mps_parent_signalling_enabled_flag"]) == 1
            case 5:
                out.append(try decodeNDU(bytes: bytes, unit: u, fields: fields, unitIndex: ui, profile: profile,
                                         qpDensity: qpDensity, baseQP: baseQP, state: state, limits: limits,
                                         payloadTransform: payloadTransform))
            default:
                break
            }
        }
        // carry the state to the next stream
        var newHistory = state.history
        for ndu in out {
            for t in ndu.tensors {
                state.previousLevels[t.name] = t.payload.levels
                if parentSignalling {
                    var h = newHistory[t.name] ?? [UInt8](repeating: 0, count: t.payload.levels.count)
                    if h.count == t.payload.levels.count {
                        for i in 0..<h.count where t.payload.levels[i] != 0 { h[i] = 1 }
                    }
                    newHistory[t.name] = h
                }
            }
        }
        state.history = newHistory
        return out
    }

    static func decodeNDU(bytes: [UInt8], unit u: [String: Any], fields f: [String: Any], unitIndex: Int,
                          profile: Int, qpDensity: Int, baseQP: Int, state: IncrementalState,
                          limits: NNRLimits, payloadTransform: ((Int, [UInt8]) -> [UInt8])? = nil) throws -> DecodedReferenceNDU {
        guard let ndu = CaseNDU(unit: u, fields: f) else {
            throw Failure(description: "unit \(unitIndex): offset/size/header_bytes missing")
        }
        let (offset, size, header) = (ndu.offset, ndu.size, ndu.headerBytes)
        let payloadType = ndu.payloadType
        let dims = ndu.dims
        let scanOrder = ndu.scanOrder
        let dq = ndu.dq
        let unary = ndu.cabacUnaryLengthMinus1
        let parentPresent = ndu.parentNodeIdPresent
        let tcaFlag = ndu.temporalContextModeling
        let codebook = ndu.codebook
        let cbZero = ndu.codebookZeroOffset
        let headerEPs = ndu.entryPoints.map { EntryPoint(packed: $0) }

        // the tensors of the payload, in payload order
        struct Item { var name: String; var dims: [Int]; var codebook: [Int]?; var zero: Int; var eps: [EntryPoint] }
        var items: [Item] = []
        if payloadType == 3 {
            let names = ndu.topologyElementIdList
            let layout = try BlockLayout.tensors(compressedParameterTypes: ndu.compressedParameterTypes, dims: dims,
                                                 decompositionRank: ndu.decompositionRank,
                                                 gNumberOfRows: ndu.gNumberOfRows)
            var epStart = 0
            for t in layout {
                guard t.topologyIndex < names.count else { throw Failure(description: "unit \(unitIndex): id list too short") }
                var cb: [Int]? = nil
                var zero = 0
                if t.codebookIndex == 0 { cb = codebook; zero = cbZero }
                if t.codebookIndex == 1 { cb = ndu.codebookDC; zero = ndu.codebookZeroOffsetDC }
                var eps: [EntryPoint] = []
                if t.dims.count > 1 && scanOrder > 0 {
                    let n = TensorGeometry.blockRowCount(rows: t.dims[0], scanOrder: scanOrder) - 1
                    eps = Array(headerEPs[min(epStart, headerEPs.count)..<min(epStart + n, headerEPs.count)])
                    epStart += n
                }
                items.append(Item(name: names[t.topologyIndex], dims: t.dims, codebook: cb, zero: zero, eps: eps))
            }
        } else {
            items.append(Item(name: ndu.topologyElementId, dims: dims, codebook: codebook, zero: cbZero, eps: headerEPs))
        }

        let start = offset + header
        let end = offset + size
        guard start <= end, end <= bytes.count else { throw Failure(description: "unit \(unitIndex): bad extent") }
        var payload = Array(bytes[start..<end])
        if let t = payloadTransform { payload = t(unitIndex, payload) }
        var dec = try PayloadDecoder(payload: payload, fileOffset: start, limits: limits)
        var tensors: [DecodedReferenceTensor] = []
        var observed: [EntryPoint] = []
        for it in items {
            var p = TensorPayloadParameters(dims: it.dims)
            p.generalProfileIdc = profile
            p.scanOrder = it.dims.count > 1 ? scanOrder : 0
            p.dqFlag = payloadType != 0 && dq
            p.cabacUnaryLengthMinus1 = unary
            p.codesQPOffset = payloadType == 1 || payloadType == 3
            p.qpDensity = qpDensity
            if let cb = it.codebook { p.codebook = NNRCodebook(entries: Array(0..<cb.count), cbZeroOffset: it.zero) }
            p.parentNodeIdPresent = parentPresent
            if tcaFlag && profile == 1, let base = state.previousLevels[it.name] { p.tcaBase = base }
            if parentPresent, let h = state.history[it.name] { p.hdspHistory = h }
            p.entryPoints = it.eps
            let r = try dec.decodeTensor(p)
            observed += r.observedEntryPoints
            tensors.append(DecodedReferenceTensor(name: it.name, payload: r, dims: it.dims, qp: baseQP + r.qpOffset,
                                                  qpDensity: qpDensity, payloadType: payloadType,
                                                  codebook: it.codebook, codebookZeroOffset: it.zero))
        }
        let fin = try dec.finish()
        return DecodedReferenceNDU(unitIndex: unitIndex, tensors: tensors, end: fin, expectedPayloadBytes: size - header,
                                   headerEntryPoints: headerEPs, observedEntryPoints: observed)
    }

    /// Reconstruction of one decoded tensor as an NPZ-comparable Tensor.
    static func reconstruct(_ t: DecodedReferenceTensor) throws -> Tensor {
        if t.payloadType == 0 {
            return Tensor(name: t.name, shape: t.dims, int32: t.payload.levels)
        }
        if let cb = t.codebook {
            let v = try Reconstruction.codebookFloat64(levels: t.payload.levels, codebook: cb, zeroOffset: t.codebookZeroOffset,
                                                       qp: t.qp, qpDensity: t.qpDensity)
            return Tensor(name: t.name, shape: t.dims, float64: v)
        }
        return Tensor(name: t.name, shape: t.dims,
                      float32: Reconstruction.float32(levels: t.payload.levels, qp: t.qp, qpDensity: t.qpDensity))
    }
}
