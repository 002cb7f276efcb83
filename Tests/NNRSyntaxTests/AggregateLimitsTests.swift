import XCTest
import NNRBitIO
import NNRContainer
import NNRSyntax

/// Aggregate units are bounded while they are parsed: parsing stops at the first child past the
/// declared count, and NNRLimits.maxUnits counts every unit of the file, children included.
final class AggregateLimitsTests: XCTestCase {
    /// A 3-byte NNR_STR unit (the smallest child there is).
    func start() throws -> [UInt8] {
        try NNRUnitSerializer.serialize(common: NNRUnitCommonHeader(type: 0), content: .start(NNRStartUnitHeader()), context: SyntaxContext())
    }

    func aggregate(declaring count: Int, carrying children: Int) throws -> [UInt8] {
        var agg = NNRAggregateUnitHeader()
        agg.numOfNNRUnitsMinus2 = count - 2
        let child = try start()
        var payload: [UInt8] = []
        payload.reserveCapacity(child.count * children)
        for _ in 0..<children { payload += child }
        return try NNRUnitSerializer.serialize(common: NNRUnitCommonHeader(type: 6), content: .aggregate(agg), context: SyntaxContext(), payload: payload)
    }

    func testMoreChildrenThanDeclaredStopsAtTheFirstExtraChild() throws {
        // Declares 2, carries 20,000: the error names the count, and the parser has looked at 3
        // children (not 20,000).
        let bytes = try aggregate(declaring: 2, carrying: 20_000)
        var parser = NNRUnitParser(source: NNRByteSource(bytes: bytes))
        let loc = try NNRUnitScanner.readLocation(source: parser.source, offset: 0, end: bytes.count, index: 0, limits: .default).get()
        XCTAssertThrowsError(try parser.parse(loc)) { error in
            guard let e = error as? NNRError, case let .sizeMismatch(message) = e.reason else { return XCTFail("\(error)") }
            XCTAssertEqual(e.element, "num_of_nnr_units_minus2")
            XCTAssertEqual(e.position, BitPosition(byteOffset: 0, bitOffset: 0))
            XCTAssertTrue(message.contains("more than num_of_nnr_units_minus2 + 2 = 2"), message)
        }
        XCTAssertEqual(parser.unitsParsed, 3)  // the AGG and its two declared children
    }

    func testFewerChildrenThanDeclared() throws {
        let e = try XCTUnwrap(NNRUnitParser.parseAll(NNRByteSource(bytes: try aggregate(declaring: 5, carrying: 3))).error)
        XCTAssertEqual(e.element, "num_of_nnr_units_minus2")
        guard case let .sizeMismatch(message) = e.reason else { return XCTFail("\(e)") }
        XCTAssertTrue(message.contains("carries 3 units"), message)
    }

    func testUnitLimitCountsPerFileAcrossAggregates() throws {
        // Three aggregates of 400 children each: each is under a 1,000-unit limit, the file is not.
        let one = try aggregate(declaring: 400, carrying: 400)
        let file = one + one + one
        var limits = NNRLimits()
        limits.maxUnits = 1000
        let (units, error) = NNRUnitParser.parseAll(NNRByteSource(bytes: file), limits: limits)
        let e = try XCTUnwrap(error)
        XCTAssertEqual(e.element, "nnr_unit")
        guard case let .limitExceeded(message) = e.reason else { return XCTFail("\(e)") }
        XCTAssertTrue(message.contains("more than 1000 units in the file"), message)
        XCTAssertEqual(units.count, 2)  // 2 × 401 units parsed; the third aggregate passes the limit
        // At the limit the same file parses.
        limits.maxUnits = 3 * 401
        XCTAssertNil(NNRUnitParser.parseAll(NNRByteSource(bytes: file), limits: limits).error)
    }
}
