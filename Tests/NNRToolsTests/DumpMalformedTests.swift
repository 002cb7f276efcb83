import Foundation
import XCTest
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRTools
import NNRTestSupport

/// Broken input: everything before the failure is shown, then the error with its offset and the
/// bytes around it; nothing crashes. And the default dump does not depend on payload bytes.
final class DumpMalformedTests: XCTestCase {
    /// Every prefix of a vector: units before the cut, the unit that was cut as far as it reads,
    /// and an error at an offset inside that unit, in all three formats.
    func testEveryTruncationReportsTheFailureOffset() throws {
        guard let dir = Vectors.sharedCase("m_torch_smallcnn_blocks") else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        let full = try Array(Data(contentsOf: dir.appendingPathComponent("bitstream.nnc")))
        let (units, error) = NNRUnitParser.parseAll(NNRByteSource(bytes: full))
        XCTAssertNil(error)
        let boundaries = Set(units.map(\.location.offset) + [full.count])
        for cut in 0...full.count {
            let options = DumpOptions(hex: cut % 7 == 0)
            let report = NNRDump.dump([("cut", NNRByteSource(bytes: Array(full[0..<cut])))], options: options)
            let file = try XCTUnwrap(report.files.first)
            let text = DumpTextRenderer.render(report)
            let complete = units.filter { $0.location.end <= cut }
            XCTAssertEqual(file.units.count, complete.count, "cut \(cut)")
            XCTAssertEqual(file.units.map(\.offset), complete.map(\.location.offset), "cut \(cut)")
            if boundaries.contains(cut) {
                XCTAssertNil(file.failure, "cut \(cut)")
                XCTAssertNil(file.partialUnit, "cut \(cut)")
                XCTAssertFalse(text.contains("\nerror"), "cut \(cut)")
                continue
            }
            guard let failure = file.failure else {
                XCTFail("cut \(cut): no error")
                continue
            }
            let containing = try XCTUnwrap(units.first { $0.location.offset <= cut && cut < $0.location.end })
            let offset = failure.error.position.byteOffset
            XCTAssertGreaterThanOrEqual(offset, containing.location.offset, "cut \(cut)")
            XCTAssertLessThanOrEqual(offset, cut, "cut \(cut)")
            XCTAssertEqual(failure.stage, "structure")
            XCTAssertEqual(failure.window.mark, offset)
            XCTAssertLessThanOrEqual(failure.window.offset, offset)
            XCTAssertEqual(file.partialUnit?.offset, containing.location.offset, "cut \(cut)")
            XCTAssertEqual(file.partialUnit?.partial, true)
            // The partial unit shows exactly the elements that lie before the cut.
            for s in file.partialUnit?.sections ?? [] {
                for e in s.elements { XCTAssertLessThanOrEqual(e.entry.bitPosition + e.bitWidth, cut * 8, "cut \(cut) \(e.name)") }
            }
            XCTAssertTrue(text.contains("\nerror (structure) at byte \(offset) bit \(failure.error.position.bitOffset)"), "cut \(cut)")
            XCTAssertTrue(text.contains("^^") || text.contains("end of the file"), "cut \(cut)")
            if cut % 7 == 0 {
                let json = DumpJSONRenderer.render(report)
                XCTAssertEqual(json["error"]?["byte_offset"], .int(offset), "cut \(cut)")
                XCTAssertEqual(json["error"]?["stage"], .string("structure"))
                let xml = DumpXMLRenderer.render(report)
                XCTAssertTrue(xml.contains("<error stage=\"structure\""), "cut \(cut)")
                XCTAssertTrue(xml.contains("byte_offset=\"\(offset)\""), "cut \(cut)")
                XCTAssertNotNil(try? DumpParsing.xml(xml), "cut \(cut)")
            }
        }
    }

