import Foundation
import XCTest
@testable import NNRModelIO

/// Small BF16/F32/I32 tensors in a fixed order.
private func sampleTensors() -> [Tensor] {
    [Tensor(name: "embed.weight", shape: [4, 3], halfBits: (0..<12).map { UInt16(0x3F80 + $0) }, dtype: .bfloat16),
     Tensor(name: "layer.0.bias", shape: [3], float32: [0.5, -1, 2]),
     Tensor(name: "layer.0.weight", shape: [3, 3], halfBits: (0..<9).map { UInt16(0xBF00 + $0) }, dtype: .bfloat16),
     Tensor(name: "count", shape: [], int32: [7])]
}

private func manifest(_ tensors: [Tensor]) -> [TensorManifestEntry] {
    tensors.map { TensorManifestEntry(name: $0.name, shape: $0.shape, dtype: $0.dtype) }
}

private func write<S: TensorSink>(_ tensors: [Tensor], to sink: inout S) throws {
    try sink.begin(manifest: manifest(tensors))
    for t in tensors { try sink.consume(t) }
    try sink.finish()
}

private func listing(_ dir: URL) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
}

final class StreamingWriterTests: XCTestCase {
    func testSafetensorsStreamWriterMatchesWholeFileWriter() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("m.safetensors")
        var w = SafetensorsStreamWriter(url: url, metadata: ["format": "pt"])
        try write(sampleTensors(), to: &w)
        XCTAssertEqual(Array(try Data(contentsOf: url)), try Safetensors.encode(sampleTensors(), metadata: ["format": "pt"]))
        XCTAssertEqual(try listing(dir), ["m.safetensors"])
        XCTAssertEqual(try SafetensorsFile(url: url).info("embed.weight")?.dtype, .bfloat16)  // BF16 in, BF16 out
    }

    func testDTypePolicyConvertsFloatingPointOnly() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("m.safetensors")
        var w = SafetensorsStreamWriter(url: url, dtype: TensorDTypePolicy(floatingPoint: .float32))
        try write(sampleTensors(), to: &w)
        let back = try Safetensors.read(url)
        XCTAssertEqual(back.map(\.dtype), [.float32, .float32, .float32, .int32])
        XCTAssertEqual(back[0], sampleTensors()[0].converted(to: .float32))
    }

    func testTensorDisagreeingWithManifestLeavesNothing() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("m.safetensors")
        let tensors = sampleTensors()
        var w = SafetensorsStreamWriter(url: url)
        try w.begin(manifest: manifest(tensors))
        try w.consume(tensors[0])
        assertThrows(.invalidTensor(file: url.path, tensor: "layer.0.weight",
                                    message: "is bfloat16[3, 3] but the manifest announced 'layer.0.bias' float32[3] here")) {
            try w.consume(tensors[2])
        }
        XCTAssertEqual(try listing(dir), [])
    }

    func testWriterDroppedBeforeFinishLeavesNothing() throws {
        let dir = try makeTemporaryDirectory(self)
        do {
            var w = SafetensorsStreamWriter(url: dir.appendingPathComponent("a.safetensors"))
            try w.begin(manifest: manifest(sampleTensors()))
            try w.consume(sampleTensors()[0])
            var z = NPZStreamWriter(url: dir.appendingPathComponent("b.npz"))
            try z.begin(manifest: nil)
            try z.consume(sampleTensors()[1])
            XCTAssertEqual(try listing(dir).count, 2)  // the two temporaries
        }
        XCTAssertEqual(try listing(dir), [])
    }

    func testSafetensorsWriterNeedsManifestAndAllTensors() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("m.safetensors")
        var w = SafetensorsStreamWriter(url: url)
        assertThrowsMatching({ try w.begin(manifest: nil) }) { if case .invalidRequest = $0 { return true }; return false }
        var w2 = SafetensorsStreamWriter(url: url)
        try w2.begin(manifest: manifest(sampleTensors()))
        try w2.consume(sampleTensors()[0])
        assertThrows(.invalidRequest(file: url.path, message: "1 of 4 announced tensors were written")) { try w2.finish() }
        XCTAssertEqual(try listing(dir), [])
    }

    func testNPZStreamWriterMatchesWholeFileWriter() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("m.npz")
        let tensors = sampleTensors().filter { $0.dtype != .bfloat16 }
        var w = NPZStreamWriter(url: url)
        try write(tensors, to: &w)
        XCTAssertEqual(Array(try Data(contentsOf: url)), try NPZ.encode(tensors))
        // BF16 needs a conversion for npz; with one it is written as float32.
        let url2 = dir.appendingPathComponent("bf.npz")
        var w2 = NPZStreamWriter(url: url2, dtype: TensorDTypePolicy(floatingPoint: .float32))
        try write(sampleTensors(), to: &w2)
        XCTAssertEqual(try NPZ.read(url2).map(\.dtype), [.float32, .float32, .float32, .int32])
        var w3 = NPZStreamWriter(url: dir.appendingPathComponent("bad.npz"))
        try w3.begin(manifest: nil)
        assertThrows(.dtypeNotRepresentable(file: dir.appendingPathComponent("bad.npz").path, tensor: "embed.weight",
                                            dtype: .bfloat16, format: "NPY")) { try w3.consume(sampleTensors()[0]) }
        XCTAssertEqual(try listing(dir), ["bf.npz", "m.npz"])
    }

    func testShardPlanFollowsHuggingFace() {
        let m = [24, 18, 40, 6, 6].enumerated().map { TensorManifestEntry(name: "t\($0.offset)", shape: [$0.element / 2], dtype: .bfloat16) }
        XCTAssertEqual(ShardedSafetensorsWriter.plan(m, maxShardBytes: 34).map { $0.map(\.name) },
                       [["t0"], ["t1"], ["t2"], ["t3", "t4"]])
        XCTAssertEqual(ShardedSafetensorsWriter.plan(m, maxShardBytes: 1000).count, 1)
    }

    func testShardedWriterWritesShardsAndIndexReadBackInOrder() throws {
        let dir = try makeTemporaryDirectory(self)
        let tensors = sampleTensors()
        var w = ShardedSafetensorsWriter(directory: dir, maxShardBytes: 34, metadata: ["format": "pt"])
        try write(tensors, to: &w)
        XCTAssertEqual(try listing(dir), ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                                          "model.safetensors.index.json"])
        let index = String(decoding: try Data(contentsOf: dir.appendingPathComponent("model.safetensors.index.json")), as: UTF8.self)
        XCTAssertEqual(index, """
            {
              "metadata": {
                "total_size": 58
              },
              "weight_map": {
                "count": "model-00002-of-00002.safetensors",
                "embed.weight": "model-00001-of-00002.safetensors",
                "layer.0.bias": "model-00002-of-00002.safetensors",
                "layer.0.weight": "model-00002-of-00002.safetensors"
              }
            }

            """)
        let checkpoint = try HuggingFaceCheckpoint(url: dir)
        XCTAssertEqual(checkpoint.totalSize, 58)
        XCTAssertEqual(try checkpoint.manifest.indices.map { try checkpoint.readTensor(at: $0) }, tensors)
        XCTAssertEqual(checkpoint.shards[0].metadata, ["format": "pt"])
    }

    func testShardedWriterWithOneShardWritesModelSafetensors() throws {
        let dir = try makeTemporaryDirectory(self)
        var w = ShardedSafetensorsWriter(directory: dir, maxShardBytes: 5_000_000_000)
        try write(sampleTensors(), to: &w)
        XCTAssertEqual(try listing(dir), ["model.safetensors"])
        let source = try ModelSource.open(dir)
        XCTAssertEqual(try source.manifest.indices.map { try source.readTensor(at: $0) }, sampleTensors())
    }

    func testShardedWriterFailureLeavesNothing() throws {
        let dir = try makeTemporaryDirectory(self)
        let tensors = sampleTensors()
        var w = ShardedSafetensorsWriter(directory: dir, maxShardBytes: 34)
        try w.begin(manifest: manifest(tensors))
        try w.consume(tensors[0])
        try w.consume(tensors[1])  // first shard sealed, second open
        XCTAssertThrowsError(try w.consume(tensors[3]))
        XCTAssertEqual(try listing(dir), [])
    }

    func testByteSizeParsesHuggingFaceSizes() {
        XCTAssertEqual(ByteSize.parse("5GB"), 5_000_000_000)
        XCTAssertEqual(ByteSize.parse("5GiB"), 5 << 30)
        XCTAssertEqual(ByteSize.parse("200MB"), 200_000_000)
        XCTAssertEqual(ByteSize.parse("1.5 kb"), 1500)
        XCTAssertEqual(ByteSize.parse("4096"), 4096)
        XCTAssertNil(ByteSize.parse("0GB"))
        XCTAssertNil(ByteSize.parse("-1"))
        XCTAssertNil(ByteSize.parse("5 parsecs"))
        XCTAssertEqual(ByteSize.parse("10MiB"), 10_485_760)
        XCTAssertEqual(ByteSize.parse("2KiB"), 2048)
        XCTAssertEqual(ByteSize.parse("300B"), 300)
        for bad in ["0", "10XB", "MB", "", "1e30", "nan", "0.5"] { XCTAssertNil(ByteSize.parse(bad), bad) }
        // blanks (tab, Unicode space separators) around the text and before the unit are ignored;
        // line breaks are not blanks
        XCTAssertEqual(ByteSize.parse(" \t64GiB \u{00A0}"), 64 << 30)
        XCTAssertEqual(ByteSize.parse("\u{3000}3 \u{2009}MB"), 3_000_000)
        for bad in ["5\nGB", "\n5GB", " ", "\t"] { XCTAssertNil(ByteSize.parse(bad), bad) }
    }
}

