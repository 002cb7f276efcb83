import ArgumentParser
import Foundation
import NNRKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `nnr encode` through the streaming encoder: tensors read one at a time, coded on all cores,
/// units written in order to a temporary file renamed at the end.
enum StreamingEncodeRun {
    static func encode(_ source: any TensorSource, output: String, options: EncoderOptions, quiet: Bool) throws -> StreamingEncodeResult {
        let outURL = URL(fileURLWithPath: output)
        var line = ProgressLine(enabled: !quiet)
        // Not a terminal: one line per tensor, in model order, as the whole-model encode prints them.
        let lines = !quiet && !line.enabled ? ProgressLines(names: source.manifest.map(\.name)) : nil
        do {
            let result = try NNRStreamingEncoder(options: options).encode(source, to: outURL) { p in
                line.update(done: p.tensorsDone, count: p.tensorCount, bytesDone: p.inputBytesDone, bytesTotal: p.inputBytesTotal)
                lines?.finished(p.name)
            }
            line.clear()
            return result
        } catch let e as ModelIOError {
            line.clear()
            if case let .fileIO(file, _, _) = e, file == outURL.path { throw failure("cannot write \(output): \(plainCause(e))") }
            throw failure(plainCause(e), ExitStatus.invalidInput)
        } catch {
            line.clear()
            throw failure(plainCause(error), ExitStatus.invalidInput)
        }
    }
}

/// One updating progress line on stderr when it is a terminal (tensors and bytes done, MB/s,
/// time left), redrawn at most 4 times a second; nothing otherwise (the caller prints a summary).
struct ProgressLine {
    let enabled: Bool
    private let started = DispatchTime.now().uptimeNanoseconds
    private var lastDraw: UInt64 = 0
    private var drawn = false

    init(enabled: Bool) {
        self.enabled = enabled && isatty(STDERR_FILENO) == 1
    }

    mutating func update(done: Int, count: Int, bytesDone: Int, bytesTotal: Int) {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard done == count || now - lastDraw >= 250_000_000 else { return }
        lastDraw = now
        let seconds = Double(now - started) / 1e9
        let rate = seconds > 0 ? Double(bytesDone) / seconds : 0
        let left = rate > 0 ? Double(max(0, bytesTotal - bytesDone)) / rate : 0
        let text = String(format: "[%ld/%ld tensors] %.2f of %.2f GB, %.1f MB/s, %@ left",
                          done, count, Double(bytesDone) / 1e9, Double(bytesTotal) / 1e9, rate / 1e6, ProgressLine.clock(left))
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
        drawn = true
    }

    mutating func clear() {
        guard drawn else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        drawn = false
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60) : String(format: "%ld:%02ld", s / 60, s % 60)
    }
}
