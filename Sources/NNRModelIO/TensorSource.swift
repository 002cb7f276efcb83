// Tensor sources: models read one tensor at a time, so that nothing needs the whole model in
// memory. A safetensors file is read with pread (the header first, every data_offsets pair
// checked against the file's real size before any data is read); a Hugging Face checkpoint is
// its index plus the shards it names, resolved inside the index's folder only.

import Foundation
import NNRBitIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Tensors known up front (name, shape, dtype) and read one at a time, in manifest order.
public protocol TensorSource: AnyObject {
    /// Every tensor, in the order they are read.
    var manifest: [TensorManifestEntry] { get }
    /// Reads tensor `index` of the manifest.
    func readTensor(at index: Int) throws -> Tensor
}

extension TensorSource {
    /// Total bytes of tensor data.
    public var totalBytes: Int {
        manifest.reduce(0) { $0 > Int.max - $1.byteCount ? Int.max : $0 + $1.byteCount }
    }

    /// Hands every tensor to `sink`, one at a time.
    public func copy<S: TensorSink>(to sink: inout S) throws {
        try sink.begin(manifest: manifest)
        for i in manifest.indices { try sink.consume(try readTensor(at: i)) }
        try sink.finish()
    }
}

/// Tensors already in memory (the .npz and .npy readers load whole files).
public final class InMemoryTensorSource: TensorSource {
    public let tensors: [Tensor]
    public let manifest: [TensorManifestEntry]
    public init(_ tensors: [Tensor]) {
        self.tensors = tensors
        self.manifest = tensors.map { TensorManifestEntry(name: $0.name, shape: $0.shape, dtype: $0.dtype) }
    }
    public func readTensor(at index: Int) throws -> Tensor { tensors[index] }
}

/// A safetensors file read tensor by tensor with `pread`; only the header is held.
public final class SafetensorsReader: TensorSource, @unchecked Sendable {
    public let file: String
    /// The file's size when it was opened.
    public let fileSize: Int
    public let metadata: [String: String]
    /// Tensors in data-offset order.
    public let tensors: [SafetensorsTensorInfo]
    public let manifest: [TensorManifestEntry]
    private let dataStart: Int
    private let fd: Int32

    public init(url: URL, limits: ModelIOLimits = .default) throws {
        let path = url.path
        file = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ModelIOError.fileIO(file: path, operation: "open", errno: errno) }
        fd = descriptor
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let code = errno
            close(descriptor)
            throw ModelIOError.fileIO(file: path, operation: "stat", errno: code)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            throw ModelIOError.fileIO(file: path, operation: "read", errno: (info.st_mode & S_IFMT) == S_IFDIR ? EISDIR : EINVAL)
        }
        let fileSize = Int(info.st_size)
        self.fileSize = fileSize
        let parsed: SafetensorsFile.Parsed
        do {
            let prefix = try SafetensorsReader.pread(descriptor, count: min(8, fileSize), at: 0, file: path, tensor: nil)
            let headerLength = try prefix.withUnsafeBytes {
                try SafetensorsFile.checkedHeaderLength($0, fileSize: fileSize, file: path, limits: limits)
            }
            let head = try SafetensorsReader.pread(descriptor, count: 8 + headerLength, at: 0, file: path, tensor: nil)
            parsed = try head.withUnsafeBytes {
                try SafetensorsFile.parseHeader($0, headerLength: headerLength, fileSize: fileSize, file: path, limits: limits)
            }
        } catch {
            close(descriptor)
            throw error
        }
        metadata = parsed.metadata
        tensors = parsed.tensors
        dataStart = parsed.dataStart
        manifest = parsed.tensors.map { TensorManifestEntry(name: $0.name, shape: $0.shape, dtype: $0.dtype) }
    }

    deinit { close(fd) }

    public func readTensor(at index: Int) throws -> Tensor {
        try read(tensors[index])
    }

    /// Reads one tensor's bytes (checked against the header when it was opened).
    public func read(_ info: SafetensorsTensorInfo) throws -> Tensor {
        let storage = try SafetensorsReader.pread(fd, count: info.byteCount, at: dataStart + info.dataOffsets.lowerBound,
                                                  file: file, tensor: info.name)
        return Tensor(name: info.name, dtype: info.dtype, shape: info.shape, storage: storage)
    }

    /// Exactly `count` bytes at `offset`; a short file is a truncation error.
    static func pread(_ fd: Int32, count: Int, at offset: Int, file: String, tensor: String?) throws -> [UInt8] {
        // A large tensor's fresh memory on huge pages (the encoder quantizes float32 in place).
        try HugePages.byteArray(count: count) { base in
            var done = 0
            while done < count {
                let n = systemPread(fd, base + done, min(count - done, 1 << 30), off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ModelIOError.fileIO(file: file, operation: "read", errno: errno)
                }
                if n == 0 {
                    throw ModelIOError.truncated(file: file, tensor: tensor,
                                                 what: "data (\(count) bytes at offset \(offset), the file ends after \(done) of them)")
                }
                done += n
            }
        }
    }
}

