// safetensors: u64 LE header length N, N bytes of JSON header, then the data section.
// Header: {"__metadata__": {string: string}, "NAME": {"dtype": "F32", "shape": [..],
// "data_offsets": [begin, end]}, ...} with offsets relative to the data section.

import Foundation

/// Where one tensor lives in a safetensors file.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    public var name: String
    public var dtype: TensorDType
    public var shape: [Int]
    /// Byte range within the data section (after the 8-byte length and the header).
    public var dataOffsets: Range<Int>
    public var byteCount: Int { dataOffsets.count }
}

/// A parsed safetensors file whose data stays in the (memory-mapped) file until a tensor is
/// loaded. Header validation happens in the initialiser; ``load(_:)`` copies one tensor.
public struct SafetensorsFile: Sendable {
    /// The path used in error messages ("<memory>" for in-memory data).
    public let file: String
    /// The `__metadata__` string map (empty if absent).
    public let metadata: [String: String]
    /// Tensors in data-offset order (the order their bytes appear in the file).
    public let tensors: [SafetensorsTensorInfo]

    private let data: Data
    private let dataStart: Int
    private let index: [String: Int]

    /// Tensor names in data-offset order.
    public var tensorNames: [String] { tensors.map(\.name) }

    /// Opens and validates `url`, memory-mapping it.
    public init(url: URL, limits: ModelIOLimits = .default) throws {
        try self.init(data: try readFileData(url), file: url.path, limits: limits)
    }

    /// Validates safetensors bytes held in `data` (which is retained, not copied).
    public init(data: Data, file: String = "<memory>", limits: ModelIOLimits = .default) throws {
        self.file = file
        self.data = data
        let parsed = try data.withUnsafeBytes { raw in
            try SafetensorsFile.parseHeader(raw, file: file, limits: limits)
        }
        self.metadata = parsed.metadata
        self.tensors = parsed.tensors
        self.dataStart = parsed.dataStart
        var index: [String: Int] = [:]
        for (i, t) in parsed.tensors.enumerated() { index[t.name] = i }
        self.index = index
    }

    /// Location and type of `name`, or nil if absent.
    public func info(_ name: String) -> SafetensorsTensorInfo? {
        index[name].map { tensors[$0] }
    }

    /// Copies tensor `name` out of the file.
    public func load(_ name: String) throws -> Tensor {
        guard let i = index[name] else { throw ModelIOError.tensorNotFound(file: file, tensor: name) }
        return load(tensors[i])
    }

    /// Copies every tensor, in data-offset order.
    public func loadAll() throws -> [Tensor] {
        tensors.map(load)
    }

