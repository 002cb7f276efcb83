// AtomicFile: write-to-temporary + rename (+ fsync when asked), so a reader never sees a
// half-written file and a failed write leaves the previous file untouched.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Destination for bytes produced by the writers (a file being written atomically, or memory).
protocol ByteSink {
    mutating func write(_ raw: UnsafeRawBufferPointer) throws
    /// Overwrites bytes already written at `offset` (a header field known only at the end).
    mutating func patch(_ bytes: [UInt8], at offset: UInt64) throws
    /// Appends `count` zero bytes (a file writes a hole).
    mutating func appendZeros(_ count: Int) throws
}

extension ByteSink {
    mutating func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }
}

/// In-memory sink used for the `encode` functions.
struct ByteArraySink: ByteSink {
    var bytes: [UInt8] = []
    mutating func write(_ raw: UnsafeRawBufferPointer) throws {
        bytes.append(contentsOf: raw)
    }
    mutating func appendZeros(_ count: Int) throws {
        bytes.append(contentsOf: repeatElement(0, count: count))
    }
    mutating func patch(_ new: [UInt8], at offset: UInt64) throws {
        guard offset <= UInt64(bytes.count), UInt64(new.count) <= UInt64(bytes.count) - offset else {
            throw ModelIOError.invalidRequest(file: "<memory>", message: "patch outside the bytes written")
        }
        bytes.replaceSubrange(Int(offset)..<(Int(offset) + new.count), with: new)
    }
}

/// Atomic file replacement.
///
/// The data is written to a uniquely named temporary file in the target's directory
/// (`.NAME.tmp-PID-RANDOM`) and renamed over the target. On any failure the temporary file is
/// removed and an existing target is left exactly as it was. The new file keeps an existing
/// target's permission bits. With `synchronous` set, the file is also flushed with `fsync` before
/// the rename and its folder after it.
public enum AtomicFile {
    /// Whether a commit waits until the file and its new name are on disk (fsync of the file, then
    /// of its folder after the rename), so that a power loss right after cannot lose them. Off by
    /// default, as in gzip (`--synchronous`), rsync (`--fsync`) and cp: the replacement is atomic
    /// either way (a reader, or a crash of this process, never sees a half-written file). The two
    /// fsyncs cost 0.3–0.4 ms of CPU per output file on the project machine's ext4 (decode of the
    /// 0.6 MB query tensor: 7.15 → 7.59 ms, median of 60 alternating runs) and more wall time.
    /// Process-wide (the CLI sets it from `--sync`).
    public static var synchronous: Bool {
        get { synchronousLock.withLock { synchronousValue } }
        set { synchronousLock.withLock { synchronousValue = newValue } }
    }
    private static let synchronousLock = NSLock()
    nonisolated(unsafe) private static var synchronousValue = false

    /// Atomically replaces `url` with `bytes`.
    public static func write(_ bytes: [UInt8], to url: URL) throws {
        try withWriter(to: url) { try $0.write(bytes) }
    }

    /// Atomically replaces `url` with `data`.
    public static func write(_ data: Data, to url: URL) throws {
        try withWriter(to: url) { try $0.write(data) }
    }

    /// Streams the new contents of `url` through `body`; the file is committed (renamed; see
    /// `synchronous`) only if `body` returns normally. If `body` or the commit throws, the
    /// temporary file is removed, the target is untouched, and the error is rethrown.
    public static func withWriter(to url: URL, _ body: (inout AtomicFileWriter) throws -> Void) throws {
        var writer = try AtomicFileWriter(target: url)
        do {
            try body(&writer)
            try writer.commit()
        } catch {
            writer.abandon()
            throw error
        }
    }

    /// Removes the temporary files (`.NAME.tmp-PID-HEX`) that killed runs left in `directory`:
    /// only those whose PID is no longer alive (nor this process). Best effort: errors are ignored.
    /// Called before every atomic write, so the next run into a folder cleans up after a killed one.
    /// The directory is read with readdir, and only names starting with "." become Strings: a run
    /// into a folder of thousands of files (/tmp) paid 0.9 ms for listing it through FileManager.
    public static func removeStaleTemporaries(in directory: URL) {
        let path = directory.path
        guard let dir = opendir(path) else { return }
        var stale: [String] = []
        while let entry = readdir(dir) {
            let name: String? = withUnsafeBytes(of: &entry.pointee.d_name) { raw in
                guard raw.first == UInt8(ascii: "."), let base = raw.baseAddress else { return nil }
                return String(cString: base.assumingMemoryBound(to: CChar.self))
            }
            guard let name, let pid = stalePID(ofTemporaryName: name), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { stale.append(name) }
        }
        closedir(dir)
        for name in stale { _ = unlink(path + "/" + name) }
    }

