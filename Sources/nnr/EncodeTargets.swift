import ArgumentParser
import Foundation
import NNRKit

/// `nnr encode --target-snr / --target-size / --target-bpp`: the QPs are searched for, per tensor,
/// on the real coder (NNREncoder.encode(_:target:)).
struct EncodeTargetOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Smallest file with at least this whole-model SNR (dB); QPs chosen per tensor.", valueName: "DB"))
    var targetSnr: Double?

    @Option(name: .long, help: ArgumentHelp("Best SNR within this file size (bytes; 10MB, 10MiB, 500kB forms).", valueName: "SIZE"))
    var targetSize: String?

    @Option(name: .long, help: ArgumentHelp("Best SNR within this many bits per parameter.", valueName: "BITS"))
    var targetBpp: Double?

    func validate() throws {
        let given = [targetSnr != nil, targetSize != nil, targetBpp != nil].filter { $0 }.count
        guard given <= 1 else { throw ValidationError("give at most one of --target-snr, --target-size, --target-bpp") }
        if let s = targetSnr, !s.isFinite { throw ValidationError("--target-snr must be a number of dB") }
        if let b = targetBpp, !(b > 0 && b.isFinite) { throw ValidationError("--target-bpp must be a positive number") }
        if let s = targetSize, ByteSize.parse(s) == nil {
            throw ValidationError("--target-size expects a positive size such as 1500000, 10MB or 10MiB, got \(s)")
        }
    }

    var target: EncodeTarget? {
        if let s = targetSnr { return .snr(s) }
        if let s = targetSize, let b = ByteSize.parse(s) { return .bytes(b) }
        if let b = targetBpp { return .bitsPerParameter(b) }
        return nil
    }

    /// A plain encode without a target; with one, the search, and a line saying what it chose.
    func encode(_ tensors: [Tensor], options: EncoderOptions, quiet: Bool,
                progress: ((Int, Int, String) -> Void)?) throws -> EncodedBitstream {
        guard let target else { return try NNREncoder(options: options).encode(tensors, progress: progress) }
        let r = try NNREncoder(options: options).encode(tensors, target: target, progress: quiet ? nil : { printError("search: \($0)") })
        if !quiet { printError(TargetSummary.text(r)) }
        return r.encoded
    }
}

enum TargetSummary {
    static func text(_ r: TargetSearchResult) -> String {
        let qps = r.qpForTensor.values
        let range = (qps.min() ?? 0) == (qps.max() ?? 0) ? "\(qps.min() ?? 0)" : "\(qps.min() ?? 0)…\(qps.max() ?? 0)"
        return String(format: "target %@: reached SNR %.3f dB, %ld bytes, %.4f bits/parameter; chose QP %@ per tensor at equal RD slope (λ %.3g) in %ld rounds, %ld tensor codings",
                      r.target.description, r.snrDB, r.bytes, r.bitsPerParameter, range, r.lambda, r.rounds, r.tensorCodings)
    }
}
