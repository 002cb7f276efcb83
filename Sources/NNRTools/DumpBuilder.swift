import Foundation
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRCoding
import NNRModelIO
import NNRCodec

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
        let (units, error) = NNRUnitParser.parseAll(source, limits: options.limits, tracing: true, allowReservedTypes: true)
        var file = DumpFile(path: path, fileSize: source.count, units: [])
        var builder = DumpUnitBuilder(source: source, options: options)
        file.units = units.map { builder.unit($0) }
        file.tensors = builder.tensors
        let scan = DumpScan(unitCount: units.count, error: error, lastEnd: units.last.map { $0.location.end } ?? 0,
                            lastContext: units.last?.context ?? SyntaxContext())
        file.partialUnit = scan.partialUnit(&builder, source: source)
        file.failure = scan.failure(source, options: options)
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
        for i in file.units.indices { refreshTensorDerived(&file.units[i], tensors: tensors) }
    }

    /// The same for one unit and the units it carries.
    static func refreshTensorDerived(_ u: inout DumpUnit, tensors: [DumpTensor]) {
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
        for c in u.children.indices { refreshTensorDerived(&u.children[c], tensors: tensors) }
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
        // The bits of the bytes in the file (up to 9), without copying them out.
        let last = Swift.min((e.bitPosition + width + 7) >> 3, source.count)
        let available = Swift.max(0, last - Swift.min(first, source.count))
        return String(unsafeUninitializedCapacity: width) { out in
            var n = 0
            var bit = e.bitPosition & 7
            var current = -1
            var byte: UInt8 = 0
            while n < width {
                let k = bit >> 3
                guard k < available else { break }
                if k != current {
                    byte = source[first + k]
                    current = k
                }
                out[n] = (byte >> UInt8(7 - (bit & 7))) & 1 == 1 ? UInt8(ascii: "1") : UInt8(ascii: "0")
                n += 1
                bit += 1
            }
            return n
        }
    }

    /// The symbol of an enumerated element (list elements by their base name).
    static func symbol(_ e: SyntaxTraceEntry) -> String? {
        if e.descriptor == .alignment {
            guard case let .int(v) = e.value else { return nil }
            return v == 1 << (e.bitWidth - 1) ? "ok" : "wrong bits"
        }
        return FieldNames.symbol(field: FieldListBuilder.listBase(e.name) ?? e.name, value: FieldValue(e.value))
    }
}

/// Builds `DumpUnit`s in file order and lays out the tensors of each NDU.
struct DumpUnitBuilder {
    let source: NNRByteSource
    let options: DumpOptions
    var tensors: [DumpTensor] = []
    /// Tensors taken out already (`takeTensors`).
    var tensorBase = 0
    var sets = NNRParameterSets()
    /// The bit strings of elements up to `shortBits` wide, by width and value, made once each
    /// (most elements are a few bits wide).
    private var bitStrings: [[String?]] = Array(repeating: [], count: shortBits + 1)
    private static let shortBits = 12

    /// The tensors laid out since the last call.
    mutating func takeTensors() -> [DumpTensor] {
        defer {
            tensorBase += tensors.count
            tensors = []
        }
        return tensors
    }

    init(source: NNRByteSource, options: DumpOptions) {
        self.source = source
        self.options = options
    }