final class StreamingReaderTests: XCTestCase {
    func testSafetensorsReaderReadsEachTensor() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("m.safetensors")
        try Safetensors.write(sampleTensors(), to: url, metadata: ["k": "v"])
        let r = try SafetensorsReader(url: url)
        XCTAssertEqual(r.metadata, ["k": "v"])
        XCTAssertEqual(try r.manifest.indices.map { try r.readTensor(at: $0) }, try Safetensors.read(url))
    }

    func testTruncatedSafetensorsIsRefusedBeforeReading() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("m.safetensors")
        var bytes = try Safetensors.encode(sampleTensors())
        bytes.removeLast(3)
        try Data(bytes).write(to: url)
        assertThrows(.offsetsOutOfRange(file: url.path, tensor: "count", begin: 54, end: 58, dataSize: 55)) {
            try SafetensorsReader(url: url)
        }
        try Data(bytes.prefix(5)).write(to: url)
        assertThrows(.truncated(file: url.path, tensor: nil, what: "safetensors header length (file has 5 bytes, needs 8)")) {
            try SafetensorsReader(url: url)
        }
    }

    /// A two-shard checkpoint written by the sharded writer.
    private func checkpoint() throws -> URL {
        let dir = try makeTemporaryDirectory(self)
        var w = ShardedSafetensorsWriter(directory: dir, maxShardBytes: 34)
        try write(sampleTensors(), to: &w)
        return dir
    }

    private func rewriteIndex(_ dir: URL, _ edit: (String) -> String) throws {
        let url = dir.appendingPathComponent("model.safetensors.index.json")
        try Data(edit(String(decoding: try Data(contentsOf: url), as: UTF8.self)).utf8).write(to: url)
    }

    func testIndexNamingMissingShard() throws {
        let dir = try checkpoint()
        try rewriteIndex(dir) { $0.replacingOccurrences(of: "\"model-00002-of-00002", with: "\"model-00003-of-00002") }
        let index = dir.appendingPathComponent("model.safetensors.index.json").path
        assertThrows(.malformedHeader(file: index, tensor: nil, message: "shard 'model-00003-of-00002.safetensors' named in weight_map does not exist (\(dir.appendingPathComponent("model-00003-of-00002.safetensors").path))")) {
            try HuggingFaceCheckpoint(url: dir)
        }
    }

    func testShardHeaderDisagreeingWithIndex() throws {
        let dir = try checkpoint()
        try rewriteIndex(dir) { $0.replacingOccurrences(of: "\"count\": \"model-00002", with: "\"count\": \"model-00001") }
        let index = dir.appendingPathComponent("model.safetensors.index.json").path
        let shard1 = try HuggingFaceCheckpoint.realPath(dir.appendingPathComponent("model-00001-of-00002.safetensors"), file: "")
        assertThrows(.malformedHeader(file: shard1, tensor: "count",
                                      message: "\(index) places this tensor in this shard but the shard's header does not list it")) {
            try HuggingFaceCheckpoint(url: dir)
        }
        try rewriteIndex(dir) { $0.replacingOccurrences(of: "    \"count\": \"model-00001-of-00002.safetensors\",\n", with: "") }
        let shard2 = try HuggingFaceCheckpoint.realPath(dir.appendingPathComponent("model-00002-of-00002.safetensors"), file: "")
        assertThrows(.malformedHeader(file: shard2, tensor: "count", message: "the shard's header lists this tensor but \(index) does not")) {
            try HuggingFaceCheckpoint(url: dir)
        }
    }

    func testTruncatedShard() throws {
        let dir = try checkpoint()
        let shard = dir.appendingPathComponent("model-00002-of-00002.safetensors")
        let bytes = try Data(contentsOf: shard)
        try bytes.prefix(bytes.count - 1).write(to: shard)
        assertThrowsMatching({ try HuggingFaceCheckpoint(url: dir) }) {
            if case let .offsetsOutOfRange(file, _, _, _, _) = $0 { return file.hasSuffix("model-00002-of-00002.safetensors") }
            return false
        }
    }

    func testShardPathOutsideTheFolderIsRefused() throws {
        let dir = try checkpoint()
        let index = dir.appendingPathComponent("model.safetensors.index.json").path
        let outside = try makeTemporaryDirectory(self)
        try FileManager.default.copyItem(at: dir.appendingPathComponent("model-00002-of-00002.safetensors"),
                                         to: outside.appendingPathComponent("model-00002-of-00002.safetensors"))
        for bad in ["../\(outside.lastPathComponent)/model-00002-of-00002.safetensors",
                    outside.appendingPathComponent("model-00002-of-00002.safetensors").path] {
            try rewriteIndex(dir) { $0.replacingOccurrences(of: "\"model-00002-of-00002.safetensors\"", with: "\"\(bad)\"") }
            assertThrows(.malformedHeader(file: index, tensor: nil,
                                          message: "shard path '\(bad)' leaves the folder \(dir.path) (absolute, '..' or empty component): refused")) {
                try HuggingFaceCheckpoint(url: dir)
            }
            try rewriteIndex(dir) { $0.replacingOccurrences(of: "\"\(bad)\"", with: "\"model-00002-of-00002.safetensors\"") }
        }
        // A symlink inside the folder that points out of it.
        let link = dir.appendingPathComponent("link.safetensors")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: outside.appendingPathComponent("model-00002-of-00002.safetensors"))
        try rewriteIndex(dir) { $0.replacingOccurrences(of: "\"model-00002-of-00002.safetensors\"", with: "\"link.safetensors\"") }
        assertThrowsMatching({ try HuggingFaceCheckpoint(url: dir) }) {
            if case let .malformedHeader(file, nil, message) = $0 {
                return file == index && message.hasPrefix("shard path 'link.safetensors' resolves to ") && message.hasSuffix(": refused")
            }
            return false
        }
    }
}

