import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NNRKit

// Input and output paths as the CLI checks them: before any work, in plain words, each message
// starting with the subcommand ("nnr decode: cannot read x: it is a directory").

/// "nnr encode", "nnr decode", ... once the arguments are parsed (see `NNRCommand.main`).
nonisolated(unsafe) var commandLabel = "nnr"

/// Prints "<command>: <message>" on standard error and returns `code` for the caller to throw.
func failure(_ message: String, _ code: ExitCode = ExitStatus.usage) -> ExitCode {
    printError("\(commandLabel): \(message)")
    return code
}

/// The operating system's words for an errno value ("No such file or directory").
func systemMessage(_ code: Int32) -> String {
    guard let p = strerror(code) else { return "error \(code)" }
    return String(cString: p)
}

/// The cause of a library error in a user's words: no byte offset for I/O failures, no errno
/// numbers, no Swift API names.
func plainCause(_ error: Error) -> String {
    switch error {
    case let e as ModelIOError:
        switch e {
        case let .fileIO(_, _, code): return systemMessage(code)
        case let .limitExceeded(file, tensor, limit, value, maximum):
            return "\(file)\(tensor.map { ": tensor '\($0)'" } ?? ""): \(limit) is \(value), above the limit of \(maximum)"
        case let .dtypeNotRepresentable(_, tensor, dtype, format):
            return "\(format) cannot hold \(dtype.rawValue) tensors (tensor '\(tensor)'); use --dtype float32 or float16, or a .safetensors output"
        default: return e.description
        }
    case let e as NNRError:
        if case let .io(text) = e.reason { return text }
        return e.description
    default:
        return "\(error)"
    }
}

/// Checks that `path` is a readable file (not a directory) and returns its size; exit 2 otherwise.
@discardableResult
func checkInputFile(_ path: String) throws -> Int {
    var info = stat()
    guard stat(path, &info) == 0 else { throw failure("cannot read \(path): \(systemMessage(errno))") }
    guard (info.st_mode & S_IFMT) != S_IFDIR else { throw failure("cannot read \(path): it is a directory") }
    guard access(path, R_OK) == 0 else { throw failure("cannot read \(path): \(systemMessage(errno))") }
    return Int(info.st_size)
}

/// Checks an input as `checkInputFile` does, and refuses an empty file (exit 1): the same
/// message for every subcommand.
func checkNonEmptyInputFile(_ path: String) throws {
    if try checkInputFile(path) == 0 { throw failure("\(path) is empty (0 bytes)", ExitStatus.invalidInput) }
}

/// Opens a bitstream: exit 2 if it cannot be read, 1 if it is empty.
func openSource(_ path: String) throws -> NNRByteSource {
    try checkNonEmptyInputFile(path)
    do {
        return try NNRByteSource(contentsOf: URL(fileURLWithPath: path))
    } catch {
        throw failure("cannot read \(path): \(plainCause(error))")
    }
}

/// The (device, inode) of an existing file, following symbolic links.
private func fileIdentity(_ path: String) -> (dev_t, ino_t)? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return (info.st_dev, info.st_ino)
}

/// Checks, before any work, that `path` can be written as a file: not a directory, not one of
/// `inputs` (compared by the file itself, so through symbolic links and hard links too), in a
/// directory that exists and takes new files. Exit 2 otherwise.
func checkOutputFile(_ path: String, inputs: [String] = []) throws {
    if let out = fileIdentity(path) {
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { throw failure("cannot write \(path): it is a directory") }
        for input in inputs {
            if let id = fileIdentity(input), id == out {
                throw failure("the output \(path) is the input \(input); choose another output file")
            }
        }
    }
    let parent = (path as NSString).deletingLastPathComponent
    try checkOutputDirectory(parent.isEmpty ? "." : parent, for: path)
}

/// Checks that `directory` exists and takes new files (probed by creating and removing one, which
/// also catches read-only file systems and root on pseudo file systems).
func checkOutputDirectory(_ directory: String, for path: String) throws {
    var info = stat()
    guard stat(directory, &info) == 0 else {
        if errno == ENOENT { throw failure("cannot write \(path): the directory \(directory) does not exist") }
        throw failure("cannot write \(path): \(directory): \(systemMessage(errno))")
    }
    guard (info.st_mode & S_IFMT) == S_IFDIR else { throw failure("cannot write \(path): \(directory) is not a directory") }
    let probe = directory + "/.nnr-write-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    guard fd >= 0 else { throw failure("cannot write \(path): cannot create files in \(directory): \(systemMessage(errno))") }
    close(fd)
    unlink(probe)
}
