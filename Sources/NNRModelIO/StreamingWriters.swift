// Streaming writers: TensorSinks that write each tensor as it arrives and keep nothing but the
// tensor in hand. Output appears only in finish() (temporary file + rename); a writer dropped
// before finish() (or one whose consume/finish threw) removes its temporary files.

import Foundation

/// Which dtype a writer stores each tensor in. By default tensors keep their dtype (BF16 in,
/// BF16 out); `floatingPoint` converts every floating-point tensor (integer and bool tensors are
/// kept: converting them would lose their exactness).
public struct TensorDTypePolicy: Sendable, Equatable {
    public var floatingPoint: TensorDType?
    /// Converts bfloat16 tensors only (when `floatingPoint` is nil): for containers that cannot
    /// record bfloat16.
    public var bfloat16: TensorDType?

    public init(floatingPoint: TensorDType? = nil, bfloat16: TensorDType? = nil) {
        self.floatingPoint = floatingPoint
        self.bfloat16 = bfloat16
    }

    public static let keep = TensorDTypePolicy()

    /// The dtype a tensor of `dtype` is written in.
    public func target(for dtype: TensorDType) -> TensorDType {
        guard dtype.isFloatingPoint else { return dtype }
        if let f = floatingPoint, f.isFloatingPoint { return f }
        if dtype == .bfloat16, let b = bfloat16, b.isFloatingPoint { return b }
        return dtype
    }

    public func apply(_ entry: TensorManifestEntry) -> TensorManifestEntry {
        TensorManifestEntry(name: entry.name, shape: entry.shape, dtype: target(for: entry.dtype))
    }

    public func apply(_ tensor: Tensor) -> Tensor {
        let t = target(for: tensor.dtype)
        return t == tensor.dtype ? tensor : tensor.converted(to: t)
    }
}

/// Writes one safetensors file: the header (from the manifest) first, then each tensor's data in
/// order. Needs the manifest in ``begin(manifest:)``; each tensor must match its manifest entry.
public final class SafetensorsStreamWriter: TensorSink {
    public let url: URL
    public let metadata: [String: String]
    public let dtype: TensorDTypePolicy
    /// The manifest as written (dtypes after the policy).
    public private(set) var manifest: [TensorManifestEntry] = []
    /// Bytes of tensor data written so far.
    public private(set) var dataBytesWritten = 0
    private var writer: AtomicFileWriter?
    private var next = 0
    private var sealed = false
    private var published = false
    private var piecesOpen = false

    public init(url: URL, metadata: [String: String] = [:], dtype: TensorDTypePolicy = .keep) {
        self.url = url
        self.metadata = metadata
        self.dtype = dtype
    }

    deinit { if !published { writer?.abandon() } }

    public func begin(manifest: [TensorManifestEntry]?) throws {
        guard writer == nil else { throw ModelIOError.invalidRequest(file: url.path, message: "begin called twice") }
        guard let manifest else {
            throw ModelIOError.invalidRequest(file: url.path,
                                              message: "a safetensors writer needs every tensor's name, shape and dtype before the first tensor")
        }
        self.manifest = manifest.map(dtype.apply)
        let header = try Safetensors.headerJSON(manifest: self.manifest, metadata: metadata, file: url.path)
        var w = try AtomicFileWriter(target: url)
        writer = w
        try Safetensors.emitHeader(header, to: &w)
        writer = w
    }

    /// True when every tensor of the manifest has been written.
    public var isComplete: Bool { writer != nil && next == manifest.count }

    public func consume(_ tensor: Tensor) throws {
        do {
            let t = dtype.apply(tensor)
            try admitNext(TensorManifestEntry(name: t.name, shape: t.shape, dtype: t.dtype))
            try t.validate(file: url.path)
            try append(t.storage, unbuffered: true)
            next += 1
        } catch {
            abandon()
            throw error
        }
    }

