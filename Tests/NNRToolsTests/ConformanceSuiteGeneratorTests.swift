import Foundation
import XCTest
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRCoding
import NNRModelIO
import NNRTools
import NNRTestSupport

/// Builds the negative conformance vectors (Conformance/negative/<rule>.nnc, each breaking one
/// rule of a small valid vector) and Conformance/manifest.json. With NNR_REGENERATE=1 the files
/// are written (Tools/make-conformance-vectors.sh --negative); otherwise the test fails when the
/// stored files differ from what the generator builds.
final class ConformanceSuiteGeneratorTests: XCTestCase {
    func testNegativeVectorsAndManifestAreUpToDate() throws {
        let suite = try ConformanceSuiteBuilder.build()
        let root = Vectors.repoRoot.appendingPathComponent("Conformance", isDirectory: true)
        let negativeDir = root.appendingPathComponent("negative", isDirectory: true)
        let fm = FileManager.default
        if ProcessInfo.processInfo.environment["NNR_REGENERATE"] != nil {
            try fm.createDirectory(at: negativeDir, withIntermediateDirectories: true)
            for name in (try? fm.contentsOfDirectory(atPath: negativeDir.path)) ?? [] where name.hasSuffix(".nnc") {
                try fm.removeItem(at: negativeDir.appendingPathComponent(name))
            }
            for (path, bytes) in suite.files {
                try Data(bytes).write(to: root.appendingPathComponent(path))
            }
            try Data(suite.manifest.utf8).write(to: root.appendingPathComponent("manifest.json"))
        }
        for (path, bytes) in suite.files {
            let stored = try? Array(Data(contentsOf: root.appendingPathComponent(path)))
            XCTAssertEqual(stored, bytes, "\(path) differs from the generator's output; run Tools/make-conformance-vectors.sh --negative")
        }
        let storedNames = Set(((try? fm.contentsOfDirectory(atPath: negativeDir.path)) ?? []).filter { $0.hasSuffix(".nnc") })
        XCTAssertEqual(storedNames, Set(suite.files.map { URL(fileURLWithPath: $0.path).lastPathComponent }),
                       "Conformance/negative/ holds files the generator does not build")
        let storedManifest = try? String(contentsOf: root.appendingPathComponent("manifest.json"), encoding: .utf8)
        XCTAssertEqual(storedManifest, suite.manifest, "Conformance/manifest.json is stale; run Tools/make-conformance-vectors.sh --negative")
    }
}

/// A negative vector: which rule it breaks, how it was made, and the files decoded before it.
struct NegativeVector {
    var rule: String
    /// File name under Conformance/negative/ (without the directory).
    var fileName: String
    var bytes: [UInt8]
    /// Rule IDs the checker must report (exactly these); `rule` first.
    var expectedRules: [String]
    /// Conformance/-relative bitstreams checked before this one (incremental sequences).
    var after: [String] = []
    /// Conformance/-relative path of the vector it was made from.
    var base: String
    var mutation: String
}

/// Builds every negative vector from the bundled positive vectors and writes the manifest.
enum ConformanceSuiteBuilder {
    struct Suite {
        /// Conformance/-relative path → bytes.
        var files: [(path: String, bytes: [UInt8])]
        var manifest: String
    }

    enum BuildError: Error, CustomStringConvertible {
        case missing(String)
        case unexpected(String)
        var description: String {
            switch self {
            case let .missing(s): return "missing: \(s)"
            case let .unexpected(s): return s
            }
        }
    }

    static var conformanceRoot: URL { Vectors.repoRoot.appendingPathComponent("Conformance", isDirectory: true) }

    static func build() throws -> Suite {
        let negatives = try negativeVectors()
        let manifest = try manifestJSON(negatives: negatives)
        return Suite(files: negatives.map { ("negative/" + $0.fileName, $0.bytes) }, manifest: manifest)
    }

    // MARK: Bitstream surgery

    /// A parsed bitstream whose units can be replaced one by one.
    struct Stream {
        var units: [NNRParsedUnit]
        let source: NNRByteSource
        /// The bytes of each unit (replaced units hold their new bytes).
        var pieces: [[UInt8]]

        init(_ relativePath: String) throws {
            let url = ConformanceSuiteBuilder.conformanceRoot.appendingPathComponent(relativePath)
            guard let data = try? Data(contentsOf: url) else { throw BuildError.missing(relativePath) }
            let src = NNRByteSource(data: data)
            let (u, error) = NNRUnitParser.parseAll(src)
            if let e = error { throw BuildError.unexpected("\(relativePath): \(e)") }
            source = src
            units = u
            pieces = u.map { src.bytes($0.location.offset..<$0.location.end) }
        }

        var bytes: [UInt8] { pieces.flatMap { $0 } }

        func index(of type: NNRUnitType, occurrence: Int = 0) throws -> Int {
            let all = units.indices.filter { units[$0].common.nnrUnitType == type.rawValue }
            guard occurrence < all.count else { throw BuildError.missing("unit \(type.name) #\(occurrence)") }
            return all[occurrence]
        }

