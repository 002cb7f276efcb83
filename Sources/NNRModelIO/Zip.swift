// Minimal ZIP reader/writer for NPZ archives: stored and deflate members, ZIP64, data descriptors.
// The central directory is authoritative (local headers written by numpy carry 0xFFFFFFFF sizes
// with a ZIP64 extra field, and streamed archives carry zero sizes plus a data descriptor).

/// Little-endian reads from a byte buffer with bounds checks that throw.
struct ByteCursor {
    let raw: UnsafeRawBufferPointer
    var offset: Int
    let file: String
    let what: String

    init(_ raw: UnsafeRawBufferPointer, at offset: Int, file: String, what: String) {
        self.raw = raw
        self.offset = offset
        self.file = file
        self.what = what
    }

    mutating func need(_ n: Int) throws {
        guard offset >= 0, n >= 0, offset <= raw.count, n <= raw.count - offset else {
            throw ModelIOError.truncated(file: file, tensor: nil, what: what)
        }
    }

    mutating func u16() throws -> UInt16 {
        try need(2)
        defer { offset += 2 }
        return UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    mutating func u32() throws -> UInt32 {
        try need(4)
        defer { offset += 4 }
        return UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    mutating func u64() throws -> UInt64 {
        try need(8)
        defer { offset += 8 }
        return UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    mutating func bytes(_ n: Int) throws -> UnsafeRawBufferPointer {
        try need(n)
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + n)])
    }

    mutating func skip(_ n: Int) throws {
        try need(n)
        offset += n
    }
}

struct ZipEntry: Equatable {
    var name: String
    var method: UInt16
    var flags: UInt16
    var crc32: UInt32
    var compressedSize: UInt64
    var uncompressedSize: UInt64
    var localHeaderOffset: UInt64
    /// Offset of the member's (compressed) data, resolved from the local header.
    var dataOffset: Int
}

enum ZipSignature {
    static let localHeader: UInt32 = 0x0403_4B50
    static let centralHeader: UInt32 = 0x0201_4B50
    static let endOfCentralDirectory: UInt32 = 0x0605_4B50
    static let zip64EndOfCentralDirectory: UInt32 = 0x0606_4B50
    static let zip64Locator: UInt32 = 0x0706_4B50
    static let dataDescriptor: UInt32 = 0x0807_4B50
}

enum ZipReader {
    /// Where the central directory lies, from the end of central directory record (and its ZIP64
    /// counterpart when present).
    struct CentralDirectory {
        var entryCount: UInt64
        var size: UInt64
        var offset: UInt64
        /// The central directory (and every member) must end before this offset.
        var end: Int
    }

    /// One central directory record, its ZIP64 fields resolved.
    struct CentralEntry {
        var name: String
        var nameBytes: UnsafeRawBufferPointer
        var flags: UInt16
        var method: UInt16
        var crc32: UInt32
        var compressedSize: UInt64
        var uncompressedSize: UInt64
        var localHeaderOffset: UInt64
    }

    /// Parses the central directory and resolves each member's data offset.
    static func entries(_ raw: UnsafeRawBufferPointer, file: String, limits: ModelIOLimits) throws -> [ZipEntry] {
        let directory = try centralDirectory(raw, file: file, limits: limits)
        var entries: [ZipEntry] = []
        entries.reserveCapacity(Int(directory.entryCount))
        var cd = ByteCursor(raw, at: Int(directory.offset), file: file, what: "ZIP central directory")
        let cdEnd = Int(directory.offset) + Int(directory.size)
        for index in 0..<Int(directory.entryCount) {
            let entry = try centralEntry(&cd, index: index, end: cdEnd, file: file, limits: limits)
            let dataOffset = try localDataOffset(raw, entry, directoryEnd: directory.end, file: file)
            entries.append(ZipEntry(name: entry.name, method: entry.method, flags: entry.flags, crc32: entry.crc32,
                                    compressedSize: entry.compressedSize, uncompressedSize: entry.uncompressedSize,
                                    localHeaderOffset: entry.localHeaderOffset, dataOffset: dataOffset))
        }
        return entries
    }

