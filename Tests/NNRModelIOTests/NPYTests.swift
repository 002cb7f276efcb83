import Foundation
import XCTest
@testable import NNRModelIO

final class NPYTests: XCTestCase {
    func testRoundTripEveryDType() throws {
        for dtype in TensorDType.allCases where dtype != .bfloat16 {
            for shape in [[3, 4], [], [0], [2, 1, 3]] {
                let t = sampleTensor(dtype, shape: shape)
                let bytes = try NPY.encode(t)
                XCTAssertEqual(bytes.count % 64, t.storage.count % 64, "data must start 64-byte aligned")
                let header = try bytes.withUnsafeBytes { try NPY.parseHeader($0, name: t.name) }
                XCTAssertEqual(header.dataOffset % 64, 0)
                XCTAssertEqual(header.version.major, 1)
                XCTAssertEqual(try NPY.decode(bytes, name: t.name), t, "\(dtype) \(shape)")
            }
        }
    }

    func testHeaderTextMatchesNumpy() throws {
        let t = Tensor(name: "w", shape: [256, 128], float32: [Float](repeating: 0, count: 256 * 128))
        let header = try NPY.headerBytes(for: t)
        let text = String(decoding: header[10...], as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (256, 128), }"))
        XCTAssertEqual(header.count, 128)
        XCTAssertEqual(header.last, 0x0A)
        let one = try NPY.headerBytes(for: Tensor(name: "b", shape: [5], int32: [1, 2, 3, 4, 5]))
        XCTAssertTrue(String(decoding: one, as: UTF8.self).contains("'shape': (5,), }"))
        let scalar = try NPY.headerBytes(for: Tensor(name: "s", shape: [], float64: [1]))
        XCTAssertTrue(String(decoding: scalar, as: UTF8.self).contains("'shape': (), }"))
    }

    func testBFloat16IsNotRepresentable() {
        let t = sampleTensor(.bfloat16, name: "bf")
        assertThrows(.dtypeNotRepresentable(file: "<memory>", tensor: "bf", dtype: .bfloat16, format: "NPY")) {
            try NPY.encode(t)
        }
    }

    func testNumpyFixtures() throws {
        let be = try NPY.decode(fixture(Fixtures.npyBigEndian), name: "be")
        XCTAssertEqual(be.dtype, .float32)
        XCTAssertEqual(be.shape, [2, 3])
        XCTAssertEqual(be.floatValues(), [0, 1, 2, 3, 4, 5])
        let be8 = try NPY.decode(fixture(Fixtures.npyBigEndianI8), name: "be8")
        XCTAssertEqual(be8.int64Values(), [1, -2, 300_000_000_000])
        let v2 = try NPY.decode(fixture(Fixtures.npyV2), name: "v2")
        XCTAssertEqual(v2.dtype, .uint8)
        XCTAssertEqual(v2.storage, [0, 1, 2, 3])
        XCTAssertEqual(try fixture(Fixtures.npyV2).withUnsafeBytes { try NPY.parseHeader($0, name: "v2") }.version.major, 2)
        let v3 = try NPY.decode(fixture(Fixtures.npyV3), name: "v3")
        XCTAssertEqual(v3.dtype, .int16)
        XCTAssertEqual(v3.int32Values(), [0, 1, 2, 3])
        let s = try NPY.decode(fixture(Fixtures.npyScalar), name: "s")
        XCTAssertEqual(s.shape, [])
        XCTAssertEqual(s.doubleValues(), [2.5])
        // Our encoding of the same array is byte-identical to numpy's.
        XCTAssertEqual(try NPY.encode(s), fixture(Fixtures.npyScalar))
    }

    func testHeaderVariantsParse() throws {
        func npy(_ dict: String, major: UInt8 = 1, data: [UInt8]) -> [UInt8] {
            var body = Array(dict.utf8)
            body.append(0x0A)
            var out = NPY.magic + [major, 0]
            if major == 1 {
                out += [UInt8(body.count & 0xFF), UInt8(body.count >> 8)]
            } else {
                out += [UInt8(body.count & 0xFF), UInt8(body.count >> 8), 0, 0]
            }
            return out + body + data
        }
        // Key order, double quotes, no trailing comma, extra spaces, '=' byte order.
        let a = try NPY.decode(npy("{ \"shape\" : (2,) , \"fortran_order\":False,'descr':'=i2' }", data: [1, 0, 2, 0]), name: "a")
        XCTAssertEqual(a.int32Values(), [1, 2])
        // '|' on a one-byte type; list shape is not allowed (must be a tuple).
        let b = try NPY.decode(npy("{'descr': '|i1', 'fortran_order': False, 'shape': (1, 2), }", major: 2, data: [0xFF, 5]), name: "b")
        XCTAssertEqual(b.int32Values(), [-1, 5])
        assertThrows(.invalidShape(file: "<memory>", tensor: "c", message: "'shape' must be a tuple, found [2]")) {
            try NPY.decode(npy("{'descr': '<i1', 'fortran_order': False, 'shape': [2]}", data: [1, 2]), name: "c")
        }
        // Parenthesised single value without a comma is not a tuple in Python.
        assertThrows(.invalidShape(file: "<memory>", tensor: "d", message: "'shape' must be a tuple, found 2")) {
            try NPY.decode(npy("{'descr': '<i1', 'fortran_order': False, 'shape': (2)}", data: [1, 2]), name: "d")
        }
    }

    // MARK: Malformed input