    /// The PID in a temporary file name `.NAME.tmp-PID-HEX`, or nil if `name` is not one.
    static func stalePID(ofTemporaryName name: String) -> pid_t? {
        guard name.hasPrefix("."), let marker = name.range(of: ".tmp-", options: .backwards),
              marker.lowerBound > name.index(after: name.startIndex) else { return nil }
        let parts = name[marker.upperBound...].split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let pid = pid_t(parts[0]), pid > 0,
              !parts[1].isEmpty, parts[1].count <= 16, parts[1].allSatisfy(\.isHexDigit) else { return nil }
        return pid
    }

    /// Name of a fresh temporary file for `target` (same directory).
    static func temporaryURL(for target: URL) -> URL {
        let directory = target.deletingLastPathComponent()
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return directory.appendingPathComponent(".\(target.lastPathComponent).tmp-\(getpid())-\(random)")
    }
}

/// Handle for appending to a file that ``AtomicFile/withWriter(to:_:)`` commits on success.
/// Writes are buffered (1 MiB).
public struct AtomicFileWriter: ByteSink {
    /// The file that will be replaced on commit.
    public let target: URL
    /// The temporary file currently being written.
    public let temporary: URL
    /// Total bytes appended so far (buffered or written).
    public private(set) var bytesWritten: UInt64 = 0

    private var fd: Int32
    /// `AtomicFile.synchronous` when the writer was made.
    private let synchronous = AtomicFile.synchronous
    private var buffer: [UInt8] = []
    /// `appendZeros` left a hole (the size is set at `seal()`).
    private var holes = false
    private static let bufferCapacity = 1 << 20

