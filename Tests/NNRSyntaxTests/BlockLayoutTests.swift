import XCTest
import NNRSyntax

/// The tensors of an NNR_PT_BLOCK payload: payload order, shapes, topology indices, codebooks.
final class BlockLayoutTests: XCTestCase {
    func testBlockLayout() throws {
        let all = try BlockLayout.tensors(compressedParameterTypes: NNRCompressedParameterType.ls | NNRCompressedParameterType.bn | NNRCompressedParameterType.bi, dims: [16, 3, 3, 3],
                                          decompositionRank: nil, gNumberOfRows: nil)
        XCTAssertEqual(all.map(\.role), [.localScaling, .bias, .batchNormBeta, .batchNormGamma, .batchNormMean,
                                         .batchNormVariance, .weight])
        XCTAssertEqual(all.map(\.topologyIndex), [1, 6, 2, 3, 4, 5, 0])
        XCTAssertEqual(all.map(\.dims), [[16], [16], [16], [16], [16], [16], [16, 3, 3, 3]])
        XCTAssertEqual(BlockLayout.topologyElementCount(compressedParameterTypes: 0xE), 7)
        let dc = try BlockLayout.tensors(compressedParameterTypes: NNRCompressedParameterType.dc | NNRCompressedParameterType.bi, dims: [8, 10],
                                         decompositionRank: 3, gNumberOfRows: 4)
        XCTAssertEqual(dc.map(\.role), [.bias, .decompositionG, .decompositionH])
        XCTAssertEqual(dc.map(\.topologyIndex), [2, 0, 1])
        XCTAssertEqual(dc.map(\.dims), [[8], [4, 3], [3, 20]])
        XCTAssertEqual(dc.map(\.codebookIndex), [nil, 0, 1])
        XCTAssertThrowsError(try BlockLayout.tensors(compressedParameterTypes: 1, dims: [4], decompositionRank: nil, gNumberOfRows: 2))
        XCTAssertThrowsError(try BlockLayout.tensors(compressedParameterTypes: 16, dims: [4], decompositionRank: nil, gNumberOfRows: nil))
    }
}