        func ndu(_ i: Int) throws -> NDUHeader {
            guard let h = units[i].ndu else { throw BuildError.unexpected("unit \(i) is not an NDU") }
            return h
        }

        func mps() throws -> NNRModelParameterSet {
            guard case let .modelParameterSet(m) = units[try index(of: .modelParameterSet)].content else {
                throw BuildError.missing("MPS")
            }
            return m
        }

        func payload(_ i: Int) -> [UInt8] { source.bytes(units[i].payloadRange) }

        /// Replaces NDU `i` by one built from `header` (context as parsed, or `context`).
        mutating func setNDU(_ i: Int, _ header: NDUHeader, common: NNRUnitCommonHeader? = nil, payload: [UInt8]? = nil,
                             context: SyntaxContext? = nil, longSize: Bool = false) throws {
            pieces[i] = try NNRUnitSerializer.serialize(common: common ?? units[i].common, content: .compressedData(header),
                                                        context: context ?? units[i].context, payload: payload ?? self.payload(i),
                                                        forceLongSize: longSize)
        }

        /// Replaces the MPS (serialized with the profile of the stream).
        mutating func setMPS(_ m: NNRModelParameterSet, profile: Int? = nil) throws {
            let i = try index(of: .modelParameterSet)
            let ctx = SyntaxContext(generalProfileIdc: profile ?? units[i].context.generalProfileIdc)
            pieces[i] = try NNRUnitSerializer.serialize(common: units[i].common, content: .modelParameterSet(m), context: ctx)
        }
    }

    /// Overwrites `count` bits at absolute bit `bit` of `bytes` with `value` (MSB first).
    static func setBits(_ bytes: inout [UInt8], at bit: Int, count: Int, value: Int) {
        for k in 0..<count {
            let b = bit + k
            let mask = UInt8(0x80) >> UInt8(b & 7)
            if (value >> (count - 1 - k)) & 1 == 1 { bytes[b >> 3] |= mask } else { bytes[b >> 3] &= ~mask }
        }
    }

    /// Bit position (inside `unitBytes`) of the first traced element named `name` of a unit.
    static func bitPosition(of name: String, unitBytes: [UInt8], context: SyntaxContext) throws -> Int {
        let src = NNRByteSource(bytes: unitBytes)
        var scanner = NNRUnitScanner(source: src)
        guard case let .success(loc)? = scanner.next() else { throw BuildError.unexpected("unit does not scan") }
        var p = NNRUnitParser(source: src, context: context, tracing: true)
        let u = try p.parse(loc)
        guard let e = u.trace?.first(where: { $0.name == name }) else { throw BuildError.missing("element \(name)") }
        return e.bitPosition
    }

    /// A unit with one header element re-coded (`write` emits its new bits; the width may differ):
    /// the header bits up to the final byte_alignment() are spliced, a new alignment appended, the
    /// payload kept and the 16-bit nnr_unit_size updated.
    static func replaceField(_ unitBytes: [UInt8], context: SyntaxContext, element: String,
                             write: (inout BitWriter) throws -> Void) throws -> [UInt8] {
        let src = NNRByteSource(bytes: unitBytes)
        var scanner = NNRUnitScanner(source: src)
        guard case let .success(loc)? = scanner.next(), !loc.common.nnrUnitSizeFlag else {
            throw BuildError.unexpected("unit does not scan in the short size form")
        }
        var p = NNRUnitParser(source: src, context: context, tracing: true)
        let u = try p.parse(loc)
        guard let trace = u.trace, let e = trace.first(where: { $0.name == element }),
              let align = trace.last(where: { $0.descriptor == .alignment }) else { throw BuildError.missing("element \(element)") }
        func bit(_ i: Int) -> Bool { unitBytes[i >> 3] & (UInt8(0x80) >> UInt8(i & 7)) != 0 }
        var w = BitWriter()
        try write(&w)
        var bits: [Bool] = (0..<e.bitPosition).map(bit)
        bits += (0..<w.bitCount).map { w.bytes[$0 >> 3] & (UInt8(0x80) >> UInt8($0 & 7)) != 0 }
        bits += ((e.bitPosition + e.bitWidth)..<align.bitPosition).map(bit)
        bits.append(true)
        while bits.count % 8 != 0 { bits.append(false) }
        var out = [UInt8](repeating: 0, count: bits.count / 8)
        for (k, b) in bits.enumerated() where b { out[k >> 3] |= UInt8(0x80) >> UInt8(k & 7) }
        out += unitBytes[u.headerByteCount...]
        guard out.count < 32768 else { throw BuildError.unexpected("unit too large for the short size form") }
        out[0] = UInt8(out.count >> 8)
        out[1] = UInt8(out.count & 0xFF)
        return out
    }

    // MARK: Hand-coded payloads

