import XCTest
import NNRBitIO

final class BitIOTests: XCTestCase {
    func roundTrip(_ body: (inout BitWriter) throws -> Void, _ check: (inout BitReader) throws -> Void) throws {
        var w = BitWriter()
        try body(&w)
        var r = BitReader(bytes: w.bytes)
        try check(&r)
    }

    func testUnsignedAndSigned() throws {
        try roundTrip({ w in
            var a = 5, b = -3, c = 0x1FFF, d = -4096
            try w.u("a", 3, &a); try w.i("b", 4, &b); try w.u("c", 13, &c); try w.i("d", 13, &d)
        }, { r in
            var a = 0, b = 0, c = 0, d = 0
            try r.u("a", 3, &a); try r.i("b", 4, &b); try r.u("c", 13, &c); try r.i("d", 13, &d)
            XCTAssertEqual([a, b, c, d], [5, -3, 0x1FFF, -4096])
        })
    }

    /// ue(k) exactly as the syntax defines it: n zeros, a one, then k + n bits.
    func testExpGolombCodes() throws {
        func bits(_ k: Int, _ v: Int) throws -> String {
            var w = BitWriter()
            var x = v
            try w.ue("x", k, &x)
            let all = w.bytes.map { String(String($0, radix: 2).reversed()).padding(toLength: 8, withPad: "0", startingAt: 0) }
            return String(String(all.joined().map { $0 }.map { String($0) }.joined()).prefix(w.bitCount))
                .map { String($0) }.joined()
        }
        // bits are printed LSB-first per byte above; rebuild MSB-first for clarity
        func msb(_ k: Int, _ v: Int) throws -> String {
            var w = BitWriter()
            var x = v
            try w.ue("x", k, &x)
            var s = ""
            for i in 0..<w.bitCount { s += ((w.bytes[i >> 3] >> UInt8(7 - (i & 7))) & 1) == 1 ? "1" : "0" }
            return s
        }
        _ = try bits(0, 0)
        XCTAssertEqual(try msb(0, 0), "1")
        XCTAssertEqual(try msb(0, 1), "010")
        XCTAssertEqual(try msb(0, 2), "011")
        XCTAssertEqual(try msb(0, 3), "00100")
        XCTAssertEqual(try msb(1, 0), "10")
        XCTAssertEqual(try msb(1, 1), "11")
        XCTAssertEqual(try msb(1, 2), "0100")
        XCTAssertEqual(try msb(5, 0), "100000")
        XCTAssertEqual(try msb(7, 4), "10000100")
        for k in [0, 1, 2, 3, 4, 5, 7, 11] {
            for v in [0, 1, 2, 3, 7, 8, 100, 1000, 65535, 1 << 30, (1 << 32) + 12345] {
                try roundTrip({ w in var x = v; try w.ue("x", k, &x) }, { r in
                    var x = -1; try r.ue("x", k, &x); XCTAssertEqual(x, v, "ue(\(k)) \(v)")
                })
            }
            for v in [0, 1, -1, 2, -2, 63, -64, 1 << 20, -(1 << 20)] {
                try roundTrip({ w in var x = v; try w.ie("x", k, &x) }, { r in
                    var x = -99; try r.ie("x", k, &x); XCTAssertEqual(x, v, "ie(\(k)) \(v)")
                })
            }
        }
    }

    func testSignedExpGolombMapping() throws {
        // ie: +1 → code 1, −1 → 2, +2 → 3, 0 → 0.
        for (v, code) in [(0, 0), (1, 1), (-1, 2), (2, 3), (-2, 4)] {
            var w = BitWriter(); var x = code; try w.ue("x", 0, &x)
            var r = BitReader(bytes: w.bytes); var y = 0; try r.ie("y", 0, &y)
            XCTAssertEqual(y, v)
        }
    }

    func testFloatIsLittleEndianBytes() throws {
        var w = BitWriter()
        var f: Float = 1.0
        try w.flt("f", &f)
        XCTAssertEqual(w.bytes, [0x00, 0x00, 0x80, 0x3F])
        var r = BitReader(bytes: w.bytes)
        var g: Float = 0
        try r.flt("g", &g)
        XCTAssertEqual(g, 1.0)
    }

    func testByteAlignmentAlwaysWritesABit() throws {
        var w = BitWriter()
        try w.byteAlignment()
        XCTAssertEqual(w.bytes, [0x80])
        var x = 1
        try w.u("x", 3, &x)
        try w.byteAlignment()
        XCTAssertEqual(w.bytes, [0x80, 0x30])
        var r = BitReader(bytes: [0x81])
        try r.byteAlignment()
        XCTAssertEqual(r.warnings.count, 1)
        XCTAssertEqual(r.warnings.first?.element, "alignment_bit_equal_to_zero")
    }

    func testStrings() throws {
        var r = BitReader(bytes: Array("abc".utf8) + [0, 0x41], fileOffset: 100)
        var s = ""
        try r.st("name", &s)
        XCTAssertEqual(s, "abc")
        XCTAssertEqual(r.bitPosition, 104 * 8)
        var r2 = BitReader(bytes: [0x61, 0x62], fileOffset: 10)
        XCTAssertThrowsError(try r2.st("name", &s)) { e in
            XCTAssertEqual(e as? NNRError, NNRError(.unterminatedString, element: "name", byteOffset: 10))
        }
        var r3 = BitReader(bytes: [0xFF, 0xFE, 0x00])
        XCTAssertThrowsError(try r3.st("name", &s)) { e in XCTAssertEqual((e as? NNRError)?.reason, .invalidUTF8) }
        var r4 = BitReader(bytes: [0x80, 0x61, 0x00])
        var b = 0
        try r4.u("b", 1, &b)
        XCTAssertThrowsError(try r4.st("name", &s)) { e in XCTAssertEqual((e as? NNRError)?.reason, .stringNotAligned) }
    }

    func testTruncationReportsElementAndPosition() {
        var r = BitReader(bytes: [0xAB], fileOffset: 7)
        var x = 0
        XCTAssertNoThrow(try r.u("a", 5, &x))
        XCTAssertThrowsError(try r.u("b", 4, &x)) { e in
            XCTAssertEqual(e as? NNRError, NNRError(.truncated(neededBits: 4, availableBits: 3), element: "b", byteOffset: 7, bitOffset: 5))
        }
    }

    func testExpGolombPrefixLimit() {
        var r = BitReader(bytes: [0, 0, 0, 0, 0, 0x80])
        var x = 0
        XCTAssertThrowsError(try r.ue("x", 0, &x)) { e in
            XCTAssertEqual((e as? NNRError)?.reason, .expGolombPrefixTooLong(limit: 32))
        }
    }

    func testTraceRecordsOffsetsAndWidths() throws {
        var r = BitReader(bytes: [0b1010_0000, 0x00], fileOffset: 3, tracing: true)
        var a = 0, b = 0
        try r.u("a", 1, &a)
        try r.ue("b", 0, &b)
        XCTAssertEqual(r.trace?.map(\.name), ["a", "b"])
        XCTAssertEqual(r.trace?.map(\.bitPosition), [24, 25])
        XCTAssertEqual(r.trace?.map(\.bitWidth), [1, 3])
        XCTAssertEqual(b, 1)
    }

    func testWriterRejectsValuesThatDoNotFit() {
        var w = BitWriter()
        var x = 8
        XCTAssertThrowsError(try w.u("x", 3, &x))
        var y = -5
        XCTAssertThrowsError(try w.i("y", 3, &y))
        var z = -1
        XCTAssertThrowsError(try w.ue("z", 0, &z))
    }
}
