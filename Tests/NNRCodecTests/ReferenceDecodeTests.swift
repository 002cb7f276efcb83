import Foundation
import XCTest
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRCodec
import NNRModelIO
import NNRTestSupport

/// Every reference bitstream (every step of incremental cases) decodes to NNCodec's levels and
/// tensors bit for bit, in the reference's dtype.
final class ReferenceDecodeTests: XCTestCase {
    func testEveryReferenceVectorDecodesBitExactly() throws {
        let cases = Vectors.allSharedCases()
        if cases.isEmpty { throw XCTSkip(Vectors.skipReasonNoShared()) }
        var passed = 0, total = 0, tensorsCompared = 0
        var failures: [String] = []
        for dir in cases {
            total += 1
            var decoder = NNRDecoder()
            var ok = true
            for step in CaseFiles.bitstreams(of: dir) {
                do {
                    let result = try decoder.decode(url: step.bitstream)
                    let expected = try loadNPZ(step.decoded)
                    let levels = FileManager.default.fileExists(atPath: step.levels.path) ? try loadNPZ(step.levels) : [:]
                    XCTAssertEqual(Set(result.tensors.map(\.name)), Set(expected.keys), "\(dir.lastPathComponent) \(step.prefix)")
                    for t in result.tensors {
                        guard let e = expected[t.name] else { ok = false; continue }
                        tensorsCompared += 1
                        if t.tensor.dtype != e.dtype || t.tensor.shape != e.shape || t.tensor.storage != e.storage {
                            ok = false
                            failures.append("\(dir.lastPathComponent) \(step.prefix)\(t.name): dtype \(t.tensor.dtype)/\(e.dtype) shape \(t.tensor.shape)/\(e.shape)")
                        }
                        if let l = levels[t.name], l.int32Values() != t.levels {
                            ok = false
                            failures.append("\(dir.lastPathComponent) \(step.prefix)\(t.name): levels differ")
                        }
                    }
                } catch {
                    ok = false
                    failures.append("\(dir.lastPathComponent) \(step.prefix): \(error)")
                }
            }
            if ok { passed += 1 }
        }
        print("reference vectors decoded bit-exactly: \(passed) / \(total) cases, \(tensorsCompared) tensors")
        XCTAssertEqual(failures, [])
        XCTAssertEqual(passed, total)
    }

    /// The SHA-256 of each decoded tensor equals case.json's.
    func testDecodedSHA256MatchesCaseJSON() throws {
        guard let dir = Vectors.sharedCase("m_dict_small_codebook") else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        let info = try CaseFiles.caseInfo(dir)
        let shas = try XCTUnwrap(info["sha256_decoded"] as? [String: String])
        var decoder = NNRDecoder()
        let result = try decoder.decode(url: dir.appendingPathComponent("bitstream.nnc"))
        for t in result.tensors {
            XCTAssertEqual(SHA256.hex(t.tensor.storage), shas[t.name], t.name)
        }
    }

    /// Sequential and concurrent decoding give the same result.
    func testConcurrentDecodingMatchesSequential() throws {
        guard let dir = Vectors.sharedCase("m_torch_smallcnn") else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        var a = NNRDecoder(options: DecoderOptions(concurrent: false))
        var b = NNRDecoder(options: DecoderOptions(concurrent: true))
        let url = dir.appendingPathComponent("bitstream.nnc")
        let x = try a.decode(url: url), y = try b.decode(url: url)
        XCTAssertEqual(x.tensors.map(\.tensor), y.tensors.map(\.tensor))
    }
}