    /// Calls `body` with the raw little-endian bytes of `name`, without copying.
    public func withUnsafeBytes<R>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard let i = index[name] else { throw ModelIOError.tensorNotFound(file: file, tensor: name) }
        let info = tensors[i]
        return try data.withUnsafeBytes { raw in
            try body(UnsafeRawBufferPointer(rebasing: raw[(dataStart + info.dataOffsets.lowerBound)..<(dataStart + info.dataOffsets.upperBound)]))
        }
    }

    private func load(_ info: SafetensorsTensorInfo) -> Tensor {
        let storage = data.withUnsafeBytes { raw in
            [UInt8](UnsafeRawBufferPointer(rebasing: raw[(dataStart + info.dataOffsets.lowerBound)..<(dataStart + info.dataOffsets.upperBound)]))
        }
        return Tensor(name: info.name, dtype: info.dtype, shape: info.shape, storage: storage)
    }

    struct Parsed {
        var metadata: [String: String]
        var tensors: [SafetensorsTensorInfo]
        var dataStart: Int
    }

    private static func parseHeader(_ raw: UnsafeRawBufferPointer, file: String, limits: ModelIOLimits) throws -> Parsed {
        let headerLength = try checkedHeaderLength(raw, fileSize: raw.count, file: file, limits: limits)
        return try parseHeader(raw, headerLength: headerLength, fileSize: raw.count, file: file, limits: limits)
    }

    /// The header length the 8-byte prefix declares, checked against the file's real size and
    /// the limit. `prefix` holds at least the file's first 8 bytes when the file has them.
    static func checkedHeaderLength(_ prefix: UnsafeRawBufferPointer, fileSize: Int, file: String, limits: ModelIOLimits) throws -> Int {
        guard fileSize >= 8, prefix.count >= 8 else {
            throw ModelIOError.truncated(file: file, tensor: nil, what: "safetensors header length (file has \(fileSize) bytes, needs 8)")
        }
        let headerLength = UInt64(littleEndian: prefix.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        let available = UInt64(fileSize - 8)
        guard headerLength <= available else {
            throw ModelIOError.truncated(file: file, tensor: nil,
                                         what: "safetensors header (declares \(headerLength) bytes, \(available) follow)")
        }
        guard headerLength <= UInt64(max(0, limits.maxHeaderBytes)) else {
            throw ModelIOError.limitExceeded(file: file, tensor: nil, limit: "maxHeaderBytes",
                                             value: headerLength, maximum: UInt64(max(0, limits.maxHeaderBytes)))
        }
        return Int(headerLength)
    }

    /// Parses the header held in `raw` (the file's first `8 + headerLength` bytes at least);
    /// every `data_offsets` pair is checked against `fileSize`, the file's real length.
    static func parseHeader(_ raw: UnsafeRawBufferPointer, headerLength: Int, fileSize: Int, file: String,
                            limits: ModelIOLimits) throws -> Parsed {
        let headerEnd = 8 + headerLength
        guard raw.count >= headerEnd, fileSize >= headerEnd else {
            throw ModelIOError.truncated(file: file, tensor: nil, what: "safetensors header")
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: raw[8..<headerEnd])
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw ModelIOError.malformedHeader(file: file, tensor: nil, message: "safetensors header does not start with '{'")
        }
        let root: JSONValue
        do {
            var parser = JSONParser(headerBytes)
            root = try parser.parseDocument()
        } catch let failure as JSONParser.Failure {
            throw ModelIOError.malformedHeader(file: file, tensor: nil,
                                               message: "invalid JSON at header byte \(failure.offset): \(failure.message)")
        }
        guard case let .object(entries) = root else {
            throw ModelIOError.malformedHeader(file: file, tensor: nil, message: "safetensors header is not a JSON object")
        }
        guard entries.count <= limits.maxTensors + 1 else {
            throw ModelIOError.limitExceeded(file: file, tensor: nil, limit: "maxTensors",
                                             value: UInt64(entries.count), maximum: UInt64(max(0, limits.maxTensors)))
        }
        let dataSize = fileSize - headerEnd
        var metadata: [String: String] = [:]
        var sawMetadata = false
        var infos: [SafetensorsTensorInfo] = []
        infos.reserveCapacity(entries.count)
        var seen = Set<String>()
        var total = 0
        for (key, value) in entries {
            if key == "__metadata__" {
                guard !sawMetadata else {
                    throw ModelIOError.malformedHeader(file: file, tensor: nil, message: "'__metadata__' appears more than once")
                }
                sawMetadata = true
                guard case let .object(pairs) = value else {
                    throw ModelIOError.malformedHeader(file: file, tensor: nil, message: "'__metadata__' is a \(value.kindName), not an object")
                }
                for (k, v) in pairs {
                    guard case let .string(s) = v else {
                        throw ModelIOError.malformedHeader(file: file, tensor: nil,
                                                           message: "'__metadata__' value for '\(k)' is a \(v.kindName), not a string")
                    }
                    metadata[k] = s
                }
                continue
            }
            guard seen.insert(key).inserted else { throw ModelIOError.duplicateTensor(file: file, tensor: key) }
            let info = try parseTensorEntry(key, value, file: file, dataSize: dataSize, limits: limits)
            let (sum, overflow) = total.addingReportingOverflow(info.byteCount)
            guard !overflow, sum <= limits.maxTotalBytes else {
                throw ModelIOError.limitExceeded(file: file, tensor: key, limit: "maxTotalBytes",
                                                 value: UInt64(overflow ? Int.max : sum), maximum: UInt64(max(0, limits.maxTotalBytes)))
            }
            total = sum
            infos.append(info)
        }
        guard infos.count <= limits.maxTensors else {
            throw ModelIOError.limitExceeded(file: file, tensor: nil, limit: "maxTensors",
                                             value: UInt64(infos.count), maximum: UInt64(max(0, limits.maxTensors)))
        }
        // Order by position in the data section (stable for equal offsets); reject overlaps.
        let ordered = infos.enumerated().sorted {
            ($0.element.dataOffsets.lowerBound, $0.element.dataOffsets.upperBound, $0.offset)
                < ($1.element.dataOffsets.lowerBound, $1.element.dataOffsets.upperBound, $1.offset)
        }.map(\.element)
        var previous: SafetensorsTensorInfo? = nil
        for info in ordered where !info.dataOffsets.isEmpty {
            if let p = previous, p.dataOffsets.upperBound > info.dataOffsets.lowerBound {
                throw ModelIOError.overlappingOffsets(file: file, tensor: info.name, other: p.name)
            }
            previous = info
        }
        return Parsed(metadata: metadata, tensors: ordered, dataStart: headerEnd)
    }

    private static func parseTensorEntry(_ name: String, _ value: JSONValue, file: String, dataSize: Int,
                                         limits: ModelIOLimits) throws -> SafetensorsTensorInfo {
        guard name.utf8.count <= limits.maxNameBytes else {
            throw ModelIOError.limitExceeded(file: file, tensor: String(name.prefix(64)), limit: "maxNameBytes",
                                             value: UInt64(name.utf8.count), maximum: UInt64(max(0, limits.maxNameBytes)))
        }
        guard case let .object(fields) = value else {
            throw ModelIOError.malformedHeader(file: file, tensor: name, message: "entry is a \(value.kindName), not an object")
        }
        func field(_ key: String) throws -> JSONValue {
            guard let v = fields.first(where: { $0.0 == key })?.1 else {
                throw ModelIOError.malformedHeader(file: file, tensor: name, message: "missing '\(key)'")
            }
            return v
        }
        guard case let .string(dtypeName) = try field("dtype") else {
            throw ModelIOError.malformedHeader(file: file, tensor: name, message: "'dtype' is not a string")
        }
        guard let dtype = TensorDType(safetensorsName: dtypeName) else {
            throw ModelIOError.unsupportedDType(file: file, tensor: name, dtype: dtypeName)
        }
        guard case let .array(dims) = try field("shape") else {
            throw ModelIOError.invalidShape(file: file, tensor: name, message: "'shape' is not an array")
        }
        guard dims.count <= limits.maxRank else {
            throw ModelIOError.limitExceeded(file: file, tensor: name, limit: "maxRank",
                                             value: UInt64(dims.count), maximum: UInt64(max(0, limits.maxRank)))
        }
        var shape: [Int] = []
        shape.reserveCapacity(dims.count)
        for d in dims {
            guard let u = d.unsignedInteger, u <= UInt64(Int.max) else {
                let text: String
                if case let .number(t) = d { text = t } else { text = d.kindName }
                throw ModelIOError.invalidShape(file: file, tensor: name, message: "dimension \(text) is not a non-negative integer")
            }
            shape.append(Int(u))
        }
        guard case let .array(offsets) = try field("data_offsets"), offsets.count == 2,
              let begin = offsets[0].unsignedInteger, let end = offsets[1].unsignedInteger else {
            throw ModelIOError.malformedHeader(file: file, tensor: name, message: "'data_offsets' is not a pair of non-negative integers")
        }
        guard begin <= end, end <= UInt64(dataSize) else {
            throw ModelIOError.offsetsOutOfRange(file: file, tensor: name, begin: begin, end: end, dataSize: UInt64(dataSize))
        }
        guard let expected = Tensor.byteCount(shape: shape, dtype: dtype) else {
            throw ModelIOError.invalidShape(file: file, tensor: name, message: "byte size of shape \(shape) overflows")
        }
        guard expected <= limits.maxTensorBytes else {
            throw ModelIOError.limitExceeded(file: file, tensor: name, limit: "maxTensorBytes",
                                             value: UInt64(expected), maximum: UInt64(max(0, limits.maxTensorBytes)))
        }
        let actual = Int(end - begin)
        guard actual == expected else {
            throw ModelIOError.shapeSizeMismatch(file: file, tensor: name, shape: shape, expectedBytes: expected, actualBytes: actual)
        }
        return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: Int(begin)..<Int(end))
    }
}