final class StaleTemporaryTests: XCTestCase {
    func testNextWriteRemovesTemporariesOfDeadProcessesOnly() throws {
        let dir = try makeTemporaryDirectory(self)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        let dead = p.processIdentifier
        let names = [".m.nnr.tmp-\(dead)-1a2b", ".m.nnr.tmp-1-ff", ".m.nnr.tmp-\(getpid())-ab", "m.nnr.tmp-\(dead)-ab", ".x.tmp-\(dead)-zz"]
        for n in names { try Data([1]).write(to: dir.appendingPathComponent(n)) }
        try AtomicFile.write([1, 2], to: dir.appendingPathComponent("other.bin"))
        XCTAssertEqual(try listing(dir), [".m.nnr.tmp-1-ff", ".m.nnr.tmp-\(getpid())-ab", ".x.tmp-\(dead)-zz",
                                          "m.nnr.tmp-\(dead)-ab", "other.bin"].sorted())
        XCTAssertNil(AtomicFile.stalePID(ofTemporaryName: ".tmp-12-ab"))
        XCTAssertEqual(AtomicFile.stalePID(ofTemporaryName: ".a.tmp-b.tmp-12-ab"), 12)
    }
}

final class ModelSinkTests: XCTestCase {
    func testWriterChosenByOutput() throws {
        let dir = try makeTemporaryDirectory(self)
        var st = try ModelSink.writer(for: dir.appendingPathComponent("m.safetensors"))
        try write(sampleTensors(), to: &st)
        XCTAssertEqual(try Safetensors.read(dir.appendingPathComponent("m.safetensors")), sampleTensors())
        // NPZ cannot record bfloat16: written as float32 unless a dtype is asked for.
        var npz = try ModelSink.writer(for: dir.appendingPathComponent("m.npz"))
        try write(sampleTensors(), to: &npz)
        XCTAssertEqual(try NPZ.read(dir.appendingPathComponent("m.npz")).map(\.dtype), [.float32, .float32, .float32, .int32])
        var sharded = try ModelSink.writer(for: dir.appendingPathComponent("hf"), shardSize: 34)
        try write(sampleTensors(), to: &sharded)
        XCTAssertEqual(try listing(dir.appendingPathComponent("hf")).count, 3)
        assertThrowsMatching({ try ModelSink.writer(for: dir.appendingPathComponent("x.npy")) }) {
            if case .invalidRequest = $0 { return true }
            return false
        }
    }
}

