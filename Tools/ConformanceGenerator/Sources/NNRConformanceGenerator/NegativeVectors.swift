import Foundation
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRCoding
import NNRTools

/// A negative vector: which rule it breaks, how it was made, and the files decoded before it.
public struct NegativeVector: Sendable {
    public var rule: String
    /// File name under Conformance/negative/ (without the directory).
    public var fileName: String
    public var bytes: [UInt8]
    /// Rule IDs the checker must report (exactly these); `rule` first.
    public var expectedRules: [String]
    /// Conformance/-relative bitstreams checked before this one (incremental sequences).
    public var after: [String] = []
    /// Conformance/-relative path of the vector it was made from.
    public var base: String
    public var mutation: String
}

/// The negative vectors in the order they are built (the manifest's order).
struct NegativeVectorList {
    var vectors: [NegativeVector] = []

    mutating func add(_ rule: String, _ base: String, _ mutation: String, _ bytes: [UInt8], also: [String] = [], after: [String] = [],
                      variant: String? = nil) {
        vectors.append(NegativeVector(rule: rule, fileName: rule + (variant.map { "-" + $0 } ?? "") + ".nnc", bytes: bytes,
                                      expectedRules: [rule] + also, after: after, base: base, mutation: mutation))
    }
}

// MARK: The negative vectors

extension ConformanceSuiteBuilder {
    /// The bundled positive vectors the negative ones are made from (Conformance/-relative).
    var tiny: String { "vectors/t_tiny_1x1/bitstream.nnc" }
    var tiny1D: String { "vectors/t_tiny_1/bitstream.nnc" }
    var int16: String { "vectors/t_int16_signed_64x48/bitstream.nnc" }
    var codebook: String { "vectors/t2d_codebook_clustered/bitstream.nnc" }
    var blocks: String { "vectors/m_torch_smallcnn_blocks/bitstream.nnc" }
    var scan: String { "vectors/gen_scan_order1_dq_64x40/bitstream.nnc" }
    var incStep0: String { "vectors/gen_inc_tca_scan1_40x24/step0.nnc" }
    var incStep1: String { "vectors/gen_inc_tca_scan1_40x24/step1.nnc" }
    var hdspStep0: String { "vectors/gen_inc_hdsp_48x32/step0.nnc" }
    var hdspStep1: String { "vectors/gen_inc_hdsp_48x32/step1.nnc" }

    /// The bytes of `base` with the header of its first NDU changed by `edit` (payload kept).
    func editedNDU(_ base: String, _ edit: (inout NDUHeader) throws -> Void) throws -> [UInt8] {
        var s = try stream(base)
        let i = try s.index(of: .compressedData)
        var h = try s.ndu(i)
        try edit(&h)
        try s.setNDU(i, h)
        return s.bytes
    }

    /// The bytes of `base` with its NNR_MPS changed by `edit`.
    func editedMPS(_ base: String, _ edit: (inout NNRModelParameterSet) throws -> Void) throws -> [UInt8] {
        var s = try stream(base)
        var m = try s.mps()
        try edit(&m)
        try s.setMPS(m)
        return s.bytes
    }

    /// Every negative vector, one or more per rule of Spec/conformance-rules.md.
    public func negativeVectors() throws -> [NegativeVector] {
        var list = NegativeVectorList()
        try containerVectors(&list)
        try orderVectors(&list)
        try headerVectors(&list)
        try payloadVectors(&list)
        try incrementalVectors(&list)
        return list.vectors
    }