    /// The end of central directory record (ZIP64 values replacing the classic ones when the
    /// locator is present), checked against the archive and the limits before anything is reserved.
    private static func centralDirectory(_ raw: UnsafeRawBufferPointer, file: String, limits: ModelIOLimits) throws -> CentralDirectory {
        let eocd = try findEndOfCentralDirectory(raw, file: file)
        var c = ByteCursor(raw, at: eocd + 4, file: file, what: "ZIP end of central directory record")
        let diskNumber = try c.u16()
        let cdDisk = try c.u16()
        _ = try c.u16()  // entries on this disk
        var directory = CentralDirectory(entryCount: UInt64(try c.u16()), size: UInt64(try c.u32()), offset: UInt64(try c.u32()),
                                         end: eocd)
        guard diskNumber == 0 || diskNumber == 0xFFFF, cdDisk == 0 || cdDisk == 0xFFFF else {
            throw ModelIOError.malformedArchive(file: file, message: "multi-disk (spanned) archives are not supported")
        }
        try readZip64EndOfCentralDirectory(raw, eocd: eocd, file: file, into: &directory)
        let (entryCount, cdSize, cdOffset) = (directory.entryCount, directory.size, directory.offset)
        guard entryCount <= UInt64(max(0, limits.maxTensors)) else {
            throw ModelIOError.limitExceeded(file: file, tensor: nil, limit: "maxTensors",
                                             value: entryCount, maximum: UInt64(max(0, limits.maxTensors)))
        }
        guard cdOffset <= UInt64(directory.end), cdSize <= UInt64(directory.end) - cdOffset else {
            throw ModelIOError.malformedArchive(file: file,
                                                message: "central directory (offset \(cdOffset), \(cdSize) bytes) lies outside the archive")
        }
        // Every central record is at least 46 bytes: bounds the count before we reserve anything.
        guard entryCount.multipliedReportingOverflow(by: 46).partialValue <= cdSize, entryCount < UInt64(Int.max / 46) else {
            throw ModelIOError.malformedArchive(file: file,
                                                message: "central directory of \(cdSize) bytes cannot hold \(entryCount) entries")
        }
        return directory
    }

    /// The ZIP64 end of central directory record, when its locator sits just before the classic
    /// record at `eocd`: its count, size and offset replace the classic ones.
    private static func readZip64EndOfCentralDirectory(_ raw: UnsafeRawBufferPointer, eocd: Int, file: String,
                                                       into directory: inout CentralDirectory) throws {
        guard eocd >= 20 else { return }
        var l = ByteCursor(raw, at: eocd - 20, file: file, what: "ZIP64 end of central directory locator")
        guard try l.u32() == ZipSignature.zip64Locator else { return }
        _ = try l.u32()  // disk with the zip64 record
        let zip64Offset = try l.u64()
        guard zip64Offset <= UInt64(eocd - 20), zip64Offset <= UInt64(Int.max) else {
            throw ModelIOError.malformedArchive(file: file, message: "ZIP64 end of central directory offset \(zip64Offset) is out of range")
        }
        var z = ByteCursor(raw, at: Int(zip64Offset), file: file, what: "ZIP64 end of central directory record")
        guard try z.u32() == ZipSignature.zip64EndOfCentralDirectory else {
            throw ModelIOError.malformedArchive(file: file, message: "ZIP64 end of central directory record has a bad signature")
        }
        _ = try z.u64()  // record size
        _ = try z.u16()  // version made by
        _ = try z.u16()  // version needed
        let disk64 = try z.u32()
        let cdDisk64 = try z.u32()
        guard disk64 == 0, cdDisk64 == 0 else {
            throw ModelIOError.malformedArchive(file: file, message: "multi-disk (spanned) archives are not supported")
        }
        _ = try z.u64()  // entries on this disk
        directory.entryCount = try z.u64()
        directory.size = try z.u64()
        directory.offset = try z.u64()
        directory.end = Int(zip64Offset)
    }

