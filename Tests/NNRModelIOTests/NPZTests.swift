import Foundation
import XCTest
@testable import NNRModelIO

final class NPZTests: XCTestCase {
    private func allDTypeTensors() -> [Tensor] {
        TensorDType.allCases.filter { $0 != .bfloat16 }.enumerated().map { i, d in
            sampleTensor(d, name: "encoder.layer.\(i).attention/self.\(d.rawValue)", shape: i % 3 == 0 ? [5] : [2, 3, 2])
        } + [Tensor(name: "scalar", shape: [], float64: [1.5]), Tensor(name: "empty", shape: [0, 4], float32: [])]
    }

    func testRoundTripStoredAndDeflate() throws {
        let tensors = allDTypeTensors()
        for compression in [NPZCompression.stored, .deflate(), .deflate(level: 9), .deflate(level: 0)] {
            let bytes = try NPZ.encode(tensors, compression: compression)
            let back = try NPZ.decode(bytes)
            XCTAssertEqual(back, tensors, "\(compression)")
            XCTAssertEqual(back.map(\.name), tensors.map(\.name))
        }
        // Deflate actually compresses repetitive data.
        let zeros = [Tensor(name: "z", shape: [4096], float32: [Float](repeating: 0, count: 4096))]
        XCTAssertLessThan(try NPZ.encode(zeros, compression: .deflate()).count, 1024)
        XCTAssertGreaterThan(try NPZ.encode(zeros).count, 16384)
    }