    /// Container rules.
    func containerVectors(_ list: inout NegativeVectorList) throws {
        do {
            let s = try stream(tiny)
            list.add(CheckRules.unitsTileFile, tiny, "the last byte removed (the last unit runs past the end of the file)", Array(s.bytes.dropLast()))
            list.add(CheckRules.unitsTileFile, tiny, "one byte 0x00 appended after the last unit", s.bytes + [0x00], variant: "trailing")
        }
        do {
            var s = try stream(tiny)
            let i = try s.index(of: .modelParameterSet)
            var p = s.pieces[i]
            p.append(0x00)
            p[1] = UInt8(p.count)  // 16-bit size form: the low byte
            s.pieces[i] = p
            list.add(CheckRules.unitSyntaxFitsSize, tiny, "NNR_MPS: one byte 0x00 appended inside the unit (nnr_unit_size + 1)", s.bytes)
        }
        do {
            var s = try stream(tiny)
            let i = try s.index(of: .compressedData)
            try s.setNDU(i, try s.ndu(i), longSize: true)
            list.add(CheckRules.longSizeForm, tiny, "the NDU re-written in the 32-bit size form", s.bytes)
        }
        do {
            var s = try stream(tiny)
            let i = try s.index(of: .compressedData)
            let reserved = try NNRUnitWriter.unit(common: NNRUnitCommonHeader(type: 7), body: [])
            s.pieces.insert(reserved, at: i)
            list.add(CheckRules.reservedUnitType, tiny, "a 3-byte unit of the reserved type 7 inserted before the NDU", s.bytes)
        }
        do {
            var s = try stream(tiny)
            let t = try s.index(of: .topology), n = try s.index(of: .compressedData)
            let carried = s.pieces[t] + s.pieces[n]
            var agg = NNRAggregateUnitHeader()
            agg.numOfNNRUnitsMinus2 = 0
            let unit = try NNRUnitSerializer.serialize(common: NNRUnitCommonHeader(type: 6), content: .aggregate(agg),
                                                       context: s.units[n].context, payload: carried)
            s.pieces = Array(s.pieces[..<t]) + [unit]
            list.add(CheckRules.aggregateUnit, tiny, "NNR_TPL and NNR_NDU carried in an NNR_AGG (no entry points)", s.bytes)

            agg.entryPointsPresentFlag = true
            agg.unitTypes = [3, 5]
            agg.unitEntryPoints = [0, 5]  // the NDU starts at 6 (after the 6-byte NNR_TPL), not 5
            let wrong = try NNRUnitSerializer.serialize(common: NNRUnitCommonHeader(type: 6), content: .aggregate(agg),
                                                        context: s.units[n].context, payload: carried)
            s.pieces[s.pieces.count - 1] = wrong
            list.add(CheckRules.aggregateContent, tiny, "NNR_AGG with entry points; the second entry point says 5, the NDU starts at payload offset 6",
                s.bytes, also: [CheckRules.aggregateUnit])
        }
        do {
            var s = try stream(tiny)
            let i = try s.index(of: .compressedData)
            try s.setNDU(i, try s.ndu(i), common: NNRUnitCommonHeader(type: 5, partialDataCounter: 0))
            list.add(CheckRules.partialDataCounter, tiny, "partial_data_counter_present_flag = 1 (counter 0) on the NDU", s.bytes)
        }
    }

    /// Order rules.
    func orderVectors(_ list: inout NegativeVectorList) throws {
        do {
            var s = try stream(tiny)
            let t = try s.index(of: .topology)
            s.pieces.insert(s.pieces[t], at: 0)
            list.add(CheckRules.firstUnitIsStart, tiny, "a copy of NNR_TPL inserted before NNR_STR", s.bytes)
        }
        do {
            var s = try stream(tiny)
            s.pieces.append(s.pieces[try s.index(of: .startUnit)])
            list.add(CheckRules.singleStart, tiny, "a second NNR_STR appended", s.bytes)
        }
        do {
            var s = try stream(tiny)
            let m = try s.index(of: .modelParameterSet), t = try s.index(of: .topology)
            s.pieces.swapAt(m, t)
            list.add(CheckRules.mpsAfterStart, tiny, "NNR_MPS and NNR_TPL swapped", s.bytes)
        }
        do {
            var s = try stream(tiny)
            s.pieces.append(s.pieces[try s.index(of: .modelParameterSet)])
            list.add(CheckRules.singleMPS, tiny, "a second NNR_MPS appended", s.bytes)
        }
        do {
            var s = try stream(tiny)
            var m = try s.mps()
            m.mpsTopologyIndexedReferenceFlag = true
            try s.setMPS(m)
            let i = try s.index(of: .compressedData)
            var ctx = s.units[i].context
            ctx.mpsTopologyIndexedReferenceFlag = true
            var h = try s.ndu(i)
            h.topologyElemIdIndex = 0
            try s.setNDU(i, h, context: ctx)
            list.add(CheckRules.indexedReferenceList, tiny,
                "mps_topology_indexed_reference_flag = 1 and the NDU refers to element index 0, but the NNR_TPL is NNR_TPL_UNREC (no REFLIST)", s.bytes)
        }
        list.add(CheckRules.decompositionPairing, tiny, "the NDU marked as decomposition G (NNR_CPT_DC, name tiny_G, rank 1, 1 row) with no _H NDU after it", try editedNDU(tiny) { h in
            h.topologyElemId += "_G"
            h.compressedParameterTypes |= NNRCompressedParameterType.dc
            h.decompositionRank = 1
            h.gNumberOfRows = 1
        })
        do {
            var s = try stream(tiny)
            let i = try s.index(of: .compressedData)
            s.pieces.insert(s.pieces[i], at: i + 1)
            list.add(CheckRules.tensorNameOnce, tiny, "the NDU repeated right after itself (tensor tiny twice)", s.bytes)
        }
    }

