import Foundation
import XCTest
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRModelIO
import NNRTools
import NNRTestSupport

/// The rule catalogue: well-formed IDs, the same table in Spec/conformance-rules.md, the error
/// mapping, and checker behaviour on small hand-made inputs.
final class CheckRulesTests: XCTestCase {
    func testRuleIDsAreUniqueAndWellFormed() {
        var seen = Set<String>()
        for r in CheckRules.all {
            XCTAssertTrue(seen.insert(r.id).inserted, "duplicate \(r.id)")
            XCTAssertTrue(r.id.hasPrefix("NNR-" + r.group.letter), "\(r.id) is not in group \(r.group)")
            let number = r.id.dropFirst(5)
            XCTAssertEqual(number.count, 3, r.id)
            XCTAssertNotNil(Int(number), r.id)
            XCTAssertFalse(r.statement.isEmpty)
            XCTAssertFalse(r.statement.contains("\n"), "\(r.id): statements are one line")
            XCTAssertEqual(CheckRules.rule(r.id), r)
        }
        XCTAssertEqual(CheckRules.all.map(\.id), CheckRules.all.map(\.id).sorted { a, b in
            let order = "COHPI"
            let ga = order.firstIndex(of: a[a.index(a.startIndex, offsetBy: 4)]), gb = order.firstIndex(of: b[b.index(b.startIndex, offsetBy: 4)])
            return ga == gb ? a < b : (ga ?? order.endIndex) < (gb ?? order.endIndex)
        }, "rules are listed by group, then number")
    }

