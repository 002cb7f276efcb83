import ArgumentParser
import Foundation
import NNRKit

enum DQChoice: String, ExpressibleByArgument, CaseIterable {
    case on, off, both
}

struct RD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rd",
        abstract: "Rate-distortion sweep on the real coder: bits per parameter against whole-model SNR.",
        discussion: """
            Encodes the model at every weight QP of --qp A:B (1-D tensors keep --nonweight-qp),
            with DQ on, off or both, and writes the points as CSV and as an SVG plot (one curve per
            setting). --reference adds curves from a CSV of the same columns
            (Tools/rd_reference.py writes NNCodec's). Files are written atomically.
            """)

    @Argument(help: "Model file (.safetensors, .npz or .npy).")
    var input: String

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Weight QPs, A:B inclusive (e.g. -20:-40).", valueName: "A:B"))
    var qp: String

    @Option(name: .long, help: "QP density (0…7).")
    var qpDensity: Int = 2

    @Option(name: .long, parsing: .unconditional, help: "QP of 1-D tensors (biases, norms).")
    var nonweightQp: Int = -75

    @Option(name: .long, help: "Dependent quantization: on, off or both (two curves).")
    var dq: DQChoice = .on

    @Option(name: .long, help: "Write the plot here (SVG).")
    var svg: String?

    @Option(name: .long, help: "Write the points here (CSV: curve,qp,bytes,bits_per_parameter,snr_db).")
    var csv: String?

    @Option(name: .long, parsing: .singleValue, help: "Add the curves of this CSV (same columns) to the plot and the CSV (repeatable).")
    var reference: [String] = []

    @Option(name: .long, help: "Plot title.")
    var title: String?

    @Flag(name: .shortAndLong, help: "No progress lines.")
    var quiet = false

    var sweep: QPSweepRange? {
        let limit = 1 << (5 + min(max(qpDensity, 0), 7))
        return QPSweepRange(qp, allowed: -limit...(limit - 1))
    }

    func validate() throws {
        guard (0...7).contains(qpDensity) else { throw ValidationError("--qp-density must be 0…7") }
        let limit = 1 << (5 + qpDensity)
        guard sweep != nil else {
            throw ValidationError("--qp expects A:B, two integers in \(-limit)…\(limit - 1) at most 256 apart (e.g. -20:-40), got \(qp)")
        }
        guard svg != nil || csv != nil else { throw ValidationError("give --svg and/or --csv") }
    }

    func run() throws {
        let tensors: [Tensor]
        do {
            tensors = try ModelFile.read(URL(fileURLWithPath: input))
        } catch {
            printError("nnr rd: \(error)")
            if let e = error as? ModelIOError, case .fileIO = e { throw ExitStatus.usage }
            throw ExitStatus.invalidInput
        }
        var refPoints: [RDPoint] = []
        for reference in self.reference {
            do {
                refPoints += try RDPlot.parseCSV(String(contentsOf: URL(fileURLWithPath: reference), encoding: .utf8))
            } catch {
                printError("nnr rd: \(reference): \(error)")
                throw ExitStatus.usage
            }
        }
        var o = EncoderOptions()
        o.qpDensity = qpDensity
        o.nonWeightQP = nonweightQp
        var points: [RDPoint] = []
        let settings: [Bool] = dq == .both ? [true, false] : [dq == .on]
        do {
            for d in settings {
                o.dependentQuantization = d
                points += try NNREncoder(options: o).rdSweep(tensors, qps: sweep?.qps ?? [], curve: "swift-nnr \(d ? "DQ" : "no DQ")") { p in
                    if !quiet { printError(String(format: "%@ QP %ld: %ld bytes, %.4f bits/param, %.3f dB", p.curve, p.qp, p.bytes, p.bitsPerParameter, p.snrDB)) }
                }
            }
        } catch {
            printError("nnr rd: \(error)")
            throw ExitStatus.invalidInput
        }
        let all = points + refPoints
        let name = URL(fileURLWithPath: input).lastPathComponent
        do {
            if let csv { try AtomicFile.write(Array(RDPlot.csv(all).utf8), to: URL(fileURLWithPath: csv)) }
            if let svg {
                try AtomicFile.write(Array(RDPlot.svg(all, title: title ?? "Rate-distortion: \(name)").utf8), to: URL(fileURLWithPath: svg))
            }
        } catch {
            printError("nnr rd: cannot write: \(error)")
            throw ExitStatus.usage
        }
    }
}
