import ArgumentParser
import Foundation
import NNRKit

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate NNR bitstreams against the syntax and semantic rules.")
    @Argument(help: "Bitstreams to check.") var files: [String]
    func run() throws { printError("nnr check: not available in this build"); throw ExitStatus.usage }
}
