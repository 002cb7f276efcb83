import ArgumentParser
import NNRKit

/// The two invocations whose whole run is short enough for start-up to matter — `nnr --version`
/// and `nnr decode FILE... -o OUT` with the plain flags — taken without ArgumentParser's parse.
/// That parse reflects every option of the command tree and looks up protocol conformances by
/// scanning the binary's ~5,600 conformance records: about 14M instructions, 1.4 ms of CPU, more
/// than the rest of start-up (issue 19). Anything else (another option, `--output=X`, `-qo X`, a
/// value starting with "-", a repeated flag, `--help`, an argument the command's `validate()`
/// refuses) returns nil and goes through ArgumentParser as before, which also gives every usage
/// message. The `Decode` built here is the one ArgumentParser would build: the same struct, its
/// options' defaults from `Decode.Defaults`, then its own `validate()` and `run()`.
enum FastPath {
    /// The command for `arguments` (without the program name), or nil for ArgumentParser.
    static func command(_ arguments: [String]) -> ParsableCommand? {
        if arguments == ["--version"] { return Version() }
        guard arguments.first == "decode" else { return nil }
        return decode(arguments.dropFirst())
    }

    /// `nnr --version`: the version of `NNRCommand.configuration`, as ArgumentParser prints it.
    struct Version: ParsableCommand {
        func run() { print(NNRCommand.configuration.version) }
    }

    /// `decode` with positional files, one `-o`/`--output VALUE`, and at most once each of
    /// `--sequential`, `-q`/`--quiet`, `--sanitize-names`, `--sync`.
    static func decode(_ arguments: ArraySlice<String>) -> Decode? {
        var files: [String] = []
        var output: String?
        var sequential = false, quiet = false, sanitizeNames = false, sync = false
        var rest = arguments[...]
        while let token = rest.popFirst() {
            guard !token.isEmpty else { return nil }
            guard token.hasPrefix("-") else {
                files.append(token)
                continue
            }
            switch token {
            case "-o", "--output":
                guard output == nil, let value = rest.popFirst(), !value.isEmpty, !value.hasPrefix("-") else { return nil }
                output = value
            case "--sequential" where !sequential: sequential = true
            case "-q" where !quiet, "--quiet" where !quiet: quiet = true
            case "--sanitize-names" where !sanitizeNames: sanitizeNames = true
            case "--sync" where !sync: sync = true
            default: return nil
            }
        }
        guard let output, !files.isEmpty else { return nil }
        var d = Decode()
        d.files = files
        d.output = output
        d.format = Decode.Defaults.format
        d.dtype = Decode.Defaults.dtype
        d.maxTensorElements = Decode.Defaults.maxTensorElements
        d.shardSize = nil
        d.maxOutputSize = Decode.Defaults.maxOutputSize
        d.sequential = sequential
        d.sanitizeNames = sanitizeNames
        d.quiet = quiet
        d.sync = sync
        d.repeatCount = Decode.Defaults.repeatCount
        guard (try? d.validate()) != nil else { return nil }
        return d
    }
}

extension Decode {
    /// The options' defaults, for the declarations in `Decode` and for `FastPath`.
    enum Defaults {
        static let format = "npz"
        static let dtype = DTypeOption.reference
        static let maxTensorElements = NNRLimits.default.maxTensorElements
        static let repeatCount = 1
        static let maxOutputSize = "64GiB"
    }
}