private func systemPread(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ count: Int, _ offset: off_t) -> Int {
    #if canImport(Glibc)
    return Glibc.pread(fd, p, count, offset)
    #elseif canImport(Musl)
    return Musl.pread(fd, p, count, offset)
    #else
    return Darwin.pread(fd, p, count, offset)
    #endif
}

/// A Hugging Face sharded checkpoint: `model.safetensors.index.json` (its `weight_map` maps each
/// tensor to a shard file in the same folder) and the shards. Shards are read in name order,
/// tensors in file order within each. Every shard name must stay inside the index's folder (no
/// absolute path, no `..`, no symlink leading out), every shard must exist, and each shard's
/// header must list exactly the tensors the index maps to it.
public final class HuggingFaceCheckpoint: TensorSource, @unchecked Sendable {
    public static let indexFileName = "model.safetensors.index.json"

    public let indexURL: URL
    public let directory: URL
    /// Shard files in reading order.
    public let shards: [SafetensorsReader]
    /// `metadata.total_size` of the index, if present.
    public let totalSize: Int?
    public let manifest: [TensorManifestEntry]
    private let locations: [(shard: Int, tensor: Int)]

    /// Whether `url` names an index file (by name) or a folder holding `model.safetensors.index.json`.
    public static func isCheckpoint(_ url: URL) -> Bool {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue {
            return FileManager.default.fileExists(atPath: url.appendingPathComponent(indexFileName).path)
        }
        return url.lastPathComponent.hasSuffix(".index.json")
    }