    /// The central directory record `index` at the cursor (which must stay before `end`), its
    /// ZIP64 extra field applied and its flags and method checked.
    private static func centralEntry(_ cd: inout ByteCursor, index: Int, end cdEnd: Int, file: String,
                                     limits: ModelIOLimits) throws -> CentralEntry {
        guard try cd.u32() == ZipSignature.centralHeader else {
            throw ModelIOError.malformedArchive(file: file, message: "central directory entry \(index) has a bad signature")
        }
        _ = try cd.u16()  // version made by
        _ = try cd.u16()  // version needed
        let flags = try cd.u16()
        let method = try cd.u16()
        _ = try cd.u16()  // time
        _ = try cd.u16()  // date
        let crc = try cd.u32()
        var compressed = UInt64(try cd.u32())
        var uncompressed = UInt64(try cd.u32())
        let nameLength = Int(try cd.u16())
        let extraLength = Int(try cd.u16())
        let commentLength = Int(try cd.u16())
        let startDisk = try cd.u16()
        _ = try cd.u16()  // internal attributes
        _ = try cd.u32()  // external attributes
        var localOffset = UInt64(try cd.u32())
        let nameBytes = try cd.bytes(nameLength)
        let extra = try cd.bytes(extraLength)
        try cd.skip(commentLength)
        guard cd.offset <= cdEnd else {
            throw ModelIOError.malformedArchive(file: file, message: "central directory entry \(index) runs past the directory's end")
        }
        guard nameLength <= limits.maxNameBytes else {
            throw ModelIOError.limitExceeded(file: file, tensor: nil, limit: "maxNameBytes",
                                             value: UInt64(nameLength), maximum: UInt64(max(0, limits.maxNameBytes)))
        }
        let name = String(validating: nameBytes, as: UTF8.self) ?? String(decoding: nameBytes, as: UTF8.self)
        // ZIP64 extended information: present fields follow the order usize, csize, offset, disk.
        var startDisk32 = UInt32(startDisk)
        if uncompressed == 0xFFFF_FFFF || compressed == 0xFFFF_FFFF || localOffset == 0xFFFF_FFFF || startDisk == 0xFFFF {
            guard let z = try zip64Extra(extra, file: file, member: name) else {
                throw ModelIOError.malformedArchive(file: file, message: "member '\(name)': 32-bit size or offset is 0xFFFFFFFF but there is no ZIP64 extra field")
            }
            var zc = ByteCursor(z, at: 0, file: file, what: "ZIP64 extra field of member '\(name)'")
            if uncompressed == 0xFFFF_FFFF { uncompressed = try zc.u64() }
            if compressed == 0xFFFF_FFFF { compressed = try zc.u64() }
            if localOffset == 0xFFFF_FFFF { localOffset = try zc.u64() }
            if startDisk == 0xFFFF { startDisk32 = try zc.u32() }
        }
        guard startDisk32 == 0 else {
            throw ModelIOError.malformedArchive(file: file, message: "multi-disk (spanned) archives are not supported")
        }
        if flags & 0x1 != 0 || flags & 0x40 != 0 {
            throw ModelIOError.unsupportedCompression(file: file, member: name, method: method)
        }
        guard method == 0 || method == 8 else {
            throw ModelIOError.unsupportedCompression(file: file, member: name, method: method)
        }
        if method == 0 && compressed != uncompressed {
            throw ModelIOError.malformedArchive(file: file, message: "stored member '\(name)' has compressed size \(compressed) != uncompressed size \(uncompressed)")
        }
        return CentralEntry(name: name, nameBytes: nameBytes, flags: flags, method: method, crc32: crc,
                            compressedSize: compressed, uncompressedSize: uncompressed, localHeaderOffset: localOffset)
    }