    init(target: URL) throws {
        self.target = target
        AtomicFile.removeStaleTemporaries(in: target.deletingLastPathComponent())
        var attempts = 0
        while true {
            let temp = AtomicFile.temporaryURL(for: target)
            let descriptor = open(temp.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if descriptor >= 0 {
                self.temporary = temp
                self.fd = descriptor
                break
            }
            let code = errno
            attempts += 1
            if code != EEXIST || attempts >= 16 {
                throw ModelIOError.fileIO(file: target.path, operation: "create temporary file", errno: code)
            }
        }
        // Keep the permission bits of a file we are replacing.
        var info = stat()
        if stat(target.path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG {
            _ = fchmod(fd, info.st_mode & 0o7777)
        }
        buffer.reserveCapacity(AtomicFileWriter.bufferCapacity)
    }

    /// Appends raw bytes.
    public mutating func write(_ raw: UnsafeRawBufferPointer) throws {
        guard raw.count > 0 else { return }
        bytesWritten &+= UInt64(raw.count)
        if buffer.count + raw.count <= AtomicFileWriter.bufferCapacity {
            buffer.append(contentsOf: raw)
            return
        }
        try flush()
        if raw.count >= AtomicFileWriter.bufferCapacity {
            try writeAll(raw)
        } else {
            buffer.append(contentsOf: raw)
        }
    }

    /// Appends raw bytes that are not copied into the buffer when there are many (a tensor's data):
    /// what is buffered and `raw` go to the file in one `writev`.
    public mutating func writeUnbuffered(_ raw: UnsafeRawBufferPointer) throws {
        guard raw.count >= AtomicFileWriter.unbufferedMinimum else { return try write(raw) }
        bytesWritten &+= UInt64(raw.count)
        try buffer.withUnsafeBytes { try writeAll([$0, raw]) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// The size from which `writeUnbuffered` skips the buffer.
    static let unbufferedMinimum = 1 << 16

    /// Appends bytes.
    public mutating func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Appends bytes.
    public mutating func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write($0) }
    }

    /// Appends `count` zero bytes as a hole (`lseek` past them; the file system stores nothing and
    /// reads give zeros): a decoded run of zero rows costs no disk writes. The temporary file is
    /// new, so the skipped range has never held data; `seal()` sets the final size.
    mutating func appendZeros(_ count: Int) throws {
        guard count > 0 else { return }
        guard fd >= 0 else { throw ModelIOError.invalidRequest(file: target.path, message: "the file is closed") }
        try flush()
        if lseek(fd, off_t(count), SEEK_CUR) < 0 {
            throw ModelIOError.fileIO(file: target.path, operation: "seek", errno: errno)
        }
        bytesWritten &+= UInt64(count)
        holes = true
    }

    /// Overwrites bytes already written at `offset` of the temporary file.
    mutating func patch(_ bytes: [UInt8], at offset: UInt64) throws {
        guard offset <= bytesWritten, UInt64(bytes.count) <= bytesWritten - offset, fd >= 0 else {
            throw ModelIOError.invalidRequest(file: target.path, message: "patch outside the bytes written")
        }
        try flush()
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
        if n != bytes.count {
            throw ModelIOError.fileIO(file: target.path, operation: "write", errno: n < 0 ? errno : EIO)
        }
    }

    private mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        // written from the buffer itself, then emptied: a copy would make removeAll allocate anew
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ raw: UnsafeRawBufferPointer) throws {
        try writeAll([raw])
    }

    /// Writes `parts` in order, one `writev` while the kernel takes everything, resuming after a
    /// short write.
    private func writeAll(_ parts: [UnsafeRawBufferPointer]) throws {
        var pieces = parts.compactMap { part in part.baseAddress.map { (base: $0, count: part.count) } }.filter { $0.count > 0 }[...]
        while !pieces.isEmpty {
            var vectors = pieces.prefix(64).map { iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.base), iov_len: $0.count) }
            // at most 1 GiB per call
            var total = 0
            for i in vectors.indices {
                vectors[i].iov_len = min(vectors[i].iov_len, (1 << 30) - total)
                total += vectors[i].iov_len
            }
            let n = vectors.withUnsafeBufferPointer { systemWritev(fd, $0.baseAddress, Int32($0.count)) }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                throw ModelIOError.fileIO(file: target.path, operation: "write", errno: code)
            }
            if n == 0 { throw ModelIOError.fileIO(file: target.path, operation: "write", errno: EIO) }
            var done = n
            while done > 0, let head = pieces.first {
                if done >= head.count {
                    done -= head.count
                    pieces.removeFirst()
                } else {
                    pieces[pieces.startIndex] = (head.base + done, head.count - done)
                    done = 0
                }
            }
        }
    }

    mutating func commit() throws {
        try seal()
        try publish()
    }

    /// Flushes, fsyncs (if `synchronous`) and closes the temporary file without renaming it (a
    /// writer of several files seals each one as it is complete and publishes them all at the end).
    mutating func seal() throws {
        guard fd >= 0 else { return }
        try flush()
        // a hole at the end is not part of the file until its size says so
        if holes && ftruncate(fd, off_t(bytesWritten)) != 0 {
            throw ModelIOError.fileIO(file: target.path, operation: "truncate", errno: errno)
        }
        if synchronous && fsync(fd) != 0 {
            throw ModelIOError.fileIO(file: target.path, operation: "fsync", errno: errno)
        }
        let closeResult = close(fd)
        fd = -1
        if closeResult != 0 {
            throw ModelIOError.fileIO(file: target.path, operation: "close", errno: errno)
        }
    }

    /// Renames the sealed temporary file over the target.
    func publish() throws {
        if rename(temporary.path, target.path) != 0 {
            throw ModelIOError.fileIO(file: target.path, operation: "rename", errno: errno)
        }
        // Make the rename durable (best effort; not all file systems support fsync on directories).
        guard synchronous else { return }
        let dirFD = open(target.deletingLastPathComponent().path, O_RDONLY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            _ = close(dirFD)
        }
    }

    mutating func abandon() {
        if fd >= 0 {
            _ = close(fd)
            fd = -1
        }
        _ = unlink(temporary.path)
    }
}

private func systemWritev(_ fd: Int32, _ vectors: UnsafePointer<iovec>?, _ count: Int32) -> Int {
    #if canImport(Glibc)
    return Glibc.writev(fd, vectors, count)
    #elseif canImport(Musl)
    return Musl.writev(fd, vectors, count)
    #else
    return Darwin.writev(fd, vectors, count)
    #endif
}
