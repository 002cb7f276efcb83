import Foundation
import XCTest
import NNRTestSupport
@testable import NNRModelIO

final class NPZReferenceTests: XCTestCase {
    func testVectorsPaths() {
        XCTAssertTrue(FileManager.default.fileExists(atPath: Vectors.repoRoot.appendingPathComponent("Package.swift").path))
        XCTAssertEqual(Vectors.bundledConformance.lastPathComponent, "vectors")
        if Vectors.sharedConformance == nil {
            XCTAssertTrue(Vectors.allSharedCases().isEmpty)
        }
    }

    func testDecodedT2D() throws {
        guard let folder = Vectors.sharedCase("t2d_uniform_qp-32_dq") else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        let tensors = try loadNPZOrdered(folder.appendingPathComponent("decoded.npz"))
        XCTAssertEqual(tensors.count, 1)
        let w = try XCTUnwrap(tensors.first)
        XCTAssertEqual(w.name, "w")
        XCTAssertEqual(w.dtype, .float32)
        XCTAssertEqual(w.shape, [256, 128])
        XCTAssertEqual(w.storage.count, 256 * 128 * 4)
        XCTAssertTrue(w.floatValues().allSatisfy { $0.isFinite })
    }

    func testMiniLMInputMatchesCaseJSON() throws {
        guard let folder = Vectors.sharedCase("m_minilm_layer0_qp-38") else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        let json = try readJSON(folder.appendingPathComponent("case.json"))
        let expected = try XCTUnwrap(json["input_tensors"] as? [String: Any])
        let tensors = try loadNPZOrdered(folder.appendingPathComponent("input.npz"))
        XCTAssertEqual(tensors.count, expected.count)
        for t in tensors {
            let info = try XCTUnwrap(expected[t.name] as? [String: Any], "unexpected tensor \(t.name)")
            XCTAssertEqual(info["shape"] as? [Int], t.shape, t.name)
            XCTAssertEqual(info["dtype"] as? String, t.dtype.rawValue, t.name)
            XCTAssertTrue(t.name.hasPrefix("encoder.layer.0."))
        }
        let dict = try loadNPZ(folder.appendingPathComponent("input.npz"))
        XCTAssertEqual(Set(dict.keys), Set(expected.keys))
    }

    /// Every npz in the shared vectors parses, and re-encoding (stored and deflate) round-trips.
    func testAllSharedNPZRoundTrip() throws {
        let cases = Vectors.allSharedCases()
        if cases.isEmpty { throw XCTSkip(Vectors.skipReasonNoShared()) }
        var files = 0
        for folder in cases {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            for name in names.sorted() where name.hasSuffix(".npz") {
                let url = folder.appendingPathComponent(name)
                let tensors = try NPZ.read(url)
                XCTAssertEqual(try NPZ.tensorNames(url), tensors.map(\.name))
                let encoded = try NPZ.encode(tensors)
                XCTAssertEqual(try NPZ.decode(encoded), tensors, url.path)
                // numpy.savez output is reproduced byte for byte.
                XCTAssertEqual(encoded, [UInt8](try Data(contentsOf: url)), url.path)
                if files % 16 == 0 {
                    let deflated = try NPZ.decode(try NPZ.encode(tensors, compression: .deflate()))
                    XCTAssertEqual(deflated, tensors, url.path)
                }
                files += 1
            }
        }
        XCTAssertGreaterThan(files, 0)
    }
}