    /// The next tensor's data in pieces (the entry's dtype must be the one written: the writer
    /// converts whole tensors only, so a tensor it would convert gives nil).
    public func beginPieces(_ entry: TensorManifestEntry) throws -> TensorPieceWriter? {
        guard dtype.target(for: entry.dtype) == entry.dtype else { return nil }
        do {
            try admitNext(entry)
            piecesOpen = true
        } catch {
            abandon()
            throw error
        }
        return TensorPieceWriter(entry: entry, file: url.path, write: { [unowned self] raw in
            do { try self.append(raw) } catch { self.abandon(); throw error }
        }, zeros: { [unowned self] count in
            do { try self.appendZeros(count) } catch { self.abandon(); throw error }
        }, end: { [unowned self] in
            self.piecesOpen = false
            self.next += 1
        })
    }

    /// Checks that `e` is the next tensor the manifest announced and that the file is open.
    private func admitNext(_ e: TensorManifestEntry) throws {
        guard writer != nil, !sealed, !piecesOpen else {
            throw ModelIOError.invalidRequest(file: url.path, message: "tensor '\(e.name)' given before begin, after finish or inside another tensor")
        }
        guard next < manifest.count else {
            throw ModelIOError.invalidTensor(file: url.path, tensor: e.name, message: "more tensors than the manifest announced")
        }
        let m = manifest[next]
        guard e.name == m.name, e.shape == m.shape, e.dtype == m.dtype else {
            throw ModelIOError.invalidTensor(file: url.path, tensor: e.name,
                                             message: "is \(e.dtype.rawValue)\(e.shape) but the manifest announced '\(m.name)' \(m.dtype.rawValue)\(m.shape) here")
        }
    }

    private func appendZeros(_ count: Int) throws {
        guard var w = writer else { throw ModelIOError.invalidRequest(file: url.path, message: "the file is closed") }
        writer = nil
        defer { writer = w }
        try w.appendZeros(count)
        dataBytesWritten += count
    }

    /// Appends tensor data: a whole tensor unbuffered (one write with what is buffered), pieces
    /// through the buffer.
    private func append<B: ContiguousBytes>(_ bytes: B, unbuffered: Bool = false) throws {
        guard var w = writer else { throw ModelIOError.invalidRequest(file: url.path, message: "the file is closed") }
        writer = nil  // keep the writer's buffer uniquely referenced while writing
        defer { writer = w }
        try bytes.withUnsafeBytes { raw in
            if unbuffered { try w.writeUnbuffered(raw) } else { try w.write(raw) }
            dataBytesWritten += raw.count
        }
    }

    public func finish() throws {
        try seal()
        do {
            try writer?.publish()
            published = true
        } catch {
            abandon()
            throw error
        }
    }

    /// Flushes and closes the temporary file once every tensor is written (no rename yet).
    func seal() throws {
        do {
            guard var w = writer else { throw ModelIOError.invalidRequest(file: url.path, message: "finish called before begin") }
            guard next == manifest.count else {
                throw ModelIOError.invalidRequest(file: url.path, message: "\(next) of \(manifest.count) announced tensors were written")
            }
            try w.seal()
            writer = w
            sealed = true
        } catch {
            abandon()
            throw error
        }
    }

    func publish() throws {
        try writer?.publish()
        published = true
    }

    /// Removes the temporary file (nothing was published).
    func abandon() {
        guard !published, var w = writer else { return }
        w.abandon()
        writer = w
        published = true  // nothing more to clean up
    }
}

/// Writes a `.npz` archive member by member (stored, as `numpy.savez`, or deflated).
public final class NPZStreamWriter: TensorSink {
    public let url: URL
    public let dtype: TensorDTypePolicy
    public let compression: NPZCompression
    private var zip: ZipWriter<AtomicFileWriter>?
    private var names = Set<String>()
    private var done = false
    private var piecesOpen = false

