import Foundation
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRCoding
import NNRModelIO

/// `nnr dump`: the structure of NNR bitstreams down to every header bit, the tensors they carry,
/// and on request the payload's syntax elements (`DumpSession`).
public enum NNRDump {
    /// Dumps one file or an incremental sequence (decoded in order, state carried over).
    /// `trace`, when given, receives the trace lines instead of `DumpFile.trace`.
    public static func dump(_ inputs: [(path: String, source: NNRByteSource)], options: DumpOptions,
                            trace: ((DumpTraceLine) -> Void)? = nil) -> DumpReport {
        var session = DumpSession(options: options)
        var files: [DumpFile] = []
        for (i, input) in inputs.enumerated() {
            var file = structure(path: input.path, source: input.source, options: options)
            if options.decodesPayloads {
                session.decode(&file, source: input.source, carryState: i + 1 < inputs.count, trace: trace)
            }
            files.append(file)
        }
        return DumpReport(files: files, options: options)
    }

    /// The units, their headers with every element, and the tensors — from unit headers only (and
    /// the first bytes of each NDU payload, for the first tensor's qp_offset).
    public static func structure(path: String, source: NNRByteSource, options: DumpOptions) -> DumpFile {
        let s = BitstreamStructure.read(source, limits: options.limits)
        var file = DumpFile(path: path, fileSize: source.count, structure: s, units: [])
        var builder = DumpUnitBuilder(source: source, options: options)
        file.units = s.units.map { builder.unit($0) }
        file.tensors = builder.tensors
        if let e = s.error {
            let lastEnd = s.units.last.map { $0.offset + $0.size } ?? 0
            if e.position.byteOffset >= lastEnd && lastEnd < source.count {
                file.partialUnit = builder.partialUnit(at: lastEnd, index: s.units.count,
                                                       context: s.units.last?.unit.context ?? SyntaxContext())
            }
            file.failure = DumpFailure(error: e, stage: "structure",
                                       window: errorWindow(source, at: e.position.byteOffset, radius: options.errorWindow))
        }
        refreshTensorDerived(&file)
        return file
    }

    /// Bytes around `offset` (rows of 16), with `offset` marked.
    public static func errorWindow(_ source: NNRByteSource, at offset: Int, radius: Int) -> DumpHexBlock {
        let lo = Swift.max(0, offset - radius) / 16 * 16
        let hiWanted = offset + radius + 1
        let hi = Swift.min(source.count, (hiWanted + 15) / 16 * 16)
        return DumpHexBlock(offset: lo, bytes: lo < hi ? source.bytes(lo..<hi) : [], omitted: 0, mark: offset)
    }

    /// Puts each tensor's qp_offset (when known) into its NDU's payload section.
    static func refreshTensorDerived(_ file: inout DumpFile) {
        let tensors = file.tensors
        func fix(_ u: inout DumpUnit) {
            if !u.tensorIndices.isEmpty, let p = u.sections.lastIndex(where: { $0.name == "nnr_compressed_data_unit_payload" }) {
                u.sections[p].derived.removeAll { $0.name == "qp_offset" }
                for i in u.tensorIndices where i < tensors.count {
                    let t = tensors[i]
                    guard let o = t.qpOffset else { continue }
                    var note = "\(t.name)"
                    if let q = t.qp { note += ": QP \(q)" }
                    if let st = t.stepSize { note += ", step size \(st)" }
                    u.sections[p].derived.append(DumpDerived("qp_offset", .int(o), note: note))
                }
            }
            for c in u.children.indices { fix(&u.children[c]) }
        }
        for i in file.units.indices { fix(&file.units[i]) }
    }

    /// The section name of a unit type's own header and payload.
    static func sectionNames(_ type: Int) -> (header: String, payload: String) {
        switch NNRUnitType(rawValue: type) {
        case .startUnit: return ("nnr_start_unit_header", "nnr_start_unit_payload")
        case .modelParameterSet: return ("nnr_model_parameter_set_unit_header", "nnr_model_parameter_set_unit_payload")
        case .layerParameterSet: return ("nnr_layer_parameter_set_unit_header", "nnr_layer_parameter_set_unit_payload")
        case .topology: return ("nnr_topology_unit_header", "nnr_topology_unit_payload")
        case .quantization: return ("nnr_quantization_unit_header", "nnr_quantization_unit_payload")
        case .compressedData: return ("nnr_compressed_data_unit_header", "nnr_compressed_data_unit_payload")
        case .aggregate: return ("nnr_aggregate_unit_header", "nnr_aggregate_unit_payload")
        case nil: return ("nnr_reserved_unit_header", "nnr_reserved_unit_payload")
        }
    }

