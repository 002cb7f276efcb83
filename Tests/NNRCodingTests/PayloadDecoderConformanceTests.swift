import Foundation
import NNRBitIO
import NNRCoding
import NNRModelIO
import NNRTestSupport
import XCTest

/// Every reference case (and every step of incremental cases): levels, payload length, termination,
/// entry points and reconstruction against NNCodec 2.1.3.
final class PayloadDecoderConformanceTests: XCTestCase {
    /// The two largest cases (about 9 s together in a debug build, 1 s in release); set
    /// NNR_SKIP_SLOW=1 to leave them out of testAllSharedCases.
    static let slowCases: Set<String> = ["m_minilm_layer0_qp-38", "t2d_1024x1024_qp-32_dq"]

    /// Checks one case; returns a list of mismatch descriptions (empty = pass).
    static func check(caseDir: URL) throws -> [String] {
        var problems: [String] = []
        var state = IncrementalState()
        let name = caseDir.lastPathComponent
        for stream in CaseFiles.bitstreams(of: caseDir) {
            let tag = "\(name)/\(stream.prefix.isEmpty ? "bitstream" : String(stream.prefix.dropLast()))"
            let ndus: [DecodedReferenceNDU]
            do {
                ndus = try ReferenceStream.decode(bitstream: stream.bitstream, unitsJSON: stream.unitsJSON, state: &state)
            } catch {
                problems.append("\(tag): decode failed: \(error)")
                return problems
            }
            let levels = FileManager.default.fileExists(atPath: stream.levels.path) ? try loadNPZ(stream.levels) : [:]
            let decoded = try loadNPZ(stream.decoded)
            var seen = Set<String>()
            for ndu in ndus {
                if ndu.end.bytesConsumed != ndu.expectedPayloadBytes {
                    problems.append("\(tag) unit \(ndu.unitIndex): consumed \(ndu.end.bytesConsumed) bytes, unit payload is \(ndu.expectedPayloadBytes)")
                }
                if !ndu.end.stopPatternValid { problems.append("\(tag) unit \(ndu.unitIndex): bad stop pattern") }
                if ndu.observedEntryPoints != ndu.headerEntryPoints {
                    problems.append("\(tag) unit \(ndu.unitIndex): entry points \(ndu.observedEntryPoints.prefix(3)) != header \(ndu.headerEntryPoints.prefix(3)) (counts \(ndu.observedEntryPoints.count)/\(ndu.headerEntryPoints.count))")
                }
                for t in ndu.tensors {
                    seen.insert(t.name)
                    if let ref = levels[t.name] {
                        let want = ref.int32Values()
                        if want != t.payload.levels {
                            let i = zip(want, t.payload.levels).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1
                            problems.append("\(tag) \(t.name): levels differ (first at \(i), count \(want.count)/\(t.payload.levels.count))")
                        }
                    } else if !levels.isEmpty {
                        problems.append("\(tag) \(t.name): not in levels.npz")
                    }
                    guard let refDec = decoded[t.name] else {
                        problems.append("\(tag) \(t.name): not in decoded.npz")
                        continue
                    }
                    do {
                        let rec = try ReferenceStream.reconstruct(t)
                        if rec.dtype != refDec.dtype || rec.storage != refDec.storage || rec.elementCount != refDec.elementCount {
                            problems.append("\(tag) \(t.name): reconstruction differs (\(rec.dtype) vs \(refDec.dtype))")
                        }
                    } catch {
                        problems.append("\(tag) \(t.name): reconstruction failed: \(error)")
                    }
                }
            }
            for k in levels.keys where !seen.contains(k) {
                problems.append("\(tag) \(k): in levels.npz but not decoded")
            }
        }
        return problems
    }

    func testAllSharedCases() throws {
        guard Vectors.sharedConformance != nil else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        let skipSlow = ProcessInfo.processInfo.environment["NNR_SKIP_SLOW"] == "1"
        var passed = 0
        var total = 0
        var skipped: [String] = []
        for dir in Vectors.allSharedCases() {
            let name = dir.lastPathComponent
            if skipSlow && Self.slowCases.contains(name) {
                skipped.append(name)
                continue
            }
            total += 1
            let problems = try Self.check(caseDir: dir)
            if problems.isEmpty {
                passed += 1
            } else {
                for p in problems.prefix(8) { XCTFail(p) }
            }
        }
        print("PayloadDecoder conformance: \(passed)/\(total) cases passed" + (skipped.isEmpty ? "" : "; skipped: \(skipped)"))
        XCTAssertGreaterThan(total, 0)
    }

