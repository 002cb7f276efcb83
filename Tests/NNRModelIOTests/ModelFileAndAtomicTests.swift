import Foundation
import XCTest
@testable import NNRModelIO

final class ModelFileTests: XCTestCase {
    func testDispatchByExtensionAndMagic() throws {
        let dir = try makeTemporaryDirectory(self)
        let tensors = [Tensor(name: "a.weight", shape: [2, 2], float32: [1, 2, 3, 4]), Tensor(name: "b", shape: [3], int32: [1, 2, 3])]
        for format in ModelFormat.allCases where format != .npy {
            let url = dir.appendingPathComponent("m.\(format.fileExtension)")
            try ModelFile.write(tensors, to: url)
            XCTAssertEqual(try ModelFile.detectFormat(url), format)
            XCTAssertEqual(try ModelFile.read(url), tensors)
            XCTAssertEqual(try ModelFile.readDictionary(url)["b"], tensors[1])
            // Same bytes under an extension-less name: detected from the magic bytes.
            let bare = dir.appendingPathComponent("bare-\(format.rawValue)")
            try FileManager.default.copyItem(at: url, to: bare)
            XCTAssertEqual(try ModelFile.detectFormat(bare), format)
            XCTAssertEqual(try ModelFile.read(bare), tensors)
        }
        let npy = dir.appendingPathComponent("single.npy")
        try ModelFile.write([tensors[0]], to: npy)
        XCTAssertEqual(try ModelFile.read(npy), [Tensor(name: "single", shape: [2, 2], float32: [1, 2, 3, 4])])
        let bareNPY = dir.appendingPathComponent("bare-npy")
        try FileManager.default.copyItem(at: npy, to: bareNPY)
        XCTAssertEqual(try ModelFile.detectFormat(bareNPY), .npy)
        // Explicit format overrides the extension.
        let odd = dir.appendingPathComponent("weights.bin")
        try ModelFile.write(tensors, to: odd, format: .npz, npzCompression: .deflate())
        XCTAssertEqual(try ModelFile.read(odd), tensors)
    }

    func testErrors() throws {
        let dir = try makeTemporaryDirectory(self)
        let t = [Tensor(name: "a", shape: [1], float32: [1]), Tensor(name: "b", shape: [1], float32: [2])]
        let npy = dir.appendingPathComponent("x.npy")
        assertThrows(.invalidRequest(file: npy.path, message: "a .npy file holds exactly one tensor, 2 given")) {
            try ModelFile.write(t, to: npy)
        }
        let unknown = dir.appendingPathComponent("x.txt")
        assertThrows(.unknownFormat(file: unknown.path)) { try ModelFile.write(t, to: unknown) }
        try Data("hello".utf8).write(to: unknown)
        assertThrows(.unknownFormat(file: unknown.path)) { try ModelFile.read(unknown) }
        let missing = dir.appendingPathComponent("missing.safetensors")
        assertThrows(.fileIO(file: missing.path, operation: "open", errno: ENOENT)) { try ModelFile.read(missing) }
        let directory = dir.appendingPathComponent("d.npz")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        assertThrows(.fileIO(file: directory.path, operation: "read", errno: EISDIR)) { try ModelFile.read(directory) }
        let bf = dir.appendingPathComponent("bf.npz")
        assertThrows(.dtypeNotRepresentable(file: bf.path, tensor: "h", dtype: .bfloat16, format: "NPY")) {
            try ModelFile.write([sampleTensor(.bfloat16, name: "h")], to: bf)
        }
        let bfs = dir.appendingPathComponent("bf.safetensors")
        try ModelFile.write([sampleTensor(.bfloat16, name: "h")], to: bfs)
        XCTAssertEqual(try ModelFile.read(bfs), [sampleTensor(.bfloat16, name: "h")])
    }
}

final class AtomicFileTests: XCTestCase {
    private func entries(_ dir: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
    }

