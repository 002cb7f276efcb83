import ArgumentParser
import Foundation
import NNRKit

enum CodebookOption: String, ExpressibleByArgument, CaseIterable {
    case off, auto, always
}

struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",  // spelled out: deriving it from the type name costs ~1 ms at start-up
        abstract: "Encode a model (.safetensors, .npz, .npy) into an NNR bitstream.",
        discussion: """
            Tensors with more than one dimension use --qp, 1-D tensors (biases, norms) use \
            --nonweight-qp, unless --qp-for NAME=QP says otherwise. Integer and bool tensors are \
            coded losslessly as NNR_PT_INT (values must fit int32; they decode as int32). A 0-d \
            (scalar) tensor is coded as shape [1], and an empty tensor (a dimension of 0) is left \
            out with a warning: NNR has no 0-d or empty tensors.

            Safetensors files and Hugging Face checkpoints (model.safetensors.index.json, or the \
            folder holding it) are read one tensor at a time and coded on all cores: memory grows \
            with the largest tensors in flight, not with the model.

            The summary table (or --json) goes to standard output; progress goes to standard \
            error (one updating line on a terminal, else one line per tensor in model order). \
            The output is written to a temporary file and renamed: a failed or interrupted run \
            leaves no partial file.
            """)

    @Argument(help: "Model file (.safetensors, .npz or .npy), a Hugging Face model.safetensors.index.json or the folder holding it.")
    var input: String

    @Option(name: .shortAndLong, help: "Output NNR bitstream.")
    var output: String

    @Option(name: .long, parsing: .unconditional, help: "QP of weights (step 2^(qp / 2^density)).")
    var qp: Int = -38

    @Option(name: .long, help: "QP density (0…7).")
    var qpDensity: Int = 2

    @Option(name: .long, parsing: .unconditional, help: "QP of 1-D tensors (biases, norms).")
    var nonweightQp: Int = -75

    @Option(name: .long, parsing: .singleValue, help: "Per-tensor QP, NAME=QP (repeatable).")
    var qpFor: [String] = []

    @Flag(name: .long, inversion: .prefixedNo, help: "Dependent (trellis) quantization.")
    var dq = true

    @Option(name: .long, help: "Scan order: 0 row-major, 1…4 block scan (8…64) with entry points.")
    var scanOrder: Int = 0

    @Option(name: .long, help: "Codebook quantization of weights: off, auto (by cost), always.")
    var codebook: CodebookOption = .off

    @Option(name: .long, help: "Guarantee |w − ŵ| ≤ E for every value (QP chosen per tensor, checked after encoding).")
    var maxError: Float?

    @Option(name: .long, parsing: .unconditional, help: "Rate-distortion weight (NNCodec lambda_scale; 0 = distortion only).")
    var lambdaScale: Double = 0

    @Option(name: .long, help: "Number of greater-than flags minus one (cabac_unary_length_minus1).")
    var unaryLengthMinus1: Int = 10

    @Flag(name: .long, inversion: .prefixedNo, help: "Row skipping of all-zero rows.")
    var rowSkipping = true

    @Flag(name: .long, inversion: .prefixedNo, help: "Estimator parameter selection per context.")
    var paramOpt = true

    @Option(name: .long, help: ArgumentHelp(
        "Values per tensor pseudo-coded to choose the estimators; larger tensors are sampled (0 = all, as NNCodec).",
        valueName: "N"))
    var paramOptSample: Int = 65_536

    @Flag(name: .long, help: "Encode tensors one after another (no concurrency).")
    var sequential = false

    @Flag(name: .long, help: "Print the summary as JSON on stdout.")
    var json = false

    @Flag(name: .shortAndLong, help: "No progress on standard error.")
    var quiet = false

    @Flag(name: .long, help: "Wait until every output file is on disk (fsync of the file and, after the rename, of its folder), so that a power loss right after cannot lose it. Without it outputs are still replaced atomically (temporary file + rename).")
    var sync = false

    @OptionGroup var blockUnits: BlockUnitOptions

    @OptionGroup(title: "Incremental sequences (model updates)")
    var sequence: IncrementalEncodeOptions

    @OptionGroup(title: "Targets (QPs searched per tensor)") var targets: EncodeTargetOptions

    func validate() throws {
        guard (0...7).contains(qpDensity) else { throw ValidationError("--qp-density must be 0…7") }
        guard (0...4).contains(scanOrder) else { throw ValidationError("--scan-order must be 0…4") }
        guard (0...30).contains(unaryLengthMinus1) else { throw ValidationError("--unary-length-minus1 must be 0…30") }
        guard lambdaScale.isFinite && lambdaScale >= 0 else { throw ValidationError("--lambda-scale must be 0 or more") }
        guard paramOptSample >= 0 else { throw ValidationError("--param-opt-sample must be 0 or more") }
        if let e = maxError, !(e > 0 && e.isFinite) { throw ValidationError("--max-error must be a positive number") }
        for s in qpFor {
            guard let eq = s.lastIndex(of: "="), Int(s[s.index(after: eq)...]) != nil else {
                throw ValidationError("--qp-for expects NAME=QP, got \(s)")
            }
        }
    }

    func run() throws {
        AtomicFile.synchronous = sync
        if sequence.isRequested { return try runSequence() }
        // A Hugging Face checkpoint may be given as the folder that holds its index.
        var isFolder: ObjCBool = false
        if !(FileManager.default.fileExists(atPath: input, isDirectory: &isFolder) && isFolder.boolValue) {
            try checkNonEmptyInputFile(input)
        }
        try checkOutputFile(output, inputs: [input])
        let opened: any TensorSource
        do {
            opened = try ModelSource.open(URL(fileURLWithPath: input))
        } catch let e as ModelIOError {
            if case .fileIO = e { throw failure("cannot read \(input): \(plainCause(e))") }
            throw failure(plainCause(e), ExitStatus.invalidInput)
        } catch {
            throw failure(plainCause(error), ExitStatus.invalidInput)
        }
        var o = encoderOptions()
        let names = opened.manifest.map(\.name)
        let unknown = Set(o.qpForTensor.keys).subtracting(names).sorted()
        if !unknown.isEmpty {
            let shown = names.count > 40 ? names.prefix(40).joined(separator: ", ") + ", … (\(names.count) in all)" : names.joined(separator: ", ")
            throw failure("--qp-for names a tensor that \(input) does not have: \(unknown.joined(separator: ", ")) (its tensors: \(shown))")
        }
        // NNR has no empty tensors (every tensor_dimensions[j] ≥ 1): they are left out, with a warning.
        let source = NonEmptyTensors(opened)
        for t in source.skipped {
            printError("\(commandLabel): warning: tensor '\(t.name)' has shape \(t.shape) (no values); NNR cannot carry an empty tensor, so it is left out")
        }
        if source.manifest.isEmpty { throw failure("\(input) has no tensor with values to encode", ExitStatus.invalidInput) }
        let started = Date()
        let result: StreamingEncodeResult
        if o.blockUnits || targets.target != nil {
            // NNR_PT_BLOCK groups a weight with the tensors after it, and a target is searched over
            // every tensor: the whole model is coded at once.
            let tensors = try source.manifest.indices.map { try source.readTensor(at: $0) }
            let progress = quiet ? nil : ProgressLines(names: tensors.map(\.name))
            let encoded: EncodedBitstream
            do {
                defer { progress?.finish() }
                encoded = try targets.encode(tensors, options: o, quiet: quiet || json, progress: progress.map { p in { _, _, name in p.finished(name) } })
                try AtomicFile.write(encoded.bytes, to: URL(fileURLWithPath: output))
            } catch {
                throw failure(plainCause(error), ExitStatus.invalidInput)
            }
            result = StreamingEncodeResult(tensors: encoded.tensors, inputBytes: source.totalBytes, outputBytes: encoded.bytes.count)
        } else {
            o.blockUnits = false
            result = try StreamingEncodeRun.encode(source, output: output, options: o, quiet: quiet)
        }
        let seconds = Date().timeIntervalSince(started)
        if json {
            let rows: [JSONValue] = result.tensors.map { r in
                .object([("name", .string(r.name)), ("shape", .array(r.shape.map { .int($0) })), ("payload_type", .string(r.payloadType.name)),
                         ("qp", r.qp.map { .int($0) } ?? .null), ("step_size", r.stepSize.map { .double(Double($0)) } ?? .null),
                         ("dq", .bool(r.dependentQuantization)), ("codebook_size", r.codebookSize.map { .int($0) } ?? .null),
                         ("bytes", .int(r.bytes)), ("bits_per_parameter", .double(r.bitsPerParameter)),
                         ("snr_db", r.snrDB.map { .double($0) } ?? .null), ("max_abs_error", .double(r.maxAbsError))])
            }
            let top: JSONValue = .object([("input", .string(input)), ("output", .string(output)), ("input_bytes", .int(result.inputBytes)),
                                          ("output_bytes", .int(result.outputBytes)), ("seconds", .double(seconds)), ("tensors", .array(rows)),
                                          ("skipped_empty", .array(source.skipped.map { .string($0.name) }))])
            print(top.serialized(indent: 1))
        } else {
            print(EncodeSummary.table(result, inputBytes: result.inputBytes, seconds: seconds))
        }
    }
}

