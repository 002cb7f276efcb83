// Thin, bounds-checked wrappers over zlib: raw deflate/inflate (ZIP method 8) and CRC-32.

import CZlib

enum Zlib {
    /// Largest chunk handed to zlib at once (its length fields are 32-bit).
    private static let chunk = 1 << 30

    /// CRC-32 (ZIP / zlib polynomial) of `raw`, continuing from `initial`.
    static func crc32(_ raw: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        var crc = uLong(initial)
        guard let base = raw.baseAddress?.assumingMemoryBound(to: Bytef.self) else { return initial }
        var offset = 0
        while offset < raw.count {
            let n = min(chunk, raw.count - offset)
            crc = CZlib.crc32(crc, base + offset, uInt(n))
            offset += n
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { crc32($0) }
    }

    enum Failure: Error {
        case message(String)
    }

    /// Inflates a raw deflate stream that must produce exactly `expectedSize` bytes and end there.
    static func inflateRaw(_ input: UnsafeRawBufferPointer, expectedSize: Int) throws -> [UInt8] {
        var stream = z_stream()
        let initResult = inflateInit2_(&stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initResult == Z_OK else { throw Failure.message("inflateInit2 failed (zlib code \(initResult))") }
        defer { inflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: expectedSize)
        // One spare byte of output space lets us detect a stream that decodes to more than expected.
        var spare: UInt8 = 0
        var produced = 0
        var consumed = 0
        var finished = false
        try output.withUnsafeMutableBytes { out in
            let inBase = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
            let outBase = out.baseAddress?.assumingMemoryBound(to: Bytef.self)
            while !finished {
                if stream.avail_in == 0 && consumed < input.count, let inBase {
                    let n = min(chunk, input.count - consumed)
                    stream.next_in = inBase + consumed
                    stream.avail_in = uInt(n)
                    consumed += n
                }
                var usingSpare = false
                if produced < expectedSize, let outBase {
                    let n = min(chunk, expectedSize - produced)
                    stream.next_out = outBase + produced
                    stream.avail_out = uInt(n)
                } else {
                    usingSpare = true
                }
                let result: Int32
                if usingSpare {
                    result = withUnsafeMutablePointer(to: &spare) { sp -> Int32 in
                        stream.next_out = sp
                        stream.avail_out = 1
                        return inflate(&stream, Z_NO_FLUSH)
                    }
                    if stream.avail_out == 0 {
                        throw Failure.message("deflate data decodes to more than the declared \(expectedSize) bytes")
                    }
                } else {
                    let before = Int(stream.avail_out)
                    result = inflate(&stream, Z_NO_FLUSH)
                    produced += before - Int(stream.avail_out)
                }
                switch result {
                case Z_STREAM_END:
                    finished = true
                case Z_OK:
                    continue
                case Z_BUF_ERROR:
                    if stream.avail_in == 0 && consumed >= input.count {
                        throw Failure.message("deflate data is truncated (decoded \(produced) of \(expectedSize) bytes)")
                    }
                    continue
                case Z_DATA_ERROR:
                    let detail = stream.msg.map { String(cString: $0) } ?? "invalid data"
                    throw Failure.message("corrupt deflate data (\(detail))")
                case Z_MEM_ERROR:
                    throw Failure.message("zlib ran out of memory")
                default:
                    throw Failure.message("inflate failed (zlib code \(result))")
                }
            }
        }
        guard produced == expectedSize else {
            throw Failure.message("deflate data decodes to \(produced) bytes, the archive declares \(expectedSize)")
        }
        return output
    }

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
                let n = min(chunk, input.count - consumed)
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