    /// The offset of a member's data after its local header. Only the local header's name and
    /// extra lengths matter (its sizes may be 0 or 0xFFFFFFFF); the data must end before the
    /// central directory.
    private static func localDataOffset(_ raw: UnsafeRawBufferPointer, _ entry: CentralEntry, directoryEnd: Int,
                                        file: String) throws -> Int {
        let name = entry.name, localOffset = entry.localHeaderOffset, compressed = entry.compressedSize
        guard localOffset < UInt64(directoryEnd) else {
            throw ModelIOError.malformedArchive(file: file, message: "member '\(name)': local header offset \(localOffset) is out of range")
        }
        var local = ByteCursor(raw, at: Int(localOffset), file: file, what: "ZIP local header of member '\(name)'")
        guard try local.u32() == ZipSignature.localHeader else {
            throw ModelIOError.malformedArchive(file: file, message: "member '\(name)': bad local header signature at offset \(localOffset)")
        }
        try local.skip(22)
        let localNameLength = Int(try local.u16())
        let localExtraLength = Int(try local.u16())
        let localName = try local.bytes(localNameLength)
        try local.skip(localExtraLength)
        guard localName.elementsEqual(entry.nameBytes) else {
            throw ModelIOError.malformedArchive(file: file, message: "member '\(name)': local header names a different member")
        }
        let dataOffset = local.offset
        guard dataOffset <= directoryEnd else {
            throw ModelIOError.truncated(file: file, tensor: name, what: "ZIP local header of member '\(name)' (runs into the central directory)")
        }
        guard compressed <= UInt64(directoryEnd - dataOffset) else {
            throw ModelIOError.truncated(file: file, tensor: name,
                                         what: "ZIP member data (\(compressed) bytes declared, \(max(0, directoryEnd - dataOffset)) available)")
        }
        return dataOffset
    }

    private static func zip64Extra(_ extra: UnsafeRawBufferPointer, file: String, member: String) throws -> UnsafeRawBufferPointer? {
        var c = ByteCursor(extra, at: 0, file: file, what: "extra fields of member '\(member)'")
        while c.offset + 4 <= extra.count {
            let id = try c.u16()
            let size = Int(try c.u16())
            let body = try c.bytes(size)
            if id == 0x0001 { return body }
        }
        return nil
    }

    private static func findEndOfCentralDirectory(_ raw: UnsafeRawBufferPointer, file: String) throws -> Int {
        let minimum = 22
        let looksLikeZip = raw.count >= 4 && raw[0] == 0x50 && raw[1] == 0x4B
            && ((raw[2] == 3 && raw[3] == 4) || (raw[2] == 5 && raw[3] == 6))
        guard looksLikeZip else {
            if raw.count < 4 && raw.elementsEqual([0x50, 0x4B, 0x03, 0x04].prefix(raw.count)) {
                throw ModelIOError.truncated(file: file, tensor: nil, what: "ZIP archive (shorter than any ZIP file)")
            }
            throw ModelIOError.badMagic(file: file, tensor: nil, format: "ZIP (NPZ)")
        }
        if raw.count >= minimum {
            let lowest = max(0, raw.count - minimum - 0xFFFF)
            var position = raw.count - minimum
            while position >= lowest {
                if raw[position] == 0x50 && raw[position + 1] == 0x4B && raw[position + 2] == 5 && raw[position + 3] == 6 {
                    let commentLength = Int(raw[position + 20]) | (Int(raw[position + 21]) << 8)
                    if position + minimum + commentLength <= raw.count { return position }
                }
                position -= 1
            }
        }
        throw ModelIOError.truncated(file: file, tensor: nil, what: "ZIP archive (end of central directory record not found)")
    }

    /// The stored (method 0) bytes of `entry` after verifying the CRC-32. Deflated members are
    /// read piecewise by ``NPZ`` (see `decodeDeflated`), never inflated whole on a size field's word.
    static func storedData(_ entry: ZipEntry, in raw: UnsafeRawBufferPointer, file: String) throws -> UnsafeRawBufferPointer {
        guard entry.method == 0 else {
            throw ModelIOError.unsupportedCompression(file: file, member: entry.name, method: entry.method)
        }
        let data = UnsafeRawBufferPointer(rebasing: raw[entry.dataOffset..<(entry.dataOffset + Int(entry.compressedSize))])
        try verifyCRC(entry, data, file: file)
        return data
    }

