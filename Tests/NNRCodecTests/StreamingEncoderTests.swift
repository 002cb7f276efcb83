import Foundation
import XCTest
import NNRModelIO
import NNRTestSupport
import NNRContainer
@testable import NNRCodec

final class StreamingEncoderTests: XCTestCase {
    /// Small tensors of different sizes (so they finish out of order on several cores).
    private func tensors() -> [Tensor] {
        (0..<7).map { i in
            let rows = 3 + 5 * (i % 3), cols = 16
            let v = (0..<(rows * cols)).map { j in Float(sin(Double(j * (i + 1)) * 0.37)) * 0.05 }
            return i == 4 ? Tensor(name: "bias.\(i)", shape: [rows], float32: Array(v.prefix(rows)))
                : Tensor(name: "w.\(i)", shape: [rows, cols], float32: v).converted(to: i % 2 == 0 ? .bfloat16 : .float32)
        }
    }

    func testStreamingOutputEqualsWholeModelEncoder() throws {
        var options = EncoderOptions()
        options.optimizeEstimators = false
        let whole = try NNREncoder(options: options).encode(tensors())
        for inFlight in [1, 2, 3, 8] {
            var out: [UInt8] = []
            var seen: [Int] = []
            let r = try NNRStreamingEncoder(options: options, maxInFlight: inFlight)
                .encode(InMemoryTensorSource(tensors()), progress: { seen.append($0.tensorsDone) }) { out += $0 }
            XCTAssertEqual(out, whole.bytes, "maxInFlight \(inFlight)")
            XCTAssertEqual(r.outputBytes, whole.bytes.count)
            XCTAssertEqual(r.tensors.map(\.name), tensors().map(\.name))
            XCTAssertEqual(seen, Array(1...7))
        }
    }

    func testFailingTensorIsReportedAndNothingIsWritten() throws {
        var bad = tensors()
        var v = bad[5].floatValues()
        v[2] = .nan
        bad[5] = Tensor(name: "w.5", shape: bad[5].shape, float32: v)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nnr-stream-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try NNRStreamingEncoder(maxInFlight: 2).encode(InMemoryTensorSource(bad), to: dir.appendingPathComponent("o.nnr"))) {
            XCTAssertEqual("\($0)", "tensor w.5: non-finite value nan at element 2")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }

    func testMaxErrorIsCheckedPerTensor() throws {
        var options = EncoderOptions()
        options.maxError = 0.001
        var out: [UInt8] = []
        _ = try NNRStreamingEncoder(options: options).encode(InMemoryTensorSource(tensors())) { out += $0 }
        var decoder = NNRDecoder()
        let decoded = try decoder.decode(NNRByteSource(bytes: out))
        for (t, d) in zip(tensors(), decoded.tensors) {
            let a = t.floatValues(), b = d.tensor.floatValues()
            XCTAssertLessThanOrEqual(zip(a, b).map { abs($0 - $1) }.max() ?? 0, 0.001)
        }
    }
}

/// `nnr encode` on a broken Hugging Face checkpoint: exit 1, a message naming the file, nothing written.
final class CheckpointCommandLineTests: XCTestCase {
    private var nnr: URL { Vectors.repoRoot.appendingPathComponent(".build/debug/nnr") }

    /// A two-shard checkpoint in a fresh folder; returns the folder.
    private func checkpoint() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nnr-hf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let tensors = [Tensor(name: "a.weight", shape: [4, 8], float32: (0..<32).map { Float($0) * 0.01 }).converted(to: .bfloat16),
                       Tensor(name: "b.weight", shape: [4, 8], float32: (0..<32).map { Float($0) * -0.01 }).converted(to: .bfloat16)]
        var w = ShardedSafetensorsWriter(directory: dir, maxShardBytes: 64)
        try w.begin(manifest: tensors.map { TensorManifestEntry(name: $0.name, shape: $0.shape, dtype: $0.dtype) })
        for t in tensors { try w.consume(t) }
        try w.finish()
        return dir
    }

    private func editIndex(_ dir: URL, _ from: String, _ to: String) throws {
        let url = dir.appendingPathComponent("model.safetensors.index.json")
        let text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
        XCTAssertTrue(text.contains(from))
        try Data(text.replacingOccurrences(of: from, with: to).utf8).write(to: url)
    }

    /// Runs `nnr encode DIR -o DIR/out.nnr`; checks exit 1, `expected` in the message, no new file.
    private func assertRefused(_ dir: URL, naming expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        guard FileManager.default.isExecutableFile(atPath: nnr.path) else { throw XCTSkip("\(nnr.path) not built") }
        let before = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        let p = Process()
        p.executableURL = nnr
        p.arguments = ["encode", dir.path, "-o", dir.appendingPathComponent("out.nnr").path, "-q"]
        let err = Pipe()
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 1, message, file: file, line: line)
        XCTAssertTrue(message.contains(expected), message, file: file, line: line)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), before, file: file, line: line)
    }

    func testGoodCheckpointEncodes() throws {
        guard FileManager.default.isExecutableFile(atPath: nnr.path) else { throw XCTSkip("\(nnr.path) not built") }
        let dir = try checkpoint()
        let p = Process()
        p.executableURL = nnr
        p.arguments = ["encode", dir.appendingPathComponent("model.safetensors.index.json").path, "-o", dir.appendingPathComponent("out.nnr").path, "-q"]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        var decoder = NNRDecoder()
        let decoded = try decoder.decode(NNRByteSource(bytes: Array(try Data(contentsOf: dir.appendingPathComponent("out.nnr")))))
        XCTAssertEqual(decoded.tensors.map(\.name), ["a.weight", "b.weight"])
        XCTAssertEqual(decoded.tensors.map(\.tensor.shape), [[4, 8], [4, 8]])
    }

    func testIndexNamingMissingShard() throws {
        let dir = try checkpoint()
        try FileManager.default.removeItem(at: dir.appendingPathComponent("model-00002-of-00002.safetensors"))
        try assertRefused(dir, naming: "model-00002-of-00002.safetensors")
    }

    func testShardHeaderDisagreeingWithIndex() throws {
        let dir = try checkpoint()
        try editIndex(dir, "\"b.weight\": \"model-00002-of-00002", "\"b.weight\": \"model-00001-of-00002")
        try assertRefused(dir, naming: "model-00001-of-00002.safetensors: tensor 'b.weight'")
    }

    func testTruncatedShard() throws {
        let dir = try checkpoint()
        let shard = dir.appendingPathComponent("model-00002-of-00002.safetensors")
        let bytes = try Data(contentsOf: shard)
        try bytes.prefix(bytes.count - 10).write(to: shard)
        try assertRefused(dir, naming: "model-00002-of-00002.safetensors: tensor 'b.weight': data_offsets")
    }

    func testShardPathOutsideTheFolder() throws {
        let dir = try checkpoint()
        try editIndex(dir, "\"model-00002-of-00002.safetensors\"", "\"../model-00002-of-00002.safetensors\"")
        try assertRefused(dir, naming: "shard path '../model-00002-of-00002.safetensors' leaves the folder")
    }
}
