import Foundation
import XCTest
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRCoding
import NNRTestSupport

/// Units the reference never writes (LPS, QNT, AGG, partial data counter, performance maps,
/// REFLIST topology, SHA parent ids, DC blocks with two codebooks): built here, kept under
/// Conformance/syntax/, parsed back and re-serialized byte for byte.
final class SyntheticUnitsTests: XCTestCase {
    static let goldenURL = Vectors.repoRoot.appendingPathComponent("Conformance/syntax/all_unit_types.nnc")

    /// The units of the synthetic file, as values.
    static func units() -> [(NNRUnitCommonHeader, NNRUnitContent, [UInt8])] {
        var mps = NNRModelParameterSet()
        mps.mpsSparsificationFlag = true
        mps.mpsPruningFlag = true
        mps.mpsUnificationFlag = true
        mps.mpsDecompositionPerformanceMapFlag = true
        mps.mpsQuantizationMethodFlags = 3
        mps.baseModelIdPresentFlag = true
        mps.validationSetPerformancePresentFlag = true
        mps.metricTypePerformanceMapValidFlag = true
        mps.mpsParentSignallingEnabledFlag = true
        mps.nnrPreFlag = true
        mps.baseModelId = "base-model-v1"
        mps.performanceMetricType = "top1"
        mps.mpsQpDensity = 3
        mps.mpsQuantizationParameter = -77
        mps.validationSetPerformance = 0.75
        var se = SparsificationPerformanceMap.Entry()
        se.sparsificationThreshold = 0.01; se.nonZeroRatio = 0.4; se.nnAccuracy = 0.7; se.classBitmask = 5; se.classAccuracies = [0.5, 0.25]
        mps.sparsificationMap.countThresholds = 2
        mps.sparsificationMap.entries = [se]
        var pe = PruningPerformanceMap.Entry()
        pe.pruningRatio = 0.3; pe.nnAccuracy = 0.69; pe.classBitmask = 1; pe.classAccuracies = [0.125]
        mps.pruningMap.countPruningRatios = 2
        mps.pruningMap.entries = [pe]
        var ue = UnificationPerformanceMap.Entry()
        ue.countReshapedTensorDimension = 3; ue.reshapedTensorDimensions = [64, 9]
        ue.countSuperBlockDimension = 2; ue.superBlockDimensions = [8]
        ue.countBlockDimension = 3; ue.blockDimensions = [4, 2]
        ue.unificationThreshold = 0.5; ue.nnAccuracy = 0.6; ue.countClasses = 2; ue.classBitmask = 2; ue.classAccuracies = [0.1, 0.2]
        mps.unificationMap.countThresholds = 2
        mps.unificationMap.entries = [ue]
        var de = DecompositionPerformanceMap.Entry()
        de.mseThreshold = 0.001; de.nnAccuracy = 0.68; de.nnReductionRatio = 0.5; de.classAccuracies = [0.9, 0.8, 0.7]
        mps.decompositionMap.countThresholds = 2
        mps.decompositionMap.entries = [de]

        var lps = NNRLayerParameterSet()
        lps.lpsSelfContainedFlag = true
        lps.lpsSparsificationFlag = true
        lps.lpsQuantizationMethodFlags = 1
        lps.lpsQpDensity = 2
        lps.lpsQuantizationParameter = -40
        lps.sparsificationMap.countThresholds = 2
        lps.sparsificationMap.entries = [se]

        var tpl = NNRTopologyUnit()
        tpl.topologyStorageFormat = NNRTopologyStorageFormat.reflist
        tpl.referenceList = ["conv.weight", "conv.bias", "fc.weight"]

        var qntBytes = NNRQuantizationUnit()
        qntBytes.quantizationStorageFormat = 1
        qntBytes.quantizationData = .bytes([0x01, 0x02, 0x03, 0xFF])
        var qntString = NNRQuantizationUnit()
        qntString.quantizationData = .string("step=0.01")

        var raw = NDUHeader()
        raw.nnrCompressedDataUnitPayloadType = NNRPayloadType.rawFloat.rawValue
        raw.topologyElemId = "raw.weight"
        raw.tensorDimensions = [2, 2]
        raw.parentNodeIdPresentFlag = true
        raw.parentNodeIdType = 1
        raw.parentNodePayloadSHA = Array(0..<32)
        var rawPayload: [UInt8] = []
        for f: Float in [1, -2, 0.5, 3.25] { withUnsafeBytes(of: f.bitPattern.littleEndian) { rawPayload += $0 } }

        var sha512 = NDUHeader()
        sha512.topologyElemId = "w512"
        sha512.nodeIdPresentFlag = false
        sha512.tensorDimensions = [8]
        sha512.parentNodeIdPresentFlag = true
        sha512.parentNodeIdType = 2
        sha512.parentNodePayloadSHA = Array(repeating: 0xAB, count: 64)

        var agg = NNRAggregateUnitHeader()
        agg.entryPointsPresentFlag = false
        agg.numOfNNRUnitsMinus2 = 0

        var block = NDUHeader()
        block.nnrCompressedDataUnitPayloadType = NNRPayloadType.block.rawValue
        block.nnrMultipleTopologyElementsPresentFlag = true
        block.topologyElemIdList = ["l.weight_G", "l.weight_H", "l.weight_scaling", "l.bias"]
        block.codebookPresentFlag = true
        block.codebook = NNRCodebook(codebookEgk: 2, entries: [-9, -3, 0, 1, 7], cbZeroOffset: 2)
        block.codebookDC = NNRCodebook(codebookEgk: 0, entries: [-1, 0, 2], cbZeroOffset: 1)
        block.compressedParameterTypes = NNRCompressedParameterType.dc | NNRCompressedParameterType.ls | NNRCompressedParameterType.bi
        block.decompositionRank = 9
        block.gNumberOfRows = 20
        block.tensorDimensions = [20, 27]
        block.nnrDecompressedDataFormatPresentFlag = true
        block.nnrDecompressedDataFormat = 1
        block.scanOrder = 1
        block.dqFlag = false
        block.entryPoints = [EntryPoint(bitOffsetDelta: 1000, value: 17, dqState: 0),
                             EntryPoint(bitOffsetDelta: 990, value: 200, dqState: 0),
                             EntryPoint(bitOffsetDelta: 1100, value: 3, dqState: 0)]

        return [
            (NNRUnitCommonHeader(type: 0), .start(NNRStartUnitHeader(generalProfileIdc: 1)), []),
            (NNRUnitCommonHeader(type: 1), .modelParameterSet(mps), []),
            (NNRUnitCommonHeader(type: 2), .layerParameterSet(lps), []),
            (NNRUnitCommonHeader(type: 3), .topology(tpl), []),
            (NNRUnitCommonHeader(type: 4), .quantization(qntBytes), []),
            (NNRUnitCommonHeader(type: 4, partialDataCounter: 1), .quantization(qntString), []),
            (NNRUnitCommonHeader(type: 5, independentlyDecodable: false, partialDataCounter: 5), .compressedData(raw), rawPayload),
            (NNRUnitCommonHeader(type: 6), .aggregate(agg), []),  // children appended below
            (NNRUnitCommonHeader(type: 5, partialDataCounter: 3), .compressedData(block), [0x12, 0x34, 0x56, 0x80]),
        ] + [(NNRUnitCommonHeader(type: 5), .compressedData(sha512), [0x00, 0x80])]
    }

