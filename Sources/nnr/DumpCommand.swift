import ArgumentParser
import Foundation
import NNRKit

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what is inside NNR bitstreams: units, headers, every field down to its bits, tensors, payload bins.",
        discussion: """
            Without options: every unit with its offset and size, each syntax structure, and one line per
            syntax element (byte.bit offset, descriptor, width, bits as read, name = value, enum names),
            with derived values (step size, tensor shapes, CbZeroOffset, codebook entries, entry points)
            under the elements they come from; then one line per tensor. Only unit headers are read
            (and the first bytes of each NDU payload, for the first tensor's qp_offset).
            --stats decodes the payloads: level range, zeros, a histogram and, with --reference, the SNR.
            --trace prints every payload syntax element (unit tensor pos row,col dq ctx bins element = value).
            Several files are an incremental sequence, decoded in order with the decoder state carried over.
            Formats: text, json, xml (schema: Spec/dump.xsd). See Spec/dump.md.
            Exit codes: 0 success, 1 invalid input (everything before the error is shown, then the error
            with its offset and the bytes around it), 2 usage or I/O error.
            """)

    @Argument(help: "Bitstreams (several: an incremental sequence, decoded in order for --stats/--trace).")
    var files: [String]

    @Option(name: .long, help: "Output format: text, json or xml.")
    var format: OutputFormat = .text

    @Flag(name: .long, help: "Decode the tensors: level range, zero fraction, histogram, bytes per tensor.")
    var stats = false

    @Option(name: .long, help: "Reference tensors (.npz, .safetensors, .npy) for the SNR; implies --stats.")
    var reference: String?

    @Flag(name: .long, help: "Print the payload's syntax elements, one per line.")
    var trace = false

    @Option(name: .long, help: "With --trace: only this tensor.")
    var tensor: String?

    @Option(name: .long, help: "With --trace: stop after this many lines.")
    var limit: Int?

    @Flag(name: .long, help: "Show each unit's bytes (NDU payloads: the first 64 bytes).")
    var hex = false

    @Flag(name: .customLong("hex-all"), help: "Like --hex, with every payload byte.")
    var hexAll = false

    @Option(name: .long, help: "Maximum elements of one tensor (refused before allocation).")
    var maxTensorElements: Int = NNRLimits.default.maxTensorElements

    func validate() throws {
        if files.isEmpty { throw ValidationError("at least one bitstream is needed") }
        if tensor != nil && !trace { throw ValidationError("--tensor needs --trace") }
        if limit != nil && !trace { throw ValidationError("--limit needs --trace") }
        if let l = limit, l < 0 { throw ValidationError("--limit must be ≥ 0") }
        if maxTensorElements < 1 { throw ValidationError("--max-tensor-elements must be ≥ 1") }
    }

    func run() throws {
        var inputs: [(path: String, source: NNRByteSource)] = []
        for f in files { inputs.append((f, try openSource(f))) }
        var refs: [String: Tensor]?
        if let r = reference {
            do {
                refs = try ModelFile.readDictionary(URL(fileURLWithPath: r))
            } catch {
                printError("nnr dump: cannot read the reference \(r): \(error)")
                throw ExitStatus.usage
            }
        }
        var limits = NNRLimits.default
        limits.maxTensorElements = maxTensorElements
        let options = DumpOptions(stats: stats || reference != nil, trace: trace, traceTensor: tensor, traceLimit: limit,
                                  hex: hex, hexAll: hexAll, reference: refs, limits: limits)
        let out = DumpOutputBuffer()
        var streamer = DumpStreamer(options: options, format: DumpStreamFormat(rawValue: format.rawValue) ?? .text, write: { out.write($0) })
        streamer.run(inputs)
        let failed = streamer.failed
        let tensorSeen = streamer.tensorSeen
        out.flush()
        if let t = tensor, !tensorSeen { printError("nnr dump: no tensor named \(t)") }
        if failed { throw ExitStatus.invalidInput }
    }
}

/// Buffered standard output (traces can be millions of lines).
final class DumpOutputBuffer {
    private var buffer: [UInt8] = []

    func write(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    func write(bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { flush() }
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}
