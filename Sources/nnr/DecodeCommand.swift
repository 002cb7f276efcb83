import ArgumentParser
import Foundation
import NNRKit

enum DTypeOption: String, ExpressibleByArgument, CaseIterable {
    case reference, float32, float16, bfloat16, float64
}

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode NNR bitstreams to .npz, .npy or .safetensors tensors.",
        discussion: """
            One input: -o names the output file (its extension picks the format), or a directory.
            Several inputs are an incremental sequence: they are decoded in order with the decoder
            state (TCA bases, HDSP history) carried from one to the next, and -o must be a
            directory; each input gives OUTDIR/<input name>.<format>, holding the tensors that
            bitstream carries.
            Tensors keep the reference decoder's dtype (float32; float64 for codebook tensors;
            int32 for NNR_PT_INT) unless --dtype converts floating-point tensors.
            Outputs are written to a temporary file and renamed: a failed or interrupted run
            leaves no partial file.
            """)

    @Argument(help: "Bitstreams (several: an incremental sequence, decoded in order).")
    var files: [String]

    @Option(name: .shortAndLong, help: "Output file (.npz, .npy, .safetensors) or directory.")
    var output: String

    @Option(name: .long, help: "Output format when -o is a directory: npz or safetensors.")
    var format: String = "npz"

    @Option(name: .long, help: "Convert floating-point tensors: reference (keep), float32, float16, bfloat16, float64.")
    var dtype: DTypeOption = .reference

    @Option(name: .long, help: "Maximum elements of one tensor (refused before allocation).")
    var maxTensorElements: Int = NNRLimits.default.maxTensorElements

    @Flag(name: .long, help: "Decode NDUs one after another (no concurrency).")
    var sequential = false

    @Flag(name: .shortAndLong, help: "No progress on stderr.")
    var quiet = false

    @Option(name: .long, help: "Decode each input N times and print the fastest decode time (benchmarking; file reading and writing excluded).")
    var repeatCount: Int = 1

    func validate() throws {
        if files.isEmpty { throw ValidationError("at least one bitstream is needed") }
        guard ["npz", "safetensors", "npy"].contains(format) else { throw ValidationError("--format must be npz or safetensors") }
    }

    func run() throws {
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: output, isDirectory: &isDir)
        let toDirectory = files.count > 1 || output.hasSuffix("/") || (exists && isDir.boolValue)
        if toDirectory {
            do {
                try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            } catch {
                printError("nnr decode: cannot create directory \(output): \(error.localizedDescription)")
                throw ExitStatus.usage
            }
        } else if ModelFormat(url: URL(fileURLWithPath: output)) == nil {
            printError("nnr decode: cannot tell the output format of \(output) (use .npz, .npy or .safetensors, or a directory)")
            throw ExitStatus.usage
        }
        var limits = NNRLimits.default
        limits.maxTensorElements = maxTensorElements
        var decoder = NNRDecoder(options: DecoderOptions(limits: limits, concurrent: !sequential, keepLevels: false, keepUnits: false))
        for (index, file) in files.enumerated() {
            decoder.options.carryState = index + 1 < files.count
            let started = Date()
            let source = try openSource(file)
            var result: DecodedBitstream? = nil
            var fastest = Double.infinity
            let before = decoder.state
            for _ in 0..<Swift.max(1, repeatCount) {
                decoder.state = before
                let t0 = DispatchTime.now().uptimeNanoseconds
                do {
                    result = try decoder.decode(source)
                } catch let e as NNRError {
                    printError("nnr decode: \(file): \(e)")
                    throw ExitStatus.invalidInput
                }
                fastest = Swift.min(fastest, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            }
            guard let result else { throw ExitStatus.invalidInput }
            if repeatCount > 1 {
                print(String(format: "{\"file\": \"%@\", \"decode_seconds\": %.6f, \"repeat\": %d}", file, fastest, repeatCount))
            }
            var tensors = result.tensors.map(\.tensor)
            if dtype != .reference, let target = TensorDType(rawValue: dtype.rawValue) {
                tensors = tensors.map { $0.dtype.isFloatingPoint ? $0.converted(to: target) : $0 }
            }
            let url: URL
            if toDirectory {
                let stem = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
                url = URL(fileURLWithPath: output).appendingPathComponent(stem + "." + format)
            } else {
                url = URL(fileURLWithPath: output)
            }
            do {
                try ModelFile.write(tensors, to: url)
            } catch {
                printError("nnr decode: cannot write \(url.path): \(error)")
                throw ExitStatus.usage
            }
            if !quiet {
                let bytes = tensors.reduce(0) { $0 + $1.storage.count }
                let seconds = Date().timeIntervalSince(started)
                printError(String(format: "%@: %d tensors, %d bytes of bitstream → %d bytes in %@ (%.3f s)",
                                  file, tensors.count, source.count, bytes, url.lastPathComponent, seconds))
            }
        }
    }
}