    static func build() throws -> [UInt8] {
        let ctx = SyntaxContext(generalProfileIdc: 1, mpsTopologyIndexedReferenceFlag: false, mpsParentSignallingEnabledFlag: true)
        var out: [UInt8] = []
        let all = units()
        for (i, (common, content, payload)) in all.enumerated() {
            let c = i < 2 ? SyntaxContext(generalProfileIdc: 1) : ctx
            if case .aggregate = content {
                // Two complete units inside: the RAW_FLOAT NDU and the SHA-512 NDU.
                let child1 = try NNRUnitSerializer.serialize(common: all[6].0, content: all[6].1, context: ctx, payload: all[6].2)
                let child2 = try NNRUnitSerializer.serialize(common: all[9].0, content: all[9].1, context: ctx, payload: all[9].2)
                out += try NNRUnitSerializer.serialize(common: common, content: content, context: c, payload: child1 + child2)
            } else {
                out += try NNRUnitSerializer.serialize(common: common, content: content, context: c, payload: payload)
            }
        }
        // A unit in the long size form though it is small (legal; re-serialization keeps the form).
        out += try NNRUnitWriter.unit(common: NNRUnitCommonHeader(type: 4), body: try {
            var w = BitWriter(); var q = NNRQuantizationUnit(); q.quantizationData = .bytes([9]); try q.visitHeader(&w); try q.visitPayload(&w); return w.bytes
        }(), forceLongSize: true)
        return out
    }

