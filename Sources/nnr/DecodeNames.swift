import Foundation
import NNRKit

/// Tensor names that are unsafe as file or archive member names (MemberName.problem): `nnr
/// decode` refuses them (exit 1, nothing written) or, with --sanitize-names, renames them. Decided
/// on the manifest (the names from the unit headers) before any tensor is decoded or written.
enum DecodeNames {
    /// The names to write, in order.
    static func apply(_ names: [String], file: String, sanitize: Bool) throws -> [String] {
        var used = Set(names)
        var out = names
        for i in out.indices {
            guard let problem = MemberName.problem(out[i]) else { continue }
            guard sanitize else {
                printError("nnr decode: \(file): tensor \(MemberName.quoted(out[i])): name is unsafe as a file or archive member name: \(problem) (--sanitize-names renames it)")
                throw ExitStatus.invalidInput
            }
            let base = MemberName.sanitized(out[i])
            var name = base
            var n = 2
            while used.contains(name) {
                name = base + "_\(n)"
                n += 1
            }
            used.insert(name)
            printError("nnr decode: \(file): renamed tensor \(MemberName.quoted(out[i])) to \(MemberName.quoted(name)) (\(problem))")
            out[i] = name
        }
        return out
    }
}
