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
            let tensor: Tensor
            if entry.method == 8 {
                tensor = try decodeDeflated(entry, in: raw, name: name, file: file, limits: limits, budget: remaining)
            } else {
                let member = try ZipReader.storedData(entry, in: raw, file: file)
                let header = try NPY.parseHeader(member, name: name, file: file, limits: limits)
                guard header.dataByteCount <= remaining else {
                    throw ModelIOError.limitExceeded(file: file, tensor: name, limit: "maxTotalBytes",
                                                     value: UInt64(total) &+ UInt64(header.dataByteCount),
                                                     maximum: UInt64(max(0, limits.maxTotalBytes)))
                }
                tensor = try NPY.decode(member, name: name, file: file, limits: limits)
            }
            total += tensor.storage.count
            tensors.append(tensor)
        }
        return tensors
    }

    /// Inflates a deflated `.npy` member piecewise: the NPY header first (at most
    /// `maxHeaderBytes`), then exactly the data its shape calls for, straight into the tensor's
    /// storage. The sizes the ZIP directory and the NPY header declare must agree, fit what the
    /// compressed bytes can expand to and the `budget`, before the data buffer is allocated;
    /// the stream must end exactly there.
    private static func decodeDeflated(_ entry: ZipEntry, in raw: UnsafeRawBufferPointer, name: String, file: String,
                                       limits: ModelIOLimits, budget: Int) throws -> Tensor {
        do {
            let inflater = try RawInflater(ZipReader.compressedData(entry, in: raw))
            let prefix = try inflater.read(count: 12)
            let pre = try prefix.withUnsafeBytes { try NPY.preamble($0, name: name, file: file, limits: limits) }
            let dataOffset = pre.headerStart + pre.headerLength
            guard UInt64(dataOffset) <= entry.uncompressedSize else {
                throw ModelIOError.malformedArchive(file: file, message: "member '\(entry.name)': the ZIP directory declares \(entry.uncompressedSize) bytes, its NPY header alone takes \(dataOffset)")
            }
            var headerBytes = Array(prefix.prefix(dataOffset))
            let leftover = Array(prefix.dropFirst(dataOffset))
            if headerBytes.count < dataOffset { headerBytes += try inflater.read(count: dataOffset - headerBytes.count) }
            let header = try headerBytes.withUnsafeBytes { try NPY.parseHeader($0, name: name, file: file, limits: limits) }
            let (total, overflow) = dataOffset.addingReportingOverflow(header.dataByteCount)
            guard !overflow, UInt64(total) == entry.uncompressedSize else {
                throw ModelIOError.malformedArchive(file: file, message: "member '\(entry.name)': the ZIP directory declares \(entry.uncompressedSize) bytes, its NPY header describes \(overflow ? "more than \(Int.max)" : String(total))")
            }
            guard UInt64(total) <= Zlib.maxInflatedSize(compressedSize: entry.compressedSize) else {
                throw ModelIOError.truncated(file: file, tensor: name, what: "ZIP member data (\(entry.compressedSize) deflated bytes cannot expand to the \(total) declared)")
            }
            guard header.dataByteCount <= budget else {
                throw ModelIOError.limitExceeded(file: file, tensor: name, limit: "maxTotalBytes",
                                                 value: UInt64(header.dataByteCount), maximum: UInt64(max(0, budget)))
            }
            guard leftover.count <= header.dataByteCount else {
                throw Zlib.Failure.message("deflate data decodes to more than the \(total) bytes declared")
            }
            var storage = try TensorStorage.allocate(count: header.dataByteCount, file: file, tensor: name) { out in
                out.copyBytes(from: leftover)
                let rest = UnsafeMutableRawBufferPointer(rebasing: out[leftover.count...])
                let got = try inflater.read(into: rest)
                guard got == rest.count else {
                    throw ModelIOError.truncated(file: file, tensor: name, what: "deflated member '\(entry.name)' (decodes to \(dataOffset + leftover.count + got) of \(total) bytes)")
                }
            }
            try inflater.expectEnd(declared: total)
            try ZipReader.checkCRC(entry, actual: storage.withUnsafeBytes { Zlib.crc32($0, initial: Zlib.crc32(headerBytes)) }, file: file)
            if header.bigEndian { NPY.byteSwapInPlace(&storage, width: header.dtype.byteWidth) }
            return Tensor(name: name, dtype: header.dtype, shape: header.shape, storage: storage)
        } catch let Zlib.Failure.message(message) {
            throw ModelIOError.compressionFailed(file: file, member: entry.name, message: message)
        }
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

    /// Writes `tensors` (in order) as `NAME.npy` members of a ZIP archive, atomically. Names that
    /// ``MemberName/problem(_:)`` rejects (absolute, `..`, NUL, empty) are refused with
    /// ``ModelIOError/unsafeName(file:tensor:problem:)`` before anything is written.
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
            if let problem = MemberName.problem(t.name) {
                throw ModelIOError.unsafeName(file: file, tensor: t.name, problem: problem)
            }
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