    /// Opens `url`: an index file, or the folder holding `model.safetensors.index.json`.
    public init(url: URL, limits: ModelIOLimits = .default) throws {
        var isDir: ObjCBool = false
        let index = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) && isDir.boolValue
            ? url.appendingPathComponent(HuggingFaceCheckpoint.indexFileName) : url
        indexURL = index
        directory = index.deletingLastPathComponent()
        let indexPath = index.path
        func malformed(_ message: String) -> ModelIOError {
            ModelIOError.malformedHeader(file: indexPath, tensor: nil, message: message)
        }
        // The index: a small JSON file, size-checked before it is read.
        let reader = try SafetensorsReaderFile(url: index)
        guard reader.size <= limits.maxHeaderBytes else {
            throw ModelIOError.limitExceeded(file: indexPath, tensor: nil, limit: "maxHeaderBytes",
                                             value: UInt64(reader.size), maximum: UInt64(max(0, limits.maxHeaderBytes)))
        }
        let bytes = try reader.readAll()
        let root: JSONValue
        do {
            root = try bytes.withUnsafeBytes { raw in
                var parser = JSONParser(raw)
                return try parser.parseDocument()
            }
        } catch let failure as JSONParser.Failure {
            throw malformed("invalid JSON at byte \(failure.offset): \(failure.message)")
        }
        guard case let .object(top) = root else { throw malformed("the index is not a JSON object") }
        guard case let .object(map)? = top.first(where: { $0.0 == "weight_map" })?.1 else {
            throw malformed("no 'weight_map' object")
        }
        var total: Int? = nil
        if case let .object(meta)? = top.first(where: { $0.0 == "metadata" })?.1,
           let t = meta.first(where: { $0.0 == "total_size" })?.1.unsignedInteger, t <= UInt64(Int.max) {
            total = Int(t)
        }
        totalSize = total
        guard map.count <= limits.maxTensors else {
            throw ModelIOError.limitExceeded(file: indexPath, tensor: nil, limit: "maxTensors",
                                             value: UInt64(map.count), maximum: UInt64(max(0, limits.maxTensors)))
        }
        var shardOf: [String: String] = [:]
        for (name, value) in map {
            guard case let .string(shard) = value else {
                throw ModelIOError.malformedHeader(file: indexPath, tensor: name, message: "weight_map value is a \(value.kindName), not a file name")
            }
            guard shardOf.updateValue(shard, forKey: name) == nil else { throw ModelIOError.duplicateTensor(file: indexPath, tensor: name) }
        }
        let shardNames = Set(shardOf.values).sorted()
        let root_ = try HuggingFaceCheckpoint.realPath(directory, file: indexPath)
        var readers: [SafetensorsReader] = []
        for name in shardNames {
            let url = try HuggingFaceCheckpoint.resolveShard(name, in: directory, realDirectory: root_, index: indexPath)
            readers.append(try SafetensorsReader(url: url, limits: limits))
        }
        // Each shard's header must list exactly the tensors the index maps to it.
        var manifest: [TensorManifestEntry] = []
        var locations: [(Int, Int)] = []
        for (s, reader) in readers.enumerated() {
            let shardName = shardNames[s]
            var listed = Set<String>()
            for (t, info) in reader.tensors.enumerated() {
                listed.insert(info.name)
                guard let mapped = shardOf[info.name] else {
                    throw ModelIOError.malformedHeader(file: reader.file, tensor: info.name,
                                                       message: "the shard's header lists this tensor but \(indexPath) does not")
                }
                guard mapped == shardName else {
                    throw ModelIOError.malformedHeader(file: reader.file, tensor: info.name,
                                                       message: "the shard's header lists this tensor but \(indexPath) places it in '\(mapped)'")
                }
                manifest.append(reader.manifest[t])
                locations.append((s, t))
            }
            for (name, mapped) in shardOf where mapped == shardName && !listed.contains(name) {
                throw ModelIOError.malformedHeader(file: reader.file, tensor: name,
                                                   message: "\(indexPath) places this tensor in this shard but the shard's header does not list it")
            }
        }
        self.shards = readers
        self.manifest = manifest
        self.locations = locations
    }

    public func readTensor(at index: Int) throws -> Tensor {
        let (s, t) = locations[index]
        return try shards[s].readTensor(at: t)
    }

    /// The shard's URL, if `name` is a plain relative path that stays inside `directory`
    /// (also after symlinks are resolved) and the file exists.
    static func resolveShard(_ name: String, in directory: URL, realDirectory: String, index: String) throws -> URL {
        let components = name.split(separator: "/", omittingEmptySubsequences: false)
        guard !name.isEmpty, !name.hasPrefix("/"), !name.utf8.contains(0), !name.contains("\\"),
              !components.contains(where: { $0 == ".." || $0.isEmpty }) else {
            throw ModelIOError.malformedHeader(file: index, tensor: nil,
                                               message: "shard path '\(name)' leaves the folder \(directory.path) (absolute, '..' or empty component): refused")
        }
        let url = directory.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ModelIOError.malformedHeader(file: index, tensor: nil, message: "shard '\(name)' named in weight_map does not exist (\(url.path))")
        }
        let real = try realPath(url, file: url.path)
        guard real.hasPrefix(realDirectory == "/" ? "/" : realDirectory + "/") else {
            throw ModelIOError.malformedHeader(file: index, tensor: nil,
                                               message: "shard path '\(name)' resolves to \(real), outside the folder \(realDirectory): refused")
        }
        return URL(fileURLWithPath: real)
    }

    static func realPath(_ url: URL, file: String) throws -> String {
        guard let p = realpath(url.path, nil) else { throw ModelIOError.fileIO(file: file, operation: "resolve path", errno: errno) }
        defer { free(p) }
        return String(cString: p)
    }
}

/// A small regular file read whole with pread (the index of a checkpoint).
struct SafetensorsReaderFile {
    let path: String
    let size: Int
    init(url: URL) throws {
        path = url.path
        var info = stat()
        guard stat(path, &info) == 0 else { throw ModelIOError.fileIO(file: path, operation: "open", errno: errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw ModelIOError.fileIO(file: path, operation: "read", errno: EISDIR) }
        size = Int(info.st_size)
    }
    func readAll() throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ModelIOError.fileIO(file: path, operation: "open", errno: errno) }
        defer { close(fd) }
        return try SafetensorsReader.pread(fd, count: size, at: 0, file: path, tensor: nil)
    }
}

public enum ModelSource {
    /// Opens a model for reading tensor by tensor: a Hugging Face index (or its folder) and
    /// safetensors files are streamed; .npz and .npy files are read whole.
    public static func open(_ url: URL, limits: ModelIOLimits = .default) throws -> any TensorSource {
        if HuggingFaceCheckpoint.isCheckpoint(url) { return try HuggingFaceCheckpoint(url: url, limits: limits) }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue {
            let single = url.appendingPathComponent("model.safetensors")
            if FileManager.default.fileExists(atPath: single.path) { return try SafetensorsReader(url: single, limits: limits) }
            throw ModelIOError.invalidRequest(file: url.path,
                                              message: "the folder holds neither \(HuggingFaceCheckpoint.indexFileName) nor model.safetensors")
        }
        if try ModelFile.detectFormat(url) == .safetensors { return try SafetensorsReader(url: url, limits: limits) }
        return InMemoryTensorSource(try ModelFile.read(url, limits: limits))
    }
}