    func testSyntheticFileParsesAndRoundTrips() throws {
        let bytes = try Self.build()
        if ProcessInfo.processInfo.environment["NNR_REGENERATE"] != nil {
            try Data(bytes).write(to: Self.goldenURL)
        }
        let golden = try Array(Data(contentsOf: Self.goldenURL))
        XCTAssertEqual(bytes, golden, "the serializer's output changed; regenerate with NNR_REGENERATE=1 if intended")

        let source = NNRByteSource(bytes: golden)
        let (parsed, error) = NNRUnitParser.parseAll(source, tracing: true)
        XCTAssertNil(error, "\(String(describing: error))")
        XCTAssertEqual(parsed.map(\.common.nnrUnitType), [0, 1, 2, 3, 4, 4, 5, 6, 5, 5, 4])
        let expected = Self.units()
        for i in [0, 1, 2, 3, 4, 5, 6, 8, 9] {
            XCTAssertEqual(parsed[i].content, expected[i].1, "unit \(i)")
            XCTAssertEqual(parsed[i].common.partialDataCounterPresentFlag, expected[i].0.partialDataCounterPresentFlag)
            XCTAssertEqual(parsed[i].common.partialDataCounter, expected[i].0.partialDataCounter)
            XCTAssertEqual(source.bytes(parsed[i].payloadRange), i >= 6 && i != 7 ? expected[i].2 : [], "unit \(i) payload")
        }
        XCTAssertFalse(parsed[6].common.independentlyDecodableFlag)
        // The aggregate unit carries two complete units.
        XCTAssertEqual(parsed[7].children.count, 2)
        XCTAssertEqual(parsed[7].children.first?.content, expected[6].1)
        XCTAssertEqual(parsed[7].children.last?.content, expected[9].1)
        XCTAssertTrue(parsed[10].common.nnrUnitSizeFlag)
        // Entry point count for a DC block: rows(20) − 1 + rows(9) − 1 with B = 8.
        XCTAssertEqual(parsed[8].ndu?.entryPointCount(), 3)
        XCTAssertTrue(parsed.allSatisfy { $0.warnings.isEmpty })

        var rebuilt: [UInt8] = []
        for u in parsed { rebuilt += try NNRUnitSerializer.serialize(u, source: source) }
        XCTAssertEqual(rebuilt, golden)
    }

    func testAggregateNestingLimit() throws {
        // AGG inside AGG inside AGG ... deeper than the limit.
        var inner = try NNRUnitSerializer.serialize(common: NNRUnitCommonHeader(type: 0), content: .start(NNRStartUnitHeader()), context: SyntaxContext())
        var agg = NNRAggregateUnitHeader()
        agg.numOfNNRUnitsMinus2 = 0
        for _ in 0..<6 {
            let pair = inner + inner
            inner = try NNRUnitSerializer.serialize(common: NNRUnitCommonHeader(type: 6), content: .aggregate(agg), context: SyntaxContext(), payload: pair)
        }
        var limits = NNRLimits()
        limits.maxAggregateDepth = 3
        let (_, error) = NNRUnitParser.parseAll(NNRByteSource(bytes: inner), limits: limits)
        let e = try XCTUnwrap(error)
        XCTAssertEqual(e.element, "nnr_aggregate_unit_payload")
        guard case .limitExceeded = e.reason else { return XCTFail("\(e)") }
        XCTAssertNil(NNRUnitParser.parseAll(NNRByteSource(bytes: inner), limits: NNRLimits(maxAggregateDepth: 8)).error)
    }

    func testAggregateUnitCountMismatch() throws {
        var agg = NNRAggregateUnitHeader()
        agg.numOfNNRUnitsMinus2 = 1   // says 3, carries 2
        let s = try NNRUnitSerializer.serialize(common: NNRUnitCommonHeader(type: 0), content: .start(NNRStartUnitHeader()), context: SyntaxContext())
        let bytes = try NNRUnitSerializer.serialize(common: NNRUnitCommonHeader(type: 6), content: .aggregate(agg), context: SyntaxContext(), payload: s + s)
        let e = try XCTUnwrap(NNRUnitParser.parseAll(NNRByteSource(bytes: bytes)).error)
        XCTAssertEqual(e.element, "num_of_nnr_units_minus2")
    }
}
