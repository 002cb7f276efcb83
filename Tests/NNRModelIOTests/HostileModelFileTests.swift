import Foundation
import XCTest
@testable import NNRModelIO
import NNRTestSupport

/// Crafted model files (issue 18, item 2): sizes from ZIP, NPY and safetensors headers are claims,
/// checked against each other and against the bytes that exist before anything is allocated; npz
/// members inflate piecewise into a buffer sized by the NPY shape and stop at its end.
final class HostileModelFileTests: XCTestCase {
    /// A version 1.0 NPY header (128 bytes) for float32 data of `shape`, whatever data follows.
    func npyHeader(shape: [Int]) -> [UInt8] {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var body = Array("{'descr': '<f4', 'fortran_order': False, 'shape': \(dims), }".utf8)
        body += [UInt8](repeating: 0x20, count: 128 - 10 - 1 - body.count) + [0x0A]
        return NPY.magic + [1, 0, UInt8(body.count), 0] + body
    }

    /// A one-member ZIP archive whose directory declares `declaredSize` uncompressed bytes (ZIP64
    /// when it does not fit 32 bits), whatever `data` holds.
    func craftedZip(member: String = "w.npy", method: UInt16 = 8, data: [UInt8], crc: UInt32, declaredSize: UInt64) -> [UInt8] {
        let zip64 = declaredSize >= 0xFFFF_FFFF
        let name = Array(member.utf8)
        var b = LittleEndianBuilder()
        b.u32(ZipSignature.localHeader); b.u16(45); b.u16(0); b.u16(method); b.u16(0); b.u16(0x21); b.u32(crc)
        b.u32(UInt32(data.count)); b.u32(zip64 ? 0xFFFF_FFFF : UInt32(declaredSize)); b.u16(UInt16(name.count)); b.u16(0)
        b.bytes(name)
        b.bytes(data)
        let cdOffset = b.bytes.count
        var extra = LittleEndianBuilder()
        if zip64 { extra.u16(1); extra.u16(8); extra.u64(declaredSize) }
        b.u32(ZipSignature.centralHeader); b.u16(45); b.u16(45); b.u16(0); b.u16(method); b.u16(0); b.u16(0x21); b.u32(crc)
        b.u32(UInt32(data.count)); b.u32(zip64 ? 0xFFFF_FFFF : UInt32(declaredSize)); b.u16(UInt16(name.count))
        b.u16(UInt16(extra.bytes.count)); b.u16(0); b.u16(0); b.u16(0); b.u32(0); b.u32(0)
        b.bytes(name)
        b.bytes(extra.bytes)
        let cdSize = b.bytes.count - cdOffset
        b.u32(ZipSignature.endOfCentralDirectory); b.u16(0); b.u16(0); b.u16(1); b.u16(1)
        b.u32(UInt32(cdSize)); b.u32(UInt32(cdOffset)); b.u16(0)
        return b.bytes
    }

    /// A zip bomb member: `header` followed by `zeros` zero bytes, deflated (about 1000:1).
    func bomb(header: [UInt8], zeros: Int) throws -> (deflated: [UInt8], crc: UInt32, size: Int) {
        var plain = header
        plain += [UInt8](repeating: 0, count: zeros)
        return (try plain.withUnsafeBytes { try Zlib.deflateRaw($0, level: 9) }, Zlib.crc32(plain), plain.count)
    }

    func testSizeFieldLieIsRefusedBeforeInflating() throws {
        // The ZIP64 field claims 3 GB; the member is a 16-byte float32 array.
        let plain = npyHeader(shape: [4]) + [UInt8](repeating: 0, count: 16)
        let deflated = try plain.withUnsafeBytes { try Zlib.deflateRaw($0) }
        let zip = craftedZip(data: deflated, crc: Zlib.crc32(plain), declaredSize: 3_000_000_000)
        assertThrows(.malformedArchive(file: "<memory>", message: "member 'w.npy': the ZIP directory declares 3000000000 bytes, its NPY header describes 144")) {
            try NPZ.decode(zip)
        }
    }

    func testSharedSizeFieldLieFile() throws {
        guard let url = Vectors.sharedHostile("npz_sizefield_lie_3GB.npz") else {
            throw XCTSkip("../shared/hostile/npz_sizefield_lie_3GB.npz not found (not in a fresh clone)")
        }
        assertThrows(.malformedArchive(file: url.path, message: "member 'w.npy': the ZIP directory declares 3000000000 bytes, its NPY header describes 128")) {
            try NPZ.read(url)
        }
    }