    /// The bits of an element as read: binary up to 64 bits, else hex (first 32 bytes).
    static func rawBits(_ e: SyntaxTraceEntry, source: NNRByteSource) -> String {
        let width = e.bitWidth
        if width <= 0 { return "" }
        let first = e.bitPosition >> 3
        if e.descriptor == .st || e.descriptor == .bs || width > 64 {
            let n = (width + 7) >> 3
            let shown = Swift.min(n, 32)
            let bytes = source.bytes(first..<(first + shown))
            return "0x" + bytes.map { String(format2hex: $0) }.joined() + (shown < n ? "..." : "")
        }
        let last = (e.bitPosition + width + 7) >> 3
        let bytes = source.bytes(first..<last)
        var out = ""
        out.reserveCapacity(width)
        var bit = e.bitPosition & 7
        for _ in 0..<width {
            let byte = bit >> 3
            guard byte < bytes.count else { break }
            out.append((bytes[byte] >> UInt8(7 - (bit & 7))) & 1 == 1 ? "1" : "0")
            bit += 1
        }
        return out
    }

    /// The symbol of an enumerated element (list elements by their base name).
    static func symbol(_ e: SyntaxTraceEntry) -> String? {
        if e.descriptor == .alignment {
            guard case let .int(v) = e.value else { return nil }
            return v == 1 << (e.bitWidth - 1) ? "ok" : "wrong bits"
        }
        var name = e.name
        if let br = name.firstIndex(of: "[") { name = String(name[..<br]) }
        return FieldNames.symbol(field: name, value: FieldValue(e.value))
    }

    /// qp_offset of the first tensor of an NDU payload: its first 6 + qp_density bypass bins,
    /// read from the first 8 payload bytes.
    static func firstQPOffset(_ source: NNRByteSource, payload: Range<Int>, qpDensity: Int) -> Int? {
        guard (0...7).contains(qpDensity) else { return nil }
        let n = Swift.min(payload.count, 8)
        guard n >= 2 else { return nil }
        guard var decoder = try? ArithmeticDecoder(bytes: source.bytes(payload.lowerBound..<(payload.lowerBound + n)),
                                                   fileOffset: payload.lowerBound) else { return nil }
        let bins = 6 + qpDensity
        guard let raw = try? decoder.decodeBypassBins(bins) else { return nil }
        let shift = 64 - bins
        return (Int(raw) << shift) >> shift
    }
}

/// Builds `DumpUnit`s in file order and lays out the tensors of each NDU.
struct DumpUnitBuilder {
    let source: NNRByteSource
    let options: DumpOptions
    var tensors: [DumpTensor] = []
    var mps: NNRModelParameterSet?
    var lps: NNRLayerParameterSet?

    init(source: NNRByteSource, options: DumpOptions) {
        self.source = source
        self.options = options
    }

