import ArgumentParser
import Foundation
import NNRKit

/// `nnr encode` options for incremental sequences (federated / continual learning updates).
struct IncrementalEncodeOptions: ParsableArguments {
    @Argument(help: "With --incremental: the later models of the sequence, in order.")
    var moreInputs: [String] = []

    @Flag(name: .long, help: ArgumentHelp(
        "Encode the models as a sequence: the first whole, each later one as the difference to what the receiver holds (closed loop). -o is a directory: OUTDIR/<input name>.nnr per step."))
    var incremental = false

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp(
        "Earlier bitstreams of the sequence, in order: encode the model as the next update after them (-o is the new bitstream).",
        valueName: "s0.nnr s1.nnr …"))
    var after: [String] = []

    @Option(name: .long, parsing: .unconditional, help: "QP of weight updates (default: --qp).")
    var updateQp: Int?

    @Option(name: .long, parsing: .unconditional, help: "QP of 1-D updates (default: --nonweight-qp).")
    var updateNonweightQp: Int?

    @Flag(name: .long, help: "Temporal context adaptation: code each update with the previous levels as context.")
    var tca = false

    @Flag(name: .long, help: "History-dependent significance probability (chosen per tensor when it helps).")
    var hdsp = false

    @Flag(name: .long, help: "Signal step 0 as the base of updates (nnr_pre_flag; its levels start the HDSP history).")
    var preSignalling = false

    @Option(name: .long, help: ArgumentHelp(
        "Fraction of each tensor's update set to zero, smallest magnitudes first (0 ≤ F < 1); the rest is sent later.",
        valueName: "F"))
    var sparsity: Double = 0

    @Flag(name: .long, help: "With --sparsity: zero whole rows (output channels, filters) instead of single values.")
    var structSparsity = false

    @Flag(name: .long, help: "Code each update against the previous input model, not the receiver's (errors accumulate; for comparisons).")
    var openLoop = false

    var isRequested: Bool { incremental || !after.isEmpty || !moreInputs.isEmpty }

    func validate() throws {
        guard sparsity.isFinite, sparsity >= 0, sparsity < 1 else {
            throw ValidationError("--sparsity must be in [0, 1), got \(sparsity)")
        }
        if incremental && !after.isEmpty { throw ValidationError("use either --incremental (a whole sequence) or --after (one more step)") }
        if !moreInputs.isEmpty && !incremental { throw ValidationError("several models need --incremental") }
        let tools = tca || hdsp || openLoop || updateQp != nil || updateNonweightQp != nil || sparsity > 0 || structSparsity || preSignalling
        if tools && !incremental && after.isEmpty {
            throw ValidationError("--tca, --hdsp, --update-qp, --sparsity and --pre-signalling need --incremental or --after")
        }
    }
}

extension Encode {
    func incrementalOptions() -> IncrementalEncoderOptions {
        var o = IncrementalEncoderOptions()
        o.encoder = encoderOptions()
        o.updateQP = sequence.updateQp
        o.updateNonWeightQP = sequence.updateNonweightQp
        o.temporalContextAdaptation = sequence.tca
        o.historyDependentSignificance = sequence.hdsp
        o.preSignalling = sequence.preSignalling
        o.sparsity = sequence.sparsity
        o.structuredSparsity = sequence.structSparsity
        o.openLoop = sequence.openLoop
        return o
    }

