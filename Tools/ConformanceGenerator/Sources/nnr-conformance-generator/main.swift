// nnr-conformance-generator: builds the negative conformance vectors (Conformance/negative/*.nnc)
// and Conformance/manifest.json from the bundled positive vectors.
//
//   nnr-conformance-generator [--check] [--root DIR]
//
// Without --check the files are written; with --check they are compared and the command exits 1
// when any is stale. DIR is the Conformance/ folder (default: ./Conformance).
// Exit status: 0 written / up to date; 1 stale (--check); 2 usage or build error.

import Foundation
import NNRConformanceGenerator

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data("nnr-conformance-generator: \(message)\n".utf8))
    exit(status)
}

let usage = "usage: nnr-conformance-generator [--check] [--root DIR]"
var check = false
var rootPath = "Conformance"
var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    switch arg {
    case "--check": check = true
    case "--root":
        guard let path = args.popFirst() else { fail(usage, status: 2) }
        rootPath = path
    case "-h", "--help":
        print(usage)
        exit(0)
    default: fail("unknown argument '\(arg)'\n\(usage)", status: 2)
    }
}

let root = URL(fileURLWithPath: rootPath, isDirectory: true)
let suite: ConformanceSuite
do {
    suite = try ConformanceSuiteBuilder(root: root).build()
} catch {
    fail("\(error)", status: 2)
}
if check {
    let differences = suite.differences(from: root)
    for line in differences { print("stale: \(rootPath)/\(line)") }
    if !differences.isEmpty {
        fail("\(differences.count) file(s) stale; run Tools/make-conformance-vectors.sh --negative", status: 1)
    }
    print("\(suite.files.count) negative vectors and manifest.json are up to date in \(rootPath)")
} else {
    do {
        try suite.write(to: root)
    } catch {
        fail("\(error)", status: 2)
    }
    print("wrote \(suite.files.count) negative vectors and manifest.json to \(rootPath)")
}