    /// Codes the bins of a one-element tensor directly with the arithmetic encoder (for payloads
    /// no encoder writes: levels beyond int32, codebook indices out of range, a terminating bin 0).
    struct HandCodedPayload {
        var encoder = ArithmeticEncoder()
        let layout: ContextLayout
        var contexts: [ContextModel]

        init(cabacUnaryLengthMinus1: Int) {
            layout = ContextLayout(cabacUnaryLengthMinus1: cabacUnaryLengthMinus1)
            contexts = Array(repeating: ContextModel(set: 0), count: layout.count)
        }

        mutating func bin(_ b: Int, _ ctx: Int) { encoder.encodeBin(UInt32(b & 1), context: &contexts[ctx]) }

        /// qp_offset: 6 + qpDensity bypass bins, two's complement.
        mutating func qpOffset(_ value: Int, qpDensity: Int) {
            let n = 6 + qpDensity
            encoder.encodeBypassBins(UInt32(truncatingIfNeeded: value) & ((1 << UInt32(n)) - 1), count: n)
        }

        /// Every estimator-selection flag 0 (no codebook, no TCA/HDSP).
        mutating func estimatorSelectionNone(dq: Bool) {
            let entries = (dq ? 24 : 3) + 3 + 2 * layout.gtCount + 31
            for _ in 0..<entries { bin(0, layout.selectionFlag) }
        }

        /// One level at the start of a tensor (DQ state 0, neighbour 0), magnitude `a` ≥ 0.
        mutating func level(magnitude a: UInt64, negative: Bool = false) {
            bin(a == 0 ? 0 : 1, ContextLayout.sigBase)
            guard a > 0 else { return }
            bin(negative ? 1 : 0, ContextLayout.signBase)
            let L = UInt64(layout.gtCount)
            var j: UInt64 = 0
            while j < L {
                let flag = a > j + 1 ? 1 : 0
                bin(flag, ContextLayout.gtBase + 2 * Int(j) + (negative ? 1 : 0))
                if flag == 0 { return }
                j += 1
            }
            // Exp-Golomb-0 remainder of a − L − 1: n prefix ones (context per position), a 0 unless
            // the prefix is the longest (31), then n suffix bits.
            let v = a - L - 1
            var n = 0
            while n < 31 && v >= (UInt64(1) << UInt64(n + 1)) - 1 { n += 1 }
            for m in 0..<n { bin(1, layout.remainderBase + m) }
            if n < 31 { bin(0, layout.remainderBase + n) }
            let suffix = v - ((UInt64(1) << UInt64(n)) - 1)
            if n > 0 { encoder.encodeBypassBins(UInt32(truncatingIfNeeded: suffix), count: n) }
        }

        mutating func finish(terminatingBin: Int = 1) -> [UInt8] {
            encoder.encodeTerminatingBin(UInt32(terminatingBin))
            return encoder.finish()
        }
    }

    // MARK: The negative vectors

    static let tiny = "vectors/t_tiny_1x1/bitstream.nnc"
    static let tiny1D = "vectors/t_tiny_1/bitstream.nnc"
    static let int16 = "vectors/t_int16_signed_64x48/bitstream.nnc"
    static let codebook = "vectors/t2d_codebook_clustered/bitstream.nnc"
    static let blocks = "vectors/m_torch_smallcnn_blocks/bitstream.nnc"
    static let scan = "vectors/gen_scan_order1_dq_64x40/bitstream.nnc"
    static let incStep0 = "vectors/gen_inc_tca_scan1_40x24/step0.nnc"
    static let incStep1 = "vectors/gen_inc_tca_scan1_40x24/step1.nnc"
    static let hdspStep0 = "vectors/gen_inc_hdsp_48x32/step0.nnc"
    static let hdspStep1 = "vectors/gen_inc_hdsp_48x32/step1.nnc"

