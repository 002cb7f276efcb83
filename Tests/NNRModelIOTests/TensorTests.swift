import Foundation
import XCTest
@testable import NNRModelIO

final class TensorTests: XCTestCase {
    func testDTypeProperties() {
        XCTAssertEqual(TensorDType.allCases.count, 13)
        for d in TensorDType.allCases {
            XCTAssertEqual(TensorDType(safetensorsName: d.safetensorsName), d)
            if let descr = d.numpyDescr {
                let parsed = TensorDType.fromNumpyDescr(descr)
                XCTAssertEqual(parsed?.dtype, d)
                XCTAssertEqual(parsed?.bigEndian, false)
                XCTAssertEqual(descr.count, 3)
                XCTAssertEqual(Int(String(descr.last ?? "0")), d.byteWidth)
            } else {
                XCTAssertEqual(d, .bfloat16)
            }
        }
        XCTAssertEqual(TensorDType.float32.numpyDescr, "<f4")
        XCTAssertEqual(TensorDType.bool.numpyDescr, "|b1")
        XCTAssertEqual(TensorDType.bfloat16.safetensorsName, "BF16")
        XCTAssertEqual(TensorDType.bool.safetensorsName, "BOOL")
        XCTAssertEqual(TensorDType.int32.safetensorsName, "I32")
        XCTAssertTrue(TensorDType.bfloat16.isFloatingPoint)
        XCTAssertFalse(TensorDType.int8.isFloatingPoint)
        XCTAssertFalse(TensorDType.bool.isFloatingPoint)
        XCTAssertEqual(TensorDType.fromNumpyDescr(">f8")?.bigEndian, true)
        XCTAssertEqual(TensorDType.fromNumpyDescr("=i4")?.dtype, .int32)
        XCTAssertEqual(TensorDType.fromNumpyDescr("|u1")?.dtype, .uint8)
        XCTAssertEqual(TensorDType.fromNumpyDescr(">u1")?.bigEndian, false)
        XCTAssertNil(TensorDType.fromNumpyDescr("<c8"))
        XCTAssertNil(TensorDType.fromNumpyDescr("<U4"))
    }

    func testTypedInitialisersAndAccessors() {
        let f = Tensor(name: "f", shape: [2, 2], float32: [1, -2.5, 0, 3])
        XCTAssertEqual(f.storage.count, 16)
        XCTAssertEqual(f.elementCount, 4)
        XCTAssertEqual(f.floatValues(), [1, -2.5, 0, 3])
        XCTAssertEqual(f.doubleValues(), [1, -2.5, 0, 3])
        XCTAssertEqual(Array(f.storage[0..<4]), [0x00, 0x00, 0x80, 0x3F])  // little-endian 1.0
        XCTAssertNoThrow(try f.validate())

        let d = Tensor(name: "d", shape: [3], float64: [0.1, -1e300, .infinity])
        XCTAssertEqual(d.doubleValues(), [0.1, -1e300, .infinity])
        XCTAssertEqual(d.floatValues(), [Float(0.1), -.infinity, .infinity])

        let i = Tensor(name: "i", shape: [3], int32: [Int32.min, 0, Int32.max])
        XCTAssertEqual(i.int32Values(), [Int32.min, 0, Int32.max])
        XCTAssertEqual(i.int64Values(), [Int64(Int32.min), 0, Int64(Int32.max)])
        XCTAssertEqual(i.floatValues(), [-2_147_483_648, 0, 2_147_483_648])

        let scalar = Tensor(name: "s", shape: [], float32: [4])
        XCTAssertEqual(scalar.elementCount, 1)
        let empty = Tensor(name: "e", shape: [0, 5], float32: [])
        XCTAssertEqual(empty.elementCount, 0)
        XCTAssertNoThrow(try empty.validate())

        let b = Tensor(name: "b", shape: [3], bool: [true, false, true])
        XCTAssertEqual(b.storage, [1, 0, 1])
        XCTAssertEqual(b.int32Values(), [1, 0, 1])
    }

    func testValidateReportsMismatch() {
        let bad = Tensor(name: "x", dtype: .float32, shape: [2, 3], storage: [UInt8](repeating: 0, count: 20))
        assertThrows(.invalidTensor(file: "<memory>", tensor: "x", message: "shape [2, 3] of float32 needs 24 bytes but storage has 20")) {
            try bad.validate()
        }
        let negative = Tensor(name: "n", dtype: .int8, shape: [-1], storage: [])
        XCTAssertEqual(negative.elementCount, 0)
        assertThrowsMatching({ try negative.validate() }) {
            if case .invalidTensor(_, "n", _) = $0 { return true }
            return false
        }
        let huge = Tensor(name: "h", dtype: .int8, shape: [Int.max, 3], storage: [])
        XCTAssertEqual(huge.elementCount, Int.max)
        XCTAssertNil(huge.expectedByteCount)
    }

