import Foundation
import XCTest
import NNRBitIO
import NNRContainer
import NNRCodec
import NNRModelIO
import NNRTestSupport

/// Bad models get a clear error naming the tensor, and nothing is written.
final class EncoderInputTests: XCTestCase {
    func encode(_ tensors: [Tensor], _ configure: (inout EncoderOptions) -> Void = { _ in }) throws -> EncodedBitstream {
        var o = EncoderOptions()
        o.concurrent = false
        configure(&o)
        return try NNREncoder(options: o).encode(tensors)
    }

    func assertEncoderError(_ tensors: [Tensor], tensor: String, contains text: String,
                            _ configure: (inout EncoderOptions) -> Void = { _ in }, line: UInt = #line) {
        XCTAssertThrowsError(try encode(tensors, configure), line: line) { e in
            guard let err = e as? EncoderError else { return XCTFail("\(e)", line: line) }
            XCTAssertEqual(err.tensor, tensor, line: line)
            XCTAssertTrue(err.message.contains(text), "\(err.message)", line: line)
        }
    }

    let good = Tensor(name: "ok.weight", shape: [4, 4], float32: (0..<16).map { Float($0) * 0.01 })

    func testNonFiniteValuesAreRefusedByName() {
        for bad: Float in [.nan, .infinity, -.infinity] {
            var v = [Float](repeating: 0.1, count: 12)
            v[7] = bad
            assertEncoderError([good, Tensor(name: "layer.weight", shape: [3, 4], float32: v)], tensor: "layer.weight", contains: "non-finite")
        }
    }

    func testEmptyTensorIsRefused() {
        assertEncoderError([Tensor(name: "empty", shape: [0, 4], float32: [])], tensor: "empty", contains: "empty tensor")
    }

    func testTensorOverTheSizeLimitIsRefusedBeforeWork() {
        let big = Tensor(name: "big", shape: [100, 100], float32: [Float](repeating: 0.5, count: 10_000))
        assertEncoderError([big], tensor: "big", contains: "exceeds the limit") { $0.limits.maxTensorElements = 1000 }
    }

    func testIntegerOutsideInt32IsRefused() {
        let t = Tensor(name: "ids", shape: [2], int64: [1, Int64(Int32.max) + 1])
        assertEncoderError([t], tensor: "ids", contains: "does not fit")
    }

    func testDuplicateNamesAreRefused() {
        assertEncoderError([good, good], tensor: "ok.weight", contains: "duplicate")
    }

    func testStorageShapeMismatchIsRefused() {
        let t = Tensor(name: "short", dtype: .float32, shape: [4, 4], storage: [UInt8](repeating: 0, count: 12))
        assertEncoderError([t], tensor: "short", contains: "needs 64")
    }

    func testHalfAndBFloat16InputsEncode() throws {
        let f = Tensor(name: "w", shape: [8, 8], float32: (0..<64).map { sin(Float($0)) * 0.1 })
        for dtype in [TensorDType.float16, .bfloat16, .float64] {
            let encoded = try encode([f.converted(to: dtype)])
            var d = NNRDecoder()
            let out = try d.decode(NNRByteSource(bytes: encoded.bytes))
            XCTAssertEqual(out.tensors.first?.tensor.shape, [8, 8])
        }
    }

    func testIntegerTensorsAreLossless() throws {
        let v: [Int32] = (0..<48).map { Int32($0 * 37 % 91) - 45 }
        let encoded = try encode([Tensor(name: "counts", shape: [6, 8], int32: v)])
        var d = NNRDecoder()
        let out = try d.decode(NNRByteSource(bytes: encoded.bytes))
        XCTAssertEqual(out.tensors.first?.tensor.int32Values(), v)
        XCTAssertEqual(out.tensors.first?.payloadType, .int)
    }

    func testMaxErrorIsGuaranteed() throws {
        var rng = SystemRandomNumberGenerator()
        let v = (0..<4096).map { _ in Float.random(in: -0.2...0.2, using: &rng) }
        let t = Tensor(name: "w", shape: [64, 64], float32: v)
        for bound: Float in [0.01, 0.001, 0.0001] {
            let encoded = try encode([t]) { $0.maxError = bound }
            var d = NNRDecoder()
            let out = try XCTUnwrap(try d.decode(NNRByteSource(bytes: encoded.bytes)).tensors.first).tensor.floatValues()
            for i in v.indices { XCTAssertLessThanOrEqual(abs(v[i] - out[i]), bound) }
        }
    }

    func testTruncatedOrMalformedSafetensorsNameTheProblem() throws {
        let bytes = try Safetensors.encode([good])
        XCTAssertThrowsError(try Safetensors.decode(Array(bytes.prefix(bytes.count - 5)))) { e in
            XCTAssertTrue("\(e)".contains("ok.weight") || "\(e)".contains("truncated") || "\(e)".contains("offset"), "\(e)")
        }
        var header = Array("{\"x\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var file = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header
        file.append(0)
        XCTAssertThrowsError(try Safetensors.decode(file)) { e in
            guard case let .unsupportedDType(_, tensor, dtype)? = e as? ModelIOError else { return XCTFail("\(e)") }
            XCTAssertEqual(tensor, "x")
            XCTAssertEqual(dtype, "F8_E4M3")
        }
    }

    /// The CLI exits 1 and leaves no output file when a tensor is bad.
    func testCommandLineWritesNothingOnBadInput() throws {
        let nnr = Vectors.repoRoot.appendingPathComponent(".build/debug/nnr")
        guard FileManager.default.isExecutableFile(atPath: nnr.path) else { throw XCTSkip("\(nnr.path) not built") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nnr-enc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var v = [Float](repeating: 0.1, count: 16)
        v[3] = .nan
        let model = dir.appendingPathComponent("bad.npz")
        try ModelFile.write([good, Tensor(name: "bad.weight", shape: [4, 4], float32: v)], to: model)
        let out = dir.appendingPathComponent("out.nnr")
        let p = Process()
        p.executableURL = nnr
        p.arguments = ["encode", model.path, "-o", out.path, "-q"]
        let err = Pipe()
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 1)
        XCTAssertTrue(message.contains("bad.weight"), message)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["bad.npz"])
    }
}
