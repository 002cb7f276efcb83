// Errors thrown by NNRModelIO. Every case names the file (path, or "<memory>") and, where it
// applies, the tensor or archive member concerned.

/// A failure to read or write a model file. Cases carry the file and tensor name so that the
/// message alone tells the user what is wrong and where.
public enum ModelIOError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An operating-system call failed (`operation` is e.g. "open", "write", "rename"; `errno` its error code).
    case fileIO(file: String, operation: String, errno: Int32)
    /// The file does not start with the magic bytes of `format` ("NPY", "ZIP", ...).
    case badMagic(file: String, tensor: String?, format: String)
    /// The input ended before `what` was complete.
    case truncated(file: String, tensor: String?, what: String)
    /// A header (NPY dict, safetensors JSON, ZIP record) is syntactically or semantically invalid.
    case malformedHeader(file: String, tensor: String?, message: String)
    /// The NPY header says `fortran_order: True`; only C-order arrays are supported.
    case fortranOrderUnsupported(file: String, tensor: String?)
    /// The element type string is not one this module supports.
    case unsupportedDType(file: String, tensor: String?, dtype: String)
    /// The number of data bytes does not equal prod(shape) * byteWidth.
    case shapeSizeMismatch(file: String, tensor: String?, shape: [Int], expectedBytes: Int, actualBytes: Int)
    /// The shape is invalid (negative dimension, too many dimensions, element count overflow).
    case invalidShape(file: String, tensor: String?, message: String)
    /// A size read from the input exceeds a ``ModelIOLimits`` value (`limit` names it).
    case limitExceeded(file: String, tensor: String?, limit: String, value: UInt64, maximum: UInt64)
    /// A ZIP member's CRC-32 does not match its data.
    case crcMismatch(file: String, member: String, expected: UInt32, actual: UInt32)
    /// A ZIP member uses a compression method other than stored (0) or deflate (8), or is encrypted.
    case unsupportedCompression(file: String, member: String, method: UInt16)
    /// zlib failed to inflate/deflate a member.
    case compressionFailed(file: String, member: String, message: String)
    /// The ZIP structure (end of central directory, central directory, local headers) is invalid.
    case malformedArchive(file: String, message: String)
    /// A safetensors `data_offsets` pair lies outside the data section or is reversed.
    case offsetsOutOfRange(file: String, tensor: String, begin: UInt64, end: UInt64, dataSize: UInt64)
    /// Two safetensors tensors' byte ranges overlap.
    case overlappingOffsets(file: String, tensor: String, other: String)
    /// The same tensor name appears twice.
    case duplicateTensor(file: String, tensor: String)
    /// A requested tensor is not in the file.
    case tensorNotFound(file: String, tensor: String)
    /// The file's format could not be determined from its extension or first bytes.
    case unknownFormat(file: String)
    /// A tensor handed to a writer is inconsistent (storage size vs shape, negative dims, ...).
    case invalidTensor(file: String, tensor: String, message: String)
    /// The tensor's dtype cannot be represented in the requested format (bfloat16 in NPY).
    case dtypeNotRepresentable(file: String, tensor: String, dtype: TensorDType, format: String)
    /// The request itself is invalid for the format (e.g. several tensors written to one .npy).
    case invalidRequest(file: String, message: String)
    /// The system refused memory for a tensor's data (e.g. under an address-space limit).
    case outOfMemory(file: String, tensor: String?, bytes: Int)
    /// A tensor name cannot be a file or archive member name (see ``MemberName/problem(_:)``).
    case unsafeName(file: String, tensor: String, problem: String)

    public var description: String {
        func where_(_ file: String, _ tensor: String?) -> String {
            if let tensor { return "\(file): tensor '\(tensor)'" }
            return file
        }
        switch self {
        case let .fileIO(file, operation, errno):
            return "\(file): \(operation) failed (errno \(errno): \(errnoDescription(errno)))"
        case let .badMagic(file, tensor, format):
            return "\(where_(file, tensor)): not a \(format) file (bad magic bytes)"
        case let .truncated(file, tensor, what):
            return "\(where_(file, tensor)): truncated input: \(what) is incomplete"
        case let .malformedHeader(file, tensor, message):
            return "\(where_(file, tensor)): malformed header: \(message)"
        case let .fortranOrderUnsupported(file, tensor):
            return "\(where_(file, tensor)): fortran_order=True arrays are not supported (save the array in C order, e.g. np.ascontiguousarray)"
        case let .unsupportedDType(file, tensor, dtype):
            return "\(where_(file, tensor)): unsupported dtype '\(dtype)'"
        case let .shapeSizeMismatch(file, tensor, shape, expected, actual):
            return "\(where_(file, tensor)): shape \(shape) needs \(expected) data bytes but \(actual) are present"
        case let .invalidShape(file, tensor, message):
            return "\(where_(file, tensor)): invalid shape: \(message)"
        case let .limitExceeded(file, tensor, limit, value, maximum):
            return "\(where_(file, tensor)): \(limit) is \(value), above the limit of \(maximum) (raise ModelIOLimits.\(limit) if the file is trusted)"
        case let .crcMismatch(file, member, expected, actual):
            return "\(file): member '\(member)': CRC-32 mismatch (archive says 0x\(hex32(expected)), data gives 0x\(hex32(actual)))"
        case let .unsupportedCompression(file, member, method):
            return "\(file): member '\(member)': unsupported compression method \(method) (only stored=0 and deflate=8, unencrypted)"
        case let .compressionFailed(file, member, message):
            return "\(file): member '\(member)': \(message)"
        case let .malformedArchive(file, message):
            return "\(file): malformed ZIP archive: \(message)"
        case let .offsetsOutOfRange(file, tensor, begin, end, dataSize):
            return "\(file): tensor '\(tensor)': data_offsets [\(begin), \(end)] outside the data section of \(dataSize) bytes"
        case let .overlappingOffsets(file, tensor, other):
            return "\(file): tensor '\(tensor)': data_offsets overlap those of tensor '\(other)'"
        case let .duplicateTensor(file, tensor):
            return "\(file): tensor '\(tensor)' appears more than once"
        case let .tensorNotFound(file, tensor):
            return "\(file): no tensor named '\(tensor)'"
        case let .unknownFormat(file):
            return "\(file): unknown model file format (expected .safetensors, .npz or .npy)"
        case let .invalidTensor(file, tensor, message):
            return "\(file): tensor '\(tensor)': \(message)"
        case let .dtypeNotRepresentable(file, tensor, dtype, format):
            return "\(file): tensor '\(tensor)': dtype \(dtype.rawValue) cannot be stored in \(format) (convert it first, e.g. tensor.converted(to: .float32))"
        case let .invalidRequest(file, message):
            return "\(file): \(message)"
        case let .outOfMemory(file, tensor, bytes):
            return "\(where_(file, tensor)): cannot allocate \(bytes) bytes for the tensor's data"
        case let .unsafeName(file, tensor, problem):
            return "\(file): tensor \(MemberName.quoted(tensor)): name is unsafe as a file or archive member name: \(problem)"
        }
    }
}

