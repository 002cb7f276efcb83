// NPZ: numpy's multi-array format, a ZIP archive whose members are NAME.npy files.

import Foundation

public enum NPZ {
    /// Reads every array of a `.npz` file, in archive (central directory) order. Tensor names are
    /// member names without the `.npy` suffix (they may contain dots and slashes).
    public static func read(_ url: URL, limits: ModelIOLimits = .default) throws -> [Tensor] {
        let data = try readFileData(url)
        return try decode(data, file: url.path, limits: limits)
    }

    /// Reads a `.npz` file into a dictionary keyed by tensor name.
    public static func readDictionary(_ url: URL, limits: ModelIOLimits = .default) throws -> [String: Tensor] {
        dictionary(try read(url, limits: limits))
    }

    /// Tensor names in archive order, without decoding any data.
    public static func tensorNames(_ url: URL, limits: ModelIOLimits = .default) throws -> [String] {
        let data = try readFileData(url)
        return try data.withUnsafeBytes { raw in
            try ZipReader.entries(raw, file: url.path, limits: limits)
                .filter { !$0.name.hasSuffix("/") }
                .map { tensorName(forMember: $0.name) }
        }
    }

    /// Decodes an NPZ archive held in memory; `file` is used in error messages.
    public static func decode(_ data: Data, file: String = "<memory>", limits: ModelIOLimits = .default) throws -> [Tensor] {
        try data.withUnsafeBytes { try decode($0, file: file, limits: limits) }
    }

    /// Decodes an NPZ archive held in memory; `file` is used in error messages.
    public static func decode(_ bytes: [UInt8], file: String = "<memory>", limits: ModelIOLimits = .default) throws -> [Tensor] {
        try bytes.withUnsafeBytes { try decode($0, file: file, limits: limits) }
    }

    static func decode(_ raw: UnsafeRawBufferPointer, file: String, limits: ModelIOLimits) throws -> [Tensor] {
        let entries = try ZipReader.entries(raw, file: file, limits: limits)
        var tensors: [Tensor] = []
        tensors.reserveCapacity(entries.count)
        var seen = Set<String>()
        var total = 0
        let (memberLimit, overflow) = limits.maxTensorBytes.addingReportingOverflow(max(0, limits.maxHeaderBytes) + 16)
        let maxMemberBytes = overflow ? Int.max : memberLimit
        for entry in entries {
            if entry.name.hasSuffix("/") && entry.uncompressedSize == 0 { continue }  // directory entry
            let name = tensorName(forMember: entry.name)
            guard entry.uncompressedSize <= UInt64(max(0, maxMemberBytes)) else {
                throw ModelIOError.limitExceeded(file: file, tensor: name, limit: "maxTensorBytes",
                                                 value: entry.uncompressedSize, maximum: UInt64(max(0, limits.maxTensorBytes)))
            }
            guard seen.insert(name).inserted else {
                throw ModelIOError.duplicateTensor(file: file, tensor: name)
            }
            // The total budget is checked before anything is inflated or copied.
            let remaining = limits.maxTotalBytes <= total ? 0 : limits.maxTotalBytes - total
            let (slack, slackOverflow) = remaining.addingReportingOverflow(max(0, limits.maxHeaderBytes) + 16)
            if !slackOverflow && entry.uncompressedSize > UInt64(slack) {
                throw ModelIOError.limitExceeded(file: file, tensor: name, limit: "maxTotalBytes",
                                                 value: UInt64(total) &+ entry.uncompressedSize, maximum: UInt64(max(0, limits.maxTotalBytes)))
            }
            let tensor = try ZipReader.withMemberData(entry, in: raw, file: file) { member -> Tensor in
                let header = try NPY.parseHeader(member, name: name, file: file, limits: limits)
                guard header.dataByteCount <= remaining else {
                    throw ModelIOError.limitExceeded(file: file, tensor: name, limit: "maxTotalBytes",
                                                     value: UInt64(total) &+ UInt64(header.dataByteCount),
                                                     maximum: UInt64(max(0, limits.maxTotalBytes)))
                }
                return try NPY.decode(member, name: name, file: file, limits: limits)
            }
            total += tensor.storage.count
            tensors.append(tensor)
        }
        return tensors
    }

    /// "a.b.npy" -> "a.b"; other member names are kept as they are (numpy does the same).
    static func tensorName(forMember member: String) -> String {
        member.hasSuffix(".npy") ? String(member.dropLast(4)) : member
    }

    /// Tensors keyed by name (names are unique in anything the readers return).
    public static func dictionary(_ tensors: [Tensor]) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        out.reserveCapacity(tensors.count)
        for t in tensors { out[t.name] = t }
        return out
    }

    // MARK: Writing

    /// Writes `tensors` (in order) as `NAME.npy` members of a ZIP archive, atomically.
    /// ZIP64 fields are used for members or offsets of 4 GiB - 1 and more.
    public static func write(_ tensors: [Tensor], to url: URL, compression: NPZCompression = .stored) throws {
        try checkWritable(tensors, file: url.path)
        try AtomicFile.withWriter(to: url) { writer in
            var zip = ZipWriter(sink: writer)
            try addMembers(tensors, to: &zip, compression: compression, file: url.path)
            try zip.finish()
            writer = zip.sink
        }
    }

    /// The NPZ encoding of `tensors` in memory.
    public static func encode(_ tensors: [Tensor], compression: NPZCompression = .stored) throws -> [UInt8] {
        try checkWritable(tensors, file: "<memory>")
        var zip = ZipWriter(sink: ByteArraySink())
        try addMembers(tensors, to: &zip, compression: compression, file: "<memory>")
        try zip.finish()
        return zip.sink.bytes
    }

    static func encode(_ tensors: [Tensor], compression: NPZCompression, configure: (inout ZipWriter<ByteArraySink>) -> Void) throws -> [UInt8] {
        try checkWritable(tensors, file: "<memory>")
        var zip = ZipWriter(sink: ByteArraySink())
        configure(&zip)
        try addMembers(tensors, to: &zip, compression: compression, file: "<memory>")
        try zip.finish()
        return zip.sink.bytes
    }

    private static func checkWritable(_ tensors: [Tensor], file: String) throws {
        var seen = Set<String>()
        for t in tensors {
            guard seen.insert(t.name).inserted else { throw ModelIOError.duplicateTensor(file: file, tensor: t.name) }
            guard (t.name.utf8.count + 4) <= 0xFFFF else {
                throw ModelIOError.invalidTensor(file: file, tensor: t.name, message: "name is longer than a ZIP member name can be")
            }
            _ = try NPY.headerBytes(for: t, file: file)  // validates shape/storage and dtype
        }
    }

    private static func addMembers<S: ByteSink>(_ tensors: [Tensor], to zip: inout ZipWriter<S>,
                                                compression: NPZCompression, file: String) throws {
        for t in tensors {
            let header = try NPY.headerBytes(for: t, file: file)
            do {
                try header.withUnsafeBytes { h in
                    try t.storage.withUnsafeBytes { s in
                        try zip.addMember(name: t.name + ".npy", parts: [h, s], compression: compression)
                    }
                }
            } catch ModelIOError.compressionFailed(_, let member, let message) {
                throw ModelIOError.compressionFailed(file: file, member: member, message: message)
            }
        }
    }
}
