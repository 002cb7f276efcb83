import Foundation
import XCTest
import NNRModelIO
import NNRTestSupport
import NNRContainer
@testable import NNRCodec

/// `nnr decode` streaming into files and Hugging Face shards (the debug binary; skipped when it
/// is not built). Small generated models: shard boundaries, index content, names and shapes back,
/// the name policy per tensor, nothing left behind by a failed run.
final class StreamingDecodeCommandLineTests: XCTestCase {
    private var nnr: URL { Vectors.repoRoot.appendingPathComponent(".build/debug/nnr") }

    /// Four tensors; as bfloat16 they hold 64, 64, 8 and 128 bytes.
    private let tensors: [Tensor] = [
        Tensor(name: "a.weight", shape: [4, 8], float32: (0..<32).map { Float(sin(Double($0))) * 0.1 }),
        Tensor(name: "b.weight", shape: [4, 8], float32: (0..<32).map { Float(cos(Double($0))) * 0.1 }),
        Tensor(name: "c.bias", shape: [4], float32: [0.5, -0.25, 0.125, 1]),
        Tensor(name: "d.weight", shape: [8, 8], float32: (0..<64).map { Float(sin(Double($0) * 0.3)) * 0.2 }),
    ]

    private func folder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nnr-decode-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// The bitstream of `tensors` in a fresh folder.
    private func bitstream(_ tensors: [Tensor]) throws -> (dir: URL, file: URL, bytes: [UInt8]) {
        guard FileManager.default.isExecutableFile(atPath: nnr.path) else { throw XCTSkip("\(nnr.path) not built") }
        var options = EncoderOptions()
        options.optimizeEstimators = false
        let bytes = try NNREncoder(options: options).encode(tensors).bytes
        let dir = try folder()
        let file = dir.appendingPathComponent("m.nnr")
        try Data(bytes).write(to: file)
        return (dir, file, bytes)
    }