    /// Corrupted payload bytes with --stats --trace: a payload error inside the unit, or a clean
    /// decode of other values; never a crash.
    func testCorruptedPayloadsReportAPayloadError() throws {
        guard let dir = Vectors.sharedCase("c_scan_order1_dq") else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        let original = try Array(Data(contentsOf: dir.appendingPathComponent("bitstream.nnc")))
        let (units, _) = NNRUnitParser.parseAll(NNRByteSource(bytes: original))
        let ndu = try XCTUnwrap(units.last { $0.ndu != nil })
        var failures = 0
        var position = ndu.payloadRange.lowerBound
        let step = Swift.max(1, ndu.payloadRange.count / 40)
        while position < ndu.payloadRange.upperBound {
            var bytes = original
            bytes[position] ^= 0xFF
            let report = NNRDump.dump([("corrupt", NNRByteSource(bytes: bytes))], options: DumpOptions(stats: true, trace: true, traceLimit: 20))
            let file = try XCTUnwrap(report.files.first)
            XCTAssertEqual(file.units.count, units.count)
            if let f = file.failure {
                failures += 1
                XCTAssertEqual(f.stage, "payload")
                XCTAssertEqual(f.error.unitIndex, ndu.location.index)
                XCTAssertGreaterThanOrEqual(f.error.position.byteOffset, ndu.location.offset)
                XCTAssertLessThanOrEqual(f.error.position.byteOffset, ndu.location.end)
                XCTAssertTrue(DumpTextRenderer.render(report).contains("\nerror (payload) at byte \(f.error.position.byteOffset)"))
            }
            position += step
        }
        XCTAssertGreaterThan(failures, 0)
    }

    /// A TCA update alone cannot be decoded: the error says so; with the earlier steps it decodes.
    func testIncrementalUpdateNeedsTheEarlierSteps() throws {
        guard let dir = Vectors.sharedCase("inc_tca_diff_tensor") else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        let steps = CaseFiles.bitstreams(of: dir)
        var inputs: [(path: String, source: NNRByteSource)] = []
        for bs in steps { inputs.append((bs.bitstream.lastPathComponent, try NNRByteSource(contentsOf: bs.bitstream))) }
        let last = try XCTUnwrap(inputs.last)
        let alone = NNRDump.dump([last], options: DumpOptions(stats: true))
        XCTAssertEqual(alone.files.first?.failure?.error.element, "temporal_context_modeling_flag")
        let all = NNRDump.dump(inputs, options: DumpOptions(stats: true))
        XCTAssertFalse(all.hasError)
        XCTAssertEqual(all.files.count, steps.count)
    }

    /// Without --stats/--trace the dump reads headers and the first 8 bytes of each NDU payload
    /// (the first tensor's qp_offset): overwriting the rest of every payload changes nothing.
    func testHeadersOnlyDumpIgnoresPayloadBytes() throws {
        let names = ["m_torch_smallcnn_blocks", "m_minilm_layer0_qp-38", "c_scan_order2_dq", "t2d_codebook_dq"]
        guard Vectors.sharedConformance != nil else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        for name in names {
            guard let dir = Vectors.sharedCase(name) else { continue }
            let original = try Array(Data(contentsOf: dir.appendingPathComponent("bitstream.nnc")))
            let (units, _) = NNRUnitParser.parseAll(NNRByteSource(bytes: original))
            var scrambled = original
            for u in units where u.ndu != nil {
                for i in (u.payloadRange.lowerBound + 8)..<u.payloadRange.upperBound { scrambled[i] = UInt8(truncatingIfNeeded: i &* 131) }
            }
            let a = NNRDump.dump([(name, NNRByteSource(bytes: original))], options: DumpOptions())
            let b = NNRDump.dump([(name, NNRByteSource(bytes: scrambled))], options: DumpOptions())
            XCTAssertEqual(DumpTextRenderer.render(a), DumpTextRenderer.render(b), name)
            XCTAssertEqual(DumpXMLRenderer.render(a), DumpXMLRenderer.render(b), name)
            XCTAssertFalse(a.files.first?.decoded ?? true)
        }
    }
}