    /// Header rules.
    func headerVectors(_ list: inout NegativeVectorList) throws {
        list.add(CheckRules.reservedBits, tiny, "NNR_MPS nnr_reserved_zero_2bits = 1", try editedMPS(tiny) { $0.nnrReservedZero2Bits = 1 })
        do {
            var s = try stream(tiny)
            let i = try s.index(of: .modelParameterSet)
            var p = s.pieces[i]
            guard p.last == 0x80 else { throw BuildError.unexpected("MPS does not end with a whole alignment byte") }
            p[p.count - 1] = 0x81
            s.pieces[i] = p
            list.add(CheckRules.byteAlignment, tiny, "NNR_MPS byte_alignment() 0x80 → 0x81", s.bytes)
        }
        do {
            var s = try stream(tiny1D)
            let str = try s.index(of: .startUnit)
            s.pieces[str] = try NNRUnitSerializer.serialize(common: s.units[str].common, content: .start(NNRStartUnitHeader(generalProfileIdc: 2)),
                                                            context: SyntaxContext())
            try s.setMPS(try s.mps(), profile: 2)
            let i = try s.index(of: .compressedData)
            try s.setNDU(i, try s.ndu(i), context: SyntaxContext(generalProfileIdc: 2))
            list.add(CheckRules.profile, tiny1D,
                "general_profile_idc = 2; NNR_MPS and the NDU header re-written in the profile-0 form (the 1-D payload is the same in both profiles)", s.bytes)
        }
        list.add(CheckRules.payloadType, tiny, "nnr_compressed_data_unit_payload_type = 9", try editedNDU(tiny) { $0.nnrCompressedDataUnitPayloadType = 9 })
        list.add(CheckRules.decompressedDataFormat, tiny, "nnr_decompressed_data_format_present_flag = 1, nnr_decompressed_data_format = 12", try editedNDU(tiny) { h in
            h.nnrDecompressedDataFormatPresentFlag = true
            h.nnrDecompressedDataFormat = 12
        })
        do {
            var s = try stream(incStep1)
            let i = try s.index(of: .compressedData)
            var p = s.pieces[i]
            let bit = try Self.bitPosition(of: "parent_node_id_type", unitBytes: p, context: s.units[i].context)
            Self.setBits(&p, at: bit, count: 2, value: 3)
            s.pieces[i] = p
            list.add(CheckRules.parentNodeIdType, incStep1, "parent_node_id_type bits set to 3", s.bytes)
        }
        list.add(CheckRules.scanOrder, tiny, "scan_order = 7", try editedNDU(tiny) { $0.scanOrder = 7 })
        list.add(CheckRules.multipleTopologyElements, blocks, "first NNR_PT_BLOCK NDU with nnr_multiple_topology_elements_present_flag = 0 (one element name)", try editedNDU(blocks) { h in
            h.nnrMultipleTopologyElementsPresentFlag = false
            h.topologyElemId = h.topologyElemIdList.first ?? ""
        })
        list.add(CheckRules.blockElementCount, blocks, "first NNR_PT_BLOCK NDU: the last topology element name removed", try editedNDU(blocks) { $0.topologyElemIdList.removeLast() })
        list.add(CheckRules.dimensionsInBand, tiny, "tensor_dimensions_flag = 0 (dimensions out of band)", try editedNDU(tiny) { h in
            h.tensorDimensionsFlag = false
            h.tensorDimensions = []
        })
        list.add(CheckRules.dimensionValues, tiny, "tensor_dimensions = [1, 0]", try editedNDU(tiny) { $0.tensorDimensions = [1, 0] })
        list.add(CheckRules.limits, tiny, "tensor_dimensions = [65536, 65536] (2^32 elements, above the 2^31 limit)", try editedNDU(tiny) { $0.tensorDimensions = [65536, 65536] })
        do {
            var s = try stream(codebook)
            let i = try s.index(of: .compressedData)
            let h = try s.ndu(i)
            let cb = h.codebook
            guard h.codebookPresentFlag, cb.codebookSize >= 2, cb.cbZeroOffset < cb.codebookSize - 1 else {
                throw BuildError.unexpected("no codebook with a right delta")
            }
            let j = cb.codebookSize - 1
            var delta = Int(Int32.max) - cb.entries[j - 1] + 4
            s.pieces[i] = try Self.replaceField(s.pieces[i], context: s.units[i].context, element: "codebook_delta_right[\(j)]") { w in
                try w.ue("codebook_delta_right", cb.codebookEgk, &delta)
            }
            list.add(CheckRules.codebook, codebook, "codebook_delta_right of the last entry re-coded so that the entry is 2^31 + 4 (beyond int32)", s.bytes)
        }
        list.add(CheckRules.codebookWithoutDQ, codebook, "dq_flag = 1 in a codebook NDU", try editedNDU(codebook) { $0.dqFlag = true })
        list.add(CheckRules.integerWithoutDQ, int16, "dq_flag = 1 in an NNR_PT_INT NDU", try editedNDU(int16) { $0.dqFlag = true })
        list.add(CheckRules.quantizationParameters, tiny, "mps_quantization_method_flags = 0 (no qp_density / quantization_parameter) with an NNR_PT_FLOAT NDU", try editedMPS(tiny) { $0.mpsQuantizationMethodFlags = 0 })
        list.add(CheckRules.quantizationMethodFlags, tiny, "mps_quantization_method_flags = 5 (the reserved bit 4 set)", try editedMPS(tiny) { $0.mpsQuantizationMethodFlags = 5 })
        do {
            var s = try stream(tiny)
            let i = try s.index(of: .compressedData)
            var p = s.pieces[i]
            let bit = try Self.bitPosition(of: "topology_elem_id", unitBytes: p, context: s.units[i].context)
            p[bit >> 3] = 0xFF
            s.pieces[i] = p
            list.add(CheckRules.strings, tiny, "the first byte of topology_elem_id set to 0xFF (not UTF-8)", s.bytes)
        }
        list.add(CheckRules.decompositionParameters, blocks, "first NNR_PT_BLOCK NDU given NNR_CPT_DC (and a second element name) with decomposition_rank = 0", try editedNDU(blocks) { h in
            h.compressedParameterTypes |= NNRCompressedParameterType.dc
            h.topologyElemIdList.insert((h.topologyElemIdList.first ?? "w") + "_H", at: 1)
            h.decompositionRank = 0
            h.gNumberOfRows = 1
        })
        do {
            var s = try stream(tiny)
            let t = try s.index(of: .topology)
            var p = s.pieces[t]
            p[3] = 9  // topology_storage_format (after the 2-byte size and the type byte)
            s.pieces[t] = p
            list.add(CheckRules.topologyFormats, tiny, "topology_storage_format = 9", s.bytes)
        }
        list.add(CheckRules.tensorNameUnsafe, tiny, "topology_elem_id prefixed with '../'", try editedNDU(tiny) { $0.topologyElemId = "../" + $0.topologyElemId })
    }