    /// The compressed bytes of `entry` (their range was checked against the archive by `entries`).
    static func compressedData(_ entry: ZipEntry, in raw: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: raw[entry.dataOffset..<(entry.dataOffset + Int(entry.compressedSize))])
    }

    static func checkCRC(_ entry: ZipEntry, actual: UInt32, file: String) throws {
        guard actual == entry.crc32 else {
            throw ModelIOError.crcMismatch(file: file, member: entry.name, expected: entry.crc32, actual: actual)
        }
    }

    private static func verifyCRC(_ entry: ZipEntry, _ data: UnsafeRawBufferPointer, file: String) throws {
        try checkCRC(entry, actual: Zlib.crc32(data), file: file)
    }
}

/// How NPZ members are stored.
public enum NPZCompression: Sendable, Equatable {
    /// Method 0, like `numpy.savez`.
    case stored
    /// Method 8 (raw deflate) at zlib `level` 0...9, like `numpy.savez_compressed` (level 6).
    case deflate(level: Int = 6)
}

/// Sequential ZIP writer over a ``ByteSink``.
struct ZipWriter<Sink: ByteSink> {
    private struct CentralRecord {
        var nameBytes: [UInt8]
        var method: UInt16
        var crc: UInt32
        var compressedSize: UInt64
        var uncompressedSize: UInt64
        var localOffset: UInt64
    }

    var sink: Sink
    private var offset: UInt64 = 0
    private var records: [CentralRecord] = []
    /// The member being written in pieces and its data bytes so far.
    private var open: (record: CentralRecord, written: UInt64)?
    /// Values at or above this use ZIP64 fields (0xFFFFFFFF per the ZIP spec; lowered in tests).
    var zip64Threshold: UInt64 = 0xFFFF_FFFF
    /// Always write ZIP64 extra fields in local headers. numpy.savez does (it streams members via
    /// `ZipFile.open(name, "w", force_zip64=True)`); keeping it makes our output byte-identical.
    var forceZip64 = true

    init(sink: Sink) { self.sink = sink }

    private mutating func emit(_ bytes: [UInt8]) throws {
        try sink.write(bytes)
        offset &+= UInt64(bytes.count)
    }

    private mutating func emit(_ raw: UnsafeRawBufferPointer) throws {
        try sink.write(raw)
        offset &+= UInt64(raw.count)
    }

    /// Adds a member whose uncompressed content is the concatenation of `parts`.
    mutating func addMember(name: String, parts: [UnsafeRawBufferPointer], compression: NPZCompression) throws {
        let nameBytes = Array(name.utf8)
        var crc: UInt32 = 0
        var uncompressedSize: UInt64 = 0
        for part in parts {
            crc = Zlib.crc32(part, initial: crc)
            uncompressedSize += UInt64(part.count)
        }
        var compressedData: [UInt8]? = nil
        var method: UInt16 = 0
        if case let .deflate(level) = compression {
            method = 8
            var joined: [UInt8] = []
            joined.reserveCapacity(Int(uncompressedSize))
            for part in parts { joined.append(contentsOf: part) }
            do {
                compressedData = try joined.withUnsafeBytes { try Zlib.deflateRaw($0, level: Int32(clamping: min(max(level, 0), 9))) }
            } catch let Zlib.Failure.message(message) {
                throw ModelIOError.compressionFailed(file: "<zip writer>", member: name, message: message)
            }
        }
        let compressedSize = compressedData.map { UInt64($0.count) } ?? uncompressedSize
        let localOffset = offset
        try emitLocalHeader(nameBytes: nameBytes, method: method, crc: crc, compressedSize: compressedSize, uncompressedSize: uncompressedSize)
        if let compressedData {
            try emit(compressedData)
        } else {
            for part in parts { try emit(part) }
        }
        records.append(CentralRecord(nameBytes: nameBytes, method: method, crc: crc, compressedSize: compressedSize,
                                     uncompressedSize: uncompressedSize, localOffset: localOffset))
    }

