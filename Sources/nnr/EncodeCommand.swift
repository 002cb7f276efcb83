import ArgumentParser
import Foundation
import NNRKit

enum CodebookOption: String, ExpressibleByArgument, CaseIterable {
    case off, auto, always
}

struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encode a model (.safetensors, .npz, .npy) into an NNR bitstream.",
        discussion: """
            Tensors with more than one dimension use --qp, 1-D tensors (biases, norms) use
            --nonweight-qp, unless --qp-for NAME=QP says otherwise. Integer tensors are coded
            losslessly as NNR_PT_INT. The output is written to a temporary file and renamed: a
            failed or interrupted run leaves no partial file.
            """)

    @Argument(help: "Model file (.safetensors, .npz or .npy).")
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

    @Option(name: .long, help: "Rate-distortion weight (NNCodec lambda_scale; 0 = distortion only).")
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

    @Flag(name: .shortAndLong, help: "No progress or summary table.")
    var quiet = false

    @OptionGroup(title: "Targets (QPs searched per tensor)") var targets: EncodeTargetOptions

    func validate() throws {
        guard (0...7).contains(qpDensity) else { throw ValidationError("--qp-density must be 0…7") }
        guard (0...4).contains(scanOrder) else { throw ValidationError("--scan-order must be 0…4") }
        guard (0...255).contains(unaryLengthMinus1) else { throw ValidationError("--unary-length-minus1 must be 0…255") }
        guard paramOptSample >= 0 else { throw ValidationError("--param-opt-sample must be 0 or more") }
        if let e = maxError, !(e > 0 && e.isFinite) { throw ValidationError("--max-error must be a positive number") }
        for s in qpFor {
            guard let eq = s.lastIndex(of: "="), Int(s[s.index(after: eq)...]) != nil else {
                throw ValidationError("--qp-for expects NAME=QP, got \(s)")
            }
        }
    }

    func run() throws {
        let inURL = URL(fileURLWithPath: input)
        let tensors: [Tensor]
        do {
            tensors = try ModelFile.read(inURL)
        } catch let e as ModelIOError {
            printError("nnr encode: \(e)")
            if case .fileIO = e { throw ExitStatus.usage }
            throw ExitStatus.invalidInput
        } catch {
            printError("nnr encode: \(error)")
            throw ExitStatus.invalidInput
        }
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
        o.codebook = codebook == .off ? nil : (codebook == .auto ? .byCost : .always)
        for s in qpFor {
            if let eq = s.lastIndex(of: "="), let v = Int(s[s.index(after: eq)...]) { o.qpForTensor[String(s[..<eq])] = v }
        }
        let started = Date()
        let progress: ((Int, Int, String) -> Void)? = quiet ? nil : { done, total, name in
            printError("[\(done)/\(total)] \(name)")
        }
        let encoded: EncodedBitstream
        do {
            encoded = try targets.encode(tensors, options: o, quiet: quiet || json, progress: progress)
        } catch {
            printError("nnr encode: \(error)")
            throw ExitStatus.invalidInput
        }
        do {
            try AtomicFile.write(encoded.bytes, to: URL(fileURLWithPath: output))
        } catch {
            printError("nnr encode: cannot write \(output): \(error)")
            throw ExitStatus.usage
        }
        let seconds = Date().timeIntervalSince(started)
        let inputBytes = tensors.reduce(0) { $0 + $1.storage.count }
        if json {
            let rows: [JSONValue] = encoded.tensors.map { r in
                .object([("name", .string(r.name)), ("shape", .array(r.shape.map { .int($0) })), ("payload_type", .string(r.payloadType.name)),
                         ("qp", r.qp.map { .int($0) } ?? .null), ("step_size", r.stepSize.map { .double(Double($0)) } ?? .null),
                         ("dq", .bool(r.dependentQuantization)), ("codebook_size", r.codebookSize.map { .int($0) } ?? .null),
                         ("bytes", .int(r.bytes)), ("bits_per_parameter", .double(r.bitsPerParameter)),
                         ("snr_db", r.snrDB.map { .double($0) } ?? .null), ("max_abs_error", .double(r.maxAbsError))])
            }
            let top: JSONValue = .object([("input", .string(input)), ("output", .string(output)), ("input_bytes", .int(inputBytes)),
                                          ("output_bytes", .int(encoded.bytes.count)), ("seconds", .double(seconds)), ("tensors", .array(rows))])
            print(top.serialized(indent: 1))
        } else if !quiet {
            printError(EncodeSummary.table(encoded, inputBytes: inputBytes, seconds: seconds))
        }
    }
}

enum EncodeSummary {
    static func table(_ e: EncodedBitstream, inputBytes: Int, seconds: Double) -> String {
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
        let ratio = e.bytes.count > 0 ? Double(inputBytes) / Double(e.bytes.count) : 0
        lines.append(String(format: "%d tensors: %d bytes in, %d bytes out (%.2fx smaller) in %.2f s", e.tensors.count, inputBytes, e.bytes.count, ratio, seconds))
        return lines.joined(separator: "\n")
    }
}