    /// --incremental or --after: encodes every step first, writes only when all succeeded.
    func runSequence() throws {
        let started = Date()
        let options = incrementalOptions()
        var encoder: IncrementalEncoder
        let models: [String]
        var outputs: [URL] = []
        if sequence.after.isEmpty {
            models = [input] + sequence.moreInputs
            let dir = URL(fileURLWithPath: output)
            var seen = Set<String>()
            for m in models {
                let stem = URL(fileURLWithPath: m).deletingPathExtension().lastPathComponent
                guard seen.insert(stem).inserted else {
                    throw failure("two inputs named \(stem): their outputs would collide in \(output)", ExitStatus.usage)
                }
                outputs.append(dir.appendingPathComponent(stem + ".nnr"))
            }
            encoder = IncrementalEncoder(options: options)
        } else {
            models = [input]
            outputs = [URL(fileURLWithPath: output)]
            let earlier = try sequence.after.map { ($0, try openSource($0)) }
            do {
                encoder = try IncrementalEncoder(resumingAfter: earlier, options: options)
            } catch {
                throw failure("--after: \(error)", ExitStatus.invalidInput)
            }
        }
        var steps: [IncrementalStep] = []
        for m in models {
            let tensors: [Tensor]
            do {
                tensors = try ModelFile.read(URL(fileURLWithPath: m))
            } catch let e as ModelIOError {
                if case .fileIO = e { throw failure("\(m): \(e)", ExitStatus.usage) }
                throw failure("\(m): \(e)", ExitStatus.invalidInput)
            } catch {
                throw failure("\(m): \(error)", ExitStatus.invalidInput)
            }
            do {
                steps.append(try encoder.encode(step: tensors))
            } catch {
                throw failure("\(m): \(error)", ExitStatus.invalidInput)
            }
            if !quiet && !json { printError("[step \(encoder.stepCount - 1)] \(m): \(steps.last?.report.bytes ?? 0) bytes") }
        }
        if sequence.after.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            } catch {
                throw failure("cannot create directory \(output): \(error.localizedDescription)", ExitStatus.usage)
            }
        }
        for (s, url) in zip(steps, outputs) {
            do {
                try AtomicFile.write(s.bitstream.bytes, to: url)
            } catch {
                throw failure("cannot write \(url.path): \(error)", ExitStatus.usage)
            }
        }
        let seconds = Date().timeIntervalSince(started)
        if json {
            print(IncrementalSummary.json(steps, models: models, outputs: outputs, seconds: seconds).serialized(indent: 1))
        } else if !quiet {
            printError(IncrementalSummary.table(steps, models: models, seconds: seconds))
        }
    }
}

enum IncrementalSummary {
    static func snr(_ v: Double?) -> String {
        guard let v else { return "-" }
        return v.isInfinite ? "inf" : String(format: "%.2f", v)
    }

    static func table(_ steps: [IncrementalStep], models: [String], seconds: Double) -> String {
        func pad(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }
        let nameWidth = min(40, max(5, models.map { URL(fileURLWithPath: $0).lastPathComponent.count }.max() ?? 5))
        func name(_ m: String) -> String {
            let n = URL(fileURLWithPath: m).lastPathComponent
            let t = n.count > nameWidth ? String(n.prefix(nameWidth - 1)) + "…" : n
            return t + String(repeating: " ", count: max(0, nameWidth - t.count))
        }
        var lines = ["step  " + name("model") + pad("bytes", 10) + pad("bits/param", 11) + pad("sparsity", 9) + pad("skipped", 8)
                     + pad("update SNR", 11) + pad("model SNR", 10)]
        for (s, m) in zip(steps, models) {
            let r = s.report
            lines.append(pad(String(r.step), 4) + "  " + name(m) + pad(String(r.bytes), 10) + pad(String(format: "%.4f", r.bitsPerParameter), 11)
                         + pad(String(format: "%.3f", r.sparsity), 9) + pad(String(r.skippedTensors.count), 8)
                         + pad(snr(r.updateSNR), 11) + pad(snr(r.modelSNR), 10))
        }
        let total = steps.reduce(0) { $0 + $1.report.bytes }
        lines.append(String(format: "%ld steps, %ld bytes in total in %.2f s (SNR in dB)", steps.count, total, seconds))
        return lines.joined(separator: "\n")
    }

    static func json(_ steps: [IncrementalStep], models: [String], outputs: [URL], seconds: Double) -> JSONValue {
        let rows: [JSONValue] = zip(zip(steps, models), outputs).map { pair, url in
            let r = pair.0.report
            return .object([("step", .int(r.step)), ("input", .string(pair.1)), ("output", .string(url.path)), ("bytes", .int(r.bytes)),
                            ("parameters", .int(r.parameterCount)), ("bits_per_parameter", .double(r.bitsPerParameter)),
                            ("sparsity", .double(r.sparsity)), ("skipped_tensors", .array(r.skippedTensors.map { .string($0) })),
                            ("update_snr_db", r.updateSNR.flatMap { $0.isFinite ? .double($0) : nil } ?? .null),
                            ("model_snr_db", r.modelSNR.flatMap { $0.isFinite ? .double($0) : nil } ?? .null)])
        }
        return .object([("steps", .array(rows)), ("total_bytes", .int(steps.reduce(0) { $0 + $1.report.bytes })), ("seconds", .double(seconds))])
    }
}