    private mutating func emitLocalHeader(nameBytes: [UInt8], method: UInt16, crc: UInt32, compressedSize: UInt64,
                                          uncompressedSize: UInt64) throws {
        let zip64 = forceZip64 || uncompressedSize >= zip64Threshold || compressedSize >= zip64Threshold
        var h = LittleEndianBuilder()
        h.u32(ZipSignature.localHeader)
        h.u16(zip64 ? 45 : 20)
        h.u16(nameBytes.allSatisfy { $0 < 0x80 } ? 0 : 0x0800)
        h.u16(method)
        h.u16(0)       // time 00:00
        h.u16(0x0021)  // date 1980-01-01
        h.u32(crc)
        h.u32(zip64 ? 0xFFFF_FFFF : UInt32(truncatingIfNeeded: compressedSize))
        h.u32(zip64 ? 0xFFFF_FFFF : UInt32(truncatingIfNeeded: uncompressedSize))
        h.u16(UInt16(truncatingIfNeeded: nameBytes.count))
        h.u16(zip64 ? 20 : 0)
        h.bytes(nameBytes)
        if zip64 {
            h.u16(0x0001)
            h.u16(16)
            h.u64(uncompressedSize)
            h.u64(compressedSize)
        }
        try emit(h.bytes)
    }

    /// A stored member whose `size` bytes arrive in pieces (`appendStored`, then `endStoredMember`):
    /// the local header is written first with a CRC-32 of 0 and patched in place at the end, so the
    /// archive is byte-identical to `addMember` of the same content.
    mutating func beginStoredMember(name: String, size: UInt64) throws {
        guard open == nil else { throw ModelIOError.invalidRequest(file: "<zip writer>", message: "a member is still open") }
        let nameBytes = Array(name.utf8)
        let record = CentralRecord(nameBytes: nameBytes, method: 0, crc: 0, compressedSize: size, uncompressedSize: size, localOffset: offset)
        try emitLocalHeader(nameBytes: nameBytes, method: 0, crc: 0, compressedSize: size, uncompressedSize: size)
        open = (record, 0)
    }

    mutating func appendStored(_ raw: UnsafeRawBufferPointer) throws {
        guard var m = open else { throw ModelIOError.invalidRequest(file: "<zip writer>", message: "no member is open") }
        m.record.crc = Zlib.crc32(raw, initial: m.record.crc)
        m.written &+= UInt64(raw.count)
        guard m.written <= m.record.uncompressedSize else {
            throw ModelIOError.invalidRequest(file: "<zip writer>", message: "member data longer than declared")
        }
        open = m
        try emit(raw)
    }

    /// `count` zero bytes of the open member: the CRC-32 is extended without reading them and the
    /// sink writes a hole.
    mutating func appendStoredZeros(_ count: Int) throws {
        guard var m = open else { throw ModelIOError.invalidRequest(file: "<zip writer>", message: "no member is open") }
        m.written &+= UInt64(count)
        guard count >= 0, m.written <= m.record.uncompressedSize else {
            throw ModelIOError.invalidRequest(file: "<zip writer>", message: "member data longer than declared")
        }
        m.record.crc = Zlib.crc32(zeros: count, initial: m.record.crc)
        open = m
        try sink.appendZeros(count)
        offset &+= UInt64(count)
    }

    mutating func endStoredMember() throws {
        guard let m = open, m.written == m.record.uncompressedSize else {
            throw ModelIOError.invalidRequest(file: "<zip writer>", message: "member data shorter than declared")
        }
        var crc = LittleEndianBuilder()
        crc.u32(m.record.crc)
        try sink.patch(crc.bytes, at: m.record.localOffset + 14)
        records.append(m.record)
        open = nil
    }

