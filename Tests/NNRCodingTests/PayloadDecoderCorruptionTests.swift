import Foundation
import NNRBitIO
import NNRCoding
import NNRTestSupport
import XCTest

/// Corrupted payloads (bit flips, truncation, garbage) must give a typed NNRError or a well-formed
/// result, never a crash or a hang.
final class PayloadDecoderCorruptionTests: XCTestCase {
    static let cases = ["c_scan_order1_dq", "t2d_sparse90_unstruct_rowskip", "m_dict_small_codebook",
                        "m_torch_smallcnn_blocks", "inc_hdsp_diff_tensor"]

    enum Outcome { case ok, typedError }

    /// Decodes with an altered payload; fails the test on an untyped error, a malformed result or a slow decode.
    func run(_ bytes: [UInt8], _ units: [[String: Any]], state: IncrementalState, what: String,
             transform: @escaping (Int, [UInt8]) -> [UInt8]) -> Outcome {
        var st = state
        let t0 = Date()
        defer {
            let dt = Date().timeIntervalSince(t0)
            XCTAssertLessThan(dt, 5, "\(what): decode took \(dt) s")
        }
        do {
            let ndus = try ReferenceStream.decode(bytes: bytes, units: units, state: &st, payloadTransform: transform)
            for n in ndus {
                for t in n.tensors {
                    let count = t.dims.reduce(1, *)
                    XCTAssertEqual(t.payload.levels.count, count, what)
                    XCTAssertEqual(t.payload.rowSkipFlags.count, t.payload.rowSkipEnabled ? t.dims[0] : 0, what)
                }
                XCTAssertLessThanOrEqual(n.end.bytesConsumed + n.end.trailingBytes, n.expectedPayloadBytes + 0, what)
            }
            return .ok
        } catch is NNRError {
            return .typedError
        } catch {
            XCTFail("\(what): untyped error \(error)")
            return .typedError
        }
    }

    func streams(_ name: String) throws -> [(bytes: [UInt8], units: [[String: Any]], state: IncrementalState)] {
        guard let dir = Vectors.sharedCase(name) else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        var out: [(bytes: [UInt8], units: [[String: Any]], state: IncrementalState)] = []
        var state = IncrementalState()
        for s in CaseFiles.bitstreams(of: dir) {
            let bytes = [UInt8](try Data(contentsOf: s.bitstream))
            let units = try CaseFiles.units(s.unitsJSON)
            out.append((bytes, units, state))
            _ = try ReferenceStream.decode(bytes: bytes, units: units, state: &state)
        }
        return out
    }

    func testBitFlips() throws {
        var rng = SplitMix64(seed: 2024)
        var errors = 0
        var oks = 0
        for name in Self.cases {
            for (si, s) in try streams(name).enumerated() {
                for trial in 0..<40 {
                    let flips = 1 + Int(rng.next() % 4)
                    let seeds = (0..<flips).map { _ in rng.next() }
                    let outcome = run(s.bytes, s.units, state: s.state, what: "\(name) step \(si) flip trial \(trial)") { _, p in
                        var q = p
                        for sd in seeds {
                            let bit = Int(sd % UInt64(q.count * 8))
                            q[bit >> 3] ^= UInt8(0x80 >> (bit & 7))
                        }
                        return q
                    }
                    if outcome == .ok { oks += 1 } else { errors += 1 }
                }
            }
        }
        print("bit flips: \(errors) typed errors, \(oks) well-formed results")
    }

    func testTruncation() throws {
        var rng = SplitMix64(seed: 99)
        var errors = 0
        for name in Self.cases {
            for (si, s) in try streams(name).enumerated() {
                for trial in 0..<20 {
                    let r = rng.next()
                    let outcome = run(s.bytes, s.units, state: s.state, what: "\(name) step \(si) truncation \(trial)") { _, p in
                        // keep 0 … count−1 bytes
                        Array(p.prefix(Int(r % UInt64(p.count))))
                    }
                    // a truncated payload can never decode to the original byte count; it must fail
                    // or end early (checked by the caller through bytesConsumed)
                    if outcome == .typedError { errors += 1 }
                }
            }
        }
        print("truncations: \(errors) typed errors")
    }

    func testGarbagePayloads() throws {
        var rng = SplitMix64(seed: 7)
        let shapes: [[Int]] = [[1], [7], [64, 64], [3, 5, 7], [1, 4096], [200, 3, 3]]
        for trial in 0..<300 {
            let n = Int(rng.next() % 400)
            let payload = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            var p = TensorPayloadParameters(dims: shapes[trial % shapes.count])
            p.generalProfileIdc = Int(rng.next() % 2)
            p.scanOrder = Int(rng.next() % 5)
            p.dqFlag = rng.next() % 2 == 0
            p.cabacUnaryLengthMinus1 = Int(rng.next() % 3 == 0 ? rng.next() % 256 : 10)
            p.codesQPOffset = rng.next() % 4 != 0
            p.qpDensity = Int(rng.next() % 8)
            if rng.next() % 3 == 0 {
                let size = 1 + Int(rng.next() % 20)
                p.codebook = NNRCodebook(entries: Array(0..<size), cbZeroOffset: Int(rng.next() % UInt64(size)))
            }
            p.parentNodeIdPresent = rng.next() % 2 == 0
            let count = p.dims.reduce(1, *)
            if rng.next() % 3 == 0 { p.tcaBase = (0..<count).map { _ in Int32(truncatingIfNeeded: Int64(rng.next() % 7) - 3) } }
            if rng.next() % 3 == 0 { p.hdspHistory = (0..<count).map { _ in UInt8(rng.next() % 2) } }
            if rng.next() % 2 == 0 {
                // random entry points (used for concurrent block-row decoding when they fit)
                let rows = TensorGeometry.blockRowCount(rows: p.dims[0], scanOrder: p.scanOrder)
                p.entryPoints = (0..<max(0, rows - 1)).map { _ in
                    EntryPoint(bitOffsetDelta: Int(rng.next() % 600) - 50, value: Int(rng.next() % 300),
                               dqState: Int(rng.next() % 9))
                }
            }
            let t0 = Date()
            do {
                var d = try PayloadDecoder(payload: payload, fileOffset: 1000)
                d.concurrencyMinimumElements = 0
                let r = try d.decodeTensor(p)
                XCTAssertEqual(r.levels.count, count)
                _ = try d.finish()
            } catch let e as NNRError {
                XCTAssertGreaterThanOrEqual(e.position.byteOffset, 1000, "\(e)")
                XCTAssertLessThanOrEqual(e.position.byteOffset, 1000 + max(n, 2), "\(e)")
            } catch {
                XCTFail("untyped error \(error)")
            }
            XCTAssertLessThan(Date().timeIntervalSince(t0), 5)
        }
    }
}
