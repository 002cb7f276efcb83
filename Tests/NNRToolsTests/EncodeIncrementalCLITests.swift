import Foundation
import XCTest
import NNRModelIO

/// `nnr encode --incremental` and `--after`: one bitstream per step, resuming from earlier
/// bitstreams gives the same bytes, and bad input is refused with the file and tensor named, exit
/// 1 or 2, nothing written.
final class EncodeIncrementalCLITests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("nnr-inc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func run(_ args: [String]) throws -> (status: Int32, stderr: String) {
        guard let exe = CheckJUnitTests.nnrExecutable else { throw XCTSkip("the nnr executable was not built beside the tests") }
        let p = Process()
        p.executableURL = exe
        p.arguments = args
        let err = Pipe()
        p.standardOutput = FileHandle.nullDevice
        p.standardError = err
        try p.run()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: e, as: UTF8.self))
    }

    /// Writes r00 … r(n-1).safetensors of a small drifting model; returns their paths.
    func models(_ n: Int, shapeOfLast: [Int]? = nil) throws -> [String] {
        var w: [Float] = (0..<(16 * 12)).map { (i: Int) -> Float in Float((i * 37) % 101) / 500 - 0.1 }
        var b: [Float] = (0..<16).map { (i: Int) -> Float in Float(i) / 100 }
        var paths: [String] = []
        for k in 0..<n {
            let shape = k == n - 1 ? (shapeOfLast ?? [16, 12]) : [16, 12]
            let url = dir.appendingPathComponent(String(format: "r%02d.safetensors", k))
            try ModelFile.write([Tensor(name: "fc.weight", shape: shape, float32: w), Tensor(name: "fc.bias", shape: [16], float32: b)], to: url)
            paths.append(url.path)
            for i in w.indices where (i + k) % 3 == 0 {
                let delta: Float = 0.02 * Float((i % 7) - 3)
                w[i] += delta
            }
            b = b.map { $0 + 0.001 }
        }
        return paths
    }

    func nnrFiles(_ d: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: d.path)) ?? []).filter { $0.hasSuffix(".nnr") }.sorted()
    }

    func testSequenceThenOneMoreStepAfterItsBitstreams() throws {
        let m = try models(4)
        let out = dir.appendingPathComponent("seq")
        var r = try run(["encode"] + m + ["-o", out.path + "/", "--incremental", "--qp", "-32", "--update-qp", "-26", "--tca", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(nnrFiles(out), ["r00.nnr", "r01.nnr", "r02.nnr", "r03.nnr"])
        let s = (0..<3).map { out.appendingPathComponent(String(format: "r%02d.nnr", $0)).path }
        let next = dir.appendingPathComponent("next.nnr")
        r = try run(["encode", m[3], "--after"] + s + ["-o", next.path, "--qp", "-32", "--update-qp", "-26", "--tca", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Data(contentsOf: next), try Data(contentsOf: out.appendingPathComponent("r03.nnr")))
        // The whole sequence decodes.
        r = try run(["decode"] + s + [next.path, "-o", dir.appendingPathComponent("dec").path + "/", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    func testStepWithAnotherShapeIsRefusedNamingFileAndTensor() throws {
        let m = try models(3, shapeOfLast: [12, 16])
        let out = dir.appendingPathComponent("seq")
        let r = try run(["encode"] + m + ["-o", out.path + "/", "--incremental", "-q"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("r02.safetensors") && r.stderr.contains("tensor fc.weight") && r.stderr.contains("differs"), r.stderr)
        XCTAssertEqual(nnrFiles(out), [], "nothing written")
    }

    func testBadEarlierBitstreamsAreRefusedNamingTheFile() throws {
        let m = try models(4)
        let out = dir.appendingPathComponent("seq")
        XCTAssertEqual(try run(["encode"] + m + ["-o", out.path + "/", "--incremental", "-q"]).status, 0)
        let s = (0..<4).map { out.appendingPathComponent(String(format: "r%02d.nnr", $0)).path }
        let next = dir.appendingPathComponent("next.nnr")
        // Missing file: exit 2.
        var r = try run(["encode", m[3], "--after", s[0], dir.appendingPathComponent("nope.nnr").path, "-o", next.path, "-q"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("nope.nnr"), r.stderr)
        // A bitstream missing from the list, or two swapped: exit 1, file and tensor named.
        r = try run(["encode", m[3], "--after", s[0], s[2], "-o", next.path, "-q"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("r02.nnr") && r.stderr.contains("tensor fc.") && r.stderr.contains("missing or out of order"), r.stderr)
        r = try run(["encode", m[3], "--after", s[0], s[2], s[1], "-o", next.path, "-q"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("r02.nnr"), r.stderr)
        // Not an NNR bitstream.
        r = try run(["encode", m[3], "--after", s[0], m[1], "-o", next.path, "-q"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("r01.safetensors") && r.stderr.contains("not a valid NNR bitstream"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: next.path), "nothing written")
    }

    func testSparsityOutsideItsRangeIsAUsageError() throws {
        let m = try models(2)
        for f in ["1", "1.5", "-0.1", "nan"] {
            let out = dir.appendingPathComponent("sp")
            let r = try run(["encode"] + m + ["-o", out.path + "/", "--incremental", "--sparsity", f, "-q"])
            XCTAssertEqual(r.status, 2, f)
            XCTAssertTrue(r.stderr.contains("--sparsity"), r.stderr)
            XCTAssertEqual(nnrFiles(out), [])
        }
    }
}
