import XCTest
import NNRBitIO
import NNRContainer
import NNRSyntax

/// Bad input gets a typed error naming the syntax element and where it is.
final class MalformedInputTests: XCTestCase {
    let str: [UInt8] = [0x00, 0x04, 0x02, 0x01]              // NNR_STR, profile 1
    let mps: [UInt8] = [0x00, 0x08, 0x06, 0x81, 0x00, 0x40, 0x00, 0x80]

    func firstError(_ bytes: [UInt8], limits: NNRLimits = .default) -> NNRError? {
        NNRUnitParser.parseAll(NNRByteSource(bytes: bytes), limits: limits).error
    }

    func testSizePastEndOfFile() throws {
        let e = try XCTUnwrap(firstError(str + [0x00, 0x10, 0x06, 0x81]))
        XCTAssertEqual(e.element, "nnr_unit_size")
        XCTAssertEqual(e.unitIndex, 1)
        XCTAssertEqual(e.position, BitPosition(byteOffset: 4, bitOffset: 1))
        guard case .sizeMismatch = e.reason else { return XCTFail("\(e)") }
    }

    func testSizeSmallerThanItsOwnHeader() throws {
        let e = try XCTUnwrap(firstError([0x00, 0x02, 0x02, 0x01]))
        XCTAssertEqual(e.element, "nnr_unit_size")
        XCTAssertEqual(e.unitIndex, 0)
        guard case .sizeMismatch = e.reason else { return XCTFail("\(e)") }
    }

    func testLongSizeFieldTruncated() throws {
        let e = try XCTUnwrap(firstError([0x80, 0x00]))
        XCTAssertEqual(e.element, "nnr_unit_size")
        XCTAssertEqual(e.reason, .truncated(neededBits: 31, availableBits: 15))
    }

    func testUnterminatedString() throws {
        // NDU: size 8, type 5, PT_FLOAT with input parameters, topology_elem_id "abc" without NUL.
        let ndu: [UInt8] = [0x00, 0x07, 0x16, 0x09, 0x61, 0x62, 0x63]
        let e = try XCTUnwrap(firstError(str + mps + ndu))
        XCTAssertEqual(e.element, "topology_elem_id")
        XCTAssertEqual(e.reason, .unterminatedString)
        XCTAssertEqual(e.unitIndex, 2)
        XCTAssertEqual(e.position, BitPosition(byteOffset: 12 + 4, bitOffset: 0))
    }

    func testExpGolombPrefixLongerThan32Zeros() throws {
        // "w\0", node_id_present_flag = 1, then device_id ue(1) with 40 zero bits.
        let ndu: [UInt8] = [0x00, 0x0C, 0x16, 0x09, 0x77, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00]
        let e = try XCTUnwrap(firstError(str + mps + ndu))
        XCTAssertEqual(e.element, "device_id")
        XCTAssertEqual(e.reason, .expGolombPrefixTooLong(limit: 32))
        XCTAssertEqual(e.position, BitPosition(byteOffset: 12 + 6, bitOffset: 1))
    }

    func testUnknownUnitType() throws {
        let e = try XCTUnwrap(firstError(str + [0x00, 0x03, (9 << 2) | 2]))
        XCTAssertEqual(e.element, "nnr_unit_type")
        XCTAssertEqual(e.unitIndex, 1)
        XCTAssertEqual(e.reason, .unsupported("nnr_unit_type 9 is reserved"))
        // The dump and the checker can still see it.
        let (units, error) = NNRUnitParser.parseAll(NNRByteSource(bytes: str + [0x00, 0x03, (9 << 2) | 2]), allowReservedTypes: true)
        XCTAssertNil(error)
        XCTAssertEqual(units.last?.content, .reserved(9))
    }

    func ndu(dims: [Int]) throws -> [UInt8] {
        var h = NDUHeader()
        h.topologyElemId = "w"
        h.tensorDimensions = dims
        return try NNRUnitSerializer.serialize(common: NNRUnitCommonHeader(type: 5), content: .compressedData(h),
                                               context: SyntaxContext(generalProfileIdc: 1), payload: [0x00])
    }

    func testDimensionsWhoseProductOverflows() throws {
        let e = try XCTUnwrap(firstError(str + mps + (try ndu(dims: [1 << 31, 1 << 31, 1 << 31]))))
        XCTAssertEqual(e.element, "tensor_dimensions")
        guard case .limitExceeded = e.reason else { return XCTFail("\(e)") }
        XCTAssertEqual(e.unitIndex, 2)
    }

    func testDimensionsOverConfiguredLimit() throws {
        var limits = NNRLimits()
        limits.maxTensorElements = 1000
        XCTAssertNil(firstError(str + mps + (try ndu(dims: [10, 100])), limits: limits))
        let e = try XCTUnwrap(firstError(str + mps + (try ndu(dims: [10, 101])), limits: limits))
        XCTAssertEqual(e.element, "tensor_dimensions")
    }

    func testTooManyDimensions() throws {
        var limits = NNRLimits()
        limits.maxDimensions = 4
        XCTAssertNil(firstError(str + mps + (try ndu(dims: [1, 2, 3, 4])), limits: limits))
        let e = try XCTUnwrap(firstError(str + mps + (try ndu(dims: Array(repeating: 1, count: 6))), limits: limits))
        XCTAssertEqual(e.element, "count_tensor_dimensions")
        guard case .limitExceeded = e.reason else { return XCTFail("\(e)") }
    }

    func testTrailingBytesInParameterSet() throws {
        let e = try XCTUnwrap(firstError(str + [0x00, 0x09, 0x06, 0x81, 0x00, 0x40, 0x00, 0x80, 0x00]))
        XCTAssertEqual(e.element, "nnr_unit_size")
        guard case .sizeMismatch = e.reason else { return XCTFail("\(e)") }
    }

    func testUnitCountLimit() throws {
        var limits = NNRLimits()
        limits.maxUnits = 2
        let e = try XCTUnwrap(firstError(str + str + str, limits: limits))
        XCTAssertEqual(e.unitIndex, 2)
        guard case .limitExceeded = e.reason else { return XCTFail("\(e)") }
    }

    func testStringLengthLimit() throws {
        var limits = NNRLimits()
        limits.maxStringLength = 4
        let name = Array("abcdefgh".utf8) + [0]
        let body: [UInt8] = [0x09] + name + [0x00]
        let unit = [0x00, UInt8(3 + body.count - 1), 0x16] + body
        let e = try XCTUnwrap(firstError(str + mps + unit, limits: limits))
        XCTAssertEqual(e.element, "topology_elem_id")
        guard case .limitExceeded = e.reason else { return XCTFail("\(e)") }
    }
}