    mutating func unit(_ d: UnitDump) -> DumpUnit {
        let u = d.unit
        let offset = u.location.offset
        let sizeEnd = offset + (u.common.nnrUnitSizeFlag ? 4 : 2)
        let commonEnd = offset + u.common.byteLength
        var out = DumpUnit(index: d.index, offset: offset, size: d.size, typeCode: d.typeCode, typeName: d.typeName,
                           headerBytes: d.headerBytes, depth: u.depth, summary: d,
                           sections: sections(d.trace, offset: offset, unitEnd: u.location.end, sizeEnd: sizeEnd,
                                              commonEnd: commonEnd, headerEnd: offset + d.headerBytes, type: d.typeCode),
                           warnings: d.warnings)
        switch u.content {
        case let .modelParameterSet(m):
            mps = m
            if m.hasQuantizationParameters {
                let step = StepSize.float32(qp: m.mpsQuantizationParameter, qpDensity: m.mpsQpDensity)
                attach(&out, to: { $0 == "mps_quantization_parameter" },
                       DumpDerived("step_size", .float(step), note: "QP \(m.mpsQuantizationParameter), qp_density \(m.mpsQpDensity); each tensor adds its qp_offset"))
            }
        case let .layerParameterSet(l):
            lps = l
            if l.hasQuantizationParameters {
                let step = StepSize.float32(qp: l.lpsQuantizationParameter, qpDensity: l.lpsQpDensity)
                attach(&out, to: { $0 == "lps_quantization_parameter" },
                       DumpDerived("step_size", .float(step), note: "QP \(l.lpsQuantizationParameter), qp_density \(l.lpsQpDensity); each tensor adds its qp_offset"))
            }
        case let .compressedData(h):
            compressedData(&out, header: h, unit: u)
        case let .aggregate(a):
            let payloadStart = u.payloadRange.lowerBound
            for (j, ep) in a.unitEntryPoints.enumerated() {
                attach(&out, to: { $0 == "nnr_unit_entry_point[\(j)]" },
                       DumpDerived("unit_offset[\(j)]", .int(payloadStart + ep), note: "file offset of unit \(j) of the aggregate"))
            }
        default:
            break
        }
        if options.hex {
            let payloadIsData: Bool
            switch u.content {
            case .compressedData, .aggregate, .reserved: payloadIsData = true
            default: payloadIsData = false
            }
            let shown: Int
            if options.hexAll {
                shown = d.size
            } else if payloadIsData {
                shown = d.headerBytes + Swift.min(d.payloadBytes, options.hexPayloadLimit)
            } else {
                shown = Swift.min(d.size, options.hexUnitLimit)
            }
            out.hex = DumpHexBlock(offset: offset, bytes: source.bytes(offset..<(offset + shown)), omitted: d.size - shown)
        }
        out.children = d.children.map { unit($0) }
        return out
    }

    /// Splits a unit's elements into nnr_unit_size(), nnr_unit_header(), the type's header and payload.
    func sections(_ trace: [SyntaxTraceEntry], offset: Int, unitEnd: Int, sizeEnd: Int, commonEnd: Int,
                  headerEnd: Int?, type: Int) -> [DumpSection] {
        let names = NNRDump.sectionNames(type)
        let hEnd = headerEnd ?? (type == NNRUnitType.modelParameterSet.rawValue ? commonEnd : unitEnd)
        var out = [
            DumpSection(name: "nnr_unit_size", offset: offset, size: Swift.max(0, Swift.min(sizeEnd, unitEnd) - offset)),
            DumpSection(name: "nnr_unit_header", offset: sizeEnd, size: Swift.max(0, Swift.min(commonEnd, unitEnd) - sizeEnd)),
            DumpSection(name: names.header, offset: commonEnd, size: Swift.max(0, hEnd - commonEnd)),
            DumpSection(name: names.payload, offset: hEnd, size: Swift.max(0, unitEnd - hEnd)),
        ]
        for e in trace {
            let byte = e.bitPosition >> 3
            let s = byte < sizeEnd ? 0 : byte < commonEnd ? 1 : byte < hEnd ? 2 : 3
            out[s].elements.append(DumpElement(entry: e, raw: NNRDump.rawBits(e, source: source), symbol: NNRDump.symbol(e)))
        }
        let isPayloadType: Bool = {
            switch NNRUnitType(rawValue: type) {
            case .compressedData, .aggregate, nil: return true
            default: return false
            }
        }()
        return out.enumerated().filter { pair in
            pair.offset < 2 || !pair.element.elements.isEmpty || pair.element.size > 0 || (pair.offset == 3 && isPayloadType)
        }.map(\.element)
    }

    /// Adds `d` after the last element whose name matches.
    func attach(_ u: inout DumpUnit, to match: (String) -> Bool, _ d: DumpDerived) {
        for s in u.sections.indices.reversed() {
            if let e = u.sections[s].elements.lastIndex(where: { match($0.name) }) {
                u.sections[s].elements[e].derived.append(d)
                return
            }
        }
    }

