import Foundation
import XCTest
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRCodec
import NNRModelIO
import NNRTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Running the `nnr` binary as a child process: spawn, SIGKILL, wait with the child's own rusage.
enum RobustnessProcess {
    struct Finished {
        /// Exit status (0 when killed by a signal).
        var exitCode: Int32
        /// The signal that ended it, 0 if it exited.
        var signal: Int32
        /// The child's maximum resident set size.
        var maxRSSKiB: Int
        var seconds: Double
    }

    enum Failure: Error { case spawn(Int32), wait(Int32) }

    /// The `nnr` executable of the build the tests belong to (beside the test bundle), else
    /// `.build/debug/nnr`; nil when neither exists.
    static func nnrBinary() -> URL? {
        var candidates: [URL] = []
        if let first = CommandLine.arguments.first {
            candidates.append(URL(fileURLWithPath: first).deletingLastPathComponent().appendingPathComponent("nnr"))
        }
        for bundle in Bundle.allBundles {
            candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("nnr"))
        }
        candidates.append(Vectors.repoRoot.appendingPathComponent(".build/debug/nnr"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    static func temporaryDirectory(_ tag: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("nnr-robustness-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Starts `exe args` with stdin from /dev/null and stdout/stderr to `stderr` (or /dev/null).
    static func spawn(_ exe: URL, _ args: [String], stderr: URL? = nil) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let sink = stderr?.path ?? "/dev/null"
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, sink, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = ([exe.path] + args).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, exe.path, &actions, nil, argv, environ)
        guard rc == 0 else { throw Failure.spawn(rc) }
        return pid
    }

    /// Waits for `pid`; its rusage alone (wait4), not that of every child so far.
    static func wait(_ pid: pid_t, started: Date) throws -> Finished {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else { throw Failure.wait(errno) }
        }
        let signal = status & 0x7F
        return Finished(exitCode: signal == 0 ? (status >> 8) & 0xFF : 0, signal: signal,
                        maxRSSKiB: Int(usage.ru_maxrss), seconds: Date().timeIntervalSince(started))
    }

    static func run(_ exe: URL, _ args: [String], stderr: URL? = nil) throws -> Finished {
        let t0 = Date()
        return try wait(try spawn(exe, args, stderr: stderr), started: t0)
    }
}

/// SIGKILL `nnr encode` and `nnr decode` while they work, at several moments, and check that the
/// output path holds either its previous content or a complete valid new file, never a partial
/// one (AtomicFile: temporary file, fsync, rename).
final class RobustnessKillTests: XCTestCase {
    static let oldContent = Array("previous content of the output, must survive an interrupted run\n".utf8)

    /// Leftover temporary files of `output` (AtomicFile names them `.NAME.tmp-PID-RANDOM`).
    static func leftovers(of output: URL) -> [String] {
        let dir = output.deletingLastPathComponent()
        let prefix = "." + output.lastPathComponent + ".tmp-"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasPrefix(prefix) }.sorted()
    }

    enum State: String { case old, complete, missing, partial }

    struct KillReport {
        var lines: [String] = []
        var counts: [State: Int] = [:]
        var leftovers = 0
        var exited = 0
    }