    /// Writes the central directory and end records.
    mutating func finish() throws {
        let cdOffset = offset
        for r in records {
            let bigU = r.uncompressedSize >= zip64Threshold
            let bigC = r.compressedSize >= zip64Threshold
            let bigO = r.localOffset >= zip64Threshold
            var extra = LittleEndianBuilder()
            if bigU || bigC || bigO {
                extra.u16(0x0001)
                extra.u16(UInt16((bigU ? 8 : 0) + (bigC ? 8 : 0) + (bigO ? 8 : 0)))
                if bigU { extra.u64(r.uncompressedSize) }
                if bigC { extra.u64(r.compressedSize) }
                if bigO { extra.u64(r.localOffset) }
            }
            let needs64 = bigU || bigC || bigO || forceZip64
            var h = LittleEndianBuilder()
            h.u32(ZipSignature.centralHeader)
            h.u16(0x0300 | 45)  // made by: Unix, spec 4.5
            h.u16(needs64 ? 45 : 20)
            h.u16(r.nameBytes.allSatisfy { $0 < 0x80 } ? 0 : 0x0800)
            h.u16(r.method)
            h.u16(0)
            h.u16(0x0021)
            h.u32(r.crc)
            h.u32(bigC ? 0xFFFF_FFFF : UInt32(truncatingIfNeeded: r.compressedSize))
            h.u32(bigU ? 0xFFFF_FFFF : UInt32(truncatingIfNeeded: r.uncompressedSize))
            h.u16(UInt16(truncatingIfNeeded: r.nameBytes.count))
            h.u16(UInt16(truncatingIfNeeded: extra.bytes.count))
            h.u16(0)  // comment
            h.u16(0)  // disk
            h.u16(0)  // internal attributes
            h.u32(0o600 << 16)  // external attributes: rw------- as Python's zipfile writes for streamed members
            h.u32(bigO ? 0xFFFF_FFFF : UInt32(truncatingIfNeeded: r.localOffset))
            h.bytes(r.nameBytes)
            h.bytes(extra.bytes)
            try emit(h.bytes)
        }
        let cdSize = offset - cdOffset
        let count = UInt64(records.count)
        let need64 = count >= 0xFFFF || cdSize >= zip64Threshold || cdOffset >= zip64Threshold
        if need64 {
            let zip64RecordOffset = offset
            var z = LittleEndianBuilder()
            z.u32(ZipSignature.zip64EndOfCentralDirectory)
            z.u64(44)
            z.u16(0x0300 | 45)
            z.u16(45)
            z.u32(0)
            z.u32(0)
            z.u64(count)
            z.u64(count)
            z.u64(cdSize)
            z.u64(cdOffset)
            z.u32(ZipSignature.zip64Locator)
            z.u32(0)
            z.u64(zip64RecordOffset)
            z.u32(1)
            try emit(z.bytes)
        }
        var e = LittleEndianBuilder()
        e.u32(ZipSignature.endOfCentralDirectory)
        e.u16(0)
        e.u16(0)
        e.u16(need64 ? 0xFFFF : UInt16(truncatingIfNeeded: count))
        e.u16(need64 ? 0xFFFF : UInt16(truncatingIfNeeded: count))
        e.u32(need64 ? 0xFFFF_FFFF : UInt32(truncatingIfNeeded: cdSize))
        e.u32(need64 ? 0xFFFF_FFFF : UInt32(truncatingIfNeeded: cdOffset))
        e.u16(0)
        try emit(e.bytes)
    }
}

struct LittleEndianBuilder {
    var bytes: [UInt8] = []
    mutating func u16(_ v: UInt16) { bytes.append(UInt8(truncatingIfNeeded: v)); bytes.append(UInt8(truncatingIfNeeded: v >> 8)) }
    mutating func u32(_ v: UInt32) { for s in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(s))) } }
    mutating func u64(_ v: UInt64) { for s in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(s))) } }
    mutating func bytes(_ b: [UInt8]) { bytes.append(contentsOf: b) }
}