    mutating func compressedData(_ out: inout DumpUnit, header h: NDUHeader, unit u: NNRParsedUnit) {
        // Codebooks: CbZeroOffset beside codebook_center_offset, the entries beside the last delta.
        func codebook(_ cb: NNRCodebook, suffix: String) {
            attach(&out, to: { $0 == "codebook_center_offset" + suffix },
                   DumpDerived("CbZeroOffset" + suffix, .int(cb.cbZeroOffset), note: "(codebook_size >> 1) + codebook_center_offset"))
            let names = ["codebook_egk", "codebook_size", "codebook_center_offset", "codebook_zero_value"].map { $0 + suffix }
            attach(&out, to: { n in names.contains(n) || n.hasPrefix("codebook_delta_left" + suffix + "[") || n.hasPrefix("codebook_delta_right" + suffix + "[") },
                   DumpDerived("codebook" + suffix, .list(cb.entries.map { .int($0) }), note: "\(cb.codebookSize) entries, index \(cb.cbZeroOffset) is CbZeroOffset"))
        }
        if h.codebookPresentFlag {
            codebook(h.codebook, suffix: "")
            if h.isBlock && h.hasDecomposition { codebook(h.codebookDC, suffix: "_dc") }
        }
        // The payload start beside the header's final byte_alignment().
        attach(&out, to: { $0 == "byte_alignment" },
               DumpDerived("payload_offset", .int(u.payloadRange.lowerBound), note: "the arithmetic-coded payload starts here; \(u.payloadRange.count) bytes"))

        let planned: [DumpTensorPlan.Tensor]
        do {
            planned = try DumpTensorPlan.plan(h, unit: u)
        } catch let e as NNRError {
            out.problems.append("cannot lay out the tensors: \(e.reasonText)")
            return
        } catch {
            out.problems.append("cannot lay out the tensors: \(error)")
            return
        }

        // Shapes beside the dimensions.
        let dimsMatch: (String) -> Bool = { $0.hasPrefix("tensor_dimensions[") || $0 == "count_tensor_dimensions" }
        for t in planned {
            let n = NDUHeader.elementCount(t.dims, limit: Int.max) ?? 0
            let geo = TensorGeometry(dims: t.dims.isEmpty ? [1] : t.dims, scanOrder: 0)
            var note = "\(t.name)"
            if let r = t.role { note += " (\(r))" }
            note += ": \(n) parameters, coded as \(geo.height) x \(geo.width)"
            attach(&out, to: dimsMatch, DumpDerived("tensor_shape", .list(t.dims.map { .int($0) }), note: note))
        }

        // Entry points: the accumulated bit_offset_delta and where each block row starts.
        var j = 0
        for t in planned {
            var cumulative = 0
            for (k, ep) in t.entryPoints.enumerated() {
                let name = j == 0 ? "ep_bit_offset_delta" : "ep_bit_offset_delta_diff[\(j)]"
                cumulative += ep.bitOffsetDelta
                attach(&out, to: { $0 == name }, DumpDerived("bit_offset_delta[\(j)]", .int(ep.bitOffsetDelta),
                                                            note: "block row \(k + 1) of \(t.name) starts \(ep.bitOffsetDelta) bits after block row \(k)"))
                attach(&out, to: { $0 == name }, DumpDerived("entry_point_byte[\(j)]", .int(cumulative >> 3),
                                                            note: "block row \(k + 1) of \(t.name) starts \(cumulative) bits = \(cumulative >> 3) bytes + \(cumulative & 7) bits after block row 0"))
                j += 1
            }
        }

        // The tensors, with the QP their qp_offset is added to.
        let pt = h.payloadType
        var baseQP: Int?
        var density: Int?
        if pt == .float || pt == .block {
            if let l = lps, l.hasQuantizationParameters {
                baseQP = l.lpsQuantizationParameter
                density = l.lpsQpDensity
            } else if let m = mps, m.hasQuantizationParameters {
                baseQP = m.mpsQuantizationParameter
                density = m.mpsQpDensity
            } else if mps == nil {
                out.problems.append("NNR_NDU before any NNR_MPS")
            } else {
                out.problems.append("NNR_PT_FLOAT/BLOCK data needs mps_qp_density and mps_quantization_parameter (mps_quantization_method_flags is 0)")
            }
        }
        if pt == nil {
            out.problems.append("nnr_compressed_data_unit_payload_type \(h.nnrCompressedDataUnitPayloadType) is reserved")
        }
        for (k, t) in planned.enumerated() {
            guard let n = NDUHeader.elementCount(t.dims, limit: options.limits.maxTensorElements) else {
                out.problems.append("tensor \(t.name) \(t.dims) exceeds \(options.limits.maxTensorElements) elements")
                continue
            }
            var tensor = DumpTensor(index: tensors.count, unitIndex: u.location.index, name: t.name, role: t.role, shape: t.dims,
                                    elementCount: n, codebook: t.codebook, entryPoints: t.entryPoints,
                                    payloadTypeCode: h.nnrCompressedDataUnitPayloadType, baseQP: baseQP, qpDensity: density,
                                    dq: pt != .int && pt != .rawFloat && h.dqFlag,
                                    codebookSize: t.codebook?.codebookSize, scanOrder: t.dims.count > 1 ? h.scanOrder : 0,
                                    fileSize: source.count)
            if planned.count == 1 {
                tensor.bits = u.payloadRange.count * 8
                tensor.bitsExact = true
            }
            if k == 0, let d = density, u.payloadRange.count > 0 {
                tensor.qpOffset = NNRDump.firstQPOffset(source, payload: u.payloadRange, qpDensity: d)
            }
            out.tensorIndices.append(tensors.count)
            tensors.append(tensor)
        }
    }