    public init(url: URL, dtype: TensorDTypePolicy = .keep, compression: NPZCompression = .stored) {
        self.url = url
        self.dtype = dtype
        self.compression = compression
    }

    deinit { abandon() }

    public func begin(manifest: [TensorManifestEntry]?) throws {
        guard zip == nil else { throw ModelIOError.invalidRequest(file: url.path, message: "begin called twice") }
        zip = ZipWriter(sink: try AtomicFileWriter(target: url))
    }

    public func consume(_ tensor: Tensor) throws {
        do {
            let t = dtype.apply(tensor)
            try admit(t.name)
            let header = try NPY.headerBytes(for: t, file: url.path)
            guard var z = zip else { return }
            zip = nil
            defer { zip = z }
            do {
                try header.withUnsafeBytes { h in
                    try t.storage.withUnsafeBytes { s in
                        try z.addMember(name: t.name + ".npy", parts: [h, s], compression: compression)
                    }
                }
            } catch ModelIOError.compressionFailed(_, let member, let message) {
                throw ModelIOError.compressionFailed(file: url.path, member: member, message: message)
            }
        } catch {
            abandon()
            throw error
        }
    }

    /// The next member's data in pieces: stored archives only (a deflated member is compressed
    /// whole), and only in the dtype the writer writes.
    public func beginPieces(_ entry: TensorManifestEntry) throws -> TensorPieceWriter? {
        guard case .stored = compression, dtype.target(for: entry.dtype) == entry.dtype else { return nil }
        do {
            try admit(entry.name)
            let header = try NPY.headerBytes(for: entry, file: url.path)
            let (size, o) = entry.byteCount.addingReportingOverflow(header.count)
            guard !o, entry.byteCount < Int.max else {
                throw ModelIOError.invalidTensor(file: url.path, tensor: entry.name, message: "is too large for an archive member")
            }
            try withZip { z in
                try z.beginStoredMember(name: entry.name + ".npy", size: UInt64(size))
                try header.withUnsafeBytes { try z.appendStored($0) }
            }
            piecesOpen = true
        } catch {
            abandon()
            throw error
        }
        return TensorPieceWriter(entry: entry, file: url.path, write: { [unowned self] raw in
            do { try self.withZip { try $0.appendStored(raw) } } catch { self.abandon(); throw error }
        }, zeros: { [unowned self] count in
            do { try self.withZip { try $0.appendStoredZeros(count) } } catch { self.abandon(); throw error }
        }, end: { [unowned self] in
            do { try self.withZip { try $0.endStoredMember() } } catch { self.abandon(); throw error }
            self.piecesOpen = false
        })
    }

    /// Checks that a member of this name can be added now.
    private func admit(_ name: String) throws {
        guard zip != nil, !done, !piecesOpen else {
            throw ModelIOError.invalidRequest(file: url.path, message: "tensor '\(name)' given before begin, after finish or inside another tensor")
        }
        guard names.insert(name).inserted else { throw ModelIOError.duplicateTensor(file: url.path, tensor: name) }
        guard name.utf8.count + 4 <= 0xFFFF else {
            throw ModelIOError.invalidTensor(file: url.path, tensor: name, message: "name is longer than a ZIP member name can be")
        }
    }

    /// Runs `body` on the archive, keeping its buffer uniquely referenced.
    private func withZip(_ body: (inout ZipWriter<AtomicFileWriter>) throws -> Void) throws {
        guard var z = zip else { throw ModelIOError.invalidRequest(file: url.path, message: "the archive is closed") }
        zip = nil
        defer { zip = z }
        try body(&z)
    }

    public func finish() throws {
        do {
            guard var z = zip, !done else { throw ModelIOError.invalidRequest(file: url.path, message: "finish called before begin") }
            try z.finish()
            var w = z.sink
            try w.commit()
            zip = nil
            done = true
        } catch {
            abandon()
            throw error
        }
    }

    private func abandon() {
        guard !done, let z = zip else { return }
        var w = z.sink
        w.abandon()
        zip = nil
        done = true
    }
}