/// Writes every tensor in pieces of `piece` bytes (the path a decoder takes for tensors too
/// large to hold), the sink's whole-tensor path for a sink that gives no piece writer.
private func writeInPieces<S: TensorSink>(_ tensors: [Tensor], to sink: inout S, piece: Int) throws {
    try sink.begin(manifest: manifest(tensors))
    for t in tensors {
        guard let w = try sink.beginPieces(TensorManifestEntry(name: t.name, shape: t.shape, dtype: t.dtype)) else {
            try sink.consume(t)
            continue
        }
        try t.storage.withUnsafeBytes { raw in
            var at = 0
            while at < raw.count {
                let n = min(piece, raw.count - at)
                try w.write(UnsafeRawBufferPointer(rebasing: raw[at..<(at + n)]))
                at += n
            }
        }
        try w.end()
    }
    try sink.finish()
}

final class PieceWriterTests: XCTestCase {
    /// Safetensors, npz (stored: the CRC is patched in the local header) and shards written in
    /// pieces are byte-identical to the same tensors written whole.
    func testPiecesGiveTheSameFilesAsWholeTensors() throws {
        let dir = try makeTemporaryDirectory(self)
        let all = sampleTensors()
        let plain = all.filter { $0.dtype != .bfloat16 }
        for piece in [1, 5, 1 << 20] {
            var a = SafetensorsStreamWriter(url: dir.appendingPathComponent("a.safetensors"), metadata: ["format": "pt"])
            try writeInPieces(all, to: &a, piece: piece)
            XCTAssertEqual(Array(try Data(contentsOf: a.url)), try Safetensors.encode(all, metadata: ["format": "pt"]), "piece \(piece)")
            var n = NPZStreamWriter(url: dir.appendingPathComponent("n.npz"))
            try writeInPieces(plain, to: &n, piece: piece)
            XCTAssertEqual(Array(try Data(contentsOf: n.url)), try NPZ.encode(plain), "piece \(piece)")
            let shardDir = dir.appendingPathComponent("shards-\(piece)")
            try FileManager.default.createDirectory(at: shardDir, withIntermediateDirectories: true)
            var s = ShardedSafetensorsWriter(directory: shardDir, maxShardBytes: 30)
            try writeInPieces(all, to: &s, piece: piece)
            var whole = ShardedSafetensorsWriter(directory: dir.appendingPathComponent("whole-\(piece)"), maxShardBytes: 30)
            try FileManager.default.createDirectory(at: whole.directory, withIntermediateDirectories: true)
            try write(all, to: &whole)
            XCTAssertEqual(try listing(shardDir), try listing(whole.directory))
            for f in try listing(shardDir) {
                XCTAssertEqual(try Data(contentsOf: shardDir.appendingPathComponent(f)), try Data(contentsOf: whole.directory.appendingPathComponent(f)), f)
            }
        }
        // a deflating npz writer and a writer that would convert the dtype take whole tensors only
        var d = NPZStreamWriter(url: dir.appendingPathComponent("d.npz"), compression: .deflate(level: 6))
        try d.begin(manifest: nil)
        XCTAssertNil(try d.beginPieces(TensorManifestEntry(name: "x", shape: [2], dtype: .float32)))
        var c = SafetensorsStreamWriter(url: dir.appendingPathComponent("c.safetensors"), dtype: TensorDTypePolicy(floatingPoint: .float16))
        try c.begin(manifest: [TensorManifestEntry(name: "x", shape: [2], dtype: .float32)])
        XCTAssertNil(try c.beginPieces(TensorManifestEntry(name: "x", shape: [2], dtype: .float32)))
    }

