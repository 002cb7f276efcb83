import ArgumentParser
import Foundation
import NNRKit

enum CheckFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, html
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",  // spelled out: deriving it from the type name costs ~1 ms at start-up
        abstract: "Validate NNR bitstreams against the syntax and semantic rules.",
        discussion: """
            Checks every rule of Spec/conformance-rules.md (--list-rules prints them) and decodes \
            every NDU; each violation is reported with its rule ID, unit index, byte/bit offset and \
            a message, and every decoded tensor with the SHA-256 of its raw little-endian bytes.

            Several FILEs are an incremental sequence: they are checked in order with the decoder \
            state (TCA bases, HDSP histories, node identities) carried from one to the next, as \
            `nnr decode` does.

            --reference compares the decoded tensors bit for bit (dtype, shape, bytes) with an \
            .npz/.safetensors file: give one per FILE, or one for the last FILE.

            Exit status: 0 every file conforms (and matches its reference), 1 a file does not, \
            2 usage or I/O error. Warnings do not fail a file unless --strict.
            """)

    @Argument(help: "Bitstreams to check (several: an incremental sequence, in decoding order).")
    var files: [String] = []

    @Option(name: .long, help: "Report format on standard output: text, json or html (the dump page of each file with its violations).")
    var format: CheckFormat = .text

    @Option(name: .long, help: "Also write a JUnit XML report to this file.")
    var junit: String?

    @Option(name: .long, help: "Reference tensors (.npz or .safetensors) to compare with; one per FILE, or one for the last FILE.")
    var reference: [String] = []

    @Flag(name: .long, help: "Print the rules (ID, severity, statement) and exit.")
    var listRules = false

    @Flag(name: .long, help: "Warnings fail a file too.")
    var strict = false

    @Flag(name: .long, help: "Decode NDUs one after another (no concurrency).")
    var sequential = false

    @Option(name: .long, help: "Maximum elements of one tensor (refused before allocation).")
    var maxTensorElements: Int = NNRLimits.default.maxTensorElements

    func validate() throws {
        if listRules { return }
        if files.isEmpty { throw ValidationError("at least one bitstream is needed (or --list-rules)") }
        if !reference.isEmpty && reference.count != 1 && reference.count != files.count {
            throw ValidationError("give one --reference per bitstream, or one for the last bitstream")
        }
        if maxTensorElements < 1 { throw ValidationError("--max-tensor-elements must be at least 1") }
    }

    func run() throws {
        if listRules {
            switch format {
            case .text, .html: print(CheckRendering.rulesText(), terminator: "")
            case .json: print(CheckRendering.rulesJSON().serialized(indent: 1))
            }
            return
        }
        // Every input is read before anything is checked, so I/O errors come first (exit 2).
        var sources: [NNRByteSource] = []
        for f in files { try checkInputFile(f) }
        for path in reference { try checkInputFile(path) }
        if let path = junit { try checkOutputFile(path, inputs: files + reference) }
        for f in files { sources.append(try openSource(f)) }
        var references: [Int: (path: String, tensors: [Tensor])] = [:]
        for (k, path) in reference.enumerated() {
            let target = reference.count == files.count ? k : files.count - 1
            do {
                references[target] = (path, try ModelFile.read(URL(fileURLWithPath: path)))
            } catch {
                throw failure("cannot read the reference \(path): \(plainCause(error))")
            }
        }

        var limits = NNRLimits.default
        limits.maxTensorElements = maxTensorElements
        var checker = ConformanceChecker(options: CheckOptions(limits: limits, concurrent: !sequential))
        var reports: [FileCheckReport] = []
        for (i, f) in files.enumerated() {
            let ref = references[i]
            checker.options.carryState = i + 1 < files.count
            reports.append(checker.check(sources[i], path: f, reference: ref?.tensors, referencePath: ref?.path))
        }

        switch format {
        case .text: print(CheckRendering.text(reports, strict: strict), terminator: "")
        case .json: print(CheckRendering.json(reports, strict: strict).serialized(indent: 1))
        case .html:
            var options = DumpOptions()
            options.limits = limits
            FileHandle.standardOutput.write(Data(CheckHTMLRenderer.render(reports, sources: sources, strict: strict, options: options).utf8))
        }
        if let path = junit {
            let xml = JUnitReport.xml(reports, strict: strict, timestamp: Date())
            do {
                try AtomicFile.write(Array(xml.utf8), to: URL(fileURLWithPath: path))
            } catch {
                throw failure("cannot write \(path): \(plainCause(error))")
            }
        }
        if !reports.allSatisfy({ $0.passed(strict: strict) }) { throw ExitStatus.invalidInput }
    }
}
