import ArgumentParser
import Foundation
import NNRKit

enum DTypeOption: String, ExpressibleByArgument, CaseIterable {
    case reference, float32, float16, bfloat16, float64
}

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",  // spelled out: deriving it from the type name costs ~1 ms at start-up
        abstract: "Decode NNR bitstreams to .npz, .npy or .safetensors tensors.",
        discussion: """
            One input: -o names the output file (its extension picks the format), or a directory. \
            Several inputs are an incremental sequence: they are decoded in order with the decoder \
            state (TCA bases, HDSP history) carried from one to the next, and -o must be a \
            directory; each input gives OUTDIR/<input name>.<format>, holding the tensors that \
            bitstream carries.

            Tensors keep the reference decoder's dtype (float32; float64 for codebook tensors; \
            int32 for NNR_PT_INT) unless --dtype converts floating-point tensors. NumPy files \
            cannot hold bfloat16: use .safetensors for it.

            One line per input (tensors, bytes, time) goes to standard output. Output paths are \
            checked before anything is decoded, and outputs are written to a temporary file and \
            renamed: a failed or interrupted run leaves no partial file.
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

    @Flag(name: .long, help: "Rename tensors whose names are unsafe as file names (absolute, '..', NUL, empty) instead of failing; each rename is reported on stderr.")
    var sanitizeNames = false

    @Flag(name: .shortAndLong, help: "No summary line per input.")
    var quiet = false

    @Option(name: .long, help: "Decode each input N times and print the fastest decode time (benchmarking; file reading and writing excluded).")
    var repeatCount: Int = 1

    func validate() throws {
        if files.isEmpty { throw ValidationError("at least one bitstream is needed") }
        guard ["npz", "safetensors", "npy"].contains(format) else { throw ValidationError("--format must be npz or safetensors") }
    }

    func run() throws {
        // Everything that can be refused is refused before anything is decoded.
        for file in files { try checkNonEmptyInputFile(file) }
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: output, isDirectory: &isDir)
        let toDirectory = files.count > 1 || output.hasSuffix("/") || (exists && isDir.boolValue)
        var outputs: [String] = []
        if toDirectory {
            var seen: [String: String] = [:]
            for file in files {
                let stem = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
                let path = (output.hasSuffix("/") ? output : output + "/") + stem + "." + format
                if let other = seen[path] { throw failure("\(other) and \(file) would both be written to \(path)") }
                seen[path] = file
                outputs.append(path)
            }
        } else {
            try checkOutputFile(output, inputs: files)
            guard ModelFormat(url: URL(fileURLWithPath: output)) != nil else {
                throw failure("cannot tell the output format of \(output) (use .npz, .npy or .safetensors, or a directory)")
            }
            outputs = [output]
        }
        if dtype == .bfloat16, let numpy = outputs.first(where: { $0.hasSuffix(".npz") || $0.hasSuffix(".npy") }) {
            throw failure("cannot write \(numpy): NumPy files cannot hold bfloat16; use --dtype float32 or float16, or a .safetensors output")
        }
        if toDirectory && !exists {
            var parent = (output as NSString).standardizingPath
            while !parent.isEmpty && !FileManager.default.fileExists(atPath: parent) { parent = (parent as NSString).deletingLastPathComponent }
            try checkOutputDirectory(parent.isEmpty ? "." : parent, for: output)
            do {
                try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            } catch {
                throw failure("cannot create the directory \(output)")
            }
        }
        for path in outputs { try checkOutputFile(path, inputs: files) }
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
                } catch {
                    throw failure("\(file): \(error)", ExitStatus.invalidInput)
                }
                fastest = Swift.min(fastest, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            }
            guard let result else { throw ExitStatus.invalidInput }
            if repeatCount > 1 {
                print(String(format: "{\"file\": \"%@\", \"decode_seconds\": %.6f, \"repeat\": %d}", file, fastest, repeatCount))
            }
            var tensors = try DecodeNames.apply(result.tensors.map(\.tensor), file: file, sanitize: sanitizeNames)
            if dtype != .reference, let target = TensorDType(rawValue: dtype.rawValue) {
                tensors = tensors.map { $0.dtype.isFloatingPoint ? $0.converted(to: target) : $0 }
            }
            let url = URL(fileURLWithPath: outputs[index])
            do {
                try ModelFile.write(tensors, to: url)
            } catch {
                throw failure("cannot write \(outputs[index]): \(plainCause(error))")
            }
            if !quiet {
                let bytes = tensors.reduce(0) { $0 + $1.storage.count }
                let seconds = Date().timeIntervalSince(started)
                print(String(format: "%@: %d %@, %d bytes of bitstream → %d bytes in %@ (%.3f s)",
                             file, tensors.count, tensors.count == 1 ? "tensor" : "tensors", source.count, bytes,
                             url.lastPathComponent, seconds))
            }
        }
    }
}