/// Whole-file safetensors reading and writing.
public enum Safetensors {
    /// Reads every tensor of `url`, in data-offset order.
    public static func read(_ url: URL, limits: ModelIOLimits = .default) throws -> [Tensor] {
        try SafetensorsFile(url: url, limits: limits).loadAll()
    }

    /// Reads every tensor and the `__metadata__` map.
    public static func readWithMetadata(_ url: URL, limits: ModelIOLimits = .default) throws -> (tensors: [Tensor], metadata: [String: String]) {
        let f = try SafetensorsFile(url: url, limits: limits)
        return (try f.loadAll(), f.metadata)
    }

    /// Decodes safetensors bytes held in memory.
    public static func decode(_ bytes: [UInt8], file: String = "<memory>", limits: ModelIOLimits = .default) throws -> [Tensor] {
        try SafetensorsFile(data: Data(bytes), file: file, limits: limits).loadAll()
    }

    /// The JSON header (without the length prefix), padded with spaces so the data section starts
    /// at a multiple of 8 bytes. `__metadata__` (keys sorted) comes first if non-empty, then the
    /// tensors in the given order with consecutive offsets.
    public static func headerJSON(for tensors: [Tensor], metadata: [String: String] = [:], file: String = "<memory>") throws -> [UInt8] {
        for t in tensors { try t.validate(file: file) }
        return try headerJSON(manifest: tensors.map { TensorManifestEntry(name: $0.name, shape: $0.shape, dtype: $0.dtype) },
                              metadata: metadata, file: file)
    }