    /// Payload rules.
    func payloadVectors(_ list: inout NegativeVectorList) throws {
        do {
            var s = try stream(scan)
            let i = try s.index(of: .compressedData)
            let payload = s.payload(i)
            try s.setNDU(i, try s.ndu(i), payload: Array(payload.prefix(payload.count / 2)))
            list.add(CheckRules.payloadWithinUnit, scan, "the NDU payload cut to its first half (nnr_unit_size adjusted)", s.bytes)
        }
        do {
            var s = try stream(tiny1D)
            let i = try s.index(of: .compressedData)
            let h = try s.ndu(i)
            var enc = HandCodedPayload(cabacUnaryLengthMinus1: h.cabacUnaryLengthMinus1)
            enc.qpOffset(-32, qpDensity: try s.mps().mpsQpDensity)
            enc.estimatorSelectionNone(dq: h.dqFlag)
            enc.level(magnitude: 3)
            // Two padding bytes: after a terminating bin 0 the decoder keeps reading.
            try s.setNDU(i, h, payload: enc.finish(terminatingBin: 0) + [0x00, 0x00])
            list.add(CheckRules.terminatingBin, tiny1D, "hand-coded payload (qp_offset −32, level 3) with a terminating bin 0, then two bytes 0x00", s.bytes)
        }
        if let v = try stopPatternVector() { list.vectors.append(v) }
        do {
            var s = try stream(tiny)
            let i = try s.index(of: .compressedData)
            try s.setNDU(i, try s.ndu(i), payload: s.payload(i) + [0x00])
            list.add(CheckRules.payloadConsumed, tiny, "one byte 0x00 appended to the NDU payload (nnr_unit_size + 1)", s.bytes)
        }
        do {
            var s = try stream(scan)
            let i = try s.index(of: .compressedData)
            var h = try s.ndu(i)
            guard !h.entryPoints.isEmpty else { throw BuildError.unexpected("no entry points") }
            h.entryPoints[0].value ^= 1
            try s.setNDU(i, h)
            list.add(CheckRules.entryPoints, scan, "ep_value of the first entry point: lowest bit flipped", s.bytes)
        }
        do {
            var s = try stream(tiny1D)
            let i = try s.index(of: .compressedData)
            var h = try s.ndu(i)
            h.nnrCompressedDataUnitPayloadType = NNRPayloadType.int.rawValue
            h.dqFlag = false
            h.topologyElemId = "big"
            var enc = HandCodedPayload(cabacUnaryLengthMinus1: h.cabacUnaryLengthMinus1)
            enc.estimatorSelectionNone(dq: false)
            enc.level(magnitude: (UInt64(1) << 31) + UInt64(h.cabacUnaryLengthMinus1 + 1))  // 31 prefix ones: beyond int32
            try s.setNDU(i, h, payload: enc.finish())
            list.add(CheckRules.levelsInt32, tiny1D, "NNR_PT_INT [1] with a hand-coded level of 2^31 + L (remainder prefix of 31 ones)", s.bytes)
        }
        do {
            // A profile-0 stream: its payload does not bound codebook indices.
            var s = try stream(tiny1D)
            let str = try s.index(of: .startUnit)
            s.pieces[str] = try NNRUnitSerializer.serialize(common: s.units[str].common, content: .start(NNRStartUnitHeader(generalProfileIdc: 0)),
                                                            context: SyntaxContext())
            let m = try s.mps()
            try s.setMPS(m, profile: 0)
            let i = try s.index(of: .compressedData)
            var h = try s.ndu(i)
            h.codebookPresentFlag = true
            h.codebook = NNRCodebook(codebookEgk: 0, entries: [-1, 0, 1], cbZeroOffset: 1)
            h.dqFlag = false
            var enc = HandCodedPayload(cabacUnaryLengthMinus1: h.cabacUnaryLengthMinus1)
            enc.qpOffset(-32, qpDensity: m.mpsQpDensity)
            enc.estimatorSelectionNone(dq: false)
            enc.level(magnitude: 3)
            try s.setNDU(i, h, payload: enc.finish(), context: SyntaxContext(generalProfileIdc: 0))
            list.add(CheckRules.codebookIndex, tiny1D, "profile 0, codebook [-1, 0, 1] (CbZeroOffset 1) and a hand-coded index 3", s.bytes)
        }
        do {
            var s = try stream(tiny)
            let i = try s.index(of: .compressedData)
            var h = try s.ndu(i)
            h.nnrCompressedDataUnitPayloadType = NNRPayloadType.rawFloat.rawValue
            h.codebookPresentFlag = false
            h.dqFlag = false
            try s.setNDU(i, h, payload: [0x00, 0x00, 0x80, 0x3F, 0x00])
            list.add(CheckRules.rawFloatSize, tiny, "NNR_PT_RAW_FLOAT [1, 1] with a 5-byte payload (4 expected)", s.bytes)
        }
        list.add(CheckRules.stepSize, tiny, "mps_quantization_parameter = 4000 (the float32 step size overflows)", try editedMPS(tiny) { $0.mpsQuantizationParameter = 4000 })
        list.add(CheckRules.declaredIntegerFormat, int16, "nnr_decompressed_data_format = 5 (TENSOR_INT8) on int16-range values", try editedNDU(int16) { h in
            h.nnrDecompressedDataFormatPresentFlag = true
            h.nnrDecompressedDataFormat = 5
        })
    }