    mutating func unit(_ u: NNRParsedUnit) -> DumpUnit {
        let offset = u.location.offset
        let size = u.location.size
        let sizeEnd = offset + (u.common.nnrUnitSizeFlag ? 4 : 2)
        let commonEnd = offset + u.common.byteLength
        var out = DumpUnit(index: u.location.index, offset: offset, size: size, typeCode: u.common.nnrUnitType, typeName: u.typeName,
                           headerBytes: u.headerByteCount, depth: u.depth, parsed: u,
                           sections: sections(u.trace ?? [], offset: offset, unitEnd: u.location.end, sizeEnd: sizeEnd,
                                              commonEnd: commonEnd, headerEnd: offset + u.headerByteCount, type: u.common.nnrUnitType),
                           warnings: u.warnings)
        sets.observe(u)
        switch u.content {
        case let .modelParameterSet(m):
            if m.hasQuantizationParameters {
                let step = StepSize.float32(qp: m.mpsQuantizationParameter, qpDensity: m.mpsQpDensity)
                attach(&out, to: { $0 == "mps_quantization_parameter" },
                       DumpDerived("step_size", .float(step), note: "QP \(m.mpsQuantizationParameter), qp_density \(m.mpsQpDensity); each tensor adds its qp_offset"))
            }
        case let .layerParameterSet(l):
            if l.hasQuantizationParameters {
                let step = StepSize.float32(qp: l.lpsQuantizationParameter, qpDensity: l.lpsQpDensity)
                attach(&out, to: { $0 == "lps_quantization_parameter" },
                       DumpDerived("step_size", .float(step), note: "QP \(l.lpsQuantizationParameter), qp_density \(l.lpsQpDensity); each tensor adds its qp_offset"))
            }
        case let .compressedData(h):
            compressedData(&out, header: h, unit: u)
        case let .aggregate(a):
            let payloadStart = u.payloadRange.lowerBound
            attach(&out, byName: a.unitEntryPoints.enumerated().map { j, ep in
                ("nnr_unit_entry_point[\(j)]", DumpDerived("unit_offset[\(j)]", .int(payloadStart + ep), note: "file offset of unit \(j) of the aggregate"))
            })
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
                shown = size
            } else if payloadIsData {
                shown = u.headerByteCount + Swift.min(size - u.headerByteCount, options.hexPayloadLimit)
            } else {
                shown = Swift.min(size, options.hexUnitLimit)
            }
            out.hex = DumpHexBlock(offset: offset, bytes: source.bytes(offset..<(offset + shown)), omitted: size - shown)
        }
        out.children = u.children.map { unit($0) }
        return out
    }

    /// `NNRDump.rawBits` of `e`.
    mutating func bits(_ e: SyntaxTraceEntry) -> String {
        let w = e.bitWidth
        let first = e.bitPosition >> 3
        let last = (e.bitPosition + w + 7) >> 3
        guard w > 0 && w <= Self.shortBits && e.descriptor != .st && e.descriptor != .bs && first >= 0 && last <= source.count else {
            return NNRDump.rawBits(e, source: source)
        }
        var acc = 0
        for i in first..<last { acc = acc << 8 | Int(source[i]) }
        let v = (acc >> (last * 8 - e.bitPosition - w)) & ((1 << w) - 1)
        if bitStrings[w].isEmpty { bitStrings[w] = Array(repeating: nil, count: 1 << w) }
        if let s = bitStrings[w][v] { return s }
        let s = NNRDump.rawBits(e, source: source)
        bitStrings[w][v] = s
        return s
    }

    /// Splits a unit's elements into nnr_unit_size(), nnr_unit_header(), the type's header and payload.
    mutating func sections(_ trace: [SyntaxTraceEntry], offset: Int, unitEnd: Int, sizeEnd: Int, commonEnd: Int,
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
            out[s].elements.append(DumpElement(entry: e, raw: bits(e), symbol: NNRDump.symbol(e)))
        }
        let isPayloadType: Bool = {
            switch NNRUnitType(rawValue: type) {
            case .compressedData, .aggregate, nil: return true
            default: return false
            }
        }()
        // nnr_unit_size() and nnr_unit_header() always, the others when they hold something
        var kept = 2
        for k in 2..<4 where !out[k].elements.isEmpty || out[k].size > 0 || (k == 3 && isPayloadType) {
            if k != kept { out.swapAt(k, kept) }
            kept += 1
        }
        out.removeLast(4 - kept)
        return out
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

        let planned: [NDUTensorPlan]
        do {
            planned = try NDUPlan.layout(h, unit: u)
        } catch let e as NNRError {
            out.problems.append("cannot lay out the tensors: \(e.reasonText)")
            return
        } catch {
            out.problems.append("cannot lay out the tensors: \(error)")
            return
        }
        shapes(&out, planned)
        entryPoints(&out, planned)

        // The tensors, with the QP their qp_offset is added to.
        let quantization: (qp: Int, qpDensity: Int)?
        do {
            quantization = try sets.baseQuantization(for: h.payloadType, unit: u)
        } catch let e as NNRError {
            out.problems.append(e.message)
            quantization = nil
        } catch {
            quantization = nil
        }
        if h.payloadType == nil {
            out.problems.append("nnr_compressed_data_unit_payload_type \(h.nnrCompressedDataUnitPayloadType) is reserved")
        }
        let plan = NDUPlan(unit: u, header: h, tensors: planned, baseQP: quantization?.qp, qpDensity: quantization?.qpDensity)
        for (k, t) in planned.enumerated() {
            do {
                try NDUPlan.checkSize(t, unit: u, limits: options.limits)
            } catch let e as NNRError {
                out.problems.append(e.message)
                continue
            } catch {
                continue
            }
            var tensor = DumpTensor(index: tensorBase + tensors.count, unitIndex: u.location.index, name: t.name, role: t.role, shape: t.dims,
                                    elementCount: NDUHeader.elementCount(t.dims, limit: Int.max) ?? 0, codebook: t.codebook,
                                    entryPoints: t.entryPoints, payloadTypeCode: h.nnrCompressedDataUnitPayloadType,
                                    baseQP: plan.baseQP, qpDensity: plan.qpDensity, dq: plan.dqFlag,
                                    codebookSize: t.codebook?.codebookSize, scanOrder: plan.scanOrder(of: t), fileSize: source.count)
            if planned.count == 1 {
                tensor.bits = u.payloadRange.count * 8
                tensor.bitsExact = true
            }
            if k == 0, u.payloadRange.count > 0 { tensor.qpOffset = plan.firstQPOffset(source) }
            out.tensorIndices.append(tensorBase + tensors.count)
            tensors.append(tensor)
        }
    }

    /// Shapes beside the dimensions.
    func shapes(_ out: inout DumpUnit, _ planned: [NDUTensorPlan]) {
        let dimsMatch: (String) -> Bool = { $0.hasPrefix("tensor_dimensions[") || $0 == "count_tensor_dimensions" }
        for t in planned {
            let n = NDUHeader.elementCount(t.dims, limit: Int.max) ?? 0
            let geo = TensorGeometry(dims: t.dims.isEmpty ? [1] : t.dims, scanOrder: 0)
            var note = "\(t.name)"
            if let r = t.role { note += " (\(r))" }
            note += ": \(n) parameters, coded as \(geo.height) x \(geo.width)"
            attach(&out, to: dimsMatch, DumpDerived("tensor_shape", .list(t.dims.map { .int($0) }), note: note))
        }
    }

    /// Entry points: the accumulated bit_offset_delta and where each block row starts.
    func entryPoints(_ out: inout DumpUnit, _ planned: [NDUTensorPlan]) {
        var items: [(String, DumpDerived)] = []
        var j = 0
        for t in planned {
            var cumulative = 0
            for (k, ep) in t.entryPoints.enumerated() {
                let name = j == 0 ? "ep_bit_offset_delta" : "ep_bit_offset_delta_diff[\(j)]"
                cumulative += ep.bitOffsetDelta
                items.append((name, DumpDerived("bit_offset_delta[\(j)]", .int(ep.bitOffsetDelta),
                                                note: "block row \(k + 1) of \(t.name) starts \(ep.bitOffsetDelta) bits after block row \(k)")))
                items.append((name, DumpDerived("entry_point_byte[\(j)]", .int(cumulative >> 3),
                                                note: "block row \(k + 1) of \(t.name) starts \(cumulative) bits = \(cumulative >> 3) bytes + \(cumulative & 7) bits after block row 0")))
                j += 1
            }
        }
        attach(&out, byName: items)
    }

    /// Adds each derived value after the last element of its name: one pass over the elements, so
    /// long lists stay linear.
    func attach(_ u: inout DumpUnit, byName items: [(String, DumpDerived)]) {
        guard !items.isEmpty else { return }
        var at: [String: (Int, Int)] = [:]
        for (s, section) in u.sections.enumerated() {
            for (e, element) in section.elements.enumerated() { at[element.name] = (s, e) }
        }
        for (name, d) in items {
            if let (s, e) = at[name] { u.sections[s].elements[e].derived.append(d) }
        }
    }

    /// The unit at `offset` that failed to parse, as far as it can be read.
    mutating func partialUnit(at offset: Int, index: Int, context: SyntaxContext) -> DumpUnit {
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
                         headerBytes: (headerEnd ?? offset) - offset, depth: 0, parsed: nil,
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

extension NNRError {
    /// The reason's own words, without the reason's name.
    var message: String {
        switch reason {
        case let .invalidValue(m), let .limitExceeded(m): return m
        default: return reasonText
        }
    }
}
