import Foundation
import XCTest
@testable import NNRModelIO

/// A fresh empty directory under the system temp dir, removed at the end of the test.
func makeTemporaryDirectory(_ testCase: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("nnrmodelio-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    testCase.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// Asserts that `body` throws exactly `expected`.
func assertThrows<T>(_ expected: ModelIOError, file: StaticString = #filePath, line: UInt = #line,
                     _ body: () throws -> T) {
    do {
        _ = try body()
        XCTFail("expected \(expected) but nothing was thrown", file: file, line: line)
    } catch let error as ModelIOError {
        XCTAssertEqual(error, expected, file: file, line: line)
        XCTAssertFalse(error.description.isEmpty, file: file, line: line)
    } catch {
        XCTFail("expected \(expected) but got \(error)", file: file, line: line)
    }
}

/// Asserts that `body` throws a ModelIOError satisfying `check` (for errors with computed fields).
func assertThrowsMatching<T>(file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T,
                             _ check: (ModelIOError) -> Bool) {
    do {
        _ = try body()
        XCTFail("expected an error but nothing was thrown", file: file, line: line)
    } catch let error as ModelIOError {
        XCTAssertTrue(check(error), "unexpected error: \(error)", file: file, line: line)
    } catch {
        XCTFail("expected a ModelIOError but got \(error)", file: file, line: line)
    }
}

/// A deterministic tensor of every dtype with interesting values (including extremes).
func sampleTensor(_ dtype: TensorDType, name: String? = nil, shape: [Int] = [3, 4]) -> Tensor {
    let count = shape.reduce(1, *)
    var rng = SplitMix(seed: UInt64(dtype.byteWidth) &* 0x9E37 &+ UInt64(dtype.rawValue.utf8.count))
    let width = dtype.byteWidth
    var bytes = [UInt8](repeating: 0, count: count * width)
    for i in 0..<bytes.count { bytes[i] = UInt8(truncatingIfNeeded: rng.next()) }
    if dtype == .bool {
        for i in 0..<bytes.count { bytes[i] &= 1 }
    }
    return Tensor(name: name ?? "t.\(dtype.rawValue)/x", dtype: dtype, shape: shape, storage: bytes)
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func readJSON(_ url: URL) throws -> [String: Any] {
    let data = try Data(contentsOf: url)
    return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
}

/// Bytes of a base64 fixture from Fixtures.swift.
func fixture(_ base64: String) -> [UInt8] {
    [UInt8](Data(base64Encoded: base64, options: .ignoreUnknownCharacters) ?? Data())
}
