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

            With --shard-size, -o is a folder that receives Hugging Face shards \
            (model-00001-of-0000N.safetensors) plus model.safetensors.index.json, or one \
            model.safetensors when the model fits one shard.

            Decoding streams: the tensor names, shapes and dtypes are read from the unit headers \
            first, then each tensor is written as soon as its unit is decoded; memory is bounded \
            by the units decoded together, not by the model. The bitstream does not record a \
            source dtype such as bfloat16: tensors keep the reference decoder's dtype (float32; float64 for codebook tensors; \
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
    var format: String = Defaults.format

    @Option(name: .long, help: "Convert floating-point tensors: reference (keep), float32, float16, bfloat16, float64.")
    var dtype: DTypeOption = Defaults.dtype

    @Option(name: .long, help: "Maximum elements of one tensor (refused before allocation).")
    var maxTensorElements: Int = Defaults.maxTensorElements

    @Option(name: .long, help: "Write Hugging Face shards of at most this much tensor data (5GB, 500MB, 2GiB) plus model.safetensors.index.json into the folder -o (one model.safetensors when the model fits one shard).")
    var shardSize: String?

    @Option(name: .long, help: "Refuse a bitstream whose decoded tensors would take more than this (64GiB, 500MB; per output, checked on the headers before anything is written).")
    var maxOutputSize: String = Defaults.maxOutputSize

    @Flag(name: .long, help: "Decode NDUs one after another (no concurrency).")
    var sequential = false

    @Flag(name: .long, help: "Rename tensors whose names are unsafe as file names (absolute, '..', NUL, empty) instead of failing; each rename is reported on stderr.")
    var sanitizeNames = false

    @Flag(name: .shortAndLong, help: "No summary line per input.")
    var quiet = false

    @Flag(name: .long, help: "Wait until every output file is on disk (fsync of the file and, after the rename, of its folder), so that a power loss right after cannot lose it. Without it outputs are still replaced atomically (temporary file + rename).")
    var sync = false

    @Option(name: .long, help: "Decode each input N times and print the fastest decode time (benchmarking; file reading and writing excluded).")
    var repeatCount: Int = Defaults.repeatCount

    /// `--shard-size` in bytes.
    var shardBytes: Int? { shardSize.flatMap(ByteSize.parse) }

    func validate() throws {
        if files.isEmpty { throw ValidationError("at least one bitstream is needed") }
        guard ["npz", "safetensors", "npy"].contains(format) else { throw ValidationError("--format must be npz or safetensors") }
        if let size = shardSize, ByteSize.parse(size) == nil {
            throw ValidationError("--shard-size must be a size such as 5GB, 500MB or 2GiB")
        }
        if ByteSize.parse(maxOutputSize) == nil {
            throw ValidationError("--max-output-size must be a size such as 64GiB, 500MB or 2GB")
        }
    }

    func run() throws {
        AtomicFile.synchronous = sync
        // Everything that can be refused is refused before anything is decoded.
        for file in files { try checkNonEmptyInputFile(file) }
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: output, isDirectory: &isDir)
        let toDirectory = files.count > 1 || output.hasSuffix("/") || (exists && isDir.boolValue)
        var outputs: [String] = []
        if shardBytes != nil {
            // -o is the folder of shards; several inputs: one folder each, OUTDIR/<input name>/
            outputs = files.count == 1 ? [output] : files.map { (output as NSString).appendingPathComponent(URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent) }
            if Set(outputs).count != outputs.count { throw failure("two inputs have the same name; their shards would go to the same folder") }
            for path in outputs {
                var dir: ObjCBool = false
                if FileManager.default.fileExists(atPath: path, isDirectory: &dir), !dir.boolValue { throw failure("cannot write shards into \(path): it is not a directory") }
            }
        } else if toDirectory {
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
        if (toDirectory || shardBytes != nil) && !exists {
            var parent = (output as NSString).standardizingPath
            while !parent.isEmpty && !FileManager.default.fileExists(atPath: parent) { parent = (parent as NSString).deletingLastPathComponent }
            try checkOutputDirectory(parent.isEmpty ? "." : parent, for: output)
            do {
                try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            } catch {
                throw failure("cannot create the directory \(output)")
            }
        }
        if shardBytes == nil && toDirectory { for path in outputs { try checkOutputFile(path, inputs: files) } }
        var limits = NNRLimits.default
        limits.maxTensorElements = maxTensorElements
        let policy = dtype == .reference ? TensorDTypePolicy.keep : TensorDTypePolicy(floatingPoint: TensorDType(rawValue: dtype.rawValue))
        var session = DecodingSession(options: DecoderOptions(limits: limits, concurrent: !sequential, keepLevels: false, carryState: false, keepUnits: false))
        session.dtype = policy
        for (index, file) in files.enumerated() {
            session.options.carryState = index + 1 < files.count
            let started = Date()
            let source = try openSource(file)
            if repeatCount > 1 {
                let fastest = try StreamingDecodeRun.fastestDecode(source, file: file, session: session, count: repeatCount)
                print(String(format: "{\"file\": \"%@\", \"decode_seconds\": %.6f, \"repeat\": %ld}", file, fastest, repeatCount))
            }
            let url = URL(fileURLWithPath: outputs[index])
            let target = StreamingDecodeRun.Target(url: url, shardSize: shardBytes, dtype: policy,
                                                       maxOutputBytes: ByteSize.parse(maxOutputSize) ?? Int.max)
            let written = try StreamingDecodeRun.decode(source, file: file, session: &session, target: target,
                                                        sanitizeNames: sanitizeNames, quiet: quiet)
            if !quiet {
                let seconds = Date().timeIntervalSince(started)
                // sizes interpolated, not through %d (which takes 32 bits: a 2.3 GB output came out negative)
                print("\(file): \(written.tensors) \(written.tensors == 1 ? "tensor" : "tensors"), \(source.count) bytes of bitstream → "
                      + "\(written.bytes) bytes in \(url.lastPathComponent) (\(String(format: "%.3f", seconds)) s)")
            }
        }
    }
}