    // MARK: float16

    func testFloat16KnownValues() {
        let cases: [(Float, UInt16)] = [
            (0, 0x0000), (-0.0, 0x8000), (1, 0x3C00), (-2, 0xC000), (0.5, 0x3800),
            (65504, 0x7BFF),                 // largest finite
            (65519.99, 0x7BFF),              // just below the rounding boundary
            (65520, 0x7C00),                 // halfway to 2^16 rounds (to even) to infinity
            (1e6, 0x7C00), (-1e6, 0xFC00),
            (.infinity, 0x7C00), (-.infinity, 0xFC00),
            (0x1p-14, 0x0400),               // smallest normal
            (0x1p-24, 0x0001),               // smallest subnormal
            (0x1p-25, 0x0000),               // tie between 0 and 2^-24 -> even (0)
            (0x1.8p-25, 0x0001),             // above the tie
            (0x3p-25, 0x0002),               // tie between 1 and 2 ulps -> even (2)
            (0x1p-26, 0x0000),
            (-0x1p-24, 0x8001),
            (Float(1023) * 0x1p-24, 0x03FF), // largest subnormal
            (1 + 0x1p-11, 0x3C00),           // tie -> even (mantissa 0)
            (1 + 0x3p-11, 0x3C02),           // tie -> even (mantissa 2)
            (1 + 0x1p-10, 0x3C01),
            (1 + 0x1p-11 + 0x1p-20, 0x3C01), // just above the tie
            (1 - 0x1p-11, 0x3BFF),           // largest value below 1
            (1 - 0x1p-12, 0x3C00),           // tie below 1 rounds up across the binade (even)
        ]
        for (value, bits) in cases {
            XCTAssertEqual(FloatBits.float16Bits(from: value), bits, "\(value)")
        }
        let nan = FloatBits.float16Bits(from: Float.nan)
        XCTAssertEqual(nan & 0x7C00, 0x7C00)
        XCTAssertNotEqual(nan & 0x03FF, 0)
        XCTAssertEqual(FloatBits.float16Bits(from: -Float.nan) & 0x8000, 0x8000)
        // A signalling NaN whose payload lives only in the low bits still stays NaN.
        let lowPayloadNaN = Float(bitPattern: 0x7F80_0001)
        XCTAssertTrue(FloatBits.float(fromFloat16: FloatBits.float16Bits(from: lowPayloadNaN)).isNaN)
    }

    func testFloat16DecodeAllPatternsRoundTrip() {
        for bits in 0...UInt16.max {
            let f = FloatBits.float(fromFloat16: bits)
            let exponent = (bits >> 10) & 0x1F
            let mantissa = bits & 0x3FF
            if exponent == 0x1F && mantissa != 0 {
                XCTAssertTrue(f.isNaN)
                XCTAssertTrue(FloatBits.float(fromFloat16: FloatBits.float16Bits(from: f)).isNaN)
                continue
            }
            if FloatBits.float16Bits(from: f) != bits { XCTFail("pattern \(bits) decoded to \(f) re-encodes differently") }
            if FloatBits.float16Bits(from: Double(f)) != bits { XCTFail("double path differs for \(bits)") }
        }
        XCTAssertEqual(FloatBits.float(fromFloat16: 0x0001), 0x1p-24)
        XCTAssertEqual(FloatBits.float(fromFloat16: 0x7BFF), 65504)
        XCTAssertEqual(FloatBits.float(fromFloat16: 0xFC00), -.infinity)
        XCTAssertEqual(FloatBits.float(fromFloat16: 0x8000).sign, .minus)
    }

    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    func testFloat16MatchesSwiftFloat16() {
        var rng = SplitMix(seed: 42)
        for i in 0..<200_000 {
            // Random bit patterns, biased towards the float16 range.
            var bits = UInt32(truncatingIfNeeded: rng.next())
            if i % 2 == 0 { bits = (bits & 0x8FFF_FFFF) | 0x3000_0000 }
            let x = Float(bitPattern: bits)
            if x.isNaN { continue }
            let expected = Float16(x).bitPattern
            let actual = FloatBits.float16Bits(from: x)
            if expected != actual { XCTFail("float16(\(x)) = \(actual), Swift says \(expected)"); return }
        }
    }
    #endif