/// A model's tensors without the empty ones (a dimension of 0), which NNR cannot carry.
final class NonEmptyTensors: TensorSource {
    let base: any TensorSource
    let kept: [Int]
    let manifest: [TensorManifestEntry]
    let skipped: [TensorManifestEntry]

    init(_ base: any TensorSource) {
        self.base = base
        kept = base.manifest.indices.filter { !base.manifest[$0].shape.contains(0) }
        manifest = kept.map { base.manifest[$0] }
        skipped = base.manifest.filter { $0.shape.contains(0) }
    }

    func readTensor(at index: Int) throws -> Tensor { try base.readTensor(at: kept[index]) }
}

extension Encode {
    /// The encoder settings from the options.
    func encoderOptions() -> EncoderOptions {
        var o = EncoderOptions()
        o.qp = qp
        o.qpDensity = qpDensity
        o.nonWeightQP = nonweightQp
        o.dependentQuantization = dq
        o.scanOrder = scanOrder
        o.maxError = maxError
        o.lambdaScale = lambdaScale
        o.cabacUnaryLengthMinus1 = unaryLengthMinus1
        o.rowSkipping = rowSkipping
        o.optimizeEstimators = paramOpt
        o.estimatorSampleValues = paramOptSample
        o.concurrent = !sequential
        o.blockUnits = blockUnits.blocks
        o.codebook = codebook == .off ? nil : (codebook == .auto ? .byCost : .always)
        for s in qpFor {
            if let eq = s.lastIndex(of: "="), let v = Int(s[s.index(after: eq)...]) { o.qpForTensor[String(s[..<eq])] = v }
        }
        return o
    }
}

