import ArgumentParser
import CMallocTuning
import Foundation
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
            var command = try FastPath.command(Array(CommandLine.arguments.dropFirst())) ?? parseAsRoot()
            if !(command is NNRCommand || command is FastPath.Version) { commandLabel = "nnr " + type(of: command)._commandName }
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
/// (A direct call through CMallocTuning: dlsym finds nothing in the fully static release build.)
private func keepLargeBuffersInHeap() {
    _ = nnr_keep_large_buffers_in_heap(1 << 30)
}