    /// The JSON header for tensors described by `manifest` (written in that order), padded as
    /// ``headerJSON(for:metadata:file:)`` pads it. A streaming writer writes it before any data.
    public static func headerJSON(manifest: [TensorManifestEntry], metadata: [String: String] = [:], file: String = "<memory>") throws -> [UInt8] {
        // Built by appending to one string: `joined(separator:)` looks up its generic witnesses at
        // run time on first use (0.25M instructions, a third of a small file's start-up).
        var json = "{"
        if !metadata.isEmpty {
            json += "\"__metadata__\":{"
            for (i, key) in metadata.keys.sorted().enumerated() {
                if i > 0 { json += "," }
                json += "\(JSONWriter.quoted(key)):\(JSONWriter.quoted(metadata[key] ?? ""))"
            }
            json += "}"
        }
        var separator = !metadata.isEmpty
        var seen = Set<String>()
        var offset = 0
        for t in manifest {
            guard t.name != "__metadata__" else {
                throw ModelIOError.invalidTensor(file: file, tensor: t.name, message: "'__metadata__' is reserved in safetensors")
            }
            guard seen.insert(t.name).inserted else { throw ModelIOError.duplicateTensor(file: file, tensor: t.name) }
            guard let size = Tensor.byteCount(shape: t.shape, dtype: t.dtype) else {
                throw ModelIOError.invalidTensor(file: file, tensor: t.name,
                                                 message: "shape \(t.shape) has a negative dimension or its byte size overflows")
            }
            let (end, overflow) = offset.addingReportingOverflow(size)
            guard !overflow else {
                throw ModelIOError.invalidTensor(file: file, tensor: t.name, message: "total data size overflows")
            }
            if separator { json += "," }
            separator = true
            json += "\(JSONWriter.quoted(t.name)):{\"dtype\":\"\(t.dtype.safetensorsName)\",\"shape\":["
            for (i, d) in t.shape.enumerated() {
                if i > 0 { json += "," }
                json += String(d)
            }
            json += "],\"data_offsets\":[\(offset),\(end)]}"
            offset = end
        }
        json += "}"
        var header = Array(json.utf8)
        let padding = (8 - (header.count % 8)) % 8
        header.append(contentsOf: repeatElement(UInt8(ascii: " "), count: padding))
        return header
    }

    /// The complete safetensors encoding.
    public static func encode(_ tensors: [Tensor], metadata: [String: String] = [:]) throws -> [UInt8] {
        var sink = ByteArraySink()
        try emit(tensors, metadata: metadata, file: "<memory>", to: &sink)
        return sink.bytes
    }

    /// Writes `tensors` (in order) to `url`, atomically.
    public static func write(_ tensors: [Tensor], to url: URL, metadata: [String: String] = [:]) throws {
        let header = try headerJSON(for: tensors, metadata: metadata, file: url.path)
        try AtomicFile.withWriter(to: url) { writer in
            try emit(header: header, tensors, to: &writer)
        }
    }

    private static func emit<S: ByteSink>(_ tensors: [Tensor], metadata: [String: String], file: String, to sink: inout S) throws {
        let header = try headerJSON(for: tensors, metadata: metadata, file: file)
        try emit(header: header, tensors, to: &sink)
    }

    private static func emit<S: ByteSink>(header: [UInt8], _ tensors: [Tensor], to sink: inout S) throws {
        try emitHeader(header, to: &sink)
        for t in tensors { try sink.write(t.storage) }
    }

    /// The length prefix and the header: everything before the data section.
    static func emitHeader<S: ByteSink>(_ header: [UInt8], to sink: inout S) throws {
        var length = LittleEndianBuilder()
        length.u64(UInt64(header.count))
        try sink.write(length.bytes)
        try sink.write(header)
    }
}