    /// Incremental rules.
    func incrementalVectors(_ list: inout NegativeVectorList) throws {
        do {
            var s = try stream(incStep1)
            let i = try s.index(of: .compressedData)
            var c = s.units[i].common
            c.independentlyDecodableFlag = false
            try s.setNDU(i, try s.ndu(i), common: c)
            list.add(CheckRules.parentTensor, incStep1, "a TCA update (independently_decodable_flag set to 0) checked without its base bitstream", s.bytes)
        }
        do {
            var s = try stream(incStep1)
            let i = try s.index(of: .compressedData)
            var c = s.units[i].common
            c.independentlyDecodableFlag = false
            var h = try s.ndu(i)
            h.putNodeDepth += 5
            try s.setNDU(i, h, common: c)
            list.add(CheckRules.parentIdentity, incStep1, "put_node_depth + 5 (independently_decodable_flag set to 0), checked after its base", s.bytes,
                after: [incStep0])
        }
        do {
            let s = try stream(incStep1)
            list.add(CheckRules.independentlyDecodable, incStep1, "unchanged: NNCodec writes independently_decodable_flag = 1 on TCA updates", s.bytes,
                after: [incStep0])
        }
        do {
            let s = try stream(hdspStep1)
            list.add(CheckRules.independentlyDecodable, hdspStep1,
                "unchanged: NNCodec writes independently_decodable_flag = 1 on HDSP updates (hist_dep_sig_prob_enabled_flag = 1)", s.bytes,
                after: [hdspStep0], variant: "hdsp")
        }
    }