/// Hugging Face's sharded layout: `model-00001-of-0000N.safetensors` files of at most
/// `maxShardBytes` tensor data each (a larger tensor gets a shard of its own), plus
/// `model.safetensors.index.json` with `metadata.total_size` and the `weight_map` (tensor name →
/// shard file). A model that fits one shard is written as `model.safetensors` without an index,
/// as Hugging Face's `save_pretrained` does. Shards are published only when all are complete,
/// then the index.
public final class ShardedSafetensorsWriter: TensorSink {
    public let directory: URL
    public let maxShardBytes: Int
    public let metadata: [String: String]
    public let dtype: TensorDTypePolicy
    /// The base name of the files (`model` gives `model-00001-of-00002.safetensors`).
    public let prefix: String
    /// Shard file names and their manifests, known after ``begin(manifest:)``.
    public private(set) var shards: [(file: String, manifest: [TensorManifestEntry])] = []
    private var current: SafetensorsStreamWriter?
    private var currentIndex = -1
    private var sealed: [SafetensorsStreamWriter] = []
    private var finished = false

    public init(directory: URL, maxShardBytes: Int, metadata: [String: String] = [:], dtype: TensorDTypePolicy = .keep,
                prefix: String = "model") {
        self.directory = directory
        self.maxShardBytes = max(1, maxShardBytes)
        self.metadata = metadata
        self.dtype = dtype
        self.prefix = prefix
    }

    /// The name of the index file.
    public var indexFileName: String { prefix + ".safetensors.index.json" }

    /// Splits `manifest` (dtypes as written) into shards as Hugging Face does: a tensor starts a
    /// new shard when it would take the current one past `maxShardBytes`.
    public static func plan(_ manifest: [TensorManifestEntry], maxShardBytes: Int) -> [[TensorManifestEntry]] {
        var shards: [[TensorManifestEntry]] = []
        var current: [TensorManifestEntry] = []
        var size = 0
        for e in manifest {
            let bytes = e.byteCount
            if !current.isEmpty && (size >= maxShardBytes || bytes > maxShardBytes - size) {
                shards.append(current)
                current = []
                size = 0
            }
            current.append(e)
            size = size > Int.max - bytes ? Int.max : size + bytes
        }
        if !current.isEmpty || shards.isEmpty { shards.append(current) }
        return shards
    }

    public func begin(manifest: [TensorManifestEntry]?) throws {
        guard let manifest else {
            throw ModelIOError.invalidRequest(file: directory.path,
                                              message: "a sharded writer needs every tensor's name, shape and dtype before the first tensor")
        }
        let planned = ShardedSafetensorsWriter.plan(manifest.map(dtype.apply), maxShardBytes: maxShardBytes)
        let n = planned.count
        func number(_ i: Int) -> String {
            let s = String(i)
            return String(repeating: "0", count: max(0, 5 - s.count)) + s
        }
        shards = planned.enumerated().map { i, m in
            (n == 1 ? prefix + ".safetensors" : "\(prefix)-\(number(i + 1))-of-\(number(n)).safetensors", m)
        }
        try openNext()
    }

    private func openNext() throws {
        currentIndex += 1
        guard currentIndex < shards.count else { current = nil; return }
        let w = SafetensorsStreamWriter(url: directory.appendingPathComponent(shards[currentIndex].file), metadata: metadata)
        current = w
        try w.begin(manifest: shards[currentIndex].manifest)
    }

    public func consume(_ tensor: Tensor) throws {
        do {
            try shardForNext(tensor.name).consume(dtype.apply(tensor))
        } catch {
            abandon()
            throw error
        }
    }

    public func beginPieces(_ entry: TensorManifestEntry) throws -> TensorPieceWriter? {
        guard dtype.target(for: entry.dtype) == entry.dtype else { return nil }
        do {
            return try shardForNext(entry.name).beginPieces(entry)
        } catch {
            abandon()
            throw error
        }
    }