    func testTruncatedHeader() {
        let good = fixture(Fixtures.npyScalar)
        assertThrows(.truncated(file: "<memory>", tensor: "x", what: "NPY header (declares 118 bytes, 40 present)")) {
            try NPY.decode(Array(good[0..<50]), name: "x")
        }
        assertThrows(.truncated(file: "<memory>", tensor: "x", what: "NPY preamble (magic, version, header length)")) {
            try NPY.decode(Array(good[0..<4]), name: "x")
        }
        assertThrows(.truncated(file: "<memory>", tensor: "x", what: "NPY header length")) {
            try NPY.decode(Array(good[0..<9]), name: "x")
        }
    }

    func testTruncatedData() {
        let good = fixture(Fixtures.npyBigEndian)
        assertThrows(.shapeSizeMismatch(file: "<memory>", tensor: "x", shape: [2, 3], expectedBytes: 24, actualBytes: 20)) {
            try NPY.decode(Array(good.dropLast(4)), name: "x")
        }
        assertThrows(.shapeSizeMismatch(file: "<memory>", tensor: "x", shape: [2, 3], expectedBytes: 24, actualBytes: 25)) {
            try NPY.decode(good + [0], name: "x")
        }
    }

    func testBadMagic() {
        var bytes = fixture(Fixtures.npyScalar)
        bytes[1] = UInt8(ascii: "X")
        assertThrows(.badMagic(file: "<memory>", tensor: "x", format: "NPY")) { try NPY.decode(bytes, name: "x") }
        assertThrows(.badMagic(file: "<memory>", tensor: "x", format: "NPY")) { try NPY.decode([1, 2], name: "x") }
    }

    func testFortranOrderRejected() {
        assertThrows(.fortranOrderUnsupported(file: "<memory>", tensor: "f")) {
            try NPY.decode(fixture(Fixtures.npyFortran), name: "f")
        }
    }

    func testUnsupportedDTypeAndVersion() {
        var bytes = fixture(Fixtures.npyScalar)
        // '<f8' -> '<c8' (complex64)
        if let i = bytes.firstIndex(of: UInt8(ascii: "f")) { bytes[i] = UInt8(ascii: "c") }
        assertThrows(.unsupportedDType(file: "<memory>", tensor: "x", dtype: "<c8")) { try NPY.decode(bytes, name: "x") }
        var v9 = fixture(Fixtures.npyScalar)
        v9[6] = 9
        assertThrows(.malformedHeader(file: "<memory>", tensor: "x", message: "unsupported NPY format version 9.0 (1.0, 2.0 and 3.0 are supported)")) {
            try NPY.decode(v9, name: "x")
        }
    }

    func testMalformedDictAndLimits() {
        var bytes = fixture(Fixtures.npyScalar)
        if let i = bytes.firstIndex(of: UInt8(ascii: "}")) { bytes[i] = UInt8(ascii: " ") }
        assertThrowsMatching({ try NPY.decode(bytes, name: "x") }) {
            if case let .malformedHeader("<memory>", "x", message) = $0 { return message.hasPrefix("cannot parse NPY header dict") }
            return false
        }
        var limits = ModelIOLimits()
        limits.maxHeaderBytes = 64
        assertThrows(.limitExceeded(file: "<memory>", tensor: "x", limit: "maxHeaderBytes", value: 118, maximum: 64)) {
            try NPY.decode(fixture(Fixtures.npyScalar), name: "x", limits: limits)
        }
        limits = ModelIOLimits()
        limits.maxTensorBytes = 16
        assertThrows(.limitExceeded(file: "<memory>", tensor: "x", limit: "maxTensorBytes", value: 24, maximum: 16)) {
            try NPY.decode(fixture(Fixtures.npyBigEndian), name: "x", limits: limits)
        }
        // A header claiming an enormous shape fails before any allocation.
        let base = (try? NPY.encode(Tensor(name: "h", shape: [1], float32: [0]))) ?? []
        func withShape(_ shape: String) -> [UInt8] {
            // Same header length: the replacement eats into the space padding.
            let text = String(decoding: base[10..<128], as: UTF8.self)
            var patched = text.replacingOccurrences(of: "(1,)", with: shape)
            let excess = patched.utf8.count - text.utf8.count
            patched = patched.replacingOccurrences(of: String(repeating: " ", count: excess) + "\n", with: "\n")
            return Array(base[0..<10]) + Array(patched.utf8) + Array(base[128...])
        }
        assertThrows(.limitExceeded(file: "<memory>", tensor: "h", limit: "maxTensorBytes", value: 399_999_999_999_996, maximum: UInt64(32) << 30)) {
            try NPY.decode(withShape("(99999999999999,)"), name: "h")
        }
        assertThrows(.invalidShape(file: "<memory>", tensor: "h", message: "byte size of shape [9999999999, 9999999999] overflows")) {
            try NPY.decode(withShape("(9999999999, 9999999999)"), name: "h")
        }
        assertThrows(.invalidShape(file: "<memory>", tensor: "h", message: "negative dimension -1")) {
            try NPY.decode(withShape("(-1,)"), name: "h")
        }
        assertThrows(.invalidShape(file: "<memory>", tensor: "h", message: "dimension 'a' is not an integer")) {
            try NPY.decode(withShape("('a',)"), name: "h")
        }
        XCTAssertEqual(try NPY.decode(withShape("(1, 1)"), name: "h").shape, [1, 1])
    }

    func testFileReadWrite() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("layer.0.weight.npy")
        let t = sampleTensor(.float16, name: "layer.0.weight", shape: [5, 7])
        try NPY.write(t, to: url)
        XCTAssertEqual(try NPY.read(url), t)
        XCTAssertEqual(try NPY.read(url, name: "other").name, "other")
        let missing = dir.appendingPathComponent("missing.npy")
        assertThrows(.fileIO(file: missing.path, operation: "open", errno: ENOENT)) { try NPY.read(missing) }
    }
}