    func testFloat16FromDoubleRoundsOnce() {
        // 1 + 2^-11 + 2^-40 is just above a float16 tie; via Float it would collapse onto the tie
        // and round down to even. Direct rounding must round up.
        let x = 1 + 0x1p-11 + 0x1p-40
        XCTAssertEqual(FloatBits.float16Bits(from: x), 0x3C01)
        XCTAssertEqual(FloatBits.float16Bits(from: Float(x)), 0x3C00)
        let t = Tensor(name: "d", shape: [1], float64: [x])
        XCTAssertEqual(t.converted(to: .float16).halfBits(), [0x3C01])
        XCTAssertEqual(FloatBits.float16Bits(from: 0x1p-1074), 0x0000)
        XCTAssertEqual(FloatBits.float16Bits(from: -1e308), 0xFC00)
    }

    // MARK: bfloat16

    func testBFloat16KnownValues() {
        let cases: [(Float, UInt16)] = [
            (0, 0x0000), (-0.0, 0x8000), (1, 0x3F80), (-2, 0xC000),
            (1 + 0x1p-8, 0x3F80),            // tie -> even
            (1 + 0x3p-8, 0x3F82),            // tie -> even (up)
            (1 + 0x1p-8 + 0x1p-20, 0x3F81),  // just above the tie
            (.greatestFiniteMagnitude, 0x7F80),  // rounds to infinity
            (-.greatestFiniteMagnitude, 0xFF80),
            (Float(bitPattern: 0x7F7F_0000), 0x7F7F),  // largest finite bfloat16
            (.infinity, 0x7F80), (-.infinity, 0xFF80),
            (0x1p-133, 0x0001),              // smallest bfloat16 subnormal
            (.leastNonzeroMagnitude, 0x0000),
            (.leastNormalMagnitude, 0x0080),
        ]
        for (value, bits) in cases {
            XCTAssertEqual(FloatBits.bfloat16Bits(from: value), bits, "\(value)")
            XCTAssertEqual(FloatBits.bfloat16Bits(from: Double(value)), bits, "double \(value)")
        }
        XCTAssertEqual(FloatBits.bfloat16Bits(from: Float.nan), 0x7FC0)
        XCTAssertTrue(FloatBits.float(fromBFloat16: FloatBits.bfloat16Bits(from: Float(bitPattern: 0x7F80_0001))).isNaN)
        XCTAssertTrue(FloatBits.float(fromBFloat16: FloatBits.bfloat16Bits(from: Double.nan)).isNaN)
        XCTAssertEqual(FloatBits.float(fromBFloat16: 0x3F80), 1)
        XCTAssertEqual(FloatBits.float(fromBFloat16: 0x0001), 0x1p-133)
    }

    func testBFloat16FloatAndDoublePathsAgree() {
        var rng = SplitMix(seed: 7)
        for _ in 0..<100_000 {
            let x = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            if x.isNaN { continue }
            let a = FloatBits.bfloat16Bits(from: x)
            let b = FloatBits.bfloat16Bits(from: Double(x))
            if a != b { XCTFail("bf16(\(x)): float path \(a), double path \(b)"); return }
        }
        for bits in 0...UInt16.max where !FloatBits.float(fromBFloat16: bits).isNaN {
            if FloatBits.bfloat16Bits(from: FloatBits.float(fromBFloat16: bits)) != bits { XCTFail("bf16 pattern \(bits)"); return }
        }
    }

    // MARK: conversions