    static func negativeVectors() throws -> [NegativeVector] {
        var out: [NegativeVector] = []
        func add(_ rule: String, _ base: String, _ mutation: String, _ bytes: [UInt8], also: [String] = [], after: [String] = [],
                 variant: String? = nil) {
            out.append(NegativeVector(rule: rule, fileName: rule + (variant.map { "-" + $0 } ?? "") + ".nnc", bytes: bytes,
                                      expectedRules: [rule] + also, after: after, base: base, mutation: mutation))
        }

        // Container
        do {
            let s = try Stream(tiny)
            add(CheckRules.unitsTileFile, tiny, "the last byte removed (the last unit runs past the end of the file)", Array(s.bytes.dropLast()))
            add(CheckRules.unitsTileFile, tiny, "one byte 0x00 appended after the last unit", s.bytes + [0x00], variant: "trailing")
        }
        do {
            var s = try Stream(tiny)
            let i = try s.index(of: .modelParameterSet)
            var p = s.pieces[i]
            p.append(0x00)
            p[1] = UInt8(p.count)  // 16-bit size form: the low byte
            s.pieces[i] = p
            add(CheckRules.unitSyntaxFitsSize, tiny, "NNR_MPS: one byte 0x00 appended inside the unit (nnr_unit_size + 1)", s.bytes)
        }
        do {
            var s = try Stream(tiny)
            let i = try s.index(of: .compressedData)
            try s.setNDU(i, try s.ndu(i), longSize: true)
            add(CheckRules.longSizeForm, tiny, "the NDU re-written in the 32-bit size form", s.bytes)
        }
        do {
            var s = try Stream(tiny)
            let i = try s.index(of: .compressedData)
            let reserved = try NNRUnitWriter.unit(common: NNRUnitCommonHeader(type: 7), body: [])
            s.pieces.insert(reserved, at: i)
            add(CheckRules.reservedUnitType, tiny, "a 3-byte unit of the reserved type 7 inserted before the NDU", s.bytes)
        }
        do {
            var s = try Stream(tiny)
            let t = try s.index(of: .topology), n = try s.index(of: .compressedData)
            let carried = s.pieces[t] + s.pieces[n]
            var agg = NNRAggregateUnitHeader()
            agg.numOfNNRUnitsMinus2 = 0
            let unit = try NNRUnitSerializer.serialize(common: NNRUnitCommonHeader(type: 6), content: .aggregate(agg),
                                                       context: s.units[n].context, payload: carried)
            s.pieces = Array(s.pieces[..<t]) + [unit]
            add(CheckRules.aggregateUnit, tiny, "NNR_TPL and NNR_NDU carried in an NNR_AGG (no entry points)", s.bytes)

            agg.entryPointsPresentFlag = true
            agg.unitTypes = [3, 5]
            agg.unitEntryPoints = [0, 5]  // the NDU starts at 6 (after the 6-byte NNR_TPL), not 5
            let wrong = try NNRUnitSerializer.serialize(common: NNRUnitCommonHeader(type: 6), content: .aggregate(agg),
                                                        context: s.units[n].context, payload: carried)
            s.pieces[s.pieces.count - 1] = wrong
            add(CheckRules.aggregateContent, tiny, "NNR_AGG with entry points; the second entry point says 5, the NDU starts at payload offset 6",
                s.bytes, also: [CheckRules.aggregateUnit])
        }
        do {
            var s = try Stream(tiny)
            let i = try s.index(of: .compressedData)
            try s.setNDU(i, try s.ndu(i), common: NNRUnitCommonHeader(type: 5, partialDataCounter: 0))
            add(CheckRules.partialDataCounter, tiny, "partial_data_counter_present_flag = 1 (counter 0) on the NDU", s.bytes)
        }

        // Order
        do {
            var s = try Stream(tiny)
            let t = try s.index(of: .topology)
            s.pieces.insert(s.pieces[t], at: 0)
            add(CheckRules.firstUnitIsStart, tiny, "a copy of NNR_TPL inserted before NNR_STR", s.bytes)
        }
        do {
            var s = try Stream(tiny)
            s.pieces.append(s.pieces[try s.index(of: .startUnit)])
            add(CheckRules.singleStart, tiny, "a second NNR_STR appended", s.bytes)
        }
        do {
            var s = try Stream(tiny)
            let m = try s.index(of: .modelParameterSet), t = try s.index(of: .topology)
            s.pieces.swapAt(m, t)
            add(CheckRules.mpsAfterStart, tiny, "NNR_MPS and NNR_TPL swapped", s.bytes)
        }
        do {
            var s = try Stream(tiny)
            s.pieces.append(s.pieces[try s.index(of: .modelParameterSet)])
            add(CheckRules.singleMPS, tiny, "a second NNR_MPS appended", s.bytes)
        }
        do {
            var s = try Stream(tiny)
            var m = try s.mps()
            m.mpsTopologyIndexedReferenceFlag = true
            try s.setMPS(m)
            let i = try s.index(of: .compressedData)
            var ctx = s.units[i].context
            ctx.mpsTopologyIndexedReferenceFlag = true
            var h = try s.ndu(i)
            h.topologyElemIdIndex = 0
            try s.setNDU(i, h, context: ctx)
            add(CheckRules.indexedReferenceList, tiny,
                "mps_topology_indexed_reference_flag = 1 and the NDU refers to element index 0, but the NNR_TPL is NNR_TPL_UNREC (no REFLIST)", s.bytes)
        }
        do {
            var s = try Stream(tiny)
            let i = try s.index(of: .compressedData)
            var h = try s.ndu(i)
            h.topologyElemId += "_G"
            h.compressedParameterTypes |= NNRCompressedParameterType.dc
            h.decompositionRank = 1
            h.gNumberOfRows = 1
            try s.setNDU(i, h)
            add(CheckRules.decompositionPairing, tiny, "the NDU marked as decomposition G (NNR_CPT_DC, name tiny_G, rank 1, 1 row) with no _H NDU after it", s.bytes)
        }
        do {
            var s = try Stream(tiny)
            let i = try s.index(of: .compressedData)
            s.pieces.insert(s.pieces[i], at: i + 1)
            add(CheckRules.tensorNameOnce, tiny, "the NDU repeated right after itself (tensor tiny twice)", s.bytes)
        }

        // Header
        do {
            var s = try Stream(tiny)
            var m = try s.mps()
            m.nnrReservedZero2Bits = 1
            try s.setMPS(m)
            add(CheckRules.reservedBits, tiny, "NNR_MPS nnr_reserved_zero_2bits = 1", s.bytes)
        }
        do {
            var s = try Stream(tiny)
            let i = try s.index(of: .modelParameterSet)
            var p = s.pieces[i]
            guard p.last == 0x80 else { throw BuildError.unexpected("MPS does not end with a whole alignment byte") }
            p[p.count - 1] = 0x81
            s.pieces[i] = p
            add(CheckRules.byteAlignment, tiny, "NNR_MPS byte_alignment() 0x80 → 0x81", s.bytes)
        }
        do {
            var s = try Stream(tiny1D)
            let str = try s.index(of: .startUnit)
            s.pieces[str] = try NNRUnitSerializer.serialize(common: s.units[str].common, content: .start(NNRStartUnitHeader(generalProfileIdc: 2)),
                                                            context: SyntaxContext())
            try s.setMPS(try s.mps(), profile: 2)
            let i = try s.index(of: .compressedData)
            try s.setNDU(i, try s.ndu(i), context: SyntaxContext(generalProfileIdc: 2))
            add(CheckRules.profile, tiny1D,
                "general_profile_idc = 2; NNR_MPS and the NDU header re-written in the profile-0 form (the 1-D payload is the same in both profiles)", s.bytes)
        }
        do {
            var s = try Stream(tiny)
            let i = try s.index(of: .compressedData)
            var h = try s.ndu(i)
            h.nnrCompressedDataUnitPayloadType = 9
            try s.setNDU(i, h)
            add(CheckRules.payloadType, tiny, "nnr_compressed_data_unit_payload_type = 9", s.bytes)
        }
        do {
            var s = try Stream(tiny)
            let i = try s.index(of: .compressedData)
            var h = try s.ndu(i)
            h.nnrDecompressedDataFormatPresentFlag = true
            h.nnrDecompressedDataFormat = 12
            try s.setNDU(i, h)
            add(CheckRules.decompressedDataFormat, tiny, "nnr_decompressed_data_format_present_flag = 1, nnr_decompressed_data_format = 12", s.bytes)
        }
        do {
            var s = try Stream(incStep1)
            let i = try s.index(of: .compressedData)
            var p = s.pieces[i]
            let bit = try bitPosition(of: "parent_node_id_type", unitBytes: p, context: s.units[i].context)
            setBits(&p, at: bit, count: 2, value: 3)
            s.pieces[i] = p
            add(CheckRules.parentNodeIdType, incStep1, "parent_node_id_type bits set to 3", s.bytes)
        }
        do {
            var s = try Stream(tiny)
            let i = try s.index(of: .compressedData)
            var h = try s.ndu(i)
            h.scanOrder = 7
            try s.setNDU(i, h)
            add(CheckRules.scanOrder, tiny, "scan_order = 7", s.bytes)
        }
        do {
            var s = try Stream(blocks)
            let i = try s.index(of: .compressedData)
            var h = try s.ndu(i)
            h.nnrMultipleTopologyElementsPresentFlag = false
            h.topologyElemId = h.topologyElemIdList.first ?? ""
            try s.setNDU(i, h)
            add(CheckRules.multipleTopologyElements, blocks, "first NNR_PT_BLOCK NDU with nnr_multiple_topology_elements_present_flag = 0 (one element name)", s.bytes)
        }
        do {
            var s = try Stream(blocks)
            let i = try s.index(of: .compressedData)
            var h = try s.ndu(i)
            h.topologyElemIdList.removeLast()
            try s.setNDU(i, h)
            add(CheckRules.blockElementCount, blocks, "first NNR_PT_BLOCK NDU: the last topology element name removed", s.bytes)
        }
        do {
            var s = try Stream(tiny)
            let i = try s.index(of: .compressedData)
            var h = try s.ndu(i)
            h.tensorDimensionsFlag = false
            h.tensorDimensions = []
            try s.setNDU(i, h)
            add(CheckRules.dimensionsInBand, tiny, "tensor_dimensions_flag = 0 (dimensions out of band)", s.bytes)
        }
        do {
            var s = try Stream(tiny)
            let i = try s.index(of: .compressedData)
            var h = try s.ndu(i)
            h.tensorDimensions = [1, 0]
            try s.setNDU(i, h)
            add(CheckRules.dimensionValues, tiny, "tensor_dimensions = [1, 0]", s.bytes)
        }
        do {
            var s = try Stream(tiny)
            let i = try s.index(of: .compressedData)
            var h = try s.ndu(i)
            h.tensorDimensions = [65536, 65536]
            try s.setNDU(i, h)
            add(CheckRules.limits, tiny, "tensor_dimensions = [65536, 65536] (2^32 elements, above the 2^31 limit)", s.bytes)
        }
        do {
            var s = try Stream(codebook)
            let i = try s.index(of: .compressedData)
            let h = try s.ndu(i)
            let cb = h.codebook
            guard h.codebookPresentFlag, cb.codebookSize >= 2, cb.cbZeroOffset < cb.codebookSize - 1 else {
                throw BuildError.unexpected("no codebook with a right delta")
            }
            let j = cb.codebookSize - 1
            var delta = Int(Int32.max) - cb.entries[j - 1] + 4
            s.pieces[i] = try replaceField(s.pieces[i], context: s.units[i].context, element: "codebook_delta_right[\(j)]") { w in
                try w.ue("codebook_delta_right", cb.codebookEgk, &delta)
            }
            add(CheckRules.codebook, codebook, "codebook_delta_right of the last entry re-coded so that the entry is 2^31 + 4 (beyond int32)", s.bytes)
        }
        do {
            var s = try Stream(codebook)
            let i = try s.index(of: .compressedData)
            var h = try s.ndu(i)
            h.dqFlag = true
            try s.setNDU(i, h)
            add(CheckRules.codebookWithoutDQ, codebook, "dq_flag = 1 in a codebook NDU", s.bytes)
        }
        do {
            var s = try Stream(int16)
            let i = try s.index(of: .compressedData)
            var h = try s.ndu(i)
            h.dqFlag = true
            try s.setNDU(i, h)
            add(CheckRules.integerWithoutDQ, int16, "dq_flag = 1 in an NNR_PT_INT NDU", s.bytes)
        }
        do {
            var s = try Stream(tiny)
            var m = try s.mps()
            m.mpsQuantizationMethodFlags = 0
            try s.setMPS(m)
            add(CheckRules.quantizationParameters, tiny, "mps_quantization_method_flags = 0 (no qp_density / quantization_parameter) with an NNR_PT_FLOAT NDU", s.bytes)
        }
        do {
            var s = try Stream(tiny)
            var m = try s.mps()
            m.mpsQuantizationMethodFlags = 5
            try s.setMPS(m)
            add(CheckRules.quantizationMethodFlags, tiny, "mps_quantization_method_flags = 5 (the reserved bit 4 set)", s.bytes)
        }
        do {
            var s = try Stream(tiny)
            let i = try s.index(of: .compressedData)
            var p = s.pieces[i]
            let bit = try bitPosition(of: "topology_elem_id", unitBytes: p, context: s.units[i].context)
            p[bit >> 3] = 0xFF
            s.pieces[i] = p
            add(CheckRules.strings, tiny, "the first byte of topology_elem_id set to 0xFF (not UTF-8)", s.bytes)
        }
        do {
            var s = try Stream(blocks)
            let i = try s.index(of: .compressedData)
            var h = try s.ndu(i)
            h.compressedParameterTypes |= NNRCompressedParameterType.dc
            h.topologyElemIdList.insert((h.topologyElemIdList.first ?? "w") + "_H", at: 1)
            h.decompositionRank = 0
            h.gNumberOfRows = 1
            try s.setNDU(i, h)
            add(CheckRules.decompositionParameters, blocks, "first NNR_PT_BLOCK NDU given NNR_CPT_DC (and a second element name) with decomposition_rank = 0", s.bytes)
        }
        do {
            var s = try Stream(tiny)
            let t = try s.index(of: .topology)
            var p = s.pieces[t]
            p[3] = 9  // topology_storage_format (after the 2-byte size and the type byte)
            s.pieces[t] = p
            add(CheckRules.topologyFormats, tiny, "topology_storage_format = 9", s.bytes)
        }
        do {
            var s = try Stream(tiny)
            let i = try s.index(of: .compressedData)
            var h = try s.ndu(i)
            h.topologyElemId = "../" + h.topologyElemId
            try s.setNDU(i, h)
            add(CheckRules.tensorNameUnsafe, tiny, "topology_elem_id prefixed with '../'", s.bytes)
        }

        // Payload
        do {
            var s = try Stream(scan)
            let i = try s.index(of: .compressedData)
            let payload = s.payload(i)
            try s.setNDU(i, try s.ndu(i), payload: Array(payload.prefix(payload.count / 2)))
            add(CheckRules.payloadWithinUnit, scan, "the NDU payload cut to its first half (nnr_unit_size adjusted)", s.bytes)
        }
        do {
            var s = try Stream(tiny1D)
            let i = try s.index(of: .compressedData)
            let h = try s.ndu(i)
            var enc = HandCodedPayload(cabacUnaryLengthMinus1: h.cabacUnaryLengthMinus1)
            enc.qpOffset(-32, qpDensity: try s.mps().mpsQpDensity)
            enc.estimatorSelectionNone(dq: h.dqFlag)
            enc.level(magnitude: 3)
            // Two padding bytes: after a terminating bin 0 the decoder keeps reading.
            try s.setNDU(i, h, payload: enc.finish(terminatingBin: 0) + [0x00, 0x00])
            add(CheckRules.terminatingBin, tiny1D, "hand-coded payload (qp_offset −32, level 3) with a terminating bin 0, then two bytes 0x00", s.bytes)
        }
        if let v = try stopPatternVector() { out.append(v) }
        do {
            var s = try Stream(tiny)
            let i = try s.index(of: .compressedData)
            try s.setNDU(i, try s.ndu(i), payload: s.payload(i) + [0x00])
            add(CheckRules.payloadConsumed, tiny, "one byte 0x00 appended to the NDU payload (nnr_unit_size + 1)", s.bytes)
        }
        do {
            var s = try Stream(scan)
            let i = try s.index(of: .compressedData)
            var h = try s.ndu(i)
            guard !h.entryPoints.isEmpty else { throw BuildError.unexpected("no entry points") }
            h.entryPoints[0].value ^= 1
            try s.setNDU(i, h)
            add(CheckRules.entryPoints, scan, "ep_value of the first entry point: lowest bit flipped", s.bytes)
        }
        do {
            var s = try Stream(tiny1D)
            let i = try s.index(of: .compressedData)
            var h = try s.ndu(i)
            h.nnrCompressedDataUnitPayloadType = NNRPayloadType.int.rawValue
            h.dqFlag = false
            h.topologyElemId = "big"
            var enc = HandCodedPayload(cabacUnaryLengthMinus1: h.cabacUnaryLengthMinus1)
            enc.estimatorSelectionNone(dq: false)
            enc.level(magnitude: (UInt64(1) << 31) + UInt64(h.cabacUnaryLengthMinus1 + 1))  // 31 prefix ones: beyond int32
            try s.setNDU(i, h, payload: enc.finish())
            add(CheckRules.levelsInt32, tiny1D, "NNR_PT_INT [1] with a hand-coded level of 2^31 + L (remainder prefix of 31 ones)", s.bytes)
        }
        do {
            // A profile-0 stream: its payload does not bound codebook indices.
            var s = try Stream(tiny1D)
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
            add(CheckRules.codebookIndex, tiny1D, "profile 0, codebook [-1, 0, 1] (CbZeroOffset 1) and a hand-coded index 3", s.bytes)
        }
        do {
            var s = try Stream(tiny)
            let i = try s.index(of: .compressedData)
            var h = try s.ndu(i)
            h.nnrCompressedDataUnitPayloadType = NNRPayloadType.rawFloat.rawValue
            h.codebookPresentFlag = false
            h.dqFlag = false
            try s.setNDU(i, h, payload: [0x00, 0x00, 0x80, 0x3F, 0x00])
            add(CheckRules.rawFloatSize, tiny, "NNR_PT_RAW_FLOAT [1, 1] with a 5-byte payload (4 expected)", s.bytes)
        }
        do {
            var s = try Stream(tiny)
            var m = try s.mps()
            m.mpsQuantizationParameter = 4000
            try s.setMPS(m)
            add(CheckRules.stepSize, tiny, "mps_quantization_parameter = 4000 (the float32 step size overflows)", s.bytes)
        }
        do {
            var s = try Stream(int16)
            let i = try s.index(of: .compressedData)
            var h = try s.ndu(i)
            h.nnrDecompressedDataFormatPresentFlag = true
            h.nnrDecompressedDataFormat = 5
            try s.setNDU(i, h)
            add(CheckRules.declaredIntegerFormat, int16, "nnr_decompressed_data_format = 5 (TENSOR_INT8) on int16-range values", s.bytes)
        }

        // Incremental
        do {
            var s = try Stream(incStep1)
            let i = try s.index(of: .compressedData)
            var c = s.units[i].common
            c.independentlyDecodableFlag = false
            try s.setNDU(i, try s.ndu(i), common: c)
            add(CheckRules.parentTensor, incStep1, "a TCA update (independently_decodable_flag set to 0) checked without its base bitstream", s.bytes)
        }
        do {
            var s = try Stream(incStep1)
            let i = try s.index(of: .compressedData)
            var c = s.units[i].common
            c.independentlyDecodableFlag = false
            var h = try s.ndu(i)
            h.putNodeDepth += 5
            try s.setNDU(i, h, common: c)
            add(CheckRules.parentIdentity, incStep1, "put_node_depth + 5 (independently_decodable_flag set to 0), checked after its base", s.bytes,
                after: [incStep0])
        }
        do {
            let s = try Stream(incStep1)
            add(CheckRules.independentlyDecodable, incStep1, "unchanged: NNCodec writes independently_decodable_flag = 1 on TCA updates", s.bytes,
                after: [incStep0])
        }
        do {
            let s = try Stream(hdspStep1)
            add(CheckRules.independentlyDecodable, hdspStep1,
                "unchanged: NNCodec writes independently_decodable_flag = 1 on HDSP updates (hist_dep_sig_prob_enabled_flag = 1)", s.bytes,
                after: [hdspStep0], variant: "hdsp")
        }
        return out
    }