    /// A tensor given more or fewer bytes than its shape holds is an error and leaves nothing.
    func testWrongByteCountIsAnErrorAndLeavesNothing() throws {
        let dir = try makeTemporaryDirectory(self)
        let entry = TensorManifestEntry(name: "w", shape: [2, 2], dtype: .float32)
        let sixteen = [UInt8](repeating: 1, count: 16)
        do {
            var w = SafetensorsStreamWriter(url: dir.appendingPathComponent("long.safetensors"))
            try w.begin(manifest: [entry])
            let p = try XCTUnwrap(try w.beginPieces(entry))
            try sixteen.withUnsafeBytes { try p.write($0) }
            assertThrows(.invalidTensor(file: w.url.path, tensor: "w", message: "more than its 16 bytes were written")) {
                try [UInt8(0)].withUnsafeBytes { try p.write($0) }
            }
        }
        do {
            var w = NPZStreamWriter(url: dir.appendingPathComponent("short.npz"))
            try w.begin(manifest: nil)
            let p = try XCTUnwrap(try w.beginPieces(entry))
            try sixteen.withUnsafeBytes { try p.write(UnsafeRawBufferPointer(rebasing: $0[0..<8])) }
            assertThrows(.invalidTensor(file: w.url.path, tensor: "w", message: "8 of its 16 bytes were written")) { try p.end() }
            // another tensor while one is open in pieces is refused
            assertThrows(.invalidRequest(file: w.url.path, message: "tensor 'v' given before begin, after finish or inside another tensor")) {
                try w.consume(Tensor(name: "v", shape: [1], float32: [1]))
            }
        }
        XCTAssertEqual(try listing(dir), [])
    }

