import Foundation
import NNRBitIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file (or buffer) of concatenated NNR units. Memory-mapped where possible; only the bytes a
/// caller asks for are copied.
public final class NNRByteSource: @unchecked Sendable {
    public let data: Data
    /// The start of the file's mapping when this source mapped it itself (see `release`).
    private let mapping: UnsafeMutableRawPointer?

    public init(data: Data) {
        self.data = data
        mapping = nil
    }
    public init(bytes: [UInt8]) {
        self.data = Data(bytes)
        mapping = nil
    }

    private init(mapped data: Data, at base: UnsafeMutableRawPointer) {
        self.data = data
        mapping = base
    }

    /// Maps the file (no read of bytes nobody asks for).
    public convenience init(contentsOf url: URL) throws {
        if let (data, base) = NNRByteSource.map(url) {
            self.init(mapped: data, at: base)
            return
        }
        do {
            self.init(data: try Data(contentsOf: url, options: .alwaysMapped))
        } catch {
            throw NNRError(.io("cannot read \(url.path): \(error.localizedDescription)"), element: "file", byteOffset: 0)
        }
    }

    /// A read-only private mapping of the whole file, or nil (the caller falls back to Foundation,
    /// which reports the error).
    private static func map(_ url: URL) -> (Data, UnsafeMutableRawPointer)? {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size > 0, info.st_size <= Int.max else { return nil }
        let size = Int(info.st_size)
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else { return nil }
        let data = Data(bytesNoCopy: base, count: size, deallocator: .custom { p, n in munmap(p, n) })
        // Data keeps the mapping itself (not a copy): only then may pages be let go.
        guard data.withUnsafeBytes({ $0.baseAddress }) == UnsafeRawPointer(base) else { return nil }
        return (data, base)
    }

    /// Lets the pages that lie wholly inside `range` leave memory (a hint: the bytes stay readable,
    /// read again from the file if asked for). Decoding calls it once a payload is copied out, so
    /// a bitstream larger than memory does not stay resident as it is read. Does nothing unless
    /// the source mapped its file itself.
    public func release(_ range: Range<Int>) {
        guard let base = mapping else { return }
        let page = Swift.max(1, Int(sysconf(Int32(_SC_PAGESIZE))))
        let lo = (Swift.max(0, range.lowerBound) + page - 1) / page * page
        let hi = Swift.min(range.upperBound, data.count) / page * page
        guard hi > lo else { return }
        _ = madvise(base + lo, hi - lo, Int32(MADV_DONTNEED))
    }

    public var count: Int { data.count }

    /// Copies `range` (clamped to the data) out.
    public func bytes(_ range: Range<Int>) -> [UInt8] {
        let lo = Swift.max(0, Swift.min(range.lowerBound, data.count))
        let hi = Swift.max(lo, Swift.min(range.upperBound, data.count))
        if lo == hi { return [] }
        return data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [UInt8] in Array(raw[lo..<hi]) }
    }

    /// Calls `body` with `range` (clamped to the data) in place, without a copy.
    public func withBytes<R>(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let lo = Swift.max(0, Swift.min(range.lowerBound, data.count))
        let hi = Swift.max(lo, Swift.min(range.upperBound, data.count))
        return try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> R in
            try body(UnsafeRawBufferPointer(rebasing: raw[lo..<hi]))
        }
    }

    public subscript(_ i: Int) -> UInt8 { data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> UInt8 in raw[i] } }
}

/// Walks the units of a file by their sizes, reading only each unit's first bytes.
public struct NNRUnitScanner: Sequence, IteratorProtocol {
    public let source: NNRByteSource
    public let limits: NNRLimits
    private var offset: Int = 0
    private var index: Int = 0
    private var failed = false

    public init(source: NNRByteSource, limits: NNRLimits = .default, startOffset: Int = 0, endOffset: Int? = nil) {
        self.source = source
        self.limits = limits
        self.offset = startOffset
        self.end = Swift.min(endOffset ?? source.count, source.count)
    }

