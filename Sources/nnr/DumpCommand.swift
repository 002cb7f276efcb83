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