    private func run(_ args: [String]) throws -> (status: Int32, stderr: String) {
        let p = Process()
        p.executableURL = nnr
        p.arguments = args
        let err = Pipe()
        p.standardError = err
        p.standardOutput = Pipe()
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, text)
    }

    private func headers(_ url: URL) throws -> [String: [Int]] {
        Dictionary(uniqueKeysWithValues: try ModelFile.read(url).map { ($0.name, $0.shape) })
    }

    func testShardsAndIndex() throws {
        let (dir, file, _) = try bitstream(tensors)
        let out = dir.appendingPathComponent("hf")
        // 130 bytes: a+b (128) fill the first shard, c+d (136) do not fit one: c, then d alone.
        let r = try run(["decode", file.path, "-o", out.path + "/", "--shard-size", "130B", "--dtype", "bfloat16"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted(),
                       ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors",
                        "model.safetensors.index.json"])
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("model.safetensors.index.json"))) as? [String: Any]
        XCTAssertEqual((index?["metadata"] as? [String: Any])?["total_size"] as? Int, 64 + 64 + 8 + 128)
        XCTAssertEqual(index?["weight_map"] as? [String: String],
                       ["a.weight": "model-00001-of-00003.safetensors", "b.weight": "model-00001-of-00003.safetensors",
                        "c.bias": "model-00002-of-00003.safetensors", "d.weight": "model-00003-of-00003.safetensors"])
        var back: [Tensor] = []
        for n in 1...3 { back += try ModelFile.read(out.appendingPathComponent("model-0000\(n)-of-00003.safetensors")) }
        XCTAssertEqual(back.map(\.name), tensors.map(\.name))
        XCTAssertEqual(back.map(\.shape), tensors.map(\.shape))
        XCTAssertEqual(Set(back.map(\.dtype)), [.bfloat16])
        // The same values as the in-memory decoder gives, converted.
        var decoder = NNRDecoder()
        let whole = try decoder.decode(NNRByteSource(contentsOf: file))
        XCTAssertEqual(back.map(\.storage), whole.tensors.map { $0.tensor.converted(to: .bfloat16).storage })
    }

    func testModelThatFitsOneShardIsOneFile() throws {
        let (dir, file, _) = try bitstream(tensors)
        let out = dir.appendingPathComponent("hf")
        let r = try run(["decode", file.path, "-o", out.path, "--shard-size", "5GB"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), ["model.safetensors"])
        let back = try ModelFile.read(out.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(back.map(\.name), tensors.map(\.name))
        XCTAssertEqual(Set(back.map(\.dtype)), [.float32], "no --dtype: the reference decoder's float32")
    }

    func testStreamedFilesEqualTheInMemoryDecoder() throws {
        let (dir, file, _) = try bitstream(tensors)
        var decoder = NNRDecoder()
        let whole = try decoder.decode(NNRByteSource(contentsOf: file)).tensors.map(\.tensor)
        for (name, dtype) in [("o.safetensors", "float16"), ("o.npz", "reference"), ("p.safetensors", "reference")] {
            let out = dir.appendingPathComponent(name)
            let r = try run(["decode", file.path, "-o", out.path, "--dtype", dtype])
            XCTAssertEqual(r.status, 0, r.stderr)
            let back = try ModelFile.read(out)
            XCTAssertEqual(back.map(\.name), whole.map(\.name), name)
            let want = dtype == "float16" ? whole.map { $0.converted(to: .float16) } : whole
            XCTAssertEqual(back.map(\.dtype), want.map(\.dtype), name)
            XCTAssertEqual(back.map(\.storage), want.map(\.storage), name)
        }
    }

    func testUnsafeNameRefusedBeforeAnythingIsWritten() throws {
        let named = [tensors[0], Tensor(name: "../escape", shape: [4], float32: [1, 2, 3, 4])]
        let (dir, file, _) = try bitstream(named)
        let before = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        let r = try run(["decode", file.path, "-o", dir.appendingPathComponent("o.safetensors").path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("tensor '../escape': name is unsafe"), r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), before)
        let s = try run(["decode", file.path, "-o", dir.appendingPathComponent("o.safetensors").path, "--sanitize-names"])
        XCTAssertEqual(s.status, 0, s.stderr)
        XCTAssertTrue(s.stderr.contains("renamed tensor '../escape' to"), s.stderr)
        let names = try headers(dir.appendingPathComponent("o.safetensors")).keys.sorted()
        XCTAssertEqual(names.count, 2)
        XCTAssertTrue(names.allSatisfy { MemberName.problem($0) == nil }, "\(names)")
    }

    func testCorruptPayloadLeavesNothing() throws {
        var (dir, file, bytes) = try bitstream(tensors)
        // Headers intact, the last unit's payload damaged: the manifest passes, decoding fails
        // after earlier tensors were written to the temporary file.
        for i in (bytes.count - 40)..<bytes.count { bytes[i] = 0xFF }
        try Data(bytes).write(to: file)
        let before = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        for out in ["o.safetensors", "o.npz", "hf/"] {
            var args = ["decode", file.path, "-o", dir.appendingPathComponent(out).path + (out.hasSuffix("/") ? "/" : "")]
            if out == "hf/" { args += ["--shard-size", "100B"] }
            let r = try run(args)
            XCTAssertEqual(r.status, 1, out)
            XCTAssertTrue(r.stderr.contains("m.nnr"), r.stderr)
            let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted().filter { $0 != "hf" }
            XCTAssertEqual(left, before, out)
            if out == "hf/" {
                XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("hf").path), [])
            }
        }
    }

    func testIncrementalSequenceToShardFolders() throws {
        let (dir, file, _) = try bitstream(tensors)
        let second = dir.appendingPathComponent("n.nnr")
        try FileManager.default.copyItem(at: file, to: second)
        let out = dir.appendingPathComponent("seq")
        let r = try run(["decode", file.path, second.path, "-o", out.path, "--shard-size", "130B"])
        XCTAssertEqual(r.status, 0, r.stderr)
        for stem in ["m", "n"] {
            let index = out.appendingPathComponent(stem).appendingPathComponent("model.safetensors.index.json")
            XCTAssertTrue(FileManager.default.fileExists(atPath: index.path), stem)
        }
    }

    func testBadShardSizeIsAUsageError() throws {
        let (dir, file, _) = try bitstream(tensors)
        let r = try run(["decode", file.path, "-o", dir.appendingPathComponent("hf").path, "--shard-size", "lots"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--shard-size"), r.stderr)
    }

    /// `--max-output-size` refuses a bitstream whose tensors (in the output dtype) would take more,
    /// before anything is written (exit 1); at the exact size it decodes.
    func testMaxOutputSize() throws {
        let (dir, file, _) = try bitstream(tensors)
        let out = dir.appendingPathComponent("m.safetensors")
        let total = tensors.reduce(0) { $0 + $1.shape.reduce(4, *) }  // float32
        let refused = try run(["decode", file.path, "-o", out.path, "--max-output-size", String(total - 1)])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("the decoded tensors take \(total) bytes, more than --max-output-size (\(total - 1) bytes); nothing written"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
        XCTAssertEqual(try run(["decode", file.path, "-o", out.path, "--max-output-size", String(total)]).status, 0)
        // bfloat16 output is half the size
        XCTAssertEqual(try run(["decode", file.path, "-o", out.path, "--dtype", "bfloat16", "--max-output-size", String(total / 2)]).status, 0)
        XCTAssertEqual(try run(["decode", file.path, "-o", out.path, "--max-output-size", "lots"]).status, 2)
    }
}