    /// Appendix B of the spec: the 'w' tensor of the worked example.
    func testWorkedExampleLevels() throws {
        let bytes: [UInt8] = [
            0xd9, 0x6c, 0x83, 0x17, 0x3e, 0xf3, 0x41, 0x8a, 0x2a, 0xbe, 0x5f, 0xc4, 0xf1, 0x35, 0xd3, 0xb4,
            0xc0, 0x03, 0x47, 0x3d, 0x09, 0x45, 0x32, 0x0f, 0x41, 0x73, 0x52, 0x44, 0x2e, 0x4b, 0x81, 0x3b,
            0xc7, 0xea, 0x0b, 0xd7, 0x60, 0xf3, 0x39, 0x2e, 0x8f, 0xf0,
        ]
        var dec = try PayloadDecoder(payload: bytes, fileOffset: 32)
        let p = TensorPayloadParameters(generalProfileIdc: 1, dims: [4, 6], scanOrder: 0, dqFlag: true,
                                        cabacUnaryLengthMinus1: 10, codesQPOffset: true, qpDensity: 2)
        var tracer = CollectingTracer()
        let r = try dec.decodeTensor(p, tracer: &tracer)
        XCTAssertEqual(r.qpOffset, -38)
        XCTAssertFalse(r.rowSkipEnabled)
        XCTAssertEqual(r.levels, [4, -4, 22, 4, -19, 13, 44, 33, -24, -44, -21, 1,
                                  -79, -8, -42, -25, -18, -10, 14, 35, -4, 47, -22, 11])
        XCTAssertEqual(r.estimatorSets[53], 4)
        XCTAssertEqual(r.estimatorSets[60], 8)
        let selections = tracer.elements.filter { $0.name == "estimator_selection" }
        XCTAssertEqual(selections.count, 80)
        XCTAssertEqual(selections.filter { $0.value != 0 }.count, 23)
        XCTAssertEqual(tracer.elements.filter { $0.name == "level" }.count, 24)
        let end = try dec.finish()
        XCTAssertEqual(end.bytesConsumed, 42)
        XCTAssertTrue(end.stopPatternValid)
        XCTAssertEqual(end.trailingBytes, 0)
        let w = Reconstruction.float32(levels: r.levels, qp: -38 + 0, qpDensity: 2)
        XCTAssertEqual(w[0], 0.005859375)
    }

    /// Tracing must not change the result.
    func testTracerDoesNotChangeDecoding() throws {
        guard let dir = Vectors.sharedCase("c_scan_order1_dq") else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        let bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent("bitstream.nnc")))
        let units = try CaseFiles.units(dir.appendingPathComponent("units.json"))
        guard let u = units.first(where: { CaseJSON.int($0["type"]) == 5 }), let f = u["fields"] as? [String: Any],
              let off = CaseJSON.int(u["offset"]), let size = CaseJSON.int(u["nnr_unit_size"]),
              let hb = CaseJSON.int(u["header_bytes"]) else { return XCTFail("no NDU") }
        let payload = Array(bytes[(off + hb)..<(off + size)])
        let p = TensorPayloadParameters(generalProfileIdc: 1, dims: CaseJSON.ints(f["tensor_dimensions"]) ?? [],
                                        scanOrder: 1, dqFlag: true, cabacUnaryLengthMinus1: 10)
        var a = try PayloadDecoder(payload: payload, fileOffset: off + hb)
        var b = try PayloadDecoder(payload: payload, fileOffset: off + hb)
        var tracer = CollectingTracer()
        let ra = try a.decodeTensor(p)
        let rb = try b.decodeTensor(p, tracer: &tracer)
        XCTAssertEqual(ra.levels, rb.levels)
        XCTAssertEqual(ra.observedEntryPoints, rb.observedEntryPoints)
        XCTAssertEqual(tracer.elements.filter { $0.name == "level" }.count, ra.levels.count)
        XCTAssertEqual(try a.finish(), try b.finish())
    }
}

