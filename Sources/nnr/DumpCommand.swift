import ArgumentParser
import Foundation
import NNRKit

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the structure of an NNR bitstream: every unit with its offset, size, type and header fields.")

    @Argument(help: "The NNR bitstream to inspect.")
    var file: String

    @Option(name: .long, help: "Output format: text, json or xml.")
    var format: OutputFormat = .text

    func run() throws {
        let source = try openSource(file)
        let structure = BitstreamStructure.read(source)
        switch format {
        case .text: print(UnitListRenderer.text(structure), terminator: "")
        case .json, .xml: print(UnitListRenderer.json(structure).serialized(indent: 1))
        }
        if structure.error != nil { throw ExitStatus.invalidInput }
    }
}

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Decode NNR bitstreams to .npz or .safetensors tensors.")
    @Argument(help: "Bitstreams (an incremental sequence decodes in order).") var files: [String]
    @Option(name: .shortAndLong, help: "Output file (.npz, .safetensors) or directory for several inputs.") var output: String
    func run() throws { printError("nnr decode: not available in this build"); throw ExitStatus.usage }
}

struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Encode a model (.safetensors, .npz) into an NNR bitstream.")
    @Argument(help: "Model file.") var input: String
    @Option(name: .shortAndLong, help: "Output NNR bitstream.") var output: String
    func run() throws { printError("nnr encode: not available in this build"); throw ExitStatus.usage }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate NNR bitstreams against the syntax and semantic rules.")
    @Argument(help: "Bitstreams to check.") var files: [String]
    func run() throws { printError("nnr check: not available in this build"); throw ExitStatus.usage }
}
