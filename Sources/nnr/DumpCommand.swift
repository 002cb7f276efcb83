import ArgumentParser
import Foundation
import NNRKit

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",  // spelled out: deriving it from the type name costs ~1 ms at start-up
        abstract: "Show what is inside NNR bitstreams: units, headers, every field down to its bits, tensors, payload bins.",
        discussion: """
            Without options: every unit with its offset and size, each syntax structure, and one \
            line per syntax element (byte.bit offset, descriptor, width, bits as read, name = \
            value, enum names), with derived values (step size, tensor shapes, CbZeroOffset, \
            codebook entries, entry points) under the elements they come from; then one line per \
            tensor. Only unit headers are read (and the first bytes of each NDU payload, for the \
            first tensor's qp_offset).

            --stats decodes the payloads: level range, zeros, a histogram and, with --reference, \
            the SNR. --trace prints every payload syntax element (unit tensor pos row,col dq ctx \
            bins element = value). Several files are an incremental sequence, decoded in order \
            with the decoder state carried over.

            Formats: text, json, xml (schema: Spec/dump.xsd), html (one self-contained page: unit \
            tree, hex view, tensor charts; -o writes it to a file). See Spec/dump.md.

            Exit codes: 0 success; 1 invalid input (everything before the error is shown, then \
            the error with its offset and the bytes around it; an empty file is invalid input \
            too); 2 usage or I/O error.
            """)

    @Argument(help: "Bitstreams (several: an incremental sequence, decoded in order for --stats/--trace).")
    var files: [String]

    @Option(name: .long, help: "Output format: text, json, xml or html.")
    var format: OutputFormat = .text

    @Option(name: .shortAndLong, help: "Write the output to this file (written whole, then renamed into place) instead of standard output.")
    var output: String?

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
            try checkInputFile(r)
            do {
                refs = try ModelFile.readDictionary(URL(fileURLWithPath: r))
            } catch {
                throw failure("cannot read the reference \(r): \(plainCause(error))")
            }
        }
        var limits = NNRLimits.default
        limits.maxTensorElements = maxTensorElements
        let options = DumpOptions(stats: stats || reference != nil, trace: trace, traceTensor: tensor, traceLimit: limit,
                                  hex: hex, hexAll: hexAll, reference: refs, limits: limits)
        let out = DumpOutputBuffer(keep: output != nil && format != .html)
        let failed: Bool
        let tensorSeen: Bool
        if format == .html {
            // Written as it is made: into the file of -o (renamed into place at the end), or to
            // standard output.
            let report = NNRDump.dump(inputs, options: options)
            let sources = inputs.map(\.source)
            if let path = output {
                do {
                    try AtomicFile.withWriter(to: URL(fileURLWithPath: path)) { w in
                        try DumpHTMLRenderer.render(report, sources: sources) { try w.write(Array($0.utf8)) }
                    }
                } catch {
                    printError("nnr dump: cannot write \(path): \(error)")
                    throw ExitStatus.usage
                }
            } else {
                DumpHTMLRenderer.render(report, sources: sources) { out.write($0) }
            }
            failed = report.hasError
            tensorSeen = report.files.contains { $0.tensors.contains { $0.name == tensor } }
        } else {
            var streamer = DumpStreamer(options: options, format: DumpStreamFormat(rawValue: format.rawValue) ?? .text, writeBytes: { out.write(bytes: $0) })
            streamer.run(inputs)
            failed = streamer.failed
            tensorSeen = streamer.tensorSeen
        }
        if let path = output, format != .html {
            do {
                try out.save(to: path)
            } catch {
                printError("nnr dump: cannot write \(path): \(error)")
                throw ExitStatus.usage
            }
        }
        out.flush()
        if let t = tensor, !tensorSeen { printError("nnr dump: no tensor named \(t)") }
        if failed { throw ExitStatus.invalidInput }
    }
}

/// Buffered standard output (traces can be millions of lines), or everything kept for `-o`.
final class DumpOutputBuffer {
    private var buffer: [UInt8] = []
    /// Kept until `save(to:)` instead of flushed to standard output.
    private let keep: Bool

    init(keep: Bool = false) { self.keep = keep }

    func write(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        if !keep && buffer.count >= 1 << 16 { flush() }
    }

    func write(bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if !keep && buffer.count >= 1 << 16 { flush() }
    }

    /// Writes what was kept to `path` (temporary file, then rename) and drops it.
    func save(to path: String) throws {
        try AtomicFile.write(buffer, to: URL(fileURLWithPath: path))
        buffer.removeAll()
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}