/// Block rows decoded concurrently from the header's entry points must give exactly the sequential
/// result; wrong entry points must be detected (sequential fallback, true entry points reported).
final class PayloadDecoderEntryPointTests: XCTestCase {
    func ndu(_ name: String) throws -> (payload: [UInt8], offset: Int, params: TensorPayloadParameters) {
        guard let dir = Vectors.sharedCase(name) else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        let bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent("bitstream.nnc")))
        let units = try CaseFiles.units(dir.appendingPathComponent("units.json"))
        guard let u = units.first(where: { CaseJSON.int($0["type"]) == 5 }), let f = u["fields"] as? [String: Any],
              let off = CaseJSON.int(u["offset"]), let size = CaseJSON.int(u["nnr_unit_size"]),
              let hb = CaseJSON.int(u["header_bytes"]) else { throw XCTSkip("no NDU") }
        var p = TensorPayloadParameters(generalProfileIdc: 1, dims: CaseJSON.ints(f["tensor_dimensions"]) ?? [],
                                        scanOrder: CaseJSON.int(f["scan_order"]) ?? 0,
                                        dqFlag: CaseJSON.int(f["dq_flag"]) == 1,
                                        cabacUnaryLengthMinus1: CaseJSON.int(f["cabac_unary_length_minus1"]) ?? 10)
        p.entryPoints = (CaseJSON.ints(f["cabac_entry_point_list"]) ?? []).map { EntryPoint(packed: $0) }
        return (Array(bytes[(off + hb)..<(off + size)]), off + hb, p)
    }

    var lastConcurrent = false

    func decode(_ payload: [UInt8], _ offset: Int, _ p: TensorPayloadParameters,
                concurrent: Bool) throws -> (DecodedTensorPayload, PayloadEnd) {
        var d = try PayloadDecoder(payload: payload, fileOffset: offset)
        d.concurrentBlockRows = concurrent
        d.concurrencyMinimumElements = 0
        let r = try d.decodeTensor(p)
        lastConcurrent = d.tensorsDecodedConcurrently == 1
        return (r, try d.finish())
    }

    func testConcurrentEqualsSequential() throws {
        for name in ["c_scan_order1_dq", "c_scan_order1_nodq", "c_scan_order2_dq"] {
            let (payload, off, p) = try ndu(name)
            XCTAssertFalse(p.entryPoints.isEmpty, name)
            let (seq, seqEnd) = try decode(payload, off, p, concurrent: false)
            let (par, parEnd) = try decode(payload, off, p, concurrent: true)
            XCTAssertTrue(lastConcurrent, "\(name): block rows were not decoded concurrently")
            XCTAssertEqual(seq.levels, par.levels, name)
            XCTAssertEqual(seq.observedEntryPoints, p.entryPoints, name)
            XCTAssertEqual(par.observedEntryPoints, p.entryPoints, name)
            XCTAssertEqual(seqEnd, parEnd, name)
            XCTAssertEqual(parEnd.bytesConsumed, payload.count, name)
        }
    }

    func testWrongEntryPointsFallBackToSequential() throws {
        let (payload, off, p0) = try ndu("c_scan_order1_dq")
        let (seq, seqEnd) = try decode(payload, off, p0, concurrent: false)
        for change in 0..<4 {
            var p = p0
            let j = (change * 7) % p.entryPoints.count
            switch change {
            case 0: p.entryPoints[j].bitOffsetDelta += 1
            case 1: p.entryPoints[j].value ^= 1
            case 2: p.entryPoints[j].dqState = (p.entryPoints[j].dqState + 1) & 7
            default: p.entryPoints[j].bitOffsetDelta = -1_000_000
            }
            let (par, parEnd) = try decode(payload, off, p, concurrent: true)
            XCTAssertFalse(lastConcurrent, "change \(change): wrong entry points accepted")
            XCTAssertEqual(par.levels, seq.levels, "change \(change)")
            XCTAssertEqual(par.observedEntryPoints, p0.entryPoints, "change \(change)")
            XCTAssertNotEqual(par.observedEntryPoints, p.entryPoints, "change \(change)")
            XCTAssertEqual(parEnd, seqEnd, "change \(change)")
        }
    }
}

/// The incremental vectors really exercise HDSP, TCA and row skipping (so the conformance pass means
/// something for those tools).
final class PayloadDecoderToolCoverageTests: XCTestCase {
    func flags(_ name: String) throws -> [(step: Int, tensor: String, hdsp: Bool, rowSkip: Bool, tca: Bool)] {
        guard let dir = Vectors.sharedCase(name) else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        var state = IncrementalState()
        var out: [(step: Int, tensor: String, hdsp: Bool, rowSkip: Bool, tca: Bool)] = []
        for (k, s) in CaseFiles.bitstreams(of: dir).enumerated() {
            let before = state
            let units = try CaseFiles.units(s.unitsJSON)
            let tcaNames = Set(units.compactMap { u -> String? in
                guard let f = u["fields"] as? [String: Any], CaseJSON.int(f["temporal_context_modeling_flag"]) == 1 else { return nil }
                return f["topology_elem_id"] as? String
            })
            for ndu in try ReferenceStream.decode(bitstream: s.bitstream, unitsJSON: s.unitsJSON, state: &state) {
                for t in ndu.tensors {
                    out.append((k, t.name, t.payload.hdspEnabled, t.payload.rowSkipEnabled,
                                tcaNames.contains(t.name) && before.previousLevels[t.name] != nil))
                }
            }
        }
        return out
    }

    func testHDSPIsExercised() throws {
        let f = try flags("inc_hdsp_diff_tensor")
        XCTAssertTrue(f.contains { $0.hdsp }, "no NDU of inc_hdsp_diff_tensor enables HDSP: \(f)")
    }

    func testTCAIsExercised() throws {
        for name in ["inc_tca_diff_tensor", "inc_tca_full_tensor", "inc_model_diff_tca_skipped_ndu"] {
            let f = try flags(name)
            XCTAssertTrue(f.contains { $0.tca }, "\(name): no tensor decoded with a TCA base")
        }
    }

    func testRowSkipIsExercised() throws {
        guard let dir = Vectors.sharedCase("t2d_zero_rows_rowskip") else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        var state = IncrementalState()
        let ndus = try ReferenceStream.decode(bitstream: dir.appendingPathComponent("bitstream.nnc"),
                                              unitsJSON: dir.appendingPathComponent("units.json"), state: &state)
        let t = try XCTUnwrap(ndus.first?.tensors.first)
        XCTAssertTrue(t.payload.rowSkipEnabled)
        XCTAssertTrue(t.payload.rowSkipFlags.contains(true))
    }
}