    func testBombWithASmallShapeStopsAtTheShape() throws {
        // 16 MiB of zeros behind a header for 4 floats.
        let b = try bomb(header: npyHeader(shape: [4]), zeros: 16 << 20)
        XCTAssertLessThan(b.deflated.count, 32 << 10)
        // The directory tells the truth about the stream: it disagrees with the NPY header.
        assertThrows(.malformedArchive(file: "<memory>", message: "member 'w.npy': the ZIP directory declares \(b.size) bytes, its NPY header describes 144")) {
            try NPZ.decode(craftedZip(data: b.deflated, crc: b.crc, declaredSize: UInt64(b.size)))
        }
        // The directory agrees with the header: inflation stops one byte past the 144 declared.
        assertThrows(.compressionFailed(file: "<memory>", member: "w.npy", message: "deflate data decodes to more than the 144 bytes declared")) {
            try NPZ.decode(craftedZip(data: b.deflated, crc: b.crc, declaredSize: 144))
        }
    }

    func testBombWithALargeShapeIsRefusedBeforeAllocation() throws {
        // The header claims 2^30 floats (4 GiB) and the directory agrees; 16 KB of deflate data
        // cannot expand to that, so nothing is allocated.
        let header = npyHeader(shape: [1 << 30])
        let b = try bomb(header: header, zeros: 16 << 20)
        let declared = 128 + (4 << 30)
        assertThrows(.truncated(file: "<memory>", tensor: "w", what: "ZIP member data (\(b.deflated.count) deflated bytes cannot expand to the \(declared) declared)")) {
            try NPZ.decode(craftedZip(data: b.deflated, crc: b.crc, declaredSize: UInt64(declared)))
        }
        // A shape the data does fill (4 Mi floats of zeros) is refused by the configured limits
        // before inflation, and decodes when they allow it.
        let real = try bomb(header: npyHeader(shape: [4 << 20]), zeros: 16 << 20)
        let zip = craftedZip(data: real.deflated, crc: real.crc, declaredSize: UInt64(real.size))
        var limits = ModelIOLimits()
        limits.maxTensorBytes = 1 << 20
        assertThrowsMatching({ try NPZ.decode(zip, limits: limits) }) {
            if case let .limitExceeded(_, "w", "maxTensorBytes", _, maximum) = $0 { return maximum == 1 << 20 }
            return false
        }
        limits = ModelIOLimits()
        limits.maxTotalBytes = 1 << 20
        assertThrowsMatching({ try NPZ.decode(zip, limits: limits) }) {
            if case .limitExceeded(_, "w", "maxTotalBytes", _, _) = $0 { return true }
            return false
        }
        let tensors = try NPZ.decode(zip)
        XCTAssertEqual(tensors.first?.shape, [4 << 20])
        XCTAssertEqual(tensors.first?.storage.count, 16 << 20)
        XCTAssertEqual(tensors.first?.storage.allSatisfy { $0 == 0 }, true)
    }

    func testTruncatedAndCorruptDeflateMembers() throws {
        // Data that does not compress, cut in half: inflation runs out of input.
        let t = sampleTensor(.float32, name: "w", shape: [4096])
        let plain = try NPY.encode(t)
        let deflated = try plain.withUnsafeBytes { try Zlib.deflateRaw($0) }
        let cut = Array(deflated.prefix(deflated.count / 2))
        assertThrowsMatching({ try NPZ.decode(craftedZip(data: cut, crc: Zlib.crc32(plain), declaredSize: UInt64(plain.count))) }) {
            if case let .compressionFailed("<memory>", "w.npy", message) = $0 { return message.contains("truncated") }
            return false
        }
        // A header that ends the stream early.
        let short = try Array(npyHeader(shape: [4]).prefix(100)).withUnsafeBytes { try Zlib.deflateRaw($0) }
        assertThrowsMatching({ try NPZ.decode(craftedZip(data: short, crc: 0, declaredSize: 144)) }) {
            if case .truncated("<memory>", "w", _) = $0 { return true }
            return false
        }
        // Wrong CRC on an otherwise good member.
        let good = try bomb(header: npyHeader(shape: [4]), zeros: 16)
        assertThrows(.crcMismatch(file: "<memory>", member: "w.npy", expected: good.crc ^ 1, actual: good.crc)) {
            try NPZ.decode(craftedZip(data: good.deflated, crc: good.crc ^ 1, declaredSize: 144))
        }
        XCTAssertEqual(try NPZ.decode(craftedZip(data: good.deflated, crc: good.crc, declaredSize: 144)).first?.shape, [4])
    }

