import ArgumentParser
import Foundation
import NNRKit

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Decode NNR bitstreams to .npz or .safetensors tensors.")
    @Argument(help: "Bitstreams (an incremental sequence decodes in order).") var files: [String]
    @Option(name: .shortAndLong, help: "Output file (.npz, .safetensors) or directory for several inputs.") var output: String
    func run() throws { printError("nnr decode: not available in this build"); throw ExitStatus.usage }
}