    func testWriteReplacesAndLeavesNoTemporary() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("out.bin")
        try AtomicFile.write([1, 2, 3], to: url)
        XCTAssertEqual([UInt8](try Data(contentsOf: url)), [1, 2, 3])
        try AtomicFile.write(Data([4, 5]), to: url)
        XCTAssertEqual([UInt8](try Data(contentsOf: url)), [4, 5])
        XCTAssertEqual(try entries(dir), ["out.bin"])
    }

    /// `synchronous` (the CLI's --sync) is off by default and only adds the fsyncs: the same bytes,
    /// no temporary left; a writer keeps the setting it was made with.
    func testSynchronousCommitWritesTheSameFile() throws {
        XCTAssertFalse(AtomicFile.synchronous)
        let dir = try makeTemporaryDirectory(self)
        defer { AtomicFile.synchronous = false }
        for sync in [true, false] {
            AtomicFile.synchronous = sync
            XCTAssertEqual(AtomicFile.synchronous, sync)
            let url = dir.appendingPathComponent(sync ? "sync.bin" : "plain.bin")
            try AtomicFile.withWriter(to: url) { w in
                AtomicFile.synchronous = !sync
                try w.write([UInt8](repeating: 7, count: 100_000))
            }
            XCTAssertEqual([UInt8](try Data(contentsOf: url)), [UInt8](repeating: 7, count: 100_000))
        }
        XCTAssertEqual(try entries(dir), ["plain.bin", "sync.bin"])
    }

    func testStreamingWriterLargeChunks() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("big.bin")
        var expected: [UInt8] = []
        try AtomicFile.withWriter(to: url) { w in
            XCTAssertEqual(w.target, url)
            XCTAssertEqual(w.temporary.deletingLastPathComponent().standardizedFileURL.path, dir.standardizedFileURL.path)
            XCTAssertTrue(w.temporary.lastPathComponent.hasPrefix(".big.bin.tmp-"))
            for (i, size) in [10, 1 << 20, 3, (1 << 20) + 7, 0, 500_000, 65_535, 65_536, 9, 200_000, 200_001].enumerated() {
                let chunk = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ size) }
                expected += chunk
                // buffered and unbuffered appends (a tensor's data: one writev with what is buffered) interleaved
                if i % 2 == 0 { try w.write(chunk) } else { try chunk.withUnsafeBytes { try w.writeUnbuffered($0) } }
            }
            XCTAssertEqual(w.bytesWritten, UInt64(expected.count))
            // Nothing is visible at the target until commit.
            XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
        }
        XCTAssertEqual([UInt8](try Data(contentsOf: url)), expected)
        XCTAssertEqual(try entries(dir), ["big.bin"])
    }

    func testFailureLeavesPreviousFileIntact() throws {
        struct Boom: Error {}
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("model.npz")
        let old = [Tensor(name: "old", shape: [2], float32: [1, 2])]
        try NPZ.write(old, to: url)
        let before = try Data(contentsOf: url)
        XCTAssertThrowsError(try AtomicFile.withWriter(to: url) { w in
            try w.write([UInt8](repeating: 9, count: 3 << 20))
            throw Boom()
        }) { XCTAssertTrue($0 is Boom) }
        XCTAssertEqual(try Data(contentsOf: url), before)
        XCTAssertEqual(try NPZ.read(url), old)
        XCTAssertEqual(try entries(dir), ["model.npz"])
        // A writer failing half way (invalid tensor after a valid one) also leaves the old file.
        let bad = Tensor(name: "bad", dtype: .float32, shape: [3], storage: [0])
        XCTAssertThrowsError(try Safetensors.write([old[0], bad], to: url))
        XCTAssertThrowsError(try NPZ.write([old[0], bad], to: url))
        XCTAssertEqual(try Data(contentsOf: url), before)
        XCTAssertEqual(try entries(dir), ["model.npz"])
    }

    func testUnwritableLocations() throws {
        let dir = try makeTemporaryDirectory(self)
        let missingDir = dir.appendingPathComponent("no/such/dir/file.bin")
        assertThrows(.fileIO(file: missingDir.path, operation: "create temporary file", errno: ENOENT)) {
            try AtomicFile.write([1], to: missingDir)
        }
        // Renaming a file over a non-empty directory fails; the temporary is cleaned up.
        let target = dir.appendingPathComponent("occupied")
        try FileManager.default.createDirectory(at: target.appendingPathComponent("child"), withIntermediateDirectories: true)
        assertThrowsMatching({ try AtomicFile.write([1], to: target) }) {
            if case .fileIO(target.path, "rename", _) = $0 { return true }
            return false
        }
        XCTAssertEqual(try entries(dir), ["occupied"])
    }

    func testPermissionsOfReplacedFileKept() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("p.bin")
        try AtomicFile.write([1], to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: url.path)
        try AtomicFile.write([2], to: url)
        let perms = try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int
        XCTAssertEqual(perms, 0o640)
    }
}