    /// Starts `args`, kills it when `trigger` says so (polled every 0.5 ms), then classifies the
    /// output. `isComplete` checks a candidate new file by parsing/decoding it.
    func killRun(_ nnr: URL, _ args: [String], output: URL, label: String,
                 trigger: (Double) -> Bool, isComplete: ([UInt8]) -> Bool, report: inout KillReport) throws {
        try Data(Self.oldContent).write(to: output)
        let t0 = Date()
        let pid = try RobustnessProcess.spawn(nnr, args)
        var killedAt: Double?
        while true {
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                // finished before the trigger fired: reap it as a normal exit
                report.exited += 1
                killedAt = nil
                break
            }
            let t = Date().timeIntervalSince(t0)
            if trigger(t) {
                kill(pid, SIGKILL)
                killedAt = t
                _ = try RobustnessProcess.wait(pid, started: t0)
                break
            }
            usleep(500)
        }
        let bytes = FileManager.default.contents(atPath: output.path).map { [UInt8]($0) }
        let state: State
        if let b = bytes {
            state = b == Self.oldContent ? .old : (isComplete(b) ? .complete : .partial)
        } else {
            state = .missing
        }
        let left = Self.leftovers(of: output)
        report.counts[state, default: 0] += 1
        report.leftovers += left.count
        let when = killedAt.map { String(format: "killed at %.3f s", $0) } ?? "exited before the kill"
        report.lines.append("\(label): \(when): output \(state.rawValue), \(left.count) leftover temporary file(s) \(left)")
        XCTAssert(state == .old || state == .complete, "\(label): \(when): the output is \(state.rawValue)")
        for name in left {
            try? FileManager.default.removeItem(at: output.deletingLastPathComponent().appendingPathComponent(name))
        }
    }

    /// Kills at fractions of the full run time, the moment the temporary file appears, and once it
    /// holds some bytes; then one run without a kill.
    func killSeries(_ nnr: URL, _ args: [String], output: URL, fullSeconds: Double, name: String,
                    isComplete: @escaping ([UInt8]) -> Bool) throws -> KillReport {
        var report = KillReport()
        for fraction in [0.1, 0.4, 0.7, 0.95] {
            try killRun(nnr, args, output: output, label: "\(name) at \(Int(fraction * 100))% of \(String(format: "%.2f", fullSeconds)) s",
                        trigger: { $0 >= fraction * fullSeconds }, isComplete: isComplete, report: &report)
        }
        for attempt in 0..<2 {
            try killRun(nnr, args, output: output, label: "\(name) when its temporary file appears (\(attempt + 1))",
                        trigger: { _ in !Self.leftovers(of: output).isEmpty }, isComplete: isComplete, report: &report)
        }
        let dir = output.deletingLastPathComponent()
        try killRun(nnr, args, output: output, label: "\(name) once its temporary file holds 64 KiB",
                    trigger: { _ in
                        Self.leftovers(of: output).contains { n in
                            var info = stat()
                            return stat(dir.appendingPathComponent(n).path, &info) == 0 && info.st_size >= 64 << 10
                        }
                    }, isComplete: isComplete, report: &report)
        // and once without a kill: the old content is replaced by a complete file
        try killRun(nnr, args, output: output, label: "\(name) not killed", trigger: { _ in false },
                    isComplete: isComplete, report: &report)
        XCTAssertTrue(report.lines.last?.contains("output complete") ?? false, "\(name): a finished run did not replace the output")
        for line in report.lines { print("kill test: " + line) }
        print("kill test: \(name): \(report.counts.map { "\($0.key.rawValue) \($0.value)" }.sorted().joined(separator: ", ")); "
              + "\(report.exited) runs finished before the kill; \(report.leftovers) leftover temporary files in all")
        return report
    }

    /// A synthetic model of `rows` × 1024 float32 (plus a bias) as .npz.
    static func writeModel(to url: URL, rows: Int) throws -> [Tensor] {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func next() -> Float {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Float(Int64(bitPattern: state % 2001) - 1000) / 1000
        }
        let w = Tensor(name: "layer.weight", shape: [rows, 1024], float32: (0..<(rows * 1024)).map { _ in next() })
        let b = Tensor(name: "layer.bias", shape: [1024], float32: (0..<1024).map { _ in next() })
        try NPZ.write([w, b], to: url)
        return [w, b]
    }

    func testSIGKILLNeverLeavesAPartialOutput() throws {
        guard let nnr = RobustnessProcess.nnrBinary() else {
            throw XCTSkip("the nnr binary was not found next to the test bundle nor at .build/debug/nnr (run `swift build` first)")
        }
        let dir = try RobustnessProcess.temporaryDirectory("kill")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("model.npz")
        let tensors = try Self.writeModel(to: model, rows: 1536)
        print("kill test: \(tensors.reduce(0) { $0 + $1.elementCount }) float32 values in \(model.lastPathComponent)")

        // encode: reference run, then kills
        let encodeArgs = { (out: URL) in ["encode", model.path, "-o", out.path, "-q", "--no-dq", "--no-param-opt"] }
        let refStream = dir.appendingPathComponent("reference.nnr")
        let encodeRun = try RobustnessProcess.run(nnr, encodeArgs(refStream))
        XCTAssertEqual(encodeRun.exitCode, 0, "nnr encode failed")
        let reference = try [UInt8](Data(contentsOf: refStream))
        let referenceUnits = NNRUnitParser.parseAll(NNRByteSource(bytes: reference))
        XCTAssertNil(referenceUnits.error)
        let streamOut = dir.appendingPathComponent("out.nnr")
        let encodeReport = try killSeries(nnr, encodeArgs(streamOut), output: streamOut, fullSeconds: encodeRun.seconds,
                                          name: "nnr encode") { bytes in
            // complete: parses into the same units and decodes
            let parsed = NNRUnitParser.parseAll(NNRByteSource(bytes: bytes))
            guard parsed.error == nil, parsed.units.count == referenceUnits.units.count else { return false }
            var decoder = NNRDecoder(options: DecoderOptions(keepLevels: false))
            return (try? decoder.decode(NNRByteSource(bytes: bytes)))?.tensors.count == 2
        }
        XCTAssertEqual(encodeReport.counts[.partial, default: 0] + encodeReport.counts[.missing, default: 0], 0)

        // decode: reference run, then kills
        let decodeArgs = { (out: URL) in ["decode", refStream.path, "-o", out.path, "-q"] }
        let refTensors = dir.appendingPathComponent("reference.npz")
        let decodeRun = try RobustnessProcess.run(nnr, decodeArgs(refTensors))
        XCTAssertEqual(decodeRun.exitCode, 0, "nnr decode failed")
        let expected = try NPZ.read(refTensors)
        let tensorsOut = dir.appendingPathComponent("out.npz")
        let decodeReport = try killSeries(nnr, decodeArgs(tensorsOut), output: tensorsOut, fullSeconds: decodeRun.seconds,
                                          name: "nnr decode") { bytes in
            (try? NPZ.decode(bytes)) == expected
        }
        XCTAssertEqual(decodeReport.counts[.partial, default: 0] + decodeReport.counts[.missing, default: 0], 0)
    }
}