    /// The unit at `offset` that failed to parse, as far as it can be read.
    func partialUnit(at offset: Int, index: Int, context: SyntaxContext) -> DumpUnit {
        let fileEnd = source.count
        var common = NNRUnitCommonHeader()
        var probe = BitReader(bytes: source.bytes(offset..<Swift.min(fileEnd, offset + 6)), fileOffset: offset, limits: options.limits)
        let commonOK = (try? common.visit(&probe)) != nil
        let declared = commonOK && common.nnrUnitSize >= common.byteLength ? common.nnrUnitSize : fileEnd - offset
        let end = Swift.min(fileEnd, offset + declared, offset + (1 << 20))
        var r = BitReader(bytes: source.bytes(offset..<end), fileOffset: offset, limits: options.limits, tracing: true)
        var headerEnd: Int?
        var stoppedBy: NNRError?
        var c = NNRUnitCommonHeader()
        do {
            try c.visit(&r)
            switch NNRUnitType(rawValue: c.nnrUnitType) {
            case .startUnit:
                var h = NNRStartUnitHeader()
                try h.visit(&r)
                headerEnd = offset + r.byteIndex
            case .modelParameterSet:
                headerEnd = offset + r.byteIndex
                var m = NNRModelParameterSet()
                try m.visit(&r, context: SyntaxContext(generalProfileIdc: context.generalProfileIdc))
            case .layerParameterSet:
                var l = NNRLayerParameterSet()
                try l.visitHeader(&r)
                headerEnd = offset + r.byteIndex
                try l.visitPayload(&r)
            case .topology:
                var t = NNRTopologyUnit()
                try t.visitHeader(&r)
                headerEnd = offset + r.byteIndex
                try t.visitPayload(&r)
            case .quantization:
                var q = NNRQuantizationUnit()
                try q.visitHeader(&r)
                headerEnd = offset + r.byteIndex
                try q.visitPayload(&r)
            case .compressedData:
                var h = NDUHeader()
                try h.visit(&r, context: context)
                headerEnd = offset + r.byteIndex
            case .aggregate:
                var a = NNRAggregateUnitHeader()
                try a.visit(&r)
                headerEnd = offset + r.byteIndex
            case nil:
                headerEnd = offset + r.byteIndex
            }
        } catch let e as NNRError {
            stoppedBy = e
        } catch {
            stoppedBy = nil
        }
        let trace = r.trace ?? []
        let sizeEnd = offset + (common.nnrUnitSizeFlag ? 4 : 2)
        let commonEnd = commonOK ? offset + common.byteLength : sizeEnd + 1
        let type = commonOK ? common.nnrUnitType : -1
        let typeName = commonOK ? NNRUnitType.name(of: type) : "unknown"
        let unitEnd = Swift.max(end, commonEnd)
        var u = DumpUnit(index: index, offset: offset, size: commonOK ? common.nnrUnitSize : 0, typeCode: type, typeName: typeName,
                         headerBytes: (headerEnd ?? offset) - offset, depth: 0, summary: nil,
                         sections: sections(trace, offset: offset, unitEnd: unitEnd, sizeEnd: sizeEnd, commonEnd: commonEnd,
                                            headerEnd: headerEnd, type: Swift.max(type, 0)),
                         warnings: r.warnings)
        u.partial = true
        u.sections = u.sections.enumerated().filter { pair in
            pair.offset < 2 ? (commonOK || !pair.element.elements.isEmpty) : (!pair.element.elements.isEmpty || (commonOK && pair.element.size > 0))
        }.map(\.element)
        if let e = stoppedBy {
            u.problems.append("reading stopped at byte \(e.position.byteOffset) bit \(e.position.bitOffset), \(e.element): \(e.reasonText)")
        }
        if options.hex {
            let shown = Swift.min(unitEnd - offset, options.hexAll ? Int.max : options.hexUnitLimit)
            u.hex = DumpHexBlock(offset: offset, bytes: source.bytes(offset..<(offset + shown)), omitted: Swift.max(0, unitEnd - offset - shown))
        }
        return u
    }
}