    /// Zero runs written with `writeZeros` (holes in a safetensors file, real zero bytes in an
    /// npz member, whose CRC covers them) give the same files; a trailing hole is part of the size.
    func testZeroRunsGiveTheSameFiles() throws {
        let dir = try makeTemporaryDirectory(self)
        var values = [Float](repeating: 0, count: 40)
        values[1] = 1.5
        values[30] = -2
        let tensors = [Tensor(name: "a", shape: [10, 4], float32: values), Tensor(name: "z", shape: [4, 4], float32: [Float](repeating: 0, count: 16))]
        func pieces<S: TensorSink>(_ sink: inout S) throws {
            try sink.begin(manifest: manifest(tensors))
            for t in tensors {
                let w = try XCTUnwrap(try sink.beginPieces(TensorManifestEntry(name: t.name, shape: t.shape, dtype: t.dtype)))
                try t.storage.withUnsafeBytes { raw in
                    var at = 0
                    while at < raw.count {  // runs of zero bytes as zeros, the rest as bytes
                        let zero = raw[at] == 0
                        var end = at + 1
                        while end < raw.count && (raw[end] == 0) == zero { end += 1 }
                        if zero { try w.writeZeros(end - at) } else { try w.write(UnsafeRawBufferPointer(rebasing: raw[at..<end])) }
                        at = end
                    }
                }
                try w.end()
            }
            try sink.finish()
        }
        var a = SafetensorsStreamWriter(url: dir.appendingPathComponent("a.safetensors"))
        try pieces(&a)
        XCTAssertEqual(Array(try Data(contentsOf: a.url)), try Safetensors.encode(tensors))
        var n = NPZStreamWriter(url: dir.appendingPathComponent("n.npz"))
        try pieces(&n)
        XCTAssertEqual(Array(try Data(contentsOf: n.url)), try NPZ.encode(tensors))
    }

    /// The CRC-32 of a zero run computed without reading it (whole MiBs by crc32_combine, the rest
    /// directly) equals the CRC-32 of the bytes.
    func testCRCOfZeroRunsWithoutReadingThem() {
        let head: [UInt8] = Array("abc".utf8)
        let initial = Zlib.crc32(head)
        for count in [0, 1, 1000, (1 << 20) - 1, 1 << 20, 3 << 20 | 5] {
            let expected = Zlib.crc32(head + [UInt8](repeating: 0, count: count))
            XCTAssertEqual(Zlib.crc32(zeros: count, initial: initial), expected, "\(count)")
        }
    }
}
