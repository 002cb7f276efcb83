// Thin, bounds-checked wrappers over zlib: raw deflate/inflate (ZIP method 8) and CRC-32.

import CZlib

enum Zlib {
    /// Largest chunk handed to zlib at once (its length fields are 32-bit).
    static let chunkSize = 1 << 30

    /// CRC-32 (ZIP / zlib polynomial) of `raw`, continuing from `initial`.
    static func crc32(_ raw: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        var crc = uLong(initial)
        guard let base = raw.baseAddress?.assumingMemoryBound(to: Bytef.self) else { return initial }
        var offset = 0
        while offset < raw.count {
            let n = min(chunkSize, raw.count - offset)
            crc = CZlib.crc32(crc, base + offset, uInt(n))
            offset += n
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    /// The CRC-32 of `crc`'s data followed by `count` zero bytes, without reading them: zlib's
    /// `crc32_combine` with the CRC of a 1 MiB zero block, once per MiB (O(log) work each).
    static func crc32(zeros count: Int, initial crc: UInt32) -> UInt32 {
        let block = zeroBlockSize
        var c = uLong(crc)
        var left = count
        if left >= block {
            let zeroBlock = uLong(crc32(UnsafeRawBufferPointer(start: Zlib.zeroMiB, count: block)))
            while left >= block {
                c = CZlib.crc32_combine(c, zeroBlock, off_t(block))
                left -= block
            }
        }
        if left > 0 { c = uLong(crc32(UnsafeRawBufferPointer(start: Zlib.zeroMiB, count: left), initial: UInt32(truncatingIfNeeded: c))) }
        return UInt32(truncatingIfNeeded: c)
    }

    /// `zeroBlockSize` (1 MiB) zero bytes, never written: the source of zero runs (CRC-32 of
    /// zeros, piece writers without holes).
    static let zeroBlockSize = 1 << 20
    nonisolated(unsafe) static let zeroMiB: UnsafeMutableRawPointer = {
        let p = UnsafeMutableRawPointer.allocate(byteCount: zeroBlockSize, alignment: 64)
        p.initializeMemory(as: UInt8.self, repeating: 0, count: zeroBlockSize)
        return p
    }()

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { crc32($0) }
    }

    enum Failure: Error {
        case message(String)
    }

    /// Most bytes a raw deflate stream can expand one input byte into (a 258-byte match coded in
    /// 2 bits gives 1032); with `maxInflatedSize` it bounds what a member's claims may ask for.
    static let maxExpansion = 1032

    /// The most bytes `compressedSize` bytes of raw deflate can decode to (saturating).
    static func maxInflatedSize(compressedSize: UInt64) -> UInt64 {
        let (p, o) = compressedSize.multipliedReportingOverflow(by: UInt64(maxExpansion))
        return o ? UInt64.max : p &+ 64
    }
}

/// A raw deflate stream (ZIP method 8) inflated piecewise into buffers the caller owns: zlib never
/// writes past the buffer it is given, so nothing is reserved on the strength of a size field.
final class RawInflater {
    private let stream: UnsafeMutablePointer<z_stream>  // zlib keeps a pointer to it: it must not move
    private let input: UnsafeRawBufferPointer
    private var consumed = 0
    /// Bytes produced so far.
    private(set) var produced = 0
    /// The stream's end-of-block marker has been decoded.
    private(set) var finished = false

    init(_ input: UnsafeRawBufferPointer) throws {
        self.input = input
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let result = inflateInit2_(stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard result == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw Zlib.Failure.message("inflateInit2 failed (zlib code \(result))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Fills `out` with the next bytes of the stream; returns how many were written (fewer than
    /// `out.count` only when the stream has ended).
    func read(into out: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let outBase = out.baseAddress?.assumingMemoryBound(to: Bytef.self) else { return 0 }
        let inBase = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        var written = 0
        while written < out.count && !finished {
            if stream.pointee.avail_in == 0 && consumed < input.count, let inBase {
                let n = min(Zlib.chunkSize, input.count - consumed)
                stream.pointee.next_in = inBase + consumed
                stream.pointee.avail_in = uInt(n)
                consumed += n
            }
            let n = min(Zlib.chunkSize, out.count - written)
            stream.pointee.next_out = outBase + written
            stream.pointee.avail_out = uInt(n)
            let result = inflate(stream, Z_NO_FLUSH)
            let got = n - Int(stream.pointee.avail_out)
            written += got
            produced += got
            switch result {
            case Z_STREAM_END:
                finished = true
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                if stream.pointee.avail_in == 0 && consumed >= input.count {
                    throw Zlib.Failure.message("deflate data is truncated (it ends after \(produced) bytes)")
                }
            case Z_DATA_ERROR:
                let detail = stream.pointee.msg.map { String(cString: $0) } ?? "invalid data"
                throw Zlib.Failure.message("corrupt deflate data (\(detail))")
            case Z_MEM_ERROR:
                throw Zlib.Failure.message("zlib ran out of memory")
            default:
                throw Zlib.Failure.message("inflate failed (zlib code \(result))")
            }
        }
        return written
    }

    /// Reads exactly `count` bytes into a new array (for small, already bounded reads).
    func read(count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let got = try out.withUnsafeMutableBytes { try read(into: $0) }
        out.removeLast(count - got)
        return out
    }

    /// Throws unless the stream ends exactly here (one spare byte detects a longer stream).
    func expectEnd(declared: Int) throws {
        var spare: UInt8 = 0
        let extra = try withUnsafeMutableBytes(of: &spare) { try read(into: $0) }
        if extra != 0 {
            throw Zlib.Failure.message("deflate data decodes to more than the \(declared) bytes declared")
        }
        guard finished else {
            throw Zlib.Failure.message("deflate data does not end after the \(declared) bytes declared")
        }
    }
}

extension Zlib {
    /// Compresses `input` as a raw deflate stream (no zlib header), level 6 by default.
    static func deflateRaw(_ input: UnsafeRawBufferPointer, level: Int32 = 6) throws -> [UInt8] {
        var stream = z_stream()
        let initResult = deflateInit2_(&stream, level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY,
                                       zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initResult == Z_OK else { throw Failure.message("deflateInit2 failed (zlib code \(initResult))") }
        defer { deflateEnd(&stream) }
        var output: [UInt8] = []
        output.reserveCapacity(min(input.count / 2 + 64, 64 << 20))
        var outChunk = [UInt8](repeating: 0, count: 1 << 18)
        var consumed = 0
        let inBase = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        while true {
            if stream.avail_in == 0 && consumed < input.count, let inBase {
                let n = min(chunkSize, input.count - consumed)
                stream.next_in = inBase + consumed
                stream.avail_in = uInt(n)
                consumed += n
            }
            let flush = consumed >= input.count ? Z_FINISH : Z_NO_FLUSH
            let (result, written) = outChunk.withUnsafeMutableBytes { out -> (Int32, Int) in
                stream.next_out = out.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(out.count)
                let r = deflate(&stream, flush)
                return (r, out.count - Int(stream.avail_out))
            }
            output.append(contentsOf: outChunk[0..<written])
            if result == Z_STREAM_END { break }
            guard result == Z_OK || result == Z_BUF_ERROR else {
                throw Failure.message("deflate failed (zlib code \(result))")
            }
        }
        return output
    }
}
