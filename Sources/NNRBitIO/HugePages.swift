#if canImport(Glibc)
import Glibc
#endif

/// Transparent huge pages for a large buffer that is about to be written once from start to end
/// (the levels decoded into a float32 tensor's memory, a payload copy; a tensor's bytes read from a
/// file, the encoder's levels, trellis decisions and scan-order indices of a large tensor).
/// Each 4 KiB page of a fresh buffer costs one page fault and its zero-filling on first write:
/// 1.5 ms of CPU for 4 MiB on the 2-core AMD EPYC (taskset -c 1, a C program touching a malloc'd
/// buffer, `perf stat -r 50`), 0.15 ms when the whole range is backed by 2 MiB pages, 0.9 ms when
/// only the 2 MiB pages that happen to lie inside glibc's unaligned mapping are. Contents and
/// results are unchanged.
public enum HugePages {
    static let size = 2 << 20
    /// A 2 MiB page at the edge of a buffer is advised only if the buffer covers this much of it
    /// (zero-filling a huge page costs about as much as faulting in 35 small pages, 140 KiB).
    static let partialMinimum = 256 << 10
    /// Smaller buffers are allocated as usual.
    static let minimumCount = 256 << 10
    /// glibc's overhead on an mmap'd chunk: a request of k·2 MiB − 64 bytes becomes a mapping of
    /// exactly k·2 MiB.
    static let mallocOverhead = 64
    /// The same for a Swift array, whose storage starts with a 32-byte header.
    static let arrayOverhead = mallocOverhead + 32

    /// A byte array of `count` bytes filled by `body` (which must initialize all of them), its
    /// storage placed so that it can be backed by 2 MiB pages.
    ///
    /// glibc serves a request of at least its mmap threshold with a mapping of its own, and Linux
    /// (6.7 and later) places an anonymous mapping whose length is a multiple of 2 MiB on a 2 MiB
    /// boundary. So the capacity is chosen to make the mapping exactly k·2 MiB: the array then
    /// starts 48 bytes after a 2 MiB boundary, and every 2 MiB page it covers can be advised.
    /// Elsewhere (smaller threshold, other allocator, older kernel) the advice covers whatever
    /// 2 MiB pages the buffer spans enough of; nothing depends on where the storage lands.
    public static func byteArray(count: Int, _ body: (UnsafeMutableRawPointer) throws -> Void) rethrows -> [UInt8] {
        try array(of: UInt8.self, count: count) { try body(UnsafeMutableRawPointer($0)) }
    }

    /// An array of `count` values of `T` filled by `body` (which must initialize all of them),
    /// placed and advised as `byteArray` places and advises its storage.
    public static func array<T>(of _: T.Type, count: Int, _ body: (UnsafeMutablePointer<T>) throws -> Void) rethrows -> [T] {
        let stride = MemoryLayout<T>.stride
        let (bytes, overflow) = count.multipliedReportingOverflow(by: stride)
        let elements = overflow ? count : Swift.max(count, capacity(count: bytes) / Swift.max(1, stride))
        return try [T](unsafeUninitializedCapacity: elements) { buf, initialized in
            guard let b = buf.baseAddress else { return }
            if !overflow && bytes >= minimumCount { advise(UnsafeMutableRawPointer(b), count: bytes) }
            try body(b)
            initialized = count
        }
    }

    /// Uninitialized memory for `capacity` values of `T` (free with `deallocate()`), placed and
    /// advised as `byteArray` places and advises an array's storage. The caller checks that
    /// `capacity` times the stride of `T` does not overflow.
    public static func allocate<T>(_: T.Type, capacity: Int) -> UnsafeMutablePointer<T> {
        let byteCount = capacity &* MemoryLayout<T>.stride
        let alignment = Swift.max(16, MemoryLayout<T>.alignment)
        let p = UnsafeMutableRawPointer.allocate(byteCount: self.capacity(count: byteCount, overhead: mallocOverhead),
                                                 alignment: alignment)
        if byteCount >= minimumCount { advise(p, count: byteCount) }
        return p.bindMemory(to: T.self, capacity: capacity)
    }

    /// MADV_COLLAPSE (Linux 6.1; older kernels reject it, which only loses the speed-up).
    static let adviceCollapse: Int32 = 25

    /// The 2 MiB pages to advise for `[start, start + count)`: those it covers wholly, and a page
    /// at either edge that it covers at least `partialMinimum` of. nil if there are none.
    static func adviceRange(start lo: Int, count: Int) -> Range<Int>? {
        let (hi, overflow) = lo.addingReportingOverflow(count)
        guard !overflow, count > 0, lo >= 0, hi <= Int.max &- size else { return nil }
        var first = lo & ~(size &- 1)
        if first < lo && first &+ size &- lo < partialMinimum { first &+= size }
        var end = (hi &+ size &- 1) & ~(size &- 1)
        if end > hi && hi &- (end &- size) < partialMinimum { end &-= size }
        return end > first ? first..<end : nil
    }

    /// Advises MADV_HUGEPAGE for `adviceRange`. A first page that begins before `start` has had
    /// the allocation's headers written into it already, so a fault can no longer give it a huge
    /// page: it is collapsed into one now (MADV_COLLAPSE keeps the bytes; 0.64 ms less for a
    /// 4 MiB buffer whose first page it is, measured as above).
    static func advise(_ start: UnsafeMutableRawPointer, count: Int) {
        #if os(Linux)
        guard let r = adviceRange(start: Int(bitPattern: start), count: count),
              let p = UnsafeMutableRawPointer(bitPattern: r.lowerBound),
              madvise(p, r.count, MADV_HUGEPAGE) == 0 else { return }
        if r.lowerBound < Int(bitPattern: start) { _ = madvise(p, size, adviceCollapse) }
        #endif
    }

    /// The size to ask for so that `count` bytes after `overhead` bytes of headers fill a
    /// 2 MiB-multiple mapping (see `byteArray`); `count` itself below `minimumCount` or on overflow.
    static func capacity(count: Int, overhead: Int = arrayOverhead) -> Int {
        guard count >= minimumCount else { return count }
        let (padded, overflow) = count.addingReportingOverflow(overhead &+ size &- 1)
        return overflow ? count : Swift.max(count, (padded & ~(size &- 1)) &- overhead)
    }
}