    private let end: Int

    /// Reads the unit starting at `offset`. Each call returns the next unit, an error, or nil at the end.
    public mutating func next() -> Result<NNRUnitLocation, NNRError>? {
        if failed || offset >= end { return nil }
        let r = Self.readLocation(source: source, offset: offset, end: end, index: index, limits: limits)
        switch r {
        case let .success(loc):
            offset = loc.end
            index += 1
        case .failure:
            failed = true
        }
        return r
    }

    /// The unit header fields at `offset`, checked against the bytes up to `end`.
    public static func readLocation(source: NNRByteSource, offset: Int, end: Int, index: Int,
                                    limits: NNRLimits) -> Result<NNRUnitLocation, NNRError> {
        if index >= limits.maxUnits {
            return .failure(NNRError(.limitExceeded("more than \(limits.maxUnits) units"), element: "nnr_unit",
                                     byteOffset: offset, unitIndex: index))
        }
        let head = source.bytes(offset..<Swift.min(end, offset + 6))
        var reader = BitReader(bytes: head, fileOffset: offset, limits: limits)
        var common = NNRUnitCommonHeader()
        do {
            try common.visit(&reader)
        } catch let e as NNRError {
            return .failure(e.inUnit(index))
        } catch {
            return .failure(NNRError(.io("\(error)"), element: "nnr_unit", byteOffset: offset, unitIndex: index))
        }
        let remaining = end - offset
        if common.nnrUnitSize < common.byteLength {
            return .failure(NNRError(.sizeMismatch("nnr_unit_size \(common.nnrUnitSize) is smaller than the unit's own header (\(common.byteLength) bytes)"),
                                     element: "nnr_unit_size", byteOffset: offset, bitOffset: 1, unitIndex: index))
        }
        if common.nnrUnitSize > remaining {
            return .failure(NNRError(.sizeMismatch("nnr_unit_size \(common.nnrUnitSize) runs past the end of the file (\(remaining) bytes left)"),
                                     element: "nnr_unit_size", byteOffset: offset, bitOffset: 1, unitIndex: index))
        }
        return .success(NNRUnitLocation(index: index, offset: offset, size: common.nnrUnitSize, common: common))
    }

    /// All unit locations, or the first error (with the units found before it).
    public static func scan(_ source: NNRByteSource, limits: NNRLimits = .default) -> (units: [NNRUnitLocation], error: NNRError?) {
        var out: [NNRUnitLocation] = []
        for r in NNRUnitScanner(source: source, limits: limits) {
            switch r {
            case let .success(l): out.append(l)
            case let .failure(e): return (out, e)
            }
        }
        return (out, nil)
    }
}

/// Assembles units: picks the size form and fills in nnr_unit_size.
public enum NNRUnitWriter {
    /// Builds one unit from its common header fields and the bytes that follow them
    /// (type-specific header and payload). The short size form is used iff the whole unit is
    /// below 32768 bytes, unless `forceLongSize`.
    public static func unit(common: NNRUnitCommonHeader, body: [UInt8], forceLongSize: Bool = false) throws -> [UInt8] {
        var c = common
        let tail = 1 + (c.partialDataCounterPresentFlag ? 1 : 0) + body.count
        let shortTotal = 2 + tail
        if shortTotal < 32768 && !forceLongSize {
            c.nnrUnitSizeFlag = false
            c.nnrUnitSize = shortTotal
        } else {
            c.nnrUnitSizeFlag = true
            c.nnrUnitSize = 4 + tail
            guard c.nnrUnitSize < (1 << 31) else {
                throw NNRError(.limitExceeded("unit of \(c.nnrUnitSize) bytes does not fit nnr_unit_size"), element: "nnr_unit_size", byteOffset: 0)
            }
        }
        var w = BitWriter()
        try c.visit(&w)
        w.writeBytes(body)
        return w.bytes
    }
}