    func testFileRoundTripAndDictionary() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("model.npz")
        let tensors = allDTypeTensors()
        try NPZ.write(tensors, to: url, compression: .deflate())
        XCTAssertEqual(try NPZ.read(url), tensors)
        XCTAssertEqual(try NPZ.tensorNames(url), tensors.map(\.name))
        let dict = try NPZ.readDictionary(url)
        XCTAssertEqual(dict.count, tensors.count)
        XCTAssertEqual(dict["scalar"]?.doubleValues(), [1.5])
        // Directory contents: only the target (no leftover temporary file).
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["model.npz"])
    }

    func testBFloat16RejectedBeforeWriting() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("m.npz")
        assertThrows(.dtypeNotRepresentable(file: url.path, tensor: "b", dtype: .bfloat16, format: "NPY")) {
            try NPZ.write([sampleTensor(.float32, name: "a"), sampleTensor(.bfloat16, name: "b")], to: url)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
        assertThrows(.duplicateTensor(file: "<memory>", tensor: "a")) {
            try NPZ.encode([sampleTensor(.float32, name: "a"), sampleTensor(.int8, name: "a")])
        }
    }

    func testNumpySavezCompressedFixture() throws {
        let bytes = fixture(Fixtures.npzCompressed)
        let tensors = try NPZ.decode(bytes)
        XCTAssertEqual(tensors.map(\.name), ["encoder.layer.0.attention.self.query.weight", "blocks/1/bias", "mask", "half", "scalar"])
        XCTAssertEqual(tensors[0].shape, [4, 6])
        XCTAssertEqual(tensors[0].floatValues(), (0..<24).map { Float($0) * 0.5 - 3 })
        XCTAssertEqual(tensors[1].dtype, .int64)
        XCTAssertEqual(tensors[1].int64Values(), [-3, -2, -1, 0, 1, 2, 3])
        XCTAssertEqual(tensors[2].dtype, .bool)
        XCTAssertEqual(tensors[2].storage, [1, 0, 1])
        XCTAssertEqual(tensors[3].dtype, .float16)
        XCTAssertEqual(tensors[3].floatValues(), [1, -2.5, 65504, FloatBits.float(fromFloat16: FloatBits.float16Bits(from: Float(6.1e-5)))])
        XCTAssertEqual(tensors[4].shape, [])
        XCTAssertEqual(tensors[4].int32Values(), [7])
        // Our deflate writer reproduces numpy.savez_compressed byte for byte (same zlib, level 6).
        XCTAssertEqual(try NPZ.encode(tensors, compression: .deflate()), bytes)
    }

    func testStreamedArchiveWithDataDescriptors() throws {
        let tensors = try NPZ.decode(fixture(Fixtures.npzStreamed))
        XCTAssertEqual(tensors.map(\.name), ["a", "b.c"])
        XCTAssertEqual(tensors[0].int32Values(), Array(0..<10))
        XCTAssertEqual(tensors[1].doubleValues(), [0, 0.25, 0.5, 0.75, 1])
    }

    func testZip64Structures() throws {
        let tensors = allDTypeTensors()
        // Lower the threshold so every size/offset and the end record take the ZIP64 path.
        for compression in [NPZCompression.stored, .deflate()] {
            let bytes = try NPZ.encode(tensors, compression: compression) { $0.zip64Threshold = 0 }
            XCTAssertEqual(try NPZ.decode(bytes), tensors)
            let tail = Array(bytes.suffix(22 + 20))
            XCTAssertEqual(Array(tail[0..<4]), [0x50, 0x4B, 0x06, 0x07], "ZIP64 locator precedes the end record")
            XCTAssertEqual(Array(tail[28..<32]), [0xFF, 0xFF, 0xFF, 0xFF])
        }
        // Without force_zip64 the local headers are classic.
        let plain = try NPZ.encode(tensors, compression: .stored) { $0.forceZip64 = false }
        XCTAssertEqual(try NPZ.decode(plain), tensors)
        XCTAssertEqual(plain[4], 20)
    }

    // MARK: Malformed archives

    private func storedArchive() throws -> [UInt8] {
        try NPZ.encode([Tensor(name: "w", shape: [4], float32: [1, 2, 3, 4]), Tensor(name: "b", shape: [2], int32: [5, 6])])
    }

    func testTruncatedZip() throws {
        let bytes = try storedArchive()
        assertThrows(.truncated(file: "<memory>", tensor: nil, what: "ZIP archive (end of central directory record not found)")) {
            try NPZ.decode(Array(bytes[0..<(bytes.count / 2)]))
        }
        assertThrows(.truncated(file: "<memory>", tensor: nil, what: "ZIP archive (end of central directory record not found)")) {
            try NPZ.decode(Array(bytes.dropLast(1)))
        }
        assertThrows(.truncated(file: "<memory>", tensor: nil, what: "ZIP archive (shorter than any ZIP file)")) {
            try NPZ.decode([0x50, 0x4B])
        }
    }

    func testBadMagic() {
        assertThrows(.badMagic(file: "<memory>", tensor: nil, format: "ZIP (NPZ)")) { try NPZ.decode(Array("hello world".utf8)) }
        assertThrows(.truncated(file: "<memory>", tensor: nil, what: "ZIP archive (shorter than any ZIP file)")) { try NPZ.decode([UInt8]()) }
    }

    func testBadCRC() throws {
        var bytes = try storedArchive()
        // Flip the last byte of member "w.npy"'s data (the float 4.0's high byte).
        let npyLength = 128 + 16
        let dataStart = 30 + 5 + 20
        bytes[dataStart + npyLength - 1] ^= 0x01
        let expected = Zlib.crc32(try NPY.encode(Tensor(name: "w", shape: [4], float32: [1, 2, 3, 4])))
        var corrupted = try NPY.encode(Tensor(name: "w", shape: [4], float32: [1, 2, 3, 4]))
        corrupted[corrupted.count - 1] ^= 0x01
        assertThrows(.crcMismatch(file: "<memory>", member: "w.npy", expected: expected, actual: Zlib.crc32(corrupted))) {
            try NPZ.decode(bytes)
        }
    }

    func testCorruptDeflateStream() throws {
        var bytes = try NPZ.encode([Tensor(name: "w", shape: [64], float32: (0..<64).map { Float($0) })], compression: .deflate())
        let dataStart = 30 + 5 + 20
        for i in dataStart..<(dataStart + 8) { bytes[i] = 0xFF }
        assertThrowsMatching({ try NPZ.decode(bytes) }) {
            if case let .compressionFailed("<memory>", "w.npy", message) = $0 { return message.contains("corrupt deflate data") }
            return false
        }
    }

    func testUnsupportedMethodAndEncryption() throws {
        var bytes = try storedArchive()
        guard let cd = findSignature(bytes, [0x50, 0x4B, 0x01, 0x02]) else { return XCTFail("no central directory") }
        bytes[cd + 10] = 12  // bzip2
        assertThrows(.unsupportedCompression(file: "<memory>", member: "w.npy", method: 12)) { try NPZ.decode(bytes) }
        bytes[cd + 10] = 0
        bytes[cd + 8] |= 1  // encrypted
        assertThrows(.unsupportedCompression(file: "<memory>", member: "w.npy", method: 0)) { try NPZ.decode(bytes) }
    }

    func testMalformedMemberNamesMemberInError() throws {
        let good = try NPY.encode(Tensor(name: "w", shape: [4], float32: [1, 2, 3, 4]))
        var bad = good
        bad[0] = 0  // not an NPY member
        var zip = ZipWriter(sink: ByteArraySink())
        try bad.withUnsafeBytes { try zip.addMember(name: "odd.npy", parts: [$0], compression: .stored) }
        try zip.finish()
        assertThrows(.badMagic(file: "<memory>", tensor: "odd", format: "NPY")) { try NPZ.decode(zip.sink.bytes) }
    }

    func testDuplicateMembers() throws {
        let member = try NPY.encode(Tensor(name: "w", shape: [1], float32: [1]))
        var zip = ZipWriter(sink: ByteArraySink())
        for _ in 0..<2 { try member.withUnsafeBytes { try zip.addMember(name: "w.npy", parts: [$0], compression: .stored) } }
        try zip.finish()
        assertThrows(.duplicateTensor(file: "<memory>", tensor: "w")) { try NPZ.decode(zip.sink.bytes) }
    }

    func testLimits() throws {
        let bytes = try storedArchive()
        var limits = ModelIOLimits()
        limits.maxTensors = 1
        assertThrows(.limitExceeded(file: "<memory>", tensor: nil, limit: "maxTensors", value: 2, maximum: 1)) {
            try NPZ.decode(bytes, limits: limits)
        }
        limits = ModelIOLimits()
        limits.maxTotalBytes = 20
        assertThrows(.limitExceeded(file: "<memory>", tensor: "b", limit: "maxTotalBytes", value: 24, maximum: 20)) {
            try NPZ.decode(bytes, limits: limits)
        }
        // A deflate member declaring a huge uncompressed size is refused before allocation.
        var deflated = try NPZ.encode([Tensor(name: "w", shape: [4], float32: [1, 2, 3, 4])], compression: .deflate())
        guard let cd = findSignature(deflated, [0x50, 0x4B, 0x01, 0x02]) else { return XCTFail("no central directory") }
        for i in 0..<4 { deflated[cd + 24 + i] = [0x00, 0x00, 0x00, 0x7F][i] }  // usize = 0x7F000000
        limits = ModelIOLimits()
        limits.maxTensorBytes = 1 << 20
        limits.maxHeaderBytes = 1 << 10
        assertThrows(.limitExceeded(file: "<memory>", tensor: "w", limit: "maxTensorBytes", value: 0x7F00_0000, maximum: 1 << 20)) {
            try NPZ.decode(deflated, limits: limits)
        }
    }

    func testCentralDirectoryOutOfRange() throws {
        var bytes = try storedArchive()
        let eocd = bytes.count - 22
        bytes[eocd + 16] = 0xF0  // central directory offset far beyond the file
        bytes[eocd + 17] = 0xFF
        assertThrowsMatching({ try NPZ.decode(bytes) }) {
            if case let .malformedArchive("<memory>", message) = $0 { return message.contains("central directory") }
            return false
        }
    }

    private func findSignature(_ bytes: [UInt8], _ sig: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        return (0...(bytes.count - 4)).first { Array(bytes[$0..<($0 + 4)]) == sig }
    }
}
