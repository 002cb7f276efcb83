import Foundation
import XCTest

/// `nnr --version` and the plain `nnr decode FILE... -o OUT` forms skip ArgumentParser's parse
/// (Sources/nnr/FastPath.swift, issue 19): the same results as the parsed forms, and every other
/// form (or a refused one) still gets ArgumentParser's messages.
extension CommandLineTests {
    /// Decoding through the fast path (`-o X`) and through ArgumentParser (`--output=X`, which the
    /// fast path leaves alone) writes the same bytes and the same summary line.
    func testFastPathDecodeMatchesParsedDecode() throws {
        for (flags, name) in [([], "m.npz"), (["--sequential"], "m.safetensors"), (["--sanitize-names", "--sequential"], "s.npz"),
                               (["--sync"], "y.safetensors")] {
            let fast = try run(["decode", exampleBitstream, "-o", "fast-" + name] + flags)
            let parsed = try run(["decode", exampleBitstream, "--output=parsed-" + name] + flags)
            XCTAssertEqual(fast.status, 0, fast.stderr)
            XCTAssertEqual(parsed.status, 0, parsed.stderr)
            XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("fast-" + name)),
                           try Data(contentsOf: dir.appendingPathComponent("parsed-" + name)), "\(flags)")
            // the summary line names the output file and the seconds taken: compare the rest
            func summary(_ s: String, _ prefix: String) -> String {
                s.replacingOccurrences(of: prefix + name, with: name).replacingOccurrences(of: #"\(\d+\.\d+ s\)"#, with: "(s)", options: .regularExpression)
            }
            XCTAssertEqual(summary(fast.stdout, "fast-"), summary(parsed.stdout, "parsed-"))
            XCTAssertTrue(fast.stdout.contains("tensors,"), fast.stdout)
            XCTAssertEqual(fast.stderr, parsed.stderr)
        }
        // -o a directory: the output name and format come from the defaults
        let fastDir = try run(["decode", exampleBitstream, "-o", "fastdir/", "-q"])
        let parsedDir = try run(["decode", exampleBitstream, "--output=parseddir/", "-q"])
        XCTAssertEqual(fastDir.status, 0, fastDir.stderr)
        XCTAssertEqual(parsedDir.status, 0, parsedDir.stderr)
        let fastFiles = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("fastdir").path)
        XCTAssertEqual(fastFiles, ["small_cnn_qp-32.npz"])
        XCTAssertEqual(fastFiles, try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("parseddir").path))
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("fastdir/small_cnn_qp-32.npz")),
                       try Data(contentsOf: dir.appendingPathComponent("parseddir/small_cnn_qp-32.npz")))
        let quiet = try run(["decode", exampleBitstream, "-o", "q.npz", "-q"])
        XCTAssertEqual(quiet.status, 0, quiet.stderr)
        XCTAssertEqual(quiet.stdout, "")
    }

    /// Refusals look the same whichever way the arguments were read: `validate()` failures and
    /// missing arguments fall back to ArgumentParser's usage message (exit 2); `run()` failures
    /// carry the "nnr decode:" label.
    func testFastPathFallsBackForUsageErrors() throws {
        let badFormat = try run(["decode", exampleBitstream, "-o", "out", "--format", "xyz"])
        XCTAssertEqual(badFormat.status, 2)
        XCTAssertTrue(badFormat.stderr.contains("Error: --format must be npz or safetensors"), badFormat.stderr)
        let noFiles = try run(["decode", "-o", "x.npz"])
        XCTAssertEqual(noFiles.status, 2)
        XCTAssertTrue(noFiles.stderr.contains("Usage: nnr decode"), noFiles.stderr)
        let twice = try run(["decode", exampleBitstream, "-o", "a.npz", "-o", "b.npz"])
        let twiceParsed = try run(["decode", exampleBitstream, "--output", "a.npz", "--output=b.npz"])
        XCTAssertEqual(twice.status, twiceParsed.status)
        XCTAssertEqual(twice.stderr, twiceParsed.stderr)
        let missing = try run(["decode", "missing.nnr", "-o", "x.npz"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertEqual(missing.stderr, "nnr decode: cannot read missing.nnr: No such file or directory\n")
        let missingParsed = try run(["decode", "missing.nnr", "--output=x.npz"])
        XCTAssertEqual(missing.stderr, missingParsed.stderr)
    }

    /// `nnr --version` prints what ArgumentParser prints for the forms it parses (`nnr decode --version`).
    func testFastPathVersion() throws {
        let fast = try run(["--version"])
        let parsed = try run(["decode", "--version"])
        XCTAssertEqual(fast.status, 0)
        XCTAssertEqual(fast.stdout, "0.1.0\n")
        XCTAssertEqual(fast.stdout, parsed.stdout)
        XCTAssertEqual(fast.stderr, "")
    }
}
