import ArgumentParser
import Foundation
import NNRKit

struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Encode a model (.safetensors, .npz) into an NNR bitstream.")
    @Argument(help: "Model file.") var input: String
    @Option(name: .shortAndLong, help: "Output NNR bitstream.") var output: String
    func run() throws { printError("nnr encode: not available in this build"); throw ExitStatus.usage }
}