    /// NNR-P003: a bit after the stop bit of the last payload byte set to 1 (the first vector and
    /// bit for which the checker reports exactly that rule).
    func stopPatternVector() throws -> NegativeVector? {
        for base in [tiny, tiny1D, "vectors/t1d_bias512_qp-32/bitstream.nnc"] {
            let s = try stream(base)
            let i = try s.index(of: .compressedData)
            let payload = s.payload(i)
            guard let lastIndex = payload.indices.last else { continue }
            for bit in 0..<7 where payload[lastIndex] & (1 << bit) == 0 {
                var p = payload
                p[lastIndex] |= UInt8(1 << bit)
                var t = s
                try t.setNDU(i, try s.ndu(i), payload: p)
                var checker = ConformanceChecker(options: CheckOptions(concurrent: false))
                let r = checker.check(NNRByteSource(bytes: t.bytes), path: base)
                if Set(r.violations.map(\.ruleID)) == [CheckRules.stopPattern] {
                    return NegativeVector(rule: CheckRules.stopPattern, fileName: CheckRules.stopPattern + ".nnc", bytes: t.bytes,
                                          expectedRules: [CheckRules.stopPattern], base: base,
                                          mutation: String(format: "last payload byte 0x%02x → 0x%02x (a 1 bit after the stop bit)",
                                                           Int(payload[lastIndex]), Int(p[lastIndex])))
                }
            }
        }
        return nil
    }
}