private func hex32(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, 8 - s.count)) + s
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

func errnoDescription(_ code: Int32) -> String {
    guard let p = strerror(code) else { return "unknown error" }
    return String(cString: p)
}

/// Size limits applied to untrusted input before any allocation. The defaults accept real
/// multi-billion-parameter checkpoints while bounding what a corrupt header can make us allocate.
public struct ModelIOLimits: Sendable, Equatable {
    /// Largest single tensor (bytes). Default 32 GiB.
    public var maxTensorBytes: Int
    /// Largest sum of all tensors in one file (bytes). Default 256 GiB.
    public var maxTotalBytes: Int
    /// Largest NPY header / safetensors JSON header (bytes). Default 100 MiB (the safetensors reference limit).
    public var maxHeaderBytes: Int
    /// Most tensors (archive members) in one file. Default 1,000,000.
    public var maxTensors: Int
    /// Most dimensions of one tensor. Default 64 (numpy's limit).
    public var maxRank: Int
    /// Longest tensor name (UTF-8 bytes). Default 65,535 (the ZIP limit).
    public var maxNameBytes: Int

    public init(maxTensorBytes: Int = 32 << 30, maxTotalBytes: Int = 256 << 30, maxHeaderBytes: Int = 100 << 20,
                maxTensors: Int = 1_000_000, maxRank: Int = 64, maxNameBytes: Int = 65_535) {
        self.maxTensorBytes = maxTensorBytes
        self.maxTotalBytes = maxTotalBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.maxTensors = maxTensors
        self.maxRank = maxRank
        self.maxNameBytes = maxNameBytes
    }

    public static let `default` = ModelIOLimits()
}
