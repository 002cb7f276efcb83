import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NNRKit

/// Exit codes: 0 ok, 1 invalid or non-conforming input, 2 usage or I/O error.
enum ExitStatus {
    static let invalidInput = ExitCode(1)
    static let usage = ExitCode(2)
}

@main
struct NNRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nnr",
        abstract: "Read, write, check and inspect MPEG NNR (ISO/IEC 15938-17) neural-network bitstreams.",
        discussion: """
            Exit codes: 0 success, 1 invalid or non-conforming input, 2 usage or I/O error. \
            Results (tables, reports, --json) go to standard output; progress and diagnostics to \
            standard error.
            """,
        version: "0.1.0",
        subcommands: [Encode.self, Decode.self, Dump.self, Check.self, RD.self])

    /// ArgumentParser exits 64 on usage errors; this toolkit promises 2.
    static func main() {
        keepLargeBuffersInHeap()
        do {
            var command = try parseAsRoot()
            if !(command is NNRCommand) { commandLabel = "nnr " + type(of: command)._commandName }
            try command.run()
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").data(using: .utf8) ?? Data()))
            Foundation.exit(code == .validationFailure || code.rawValue == 64 ? ExitStatus.usage.rawValue : code.rawValue)
        }
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, xml, html
}

/// Writes to standard error (progress, diagnostics).
func printError(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

/// The encoder and decoder allocate per-tensor work buffers of tens of MB. glibc serves those with
/// fresh mmaps (its dynamic threshold stops at 32 MiB), so every tensor paid the page faults of
/// zero-filling them again (~7% of an encode). Raising the mmap and trim thresholds lets freed
/// buffers be reused from the heap. Process-wide, so it is set here in the CLI, not in the library.
private func keepLargeBuffersInHeap() {
    #if canImport(Glibc)
    // mallopt is not in the Glibc module map; glibc's M_TRIM_THRESHOLD is -1, M_MMAP_THRESHOLD -3.
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
    let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
    _ = mallopt(-3, 1 << 30)
    _ = mallopt(-1, 1 << 30)
    #endif
}
