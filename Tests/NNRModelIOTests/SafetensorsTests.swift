import Foundation
import XCTest
@testable import NNRModelIO

final class SafetensorsTests: XCTestCase {
    private func allDTypeTensors() -> [Tensor] {
        TensorDType.allCases.enumerated().map { i, d in
            sampleTensor(d, name: "model.layers.\(i).\(d.rawValue)", shape: i % 2 == 0 ? [3, 5] : [7])
        } + [Tensor(name: "empty", shape: [0, 3], float32: []), Tensor(name: "scalar", shape: [], int32: [9])]
    }

    /// Builds a safetensors file from a header string and data bytes.
    private func file(header: String, data: [UInt8]) -> [UInt8] {
        var b = LittleEndianBuilder()
        b.u64(UInt64(header.utf8.count))
        return b.bytes + Array(header.utf8) + data
    }

    func testRoundTripEveryDTypeWithMetadata() throws {
        let tensors = allDTypeTensors()
        let metadata = ["format": "pt", "quote\"key": "line\nbreak \u{1F600}"]
        let bytes = try Safetensors.encode(tensors, metadata: metadata)
        let headerLength = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        XCTAssertEqual((8 + headerLength) % 8, 0, "data section is 8-byte aligned")
        let header = String(decoding: bytes[8..<(8 + Int(headerLength))], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{\"__metadata__\":{"))
        let parsed = try SafetensorsFile(data: Data(bytes))
        XCTAssertEqual(parsed.metadata, metadata)
        XCTAssertEqual(parsed.tensorNames, tensors.map(\.name))
        XCTAssertEqual(try parsed.loadAll(), tensors)
        XCTAssertEqual(try Safetensors.decode(bytes), tensors)
        let info = try XCTUnwrap(parsed.info("model.layers.1.bfloat16"))
        XCTAssertEqual(info.dtype, .bfloat16)
        XCTAssertEqual(info.shape, [7])
        XCTAssertEqual(info.byteCount, 14)
        XCTAssertNil(parsed.info("nope"))
        assertThrows(.tensorNotFound(file: "<memory>", tensor: "nope")) { try parsed.load("nope") }
        let raw = try parsed.withUnsafeBytes(of: "model.layers.2.float32") { [UInt8]($0) }
        XCTAssertEqual(raw, tensors[2].storage)
    }

    func testFileIsMappedAndLoadedLazily() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("model.safetensors")
        let tensors = allDTypeTensors()
        try Safetensors.write(tensors, to: url, metadata: ["a": "b"])
        let f = try SafetensorsFile(url: url)
        XCTAssertEqual(f.file, url.path)
        XCTAssertEqual(try f.load("model.layers.4.int8"), tensors[4])
        let (all, metadata) = try Safetensors.readWithMetadata(url)
        XCTAssertEqual(all, tensors)
        XCTAssertEqual(metadata, ["a": "b"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["model.safetensors"])
    }