    /// Spec/conformance-rules.md has one table row per rule with the same severity and statement.
    func testSpecTableMatchesTheCode() throws {
        let url = Vectors.repoRoot.appendingPathComponent("Spec/conformance-rules.md")
        let text = try String(contentsOf: url, encoding: .utf8)
        var rows: [String: (String, String)] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| NNR-") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 5 else { continue }
            XCTAssertNil(rows[cells[1]], "\(cells[1]) twice in the table")
            rows[cells[1]] = (cells[2], cells[3].replacingOccurrences(of: "\\|", with: "|"))
        }
        XCTAssertEqual(Set(rows.keys), Set(CheckRules.all.map(\.id)), "rule IDs in Spec/conformance-rules.md")
        for r in CheckRules.all {
            XCTAssertEqual(rows[r.id]?.0, r.severity.rawValue, r.id)
            XCTAssertEqual(rows[r.id]?.1, r.statement, r.id)
        }
    }

    func testListRulesRendering() {
        let text = CheckRendering.rulesText()
        for r in CheckRules.all { XCTAssertTrue(text.contains(r.id), r.id) }
        guard case let .array(list)? = CheckRendering.rulesJSON()["rules"] else { return XCTFail("no rules array") }
        XCTAssertEqual(list.count, CheckRules.all.count)
        XCTAssertEqual(list.first?["id"], .string(CheckRules.all[0].id))
    }

    func testErrorMapping() {
        func rule(_ reason: NNRError.Reason, _ element: String, _ stage: CheckErrorMapping.Stage) -> String {
            CheckErrorMapping.rule(for: NNRError(reason, element: element, byteOffset: 0), stage: stage)
        }
        XCTAssertEqual(rule(.sizeMismatch("x"), "nnr_unit_size", .container), CheckRules.unitsTileFile)
        XCTAssertEqual(rule(.truncated(neededBits: 15, availableBits: 7), "nnr_unit_size", .container), CheckRules.unitsTileFile)
        XCTAssertEqual(rule(.sizeMismatch("x"), "nnr_unit_size", .header), CheckRules.unitSyntaxFitsSize)
        XCTAssertEqual(rule(.truncated(neededBits: 8, availableBits: 0), "tensor_dimensions[0]", .header), CheckRules.unitSyntaxFitsSize)
        XCTAssertEqual(rule(.limitExceeded("x"), "tensor_dimensions", .header), CheckRules.limits)
        XCTAssertEqual(rule(.expGolombPrefixTooLong(limit: 32), "parameter_id", .header), CheckRules.limits)
        XCTAssertEqual(rule(.limitExceeded("x"), "nnr_aggregate_unit_payload", .header), CheckRules.aggregateContent)
        XCTAssertEqual(rule(.invalidUTF8, "topology_elem_id", .header), CheckRules.strings)
        XCTAssertEqual(rule(.invalidValue("x"), "parent_node_id_type", .header), CheckRules.parentNodeIdType)
        XCTAssertEqual(rule(.invalidValue("x"), "codebook_center_offset_dc", .header), CheckRules.codebook)
        XCTAssertEqual(rule(.overflow("x"), "codebook", .header), CheckRules.codebook)
        XCTAssertEqual(rule(.unsupported("x"), "topology_tensor_dimension_mapping", .header), CheckRules.multipleTopologyElements)
        XCTAssertEqual(rule(.invalidValue("g_number_of_rows and decomposition_rank must be ≥ 1"), "cabac_entry_point_list", .header),
                       CheckRules.decompositionParameters)
        XCTAssertEqual(rule(.unsupported("x"), "cabac_entry_point_list", .header), CheckRules.decompositionPairing)
        XCTAssertEqual(rule(.overflow("x"), "ep_bit_offset_delta_diff", .header), CheckRules.entryPoints)
        XCTAssertEqual(rule(.sizeMismatch("x"), "num_of_nnr_units_minus2", .header), CheckRules.aggregateContent)
        XCTAssertEqual(rule(.payload("read past end of payload"), "quant_tensor", .payload), CheckRules.payloadWithinUnit)
        XCTAssertEqual(rule(.payload("read past end of payload"), "terminating_bin", .payload), CheckRules.payloadWithinUnit)
        XCTAssertEqual(rule(.payload("terminating bin is 0 (expected 1)"), "terminating_bin", .payload), CheckRules.terminatingBin)
        XCTAssertEqual(rule(.truncated(neededBits: 16, availableBits: 8), "cabac_init", .payload), CheckRules.payloadWithinUnit)
        XCTAssertEqual(rule(.sizeMismatch("x"), "nnr_unit_size", .payload), CheckRules.payloadConsumed)
        XCTAssertEqual(rule(.overflow("x"), "abs_remainder", .payload), CheckRules.levelsInt32)
        XCTAssertEqual(rule(.invalidValue("x"), "codebook_index", .payload), CheckRules.codebookIndex)
        XCTAssertEqual(rule(.sizeMismatch("x"), "raw_float32_parameter", .payload), CheckRules.rawFloatSize)
        XCTAssertEqual(rule(.invalidValue("x"), "temporal_context_modeling_flag", .payload), CheckRules.parentTensor)
        XCTAssertEqual(rule(.invalidValue("x"), "hist_dep_sig_prob_enabled_flag", .payload), CheckRules.parentTensor)
        XCTAssertEqual(rule(.invalidValue("no tensor dimensions"), "tensor_dimensions", .payload), CheckRules.dimensionsInBand)
        XCTAssertEqual(rule(.invalidValue("tensor dimension 0 < 1"), "tensor_dimensions", .payload), CheckRules.dimensionValues)
        XCTAssertEqual(rule(.unsupported("scan_order 9"), "scan_order", .payload), CheckRules.scanOrder)
        XCTAssertEqual(rule(.invalidValue("x"), "count_topology_elements_minus2", .payload), CheckRules.blockElementCount)
        XCTAssertEqual(rule(.invalidValue("x"), "mps_quantization_method_flags", .payload), CheckRules.quantizationParameters)
        XCTAssertEqual(rule(.unsupported("x"), "nnr_compressed_data_unit_payload_type", .payload), CheckRules.payloadType)
        XCTAssertEqual(rule(.unsupported("x"), "partial_data_counter_present_flag", .payload), CheckRules.partialDataCounter)
        // Every mapped rule exists in the catalogue.
        for r in [CheckRules.unitsTileFile, CheckRules.payloadWithinUnit] { XCTAssertNotNil(CheckRules.rule(r)) }
    }

    func testEmptyFile() {
        var checker = ConformanceChecker()
        let r = checker.check(NNRByteSource(bytes: []), path: "empty")
        XCTAssertEqual(r.violatedRuleIDs, [CheckRules.firstUnitIsStart])
        XCTAssertFalse(r.conforming)
        XCTAssertFalse(r.passed())
    }

    func testStartUnitAlone() {
        var checker = ConformanceChecker()
        let r = checker.check(NNRByteSource(bytes: [0x00, 0x04, 0x02, 0x01]), path: "str")
        XCTAssertEqual(r.violatedRuleIDs, [CheckRules.mpsAfterStart])
        XCTAssertEqual(r.unitCount, 1)
    }

    func testSingleTrailingByteIsAContainerError() {
        var checker = ConformanceChecker()
        let r = checker.check(NNRByteSource(bytes: [0x00]), path: "one")
        XCTAssertEqual(r.violatedRuleIDs, [CheckRules.unitsTileFile])
    }

    func testVerdictsAndStrictMode() throws {
        let url = Vectors.repoRoot.appendingPathComponent("Conformance/negative/NNR-C003.nnc")
        var checker = ConformanceChecker()
        let r = try checker.check(url: url)
        XCTAssertTrue(r.conforming)
        XCTAssertTrue(r.passed())
        XCTAssertFalse(r.passed(strict: true))
        XCTAssertEqual(r.warnings.map(\.ruleID), [CheckRules.longSizeForm])
        XCTAssertTrue(CheckRendering.verdict(r).hasPrefix("conforming (1 warning)"))
        XCTAssertTrue(CheckRendering.verdict(r, strict: true).hasPrefix("NON-CONFORMING"))
    }

    func testReferenceComparison() throws {
        let dir = Vectors.bundledConformance.appendingPathComponent("t_tiny_1x1")
        var reference = try loadNPZOrdered(dir.appendingPathComponent("decoded.npz"))
        var checker = ConformanceChecker()
        var r = try checker.check(url: dir.appendingPathComponent("bitstream.nnc"), reference: reference, referencePath: "decoded.npz")
        XCTAssertEqual(r.matchesReference, true)
        XCTAssertTrue(r.passed())

        // One changed byte, a changed dtype, and an extra reference tensor.
        reference[0].storage[0] ^= 1
        var extra = reference[0]
        extra.name = "not.there"
        reference.append(extra)
        checker = ConformanceChecker()
        r = try checker.check(url: dir.appendingPathComponent("bitstream.nnc"), reference: reference, referencePath: "decoded.npz")
        XCTAssertEqual(r.matchesReference, false)
        XCTAssertFalse(r.passed())
        XCTAssertTrue(r.conforming)
        guard case let .mismatch(why)? = r.tensors.first?.comparison else { return XCTFail("expected a mismatch") }
        XCTAssertTrue(why.contains("1 of 1 elements differ"), why)
        XCTAssertEqual(r.missingTensors.map(\.name), ["not.there"])

        reference = [reference[0].converted(to: .float64)]
        checker = ConformanceChecker()
        r = try checker.check(url: dir.appendingPathComponent("bitstream.nnc"), reference: reference, referencePath: "decoded.npz")
        guard case let .mismatch(why2)? = r.tensors.first?.comparison else { return XCTFail("expected a mismatch") }
        XCTAssertTrue(why2.contains("dtype float32, reference float64"), why2)
    }

    func testJSONReport() throws {
        let url = Vectors.repoRoot.appendingPathComponent("Conformance/negative/NNR-H001.nnc")
        var checker = ConformanceChecker()
        let r = try checker.check(url: url)
        let text = CheckRendering.json([r]).serialized(indent: 1)
        let obj = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        let files = obj?["files"] as? [[String: Any]]
        XCTAssertEqual(obj?["passed"] as? Bool, false)
        XCTAssertEqual(files?.first?["violated_rules"] as? [String], [CheckRules.reservedBits])
        let v = (files?.first?["violations"] as? [[String: Any]])?.first
        XCTAssertEqual(v?["rule"] as? String, CheckRules.reservedBits)
        XCTAssertEqual(v?["unit"] as? Int, 1)
        XCTAssertEqual(v?["element"] as? String, "nnr_reserved_zero_2bits")
        XCTAssertEqual(v?["byte_offset"] as? Int, 8)
        XCTAssertEqual(v?["bit_offset"] as? Int, 6)
        XCTAssertEqual((files?.first?["tensors"] as? [[String: Any]])?.count, 1)
    }

    func testTextReport() throws {
        let url = Vectors.repoRoot.appendingPathComponent("Conformance/negative/NNR-P005.nnc")
        var checker = ConformanceChecker()
        let r = try checker.check(url: url)
        let text = CheckRendering.text([r])
        XCTAssertTrue(text.contains("NNR-P005 error unit 3 @ byte"), text)
        XCTAssertTrue(text.contains("ep_value[0]"), text)
        XCTAssertTrue(text.contains("verdict: NON-CONFORMING (1 error, 0 warnings)"), text)
        XCTAssertTrue(text.contains("sha256 "), text)
    }
}
