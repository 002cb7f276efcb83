import Foundation
import XCTest
import NNRCodec
import NNRModelIO
import NNRTestSupport

/// The `nnr` command as a user meets it (issue 17): messages, exit codes, output paths, streams,
/// help text, and the README's examples. Runs the debug binary that `swift build` leaves in
/// `.build/debug`; skips when it is not built.
final class CommandLineTests: XCTestCase {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("nnr-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func binary(_ name: String = "nnr") throws -> URL {
        let url = Vectors.repoRoot.appendingPathComponent(".build/debug/\(name)")
        guard FileManager.default.isExecutableFile(atPath: url.path) else { throw XCTSkip("\(url.path) not built") }
        return url
    }

    /// Runs a built executable in `dir` (stdout and stderr through files: no pipe can fill up).
    func run(_ args: [String], executable: String = "nnr", cwd: URL? = nil, environment: [String: String] = [:]) throws -> Run {
        let p = Process()
        p.executableURL = try binary(executable)
        p.arguments = args
        p.currentDirectoryURL = cwd ?? dir
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let id = UUID().uuidString
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("nnr-out-\(id)")
        let err = FileManager.default.temporaryDirectory.appendingPathComponent("nnr-err-\(id)")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: err) }
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return Run(status: p.terminationStatus,
                   stdout: String(decoding: try Data(contentsOf: out), as: UTF8.self),
                   stderr: String(decoding: try Data(contentsOf: err), as: UTF8.self))
    }

    var example: String { Vectors.repoRoot.appendingPathComponent("Examples/small_cnn.npz").path }
    var exampleBitstream: String { Vectors.repoRoot.appendingPathComponent("Examples/small_cnn_qp-32.nnr").path }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func contents() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() }

    /// Runs `args` and expects exit `status` with exactly `stderr` and nothing on standard output.
    func assertFails(_ args: [String], _ status: Int32, _ stderr: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try run(args)
        XCTAssertEqual(r.status, status, "\(args)", file: file, line: line)
        XCTAssertEqual(r.stderr, stderr, "\(args)", file: file, line: line)
        XCTAssertEqual(r.stdout, "", "\(args)", file: file, line: line)
    }

    /// No byte offset, framework error code or Swift API in a message meant for a CLI user.
    func assertPlain(_ message: String, file: StaticString = #filePath, line: UInt = #line) {
        for bad in ["byte 0", "NSCocoaErrorDomain", "error 256", "errno", "converted(to:", "ModelIOLimits", "(to: ."] {
            XCTAssertFalse(message.contains(bad), "'\(bad)' in: \(message)", file: file, line: line)
        }
    }

    // MARK: 1. The library example compiles and runs

    func testLibraryExampleRuns() throws {
        // `swift build` builds both executables: when nnr is there, the example must be too.
        _ = try binary()
        let built = Vectors.repoRoot.appendingPathComponent(".build/debug/NNRLibraryExample").path
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: built), "the library example was not built: \(built)")
        let r = try run([example, dir.path], executable: "NNRLibraryExample")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("encoded 10 tensors into 6541 bytes"), r.stdout)
        XCTAssertTrue(r.stdout.contains("conv1.weight [16, 3, 3, 3] float32 -32"), r.stdout)
        XCTAssertTrue(r.stdout.contains("13 units"), r.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("model.safetensors")))
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("model.nnr")), try Data(contentsOf: URL(fileURLWithPath: exampleBitstream)))
    }

    // MARK: 2. I/O errors in plain words

    func testIOErrorsNameTheSubcommandTheFileAndTheCause() throws {
        try FileManager.default.createDirectory(atPath: path("outdir"), withIntermediateDirectories: false)
        try assertFails(["decode", "outdir", "-o", "d.npz"], 2, "nnr decode: cannot read outdir: it is a directory\n")
        for sub in ["dump", "check", "decode"] {
            var args = [sub, "missing.nnr"]
            if sub == "decode" { args += ["-o", "m.npz"] }
            try assertFails(args, 2, "nnr \(sub): cannot read missing.nnr: No such file or directory\n")
        }
        try assertFails(["encode", "missing.npz", "-o", "m.nnr"], 2, "nnr encode: cannot read missing.npz: No such file or directory\n")
        try assertFails(["check", exampleBitstream, "--reference", "outdir"], 2, "nnr check: cannot read outdir: it is a directory\n")
        XCTAssertEqual(try contents(), ["outdir"])
    }

    /// Option values the encoder cannot take are usage errors in the option's own name, not the
    /// library's parameter names.
    func testOptionRangesAreCheckedInCommandLineTerms() throws {
        let u = try run(["encode", example, "-o", "u.nnr", "--unary-length-minus1", "40"])
        XCTAssertEqual(u.status, 2)
        XCTAssertTrue(u.stderr.hasPrefix("Error: --unary-length-minus1 must be 0…30\n"), u.stderr)
        let l = try run(["encode", example, "-o", "l.nnr", "--lambda-scale", "-1"])
        XCTAssertEqual(l.status, 2)
        XCTAssertTrue(l.stderr.hasPrefix("Error: --lambda-scale must be 0 or more\n"), l.stderr)
        XCTAssertEqual(try contents(), [])
    }

    // MARK: 3. --qp-for with a name the model does not have

    func testUnknownQpForNameIsAnErrorListingTheTensors() throws {
        try ModelFile.write([Tensor(name: "w", shape: [2, 2], float32: [1, 2, 3, 4]),
                             Tensor(name: "b", shape: [2], float32: [1, 2])], to: dir.appendingPathComponent("m.npz"))
        try assertFails(["encode", "m.npz", "-o", "m.nnr", "--qp-for", "nosuch=-20", "--qp-for", "w=-30"], 2, "nnr encode: --qp-for names a tensor that m.npz does not have: nosuch (its tensors: w, b)\n")
        XCTAssertEqual(try contents(), ["m.npz"])
        let ok = try run(["encode", "m.npz", "-o", "m.nnr", "--qp-for", "w=-30"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
    }

    // MARK: 4. Output equal to an input

    func testOutputEqualToAnInputIsRefused() throws {
        let w = dir.appendingPathComponent("w.npy")
        try ModelFile.write([Tensor(name: "w", shape: [2, 2], float32: [1, 2, 3, 4])], to: w)
        let before = try Data(contentsOf: w)
        try FileManager.default.createSymbolicLink(atPath: path("link.npy"), withDestinationPath: "w.npy")
        for output in ["w.npy", "./w.npy", path("w.npy"), "link.npy"] {
            try assertFails(["encode", "w.npy", "-o", output], 2, "nnr encode: the output \(output) is the input w.npy; choose another output file\n")
        }
        XCTAssertEqual(try Data(contentsOf: w), before)
        try FileManager.default.copyItem(atPath: exampleBitstream, toPath: path("s.nnr"))
        try assertFails(["decode", "s.nnr", "-o", "s.nnr"], 2, "nnr decode: the output s.nnr is the input s.nnr; choose another output file\n")
        // Two inputs of one sequence would write the same OUTDIR/<name>.npz.
        try FileManager.default.createDirectory(atPath: path("sub"), withIntermediateDirectories: false)
        try FileManager.default.copyItem(atPath: exampleBitstream, toPath: path("sub/s.nnr"))
        try assertFails(["decode", "s.nnr", "sub/s.nnr", "-o", "out/"], 2, "nnr decode: s.nnr and sub/s.nnr would both be written to out/s.npz\n")
        XCTAssertEqual(try contents(), ["link.npy", "s.nnr", "sub", "w.npy"])
    }

    // MARK: 5. Empty input

    func testEmptyInputIsExitOneWithTheSameMessageEverywhere() throws {
        _ = FileManager.default.createFile(atPath: path("empty.nnr"), contents: Data())
        _ = FileManager.default.createFile(atPath: path("empty.npz"), contents: Data())
        for args in [["dump", "empty.nnr"], ["dump", "empty.nnr", "--format", "json"], ["check", "empty.nnr"],
                     ["decode", "empty.nnr", "-o", "e.npz"], ["encode", "empty.npz", "-o", "e.nnr"]] {
            try assertFails(args, 1, "nnr \(args[0]): \(args[1]) is empty (0 bytes)\n")
        }
        XCTAssertEqual(try contents(), ["empty.nnr", "empty.npz"])
    }

    // MARK: 6. Results on stdout, progress on stderr in a stable order

    func testSummaryOnStdoutAndProgressInModelOrder() throws {
        let r = try run(["encode", example, "-o", "s.nnr", "--qp", "-32"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let names = ["conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
                     "conv2.weight", "conv2.bias", "fc.weight", "fc.bias"]
        XCTAssertEqual(r.stderr, names.enumerated().map { "[\($0.offset + 1)/10] \($0.element)\n" }.joined())
        let table = r.stdout.split(separator: "\n")
        XCTAssertEqual(table.count, 12, r.stdout)
        XCTAssertTrue(table.first?.hasPrefix("tensor") ?? false, r.stdout)
        XCTAssertTrue(table.last?.hasPrefix("10 tensors: 41128 bytes in, 6541 bytes out") ?? false, r.stdout)
        let quiet = try run(["encode", example, "-o", "q.nnr", "--qp", "-32", "-q"])
        XCTAssertEqual(quiet.stderr, "")
        XCTAssertEqual(quiet.stdout.split(separator: "\n").count, 12)
        let json = try run(["encode", example, "-o", "j.nnr", "--json"])
        XCTAssertTrue(json.stdout.hasPrefix("{"), json.stdout)
        XCTAssertFalse(json.stderr.contains("{"))
        let d = try run(["decode", "s.nnr", "-o", "s.npz"])
        XCTAssertEqual(d.status, 0, d.stderr)
        XCTAssertTrue(d.stdout.hasPrefix("s.nnr: 10 tensors, 6541 bytes of bitstream"), d.stdout)
        XCTAssertEqual(d.stderr, "")
    }

    // MARK: 7. Help wrapped once

    /// Greedy wrapping at COLUMNS=80: a line ends only where the next word would not fit. Hand
    /// line breaks wrapped a second time leave short lines followed by words that would have fitted.
    func testHelpTextIsWrappedOnce() throws {
        for sub in [[], ["encode"], ["decode"], ["dump"], ["check"]] {
            let r = try run(sub + ["--help"], environment: ["COLUMNS": "80"])
            XCTAssertEqual(r.status, 0)
            let prose = r.stdout.components(separatedBy: "\nUSAGE:")[0].components(separatedBy: "\n")
            for (a, b) in zip(prose, prose.dropFirst()) where !a.isEmpty && !b.isEmpty {
                let word = b.split(separator: " ").first.map(String.init) ?? ""
                // ArgumentParser fills lines up to 79 columns.
                XCTAssertGreaterThanOrEqual(a.count + 1 + word.count, 80, "\(sub): line broken early:\n\(a)\n\(b)")
            }
        }
    }

    // MARK: 8. Output paths checked before any work

    func testOutputPathsAreCheckedBeforeWork() throws {
        try FileManager.default.createDirectory(atPath: path("adir"), withIntermediateDirectories: false)
        try assertFails(["encode", example, "-o", "nodir/x.nnr"], 2, "nnr encode: cannot write nodir/x.nnr: the directory nodir does not exist\n")
        try assertFails(["encode", example, "-o", "adir"], 2, "nnr encode: cannot write adir: it is a directory\n")
        try assertFails(["decode", exampleBitstream, "-o", "nodir/x.npz"], 2, "nnr decode: cannot write nodir/x.npz: the directory nodir does not exist\n")
        try assertFails(["check", exampleBitstream, "--junit", "nodir/r.xml"], 2, "nnr check: cannot write nodir/r.xml: the directory nodir does not exist\n")
        // A directory nobody may write in (root may write anywhere: then /proc, which takes no files).
        let locked = getuid() == 0 ? "/proc" : path("locked")
        if getuid() != 0 {
            try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o555])
        }
        let denied = try run(["encode", example, "-o", locked + "/x.nnr"])
        XCTAssertEqual(denied.status, 2)
        XCTAssertTrue(denied.stderr.hasPrefix("nnr encode: cannot write \(locked)/x.nnr: cannot create files in \(locked): "), denied.stderr)
        XCTAssertEqual(denied.stdout, "")
        assertPlain(denied.stderr)
        // bfloat16 cannot go into NumPy files: said before decoding, in CLI terms.
        try assertFails(["decode", exampleBitstream, "-o", "x.npz", "--dtype", "bfloat16"], 2, "nnr decode: cannot write x.npz: NumPy files cannot hold bfloat16; use --dtype float32 or float16, or a .safetensors output\n")
        if getuid() != 0 { try FileManager.default.removeItem(atPath: locked) }
        XCTAssertEqual(try contents(), ["adir"])
    }

    // MARK: 9. Empty and 0-d tensors

    func testEmptyTensorsAreLeftOutWithAWarningAndScalarsComeBackAsOneElement() throws {
        try ModelFile.write([Tensor(name: "w", shape: [2, 2], float32: [1, 2, 3, 4]),
                             Tensor(name: "none", shape: [0, 4], float32: []),
                             Tensor(name: "step", shape: [], int64: [7])], to: dir.appendingPathComponent("m.safetensors"))
        let r = try run(["encode", "m.safetensors", "-o", "m.nnr", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "nnr encode: warning: tensor 'none' has shape [0, 4] (no values); NNR cannot carry an empty tensor, so it is left out\n")
        XCTAssertTrue(r.stdout.contains("2 tensors"), r.stdout)
        let d = try run(["decode", "m.nnr", "-o", "d.safetensors"])
        XCTAssertEqual(d.status, 0, d.stderr)
        let back = try ModelFile.readDictionary(dir.appendingPathComponent("d.safetensors"))
        XCTAssertEqual(back.keys.sorted(), ["step", "w"])
        XCTAssertEqual(back["step"]?.shape, [1])
        XCTAssertEqual(back["step"]?.dtype, .int32)
        XCTAssertEqual(back["step"]?.int64Values(), [7])
        try ModelFile.write([Tensor(name: "none", shape: [0, 4], float32: [])], to: dir.appendingPathComponent("e.npz"))
        let allEmpty = try run(["encode", "e.npz", "-o", "e.nnr"])
        XCTAssertEqual(allEmpty.status, 1)
        XCTAssertTrue(allEmpty.stderr.hasSuffix("nnr encode: e.npz has no tensor with values to encode\n"), allEmpty.stderr)
    }

    // MARK: 10. The README's examples are the program's real output

    func testREADMEExamplesAreCurrent() throws {
        let nnr = try binary()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [Vectors.repoRoot.appendingPathComponent("Tools/readme_examples.sh").path, "--check"]
        p.currentDirectoryURL = Vectors.repoRoot
        var env = ProcessInfo.processInfo.environment
        env["NNR"] = nnr.path
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "README.md differs from the program (run Tools/readme_examples.sh):\n\(text)")
        let readme = try String(contentsOf: Vectors.repoRoot.appendingPathComponent("README.md"), encoding: .utf8)
        XCTAssertFalse(readme.contains("\"\\u2026\""), "a fake array element in the README")
    }
}