    func testFloatConversionsRoundTrip() {
        let values: [Float] = [0, -0.0, 1, -1.5, 3.140625, 65504, 1e-7, .infinity, -.infinity]
        let t = Tensor(name: "v", shape: [values.count], float32: values)
        let h = t.converted(to: .float16)
        XCTAssertEqual(h.dtype, .float16)
        XCTAssertEqual(h.storage.count, values.count * 2)
        XCTAssertEqual(h.name, "v")
        XCTAssertEqual(h.shape, [values.count])
        let back = h.converted(to: .float32).floatValues()
        XCTAssertEqual(back[0..<6], values[0..<6])
        XCTAssertEqual(back[6], 0x1p-23)  // 1e-7 = 1.68 ulps -> nearest subnormal, 2 ulps
        XCTAssertEqual(back[7], .infinity)
        XCTAssertEqual(back[8], -.infinity)
        let bf = t.converted(to: .bfloat16)
        XCTAssertEqual(bf.floatValues()[4], 3.140625)
        XCTAssertEqual(bf.floatValues()[5], 65536)  // 65504 rounds to 2^16 in bfloat16
        XCTAssertEqual(t.converted(to: .float64).doubleValues().map(Float.init), values)
        XCTAssertEqual(t.converted(to: .float32), t)
        XCTAssertTrue(Tensor(name: "n", shape: [1], float32: [.nan]).converted(to: .float16).floatValues()[0].isNaN)
        XCTAssertTrue(Tensor(name: "n", shape: [1], float64: [.nan]).converted(to: .bfloat16).floatValues()[0].isNaN)
        XCTAssertTrue(Tensor(name: "n", shape: [1], float32: [.nan]).converted(to: .float64).doubleValues()[0].isNaN)
        // f64 -> f32 is one rounding.
        let d = Tensor(name: "d", shape: [1], float64: [1 + 0x1p-24 + 0x1p-40])
        XCTAssertEqual(d.converted(to: .float32).floatValues(), [1 + 0x1p-23])
    }

    func testIntegerConversionsClamp() {
        let f = Tensor(name: "f", shape: [8], float32: [300, -1e9, .nan, 2.7, -2.7, .infinity, -.infinity, -0.5])
        XCTAssertEqual(f.converted(to: .int8).int32Values(), [127, -128, 0, 2, -2, 127, -128, 0])
        XCTAssertEqual(f.converted(to: .uint8).int32Values(), [255, 0, 0, 2, 0, 255, 0, 0])
        XCTAssertEqual(f.converted(to: .int16).int32Values(), [300, -32768, 0, 2, -2, 32767, -32768, 0])
        XCTAssertEqual(f.int32Values(), [300, -1_000_000_000, 0, 2, -2, Int32.max, Int32.min, 0])
        XCTAssertEqual(f.converted(to: .int64).int64Values(), [300, -1_000_000_000, 0, 2, -2, Int64.max, Int64.min, 0])
        XCTAssertEqual(f.converted(to: .uint64).uint64Values(), [300, 0, 0, 2, 0, UInt64.max, 0, 0])
        XCTAssertEqual(f.converted(to: .bool).storage, [1, 1, 1, 1, 1, 1, 1, 1])
        XCTAssertEqual(Tensor(name: "z", shape: [2], float32: [0, -0.0]).converted(to: .bool).storage, [0, 0])

        let big = Tensor(name: "u", dtype: .uint64, shape: [2], storage: Tensor.pack([UInt64.max, 5]) { $0 })
        XCTAssertEqual(big.int64Values(), [Int64.max, 5])
        XCTAssertEqual(big.int32Values(), [Int32.max, 5])
        XCTAssertEqual(big.converted(to: .uint32).uint64Values(), [UInt64(UInt32.max), 5])
        XCTAssertEqual(big.floatValues(), [18_446_744_073_709_551_616, 5])

        let i64 = Tensor(name: "i", shape: [3], int64: [-5_000_000_000, 70_000, -1])
        XCTAssertEqual(i64.int32Values(), [Int32.min, 70_000, -1])
        XCTAssertEqual(i64.converted(to: .uint16).int32Values(), [0, 65_535, 0])
        XCTAssertEqual(i64.converted(to: .int32).int32Values(), [Int32.min, 70_000, -1])
        XCTAssertEqual(i64.converted(to: .float32).floatValues(), [-5e9, 70_000, -1])
        XCTAssertEqual(i64.converted(to: .bool).storage, [1, 1, 1])

        let bools = Tensor(name: "b", shape: [2], bool: [true, false])
        XCTAssertEqual(bools.converted(to: .float16).floatValues(), [1, 0])
        XCTAssertEqual(bools.converted(to: .int64).int64Values(), [1, 0])
    }

    func testEveryDTypePairConverts() {
        for source in TensorDType.allCases {
            let t = sampleTensor(source)
            for target in TensorDType.allCases {
                let c = t.converted(to: target)
                XCTAssertEqual(c.dtype, target)
                XCTAssertEqual(c.shape, t.shape)
                XCTAssertNoThrow(try c.validate(), "\(source) -> \(target)")
            }
            // Integer values are exact through float64.
            if source.isInteger && source.byteWidth <= 4 {
                XCTAssertEqual(t.converted(to: .float64).converted(to: source), t, "\(source)")
            }
        }
    }
}