    /// NNR-P003: a bit after the stop bit of the last payload byte set to 1 (the first vector and
    /// bit for which the checker reports exactly that rule).
    static func stopPatternVector() throws -> NegativeVector? {
        for base in [tiny, tiny1D, "vectors/t1d_bias512_qp-32/bitstream.nnc"] {
            let s = try Stream(base)
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

    // MARK: Manifest

    /// Conformance/-relative bitstreams of a vector folder in decoding order, with their decoded.npz.
    static func positiveFiles(_ folder: String) -> [(bitstream: String, decoded: String)] {
        let dir = conformanceRoot.appendingPathComponent(folder, isDirectory: true)
        return CaseFiles.bitstreams(of: dir).map { step in
            (folder + "/" + step.bitstream.lastPathComponent, folder + "/" + step.decoded.lastPathComponent)
        }
    }

    static func manifestJSON(negatives: [NegativeVector]) throws -> String {
        let fm = FileManager.default
        let vectorsDir = conformanceRoot.appendingPathComponent("vectors", isDirectory: true)
        let folders = ((try? fm.contentsOfDirectory(atPath: vectorsDir.path)) ?? []).sorted().filter {
            fm.fileExists(atPath: vectorsDir.appendingPathComponent($0).appendingPathComponent("vector.json").path)
        }
        var entries: [JSONValue] = []
        for folder in folders {
            let metaURL = vectorsDir.appendingPathComponent(folder).appendingPathComponent("vector.json")
            guard let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: metaURL)) as? [String: Any] else {
                throw BuildError.unexpected("\(folder)/vector.json is not an object")
            }
            let features = (meta["features"] as? [String]) ?? []
            let steps = positiveFiles("vectors/" + folder)
            var after: [String] = []
            var checker = ConformanceChecker(options: CheckOptions(concurrent: false))
            for step in steps {
                let tensors = try NPZ.read(conformanceRoot.appendingPathComponent(step.decoded))
                // Warnings the checker reports on this (conforming) vector, e.g. NNR-I003 on NNCodec's TCA updates.
                let report = checker.checkFile(conformanceRoot.appendingPathComponent(step.bitstream))
                let warnings = report.violatedRuleIDs
                entries.append(.object([
                    ("file", .string(step.bitstream)),
                    ("after", .array(after.map { .string($0) })),
                    ("verdict", .string("conforming")),
                    ("strict_verdict", .string(warnings.isEmpty ? "conforming" : "non-conforming")),
                    ("expected_rules", .array(warnings.map { .string($0) })),
                    ("reference", .string(step.decoded)),
                    ("sha256", .object(tensors.map { ($0.name, .string(SHA256.hex($0.storage))) })),
                    ("features", .array(features.map { .string($0) })),
                    ("what", .string((meta["what"] as? String) ?? "")),
                    ("origin", .string((meta["origin"] as? String) ?? "")),
                ]))
                after.append(step.bitstream)
            }
        }
        for n in negatives {
            let rule = CheckRules.rule(n.rule)
            let isWarning = rule?.severity == .warning
            entries.append(.object([
                ("file", .string("negative/" + n.fileName)),
                ("after", .array(n.after.map { .string($0) })),
                ("verdict", .string(isWarning ? "conforming" : "non-conforming")),
                ("strict_verdict", .string("non-conforming")),
                ("rule", .string(n.rule)),
                ("expected_rules", .array(n.expectedRules.map { .string($0) })),
                ("sha256", .object([])),
                ("features", .array([.string(rule?.group.rawValue ?? "")])),
                ("what", .string(rule?.statement ?? "")),
                ("origin", .string("built by Tests/NNRToolsTests/ConformanceSuiteGeneratorTests.swift from \(n.base): \(n.mutation)")),
            ]))
        }
        let doc: JSONValue = .object([
            ("description", .string("swift-nnr conformance suite: positive vectors (NNCodec 2.1.3) with the SHA-256 of every decoded tensor's raw little-endian bytes, and negative vectors each breaking one rule of Spec/conformance-rules.md. Paths are relative to this file. 'after' lists bitstreams to check first, in order (incremental sequences). 'expected_rules' is exactly the set of rule IDs `nnr check` reports; 'verdict' ignores warnings, 'strict_verdict' (nnr check --strict) does not.")),
            ("rules", .int(CheckRules.all.count)),
            ("entries", .array(entries)),
        ])
        return doc.serialized(indent: 1) + "\n"
    }
}

extension ConformanceChecker {
    /// Checks a file that must be readable (test helper).
    mutating func checkFile(_ url: URL) -> FileCheckReport {
        do {
            return try check(url: url, reference: nil, referencePath: nil)
        } catch {
            return FileCheckReport(path: url.path, fileSize: 0,
                                   violations: [CheckViolation(ruleID: "IO", unitIndex: nil, byteOffset: 0, element: "file", message: "\(error)")])
        }
    }
}
