// What the libFuzzer executables do with an outcome (fuzz package only; not shared with the tests).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum FuzzTrap {
    /// The input as an array (libFuzzer may pass a null pointer with count 0).
    public static func bytes(_ start: UnsafePointer<UInt8>?, _ count: Int) -> [UInt8] {
        guard let start, count > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: start, count: count))
    }

    /// Aborts on a failing outcome, so libFuzzer records the input as a crash.
    public static func check(_ target: String, _ outcome: FuzzOutcome) {
        guard outcome.isFailure else { return }
        fputs("nnr fuzz target \(target): \(outcome)\n", stderr)
        abort()
    }
}
