// libFuzzer entry point of the "check" target: the conformance checker (NNRTools) on the
// bitstreams of the input (split as FuzzEntries.bitstreams does, checked in order by one checker,
// which carries the decoder state and node identities from one to the next). The checker reports
// everything about the content as violations; it must never trap.
import FuzzEntries
import NNRKit

enum CheckEntry {
    static func run(_ data: [UInt8]) -> FuzzOutcome {
        var checker = ConformanceChecker(options: CheckOptions(limits: FuzzEntries.limits, concurrent: false))
        var violations = 0
        for stream in FuzzEntries.bitstreams(data) {
            let report = checker.check(NNRByteSource(bytes: stream), path: "fuzz-input")
            violations += report.violations.count
            guard report.fileSize == stream.count else {
                return .invariantViolated("report file size \(report.fileSize) ≠ \(stream.count)")
            }
        }
        return .ok("\(violations) violations")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheck(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzTrap.check("check", CheckEntry.run(FuzzTrap.bytes(start, count)))
    return 0
}