    func testLongHeaderLiteralIsRefusedWhileParsing() throws {
        // A shape tuple of 100,000 items: refused at the 1,025th, not after building them all.
        var text = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + String(repeating: "1,", count: 100_000) + "), }"
        text += String(repeating: " ", count: (64 - (text.utf8.count + 13) % 64) % 64) + "\n"
        let bytes = NPY.magic + [2, 0] + withUnsafeBytes(of: UInt32(text.utf8.count).littleEndian, Array.init) + Array(text.utf8)
        assertThrows(.malformedHeader(file: "<memory>", tensor: "x", message: "cannot parse NPY header dict: more than 1024 items")) {
            try NPY.decode(bytes, name: "x")
        }
    }

    func testSafetensorsClaimsBeyondTheFile() throws {
        // Header length far beyond the file.
        var bytes = withUnsafeBytes(of: UInt64(1 << 62).littleEndian, Array.init) + Array("{}".utf8)
        assertThrows(.truncated(file: "<memory>", tensor: nil, what: "safetensors header (declares \(UInt64(1 << 62)) bytes, 2 follow)")) {
            try Safetensors.decode(bytes)
        }
        // data_offsets past the data section (a 1 GiB tensor in a 40-byte file).
        let header = Array("{\"w\":{\"dtype\":\"F32\",\"shape\":[268435456],\"data_offsets\":[0,1073741824]}}".utf8)
        bytes = withUnsafeBytes(of: UInt64(header.count).littleEndian, Array.init) + header + [0, 0, 0, 0]
        assertThrows(.offsetsOutOfRange(file: "<memory>", tensor: "w", begin: 0, end: 1 << 30, dataSize: 4)) {
            try Safetensors.decode(bytes)
        }
    }
}

/// Tensor names that would escape a folder (issue 18, item 6).
final class MemberNameTests: XCTestCase {
    func testProblems() {
        let expected: [(String, String)] = [
            ("", "it is empty"), ("a\u{0}b", "it contains a NUL character"),
            ("/etc/passwd", "it is an absolute path (starts with '/')"), ("\\x", "it is an absolute path (starts with '\\')"),
            ("C:x", "it starts with a drive letter ('C:')"), ("a:b", "it starts with a drive letter ('a:')"),
        ] + ["..", "../x", "a/../b", "a/..", "a\\..\\b", "../../../../etc/x/evil1"].map { ($0, "it has a '..' component") }
        for (name, problem) in expected { XCTAssertEqual(MemberName.problem(name), problem, name) }
        for name in ["layer.0.weight", "encoder/block.1/attn", "..a", "a..", "...", "#3", "ab:c", "x/./y", "ü/é"] {
            XCTAssertNil(MemberName.problem(name), name)
        }
    }

    func testSanitizedNamesAreSafe() {
        let expected = [("../../etc/x", "__/__/etc/x"), ("/abs/x", "abs/x"), ("\\\\..\\w", "__\\w"), ("", "_"),
                        ("a\u{0}b", "a_b"), ("C:/x", "C_/x"), ("layer.0.weight", "layer.0.weight")]
        for (name, safe) in expected { XCTAssertEqual(MemberName.sanitized(name), safe, name) }
        for name in ["", "/", "//..", "..", "a/../..", "\u{0}", "C:", "/../\u{0}/.."] {
            XCTAssertNil(MemberName.problem(MemberName.sanitized(name)), "\(name) -> \(MemberName.sanitized(name))")
        }
        XCTAssertEqual(MemberName.quoted("a\u{0}\n"), "'a\\u{0}\\u{a}'")
    }

    func testNPZWriterRefusesUnsafeNamesAndWritesNothing() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("out.npz")
        for (name, problem) in [("../x", "it has a '..' component"), ("/x", "it is an absolute path (starts with '/')"), ("", "it is empty")] {
            let tensors = [Tensor(name: "ok", shape: [1], float32: [1]), Tensor(name: name, shape: [1], float32: [2])]
            assertThrows(.unsafeName(file: url.path, tensor: name, problem: problem)) { try NPZ.write(tensors, to: url) }
            assertThrows(.unsafeName(file: "<memory>", tensor: name, problem: problem)) { try NPZ.encode(tensors) }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
        // Safetensors keys are not paths: the same names are written as keys.
        let st = try Safetensors.encode([Tensor(name: "../x", shape: [1], float32: [2])])
        XCTAssertEqual(try Safetensors.decode(st).first?.name, "../x")
    }
}