/// The tensors of an NDU in payload order (the decoder's layout, spec 3.6).
enum DumpTensorPlan {
    struct Tensor {
        var name: String
        var role: String?
        var dims: [Int]
        var codebook: NNRCodebook?
        var entryPoints: [EntryPoint]
    }

    static func plan(_ h: NDUHeader, unit u: NNRParsedUnit) throws -> [Tensor] {
        let at = u.location.offset
        if h.isBlock {
            let names = h.topologyElemIdList
            let expected = BlockLayout.topologyElementCount(compressedParameterTypes: h.compressedParameterTypes)
            guard names.count == expected else {
                throw NNRError(.invalidValue("NNR_PT_BLOCK with compressed_parameter_types \(h.compressedParameterTypes) needs \(expected) topology elements, has \(names.count)"),
                               element: "count_topology_elements_minus2", byteOffset: at, unitIndex: u.location.index)
            }
            let layout = try BlockLayout.tensors(compressedParameterTypes: h.compressedParameterTypes, dims: h.tensorDimensions,
                                                 decompositionRank: h.hasDecomposition ? h.decompositionRank : nil,
                                                 gNumberOfRows: h.hasDecomposition ? h.gNumberOfRows : nil)
            var out: [Tensor] = []
            var next = 0
            for t in layout {
                var cb: NNRCodebook?
                if h.codebookPresentFlag {
                    if t.codebookIndex == 0 { cb = h.codebook }
                    if t.codebookIndex == 1 { cb = h.codebookDC }
                }
                var eps: [EntryPoint] = []
                if t.dims.count > 1 && h.scanOrder > 0 {
                    let n = TensorGeometry.blockRowCount(rows: t.dims[0], scanOrder: h.scanOrder) - 1
                    let lo = Swift.min(next, h.entryPoints.count), hi = Swift.min(next + Swift.max(0, n), h.entryPoints.count)
                    eps = Array(h.entryPoints[lo..<hi])
                    next += Swift.max(0, n)
                }
                guard t.topologyIndex < names.count else {
                    throw NNRError(.invalidValue("block layout refers to topology element \(t.topologyIndex)"), element: "topology_elem_id_list",
                                   byteOffset: at, unitIndex: u.location.index)
                }
                out.append(Tensor(name: names[t.topologyIndex], role: t.role.rawValue, dims: t.dims, codebook: cb, entryPoints: eps))
            }
            return out
        }
        var dims = h.tensorDimensions
        if h.hasDecomposition {
            guard h.gNumberOfRows >= 1, h.decompositionRank >= 1 else {
                throw NNRError(.invalidValue("g_number_of_rows and decomposition_rank must be ≥ 1"), element: "g_number_of_rows",
                               byteOffset: at, unitIndex: u.location.index)
            }
            let total = NDUHeader.elementCount(dims, limit: Int.max) ?? 0
            dims = h.topologyElemId.hasSuffix("_G") ? [h.gNumberOfRows, h.decompositionRank]
                : [h.decompositionRank, total / h.gNumberOfRows]
        }
        let name = h.nnrMultipleTopologyElementsPresentFlag ? (h.topologyElemIdList.first ?? "")
            : (u.context.mpsTopologyIndexedReferenceFlag ? "#\(h.topologyElemIdIndex)" : h.topologyElemId)
        return [Tensor(name: name, role: nil, dims: dims, codebook: h.codebookPresentFlag ? h.codebook : nil, entryPoints: h.entryPoints)]
    }
}
