import Foundation
import NNRKit

/// Tensor names that are unsafe as file or archive member names (MemberName.problem): `nnr
/// decode` refuses them (exit 1, nothing written) or, with --sanitize-names, renames them.
enum DecodeNames {
    static func apply(_ tensors: [Tensor], file: String, sanitize: Bool) throws -> [Tensor] {
        var used = Set(tensors.map(\.name))
        var out = tensors
        for i in out.indices {
            guard let problem = MemberName.problem(out[i].name) else { continue }
            guard sanitize else {
                printError("nnr decode: \(file): tensor \(MemberName.quoted(out[i].name)): name is unsafe as a file or archive member name: \(problem) (--sanitize-names renames it)")
                throw ExitStatus.invalidInput
            }
            let base = MemberName.sanitized(out[i].name)
            var name = base
            var n = 2
            while used.contains(name) {
                name = base + "_\(n)"
                n += 1
            }
            used.insert(name)
            printError("nnr decode: \(file): renamed tensor \(MemberName.quoted(out[i].name)) to \(MemberName.quoted(name)) (\(problem))")
            out[i].name = name
        }
        return out
    }
}