enum EncodeSummary {
    static func table(_ e: StreamingEncodeResult, inputBytes: Int, seconds: Double) -> String {
        let nameWidth = min(48, max(6, e.tensors.map { $0.name.count }.max() ?? 6))
        func pad(_ s: String, _ w: Int, right: Bool = false) -> String {
            let t = s.count > w ? String(s.prefix(w - 1)) + "…" : s
            let fill = String(repeating: " ", count: max(0, w - t.count))
            return right ? fill + t : t + fill
        }
        var lines = [pad("tensor", nameWidth) + "  " + pad("shape", 16) + pad("QP", 6, right: true) + pad("bytes", 10, right: true)
                     + pad("bits/param", 11, right: true) + pad("SNR dB", 9, right: true) + pad("max err", 12, right: true)]
        for r in e.tensors {
            let snr = r.snrDB.map { String(format: "%.2f", $0) } ?? (r.payloadType == .int ? "lossless" : "-")
            lines.append(pad(r.name, nameWidth) + "  " + pad(r.shape.map(String.init).joined(separator: "x"), 16)
                         + pad(r.qp.map(String.init) ?? "-", 6, right: true) + pad(String(r.bytes), 10, right: true)
                         + pad(String(format: "%.3f", r.bitsPerParameter), 11, right: true) + pad(snr, 9, right: true)
                         + pad(String(format: "%.3g", r.maxAbsError), 12, right: true))
        }
        let ratio = e.outputBytes > 0 ? Double(inputBytes) / Double(e.outputBytes) : 0
        lines.append(String(format: "%ld tensors: %ld bytes in, %ld bytes out (%.2fx smaller) in %.2f s", e.tensors.count, inputBytes, e.outputBytes, ratio, seconds))
        return lines.joined(separator: "\n")
    }
}

/// Progress of a concurrent encode on standard error. On a terminal one line that updates (and is
/// erased at the end); otherwise one line per tensor in model order, whatever order the tensors
/// finish in, so logs are the same from run to run.
final class ProgressLines: @unchecked Sendable {
    private let names: [String]
    private let index: [String: Int]
    private let terminal = isatty(2) != 0
    private let lock = NSLock()
    private var done: [Bool]
    private var count = 0
    private var next = 0

    init(names: [String]) {
        self.names = names
        self.index = Dictionary(names.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
        self.done = Array(repeating: false, count: names.count)
    }

    func finished(_ name: String) {
        lock.lock()
        defer { lock.unlock() }
        guard let i = index[name], !done[i] else { return }
        done[i] = true
        count += 1
        if terminal {
            FileHandle.standardError.write(Data("\r\u{1B}[K[\(count)/\(names.count)] \(name)".utf8))
            return
        }
        var lines = ""
        while next < names.count && done[next] {
            lines += "[\(next + 1)/\(names.count)] \(names[next])\n"
            next += 1
        }
        if !lines.isEmpty { FileHandle.standardError.write(Data(lines.utf8)) }
    }

    /// Erases the terminal line.
    func finish() {
        if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