    /// The shard the next tensor goes to (shards whose tensors are all written are sealed).
    private func shardForNext(_ name: String) throws -> SafetensorsStreamWriter {
        while let w = current, w.isComplete {
            try w.seal()
            sealed.append(w)
            try openNext()
        }
        guard let w = current else {
            throw ModelIOError.invalidTensor(file: directory.path, tensor: name, message: "more tensors than the manifest announced")
        }
        return w
    }

    public func finish() throws {
        do {
            if let w = current {
                try w.seal()
                sealed.append(w)
                current = nil
            }
            guard sealed.count == shards.count else {
                throw ModelIOError.invalidRequest(file: directory.path, message: "\(sealed.count) of \(shards.count) shards were written")
            }
            for w in sealed { try w.publish() }
            if shards.count > 1 {
                try AtomicFile.write(indexJSON(), to: directory.appendingPathComponent(indexFileName))
            }
            finished = true
        } catch {
            abandon()
            throw error
        }
    }

    /// `model.safetensors.index.json` for the planned shards (keys sorted, as Hugging Face writes).
    public func indexJSON() -> [UInt8] {
        var total = 0
        var map: [(String, String)] = []
        for s in shards {
            for e in s.manifest {
                total = total > Int.max - e.byteCount ? Int.max : total + e.byteCount
                map.append((e.name, s.file))
            }
        }
        map.sort { $0.0 < $1.0 }
        var lines = ["{", "  \"metadata\": {", "    \"total_size\": \(total)", "  },", "  \"weight_map\": {"]
        for (i, (name, file)) in map.enumerated() {
            lines.append("    \(JSONWriter.quoted(name)): \(JSONWriter.quoted(file))" + (i + 1 < map.count ? "," : ""))
        }
        lines += ["  }", "}", ""]
        return Array(lines.joined(separator: "\n").utf8)
    }

    deinit { abandon() }

    private func abandon() {
        guard !finished else { return }
        current?.abandon()
        for w in sealed { w.abandon() }
        current = nil
        sealed = []
        finished = true
    }
}

/// Byte sizes as Hugging Face's `max_shard_size` reads them: `5GB` = 5·10⁹, `5GiB` = 5·2³⁰,
/// also KB/MB/TB (decimal), KiB/MiB/TiB (binary), and plain bytes.
public enum ByteSize {
    public static func parse(_ text: String) -> Int? {
        let s = trimmed(text[...])
        let units: [(String, Double)] = [("TIB", 0x1p40), ("GIB", 0x1p30), ("MIB", 0x1p20), ("KIB", 0x1p10),
                                         ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3), ("B", 1)]
        let upper = s.uppercased()
        for (suffix, scale) in units where upper.hasSuffix(suffix) {
            guard let v = Double(trimmed(upper.dropLast(suffix.count))), v > 0 else { return nil }
            let bytes = v * scale
            return bytes.isFinite && bytes >= 1 && bytes < 0x1p62 ? Int(bytes) : nil
        }
        guard let v = Int(upper), v > 0 else { return nil }
        return v
    }

    /// `text` without leading and trailing blanks: tab and the Unicode space separators (Zs), the
    /// set Foundation's `CharacterSet.whitespaces` holds. (Foundation's `trimmingCharacters` goes
    /// through NSString and looks up protocol conformances at run time: 0.7M instructions for the
    /// default `--max-output-size` of every `nnr decode`.)
    static func trimmed(_ text: Substring) -> Substring {
        let scalars = text.unicodeScalars
        let blank = { (u: Unicode.Scalar) in u == "\t" || u.properties.generalCategory == .spaceSeparator }
        guard let first = scalars.firstIndex(where: { !blank($0) }),
              let last = scalars.lastIndex(where: { !blank($0) }) else { return "" }
        return Substring(scalars[first...last])
    }
}