    func testReferenceImplementationFixture() throws {
        let bytes = fixture(Fixtures.safetensorsReference)
        let f = try SafetensorsFile(data: Data(bytes))
        XCTAssertEqual(f.metadata, ["format": "np", "note": "quote\" and \u{e9}"])
        XCTAssertEqual(Set(f.tensorNames), ["w", "h", "d", "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "b", "empty"])
        let t = NPZ.dictionary(try f.loadAll())
        XCTAssertEqual(t["w"]?.shape, [2, 3])
        XCTAssertEqual(t["w"]?.floatValues(), [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(t["h"]?.floatValues(), [1, 0.5])
        XCTAssertEqual(t["d"]?.doubleValues(), [3.25])
        XCTAssertEqual(t["i8"]?.int32Values(), [-1, 2])
        XCTAssertEqual(t["u8"]?.int32Values(), [255])
        XCTAssertEqual(t["i16"]?.int32Values(), [-300])
        XCTAssertEqual(t["u16"]?.int32Values(), [60000])
        XCTAssertEqual(t["i32"]?.int32Values(), [-70000])
        XCTAssertEqual(t["u32"]?.uint64Values(), [4_000_000_000])
        XCTAssertEqual(t["i64"]?.int64Values(), [-5_000_000_000])
        XCTAssertEqual(t["u64"]?.uint64Values(), [10_000_000_000_000_000_000])
        XCTAssertEqual(t["b"]?.storage, [1, 0])
        XCTAssertEqual(t["empty"]?.shape, [0, 3])
        // Tensor order is the order of the bytes in the file.
        let offsets = f.tensors.map(\.dataOffsets.lowerBound)
        XCTAssertEqual(offsets, offsets.sorted())
    }

    // MARK: Malformed input

    func testHeaderLengthPastEOF() {
        var b = LittleEndianBuilder()
        b.u64(1000)
        let bytes = b.bytes + Array("{}".utf8)
        assertThrows(.truncated(file: "<memory>", tensor: nil, what: "safetensors header (declares 1000 bytes, 2 follow)")) {
            try SafetensorsFile(data: Data(bytes))
        }
        var huge = LittleEndianBuilder()
        huge.u64(UInt64.max)
        assertThrows(.truncated(file: "<memory>", tensor: nil, what: "safetensors header (declares 18446744073709551615 bytes, 0 follow)")) {
            try SafetensorsFile(data: Data(huge.bytes))
        }
        assertThrows(.truncated(file: "<memory>", tensor: nil, what: "safetensors header length (file has 3 bytes, needs 8)")) {
            try SafetensorsFile(data: Data([1, 2, 3]))
        }
    }

    func testHeaderLimit() {
        let bytes = file(header: "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", data: [7])
        var limits = ModelIOLimits()
        limits.maxHeaderBytes = 16
        assertThrows(.limitExceeded(file: "<memory>", tensor: nil, limit: "maxHeaderBytes", value: 53, maximum: 16)) {
            try SafetensorsFile(data: Data(bytes), limits: limits)
        }
        XCTAssertEqual(try SafetensorsFile(data: Data(bytes)).load("a").storage, [7])
    }

    func testOverlappingOffsets() {
        let header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}"
        assertThrows(.overlappingOffsets(file: "<memory>", tensor: "b", other: "a")) {
            try SafetensorsFile(data: Data(file(header: header, data: [UInt8](repeating: 0, count: 12))))
        }
    }

    func testOffsetsOutOfRange() {
        let header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}"
        assertThrows(.offsetsOutOfRange(file: "<memory>", tensor: "a", begin: 8, end: 16, dataSize: 12)) {
            try SafetensorsFile(data: Data(file(header: header, data: [UInt8](repeating: 0, count: 12))))
        }
        let reversed = "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}"
        assertThrows(.offsetsOutOfRange(file: "<memory>", tensor: "a", begin: 8, end: 4, dataSize: 12)) {
            try SafetensorsFile(data: Data(file(header: reversed, data: [UInt8](repeating: 0, count: 12))))
        }
    }

    func testUnsupportedDType() {
        let header = "{\"fp8\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}"
        assertThrows(.unsupportedDType(file: "<memory>", tensor: "fp8", dtype: "F8_E4M3")) {
            try SafetensorsFile(data: Data(file(header: header, data: [0, 0])))
        }
    }

    func testShapeSizeMismatch() {
        let header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}"
        assertThrows(.shapeSizeMismatch(file: "<memory>", tensor: "w", shape: [2, 3], expectedBytes: 24, actualBytes: 20)) {
            try SafetensorsFile(data: Data(file(header: header, data: [UInt8](repeating: 0, count: 24))))
        }
    }

    func testMalformedHeaders() {
        func check(_ header: String, _ expected: ModelIOError, line: UInt = #line) {
            assertThrows(expected, line: line) { try SafetensorsFile(data: Data(self.file(header: header, data: [0, 0, 0, 0]))) }
        }
        check("[]", .malformedHeader(file: "<memory>", tensor: nil, message: "safetensors header does not start with '{'"))
        check("{\"a\":", .malformedHeader(file: "<memory>", tensor: nil, message: "invalid JSON at header byte 5: unexpected end of JSON"))
        check("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
              .duplicateTensor(file: "<memory>", tensor: "a"))
        check("{\"__metadata__\":{\"n\":1}}",
              .malformedHeader(file: "<memory>", tensor: nil, message: "'__metadata__' value for 'n' is a number, not a string"))
        check("{\"a\":{\"shape\":[1],\"data_offsets\":[0,1]}}", .malformedHeader(file: "<memory>", tensor: "a", message: "missing 'dtype'"))
        check("{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,1]}}",
              .invalidShape(file: "<memory>", tensor: "a", message: "dimension -1 is not a non-negative integer"))
        check("{\"a\":{\"dtype\":\"U8\",\"shape\":[1.5],\"data_offsets\":[0,1]}}",
              .invalidShape(file: "<memory>", tensor: "a", message: "dimension 1.5 is not a non-negative integer"))
        check("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}",
              .malformedHeader(file: "<memory>", tensor: "a", message: "'data_offsets' is not a pair of non-negative integers"))
        check("{\"a\":{\"dtype\":\"U8\",\"shape\":[99999999999,99999999999,99999999999],\"data_offsets\":[0,1]}}",
              .invalidShape(file: "<memory>", tensor: "a", message: "byte size of shape [99999999999, 99999999999, 99999999999] overflows"))
        check("{\"a\":7}", .malformedHeader(file: "<memory>", tensor: "a", message: "entry is a number, not an object"))
        check("{\"a\\ud800\":7}", .malformedHeader(file: "<memory>", tensor: nil, message: "invalid JSON at header byte 9: unpaired surrogate in \\u escape"))
    }

    func testJSONEscapesAndWhitespace() throws {
        let text = "{ \"a\\\"b\\u00e9\\ud83d\\ude00\" : { \"dtype\" : \"U8\" , \"shape\" : [ 2 ] , \"data_offsets\" : [ 0 , 2 ] , \"extra\": null } }   "
        let f = try SafetensorsFile(data: Data(file(header: text, data: [1, 2])))
        XCTAssertEqual(f.tensorNames, ["a\"b\u{e9}\u{1F600}"])
        // Names with quotes and control characters survive the writer.
        let t = Tensor(name: "we\"ird\\name\u{01}\n", shape: [1], uint8: [3])
        XCTAssertEqual(try Safetensors.decode(try Safetensors.encode([t])), [t])
    }

    func testWriterRejectsInvalidTensors() {
        assertThrows(.invalidTensor(file: "<memory>", tensor: "x", message: "shape [2] of float32 needs 8 bytes but storage has 4")) {
            try Safetensors.encode([Tensor(name: "x", dtype: .float32, shape: [2], storage: [0, 0, 0, 0])])
        }
        assertThrows(.duplicateTensor(file: "<memory>", tensor: "x")) {
            try Safetensors.encode([sampleTensor(.int8, name: "x"), sampleTensor(.int8, name: "x")])
        }
        assertThrows(.invalidTensor(file: "<memory>", tensor: "__metadata__", message: "'__metadata__' is reserved in safetensors")) {
            try Safetensors.encode([sampleTensor(.int8, name: "__metadata__")])
        }
    }
}
