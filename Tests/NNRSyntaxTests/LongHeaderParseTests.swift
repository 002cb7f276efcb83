import XCTest
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRCoding

/// NDU headers as long as the limits allow parse through NNRUnitParser, whose 4 KiB header probe
/// grows: entry-point lists of tensors with 2^31 elements (the element limit) at scan orders 0–4,
/// and codebooks up to NNRLimits.maxListEntries entries (issue 18, item 1).
final class LongHeaderParseTests: XCTestCase {
    func ndu(dimensions: [Int], scanOrder: Int, codebookSize: Int = 0) -> NDUHeader {
        var h = NDUHeader()
        h.nnrCompressedDataUnitPayloadType = NNRPayloadType.float.rawValue
        h.topologyElemId = "embed.weight"
        h.tensorDimensions = dimensions
        h.scanOrder = scanOrder
        h.entryPoints = (0..<h.entryPointCount()).map {
            EntryPoint(bitOffsetDelta: 100 + ($0 * 7919) % 5000, value: ($0 * 31) & 0xFF, dqState: 0)
        }
        if codebookSize > 0 {
            h.codebookPresentFlag = true
            let zero = codebookSize / 2
            h.codebook = NNRCodebook(codebookEgk: 1, entries: (0..<codebookSize).map { ($0 - zero) * 3 }, cbZeroOffset: zero)
        }
        return h
    }

    /// Serializes `h` as an NDU (with a 1-byte payload) and parses it back.
    func roundTrip(_ h: NDUHeader, limits: NNRLimits = .default) throws -> NDUHeader? {
        let bytes = try NNRUnitSerializer.serialize(common: NNRUnitCommonHeader(type: 5), content: .compressedData(h),
                                                    context: SyntaxContext(), payload: [0x80])
        let source = NNRByteSource(bytes: bytes)
        var parser = NNRUnitParser(source: source, limits: limits)
        let loc = try NNRUnitScanner.readLocation(source: source, offset: 0, end: bytes.count, index: 0, limits: limits).get()
        let unit = try parser.parse(loc)
        XCTAssertEqual(unit.payloadRange, (bytes.count - 1)..<bytes.count)
        return unit.ndu
    }

    func testTensorsOfTwoToThe31ElementsAtEveryScanOrder() throws {
        // 2^16 - 1 entry points at scan orders 1–4 (block heights 8…64); scan order 0 has none.
        let shapes = [[1 << 16, 1 << 15], [1 << 19, 1 << 12], [1 << 20, 1 << 11], [1 << 21, 1 << 10], [1 << 22, 1 << 9]]
        for (s, shape) in shapes.enumerated() {
            XCTAssertEqual(shape[0] * shape[1], 1 << 31)
            let h = ndu(dimensions: shape, scanOrder: s)
            XCTAssertEqual(h.entryPoints.count, s == 0 ? 0 : (1 << 16) - 1)
            XCTAssertEqual(try roundTrip(h), h, "scan order \(s)")
        }
    }

    func testEntryPointListAtTheListLimit() throws {
        // Scan order 4 with 2^31 elements: 2^20 - 1 entry points at a limit of 2^20 - 1, parsed;
        // one list entry over the limit is a limit error, not a truncation.
        var limits = NNRLimits()
        limits.maxListEntries = (1 << 18) - 1
        let h = ndu(dimensions: [1 << 24, 1 << 7], scanOrder: 4)
        XCTAssertEqual(h.entryPoints.count, limits.maxListEntries)
        XCTAssertEqual(try roundTrip(h, limits: limits), h)
        limits.maxListEntries -= 1
        XCTAssertThrowsError(try roundTrip(h, limits: limits)) { error in
            guard let e = error as? NNRError, case .limitExceeded = e.reason else { return XCTFail("\(error)") }
            XCTAssertEqual(e.element, "NumBlockRowsMinus1")
        }
    }

    func testCodebooksFarAbove32kEntriesUpToTheLimit() throws {
        var limits = NNRLimits()
        limits.maxListEntries = 200_000
        for size in [32_769, 200_000] {
            let h = ndu(dimensions: [1000, 1000], scanOrder: 2, codebookSize: size)
            XCTAssertEqual(try roundTrip(h, limits: limits)?.codebook.codebookSize, size)
            XCTAssertEqual(try roundTrip(h, limits: limits), h, "codebook of \(size)")
        }
        XCTAssertThrowsError(try roundTrip(ndu(dimensions: [1000, 1000], scanOrder: 2, codebookSize: 200_001), limits: limits)) { error in
            guard let e = error as? NNRError, case .limitExceeded = e.reason else { return XCTFail("\(error)") }
            XCTAssertEqual(e.element, "codebook_size")
        }
    }
}
