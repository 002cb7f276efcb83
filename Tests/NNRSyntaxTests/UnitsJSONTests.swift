import Foundation
import XCTest
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRTestSupport

/// Unit boundaries and every header field of every reference bitstream against units.json, and
/// byte-exact re-serialization.
final class UnitsJSONTests: XCTestCase {
    /// units.json names the reference's internal keys differently for a few derived values.
    static let nameMap: [String: String] = [
        "codebook_egk__": "codebook_egk", "codebook_size__": "codebook_size",
        "CbZeroOffset__": "CbZeroOffset", "codebook__": "codebook",
    ]
    /// Keys of units.json that are context from earlier units, not elements of the unit itself.
    static let contextKeys: Set<String> = ["general_profile_idc", "mps_topology_indexed_reference_flag", "mps_parent_signalling_enabled_flag"]

    func allBitstreams() throws -> [CaseBitstream] {
        let cases = Vectors.allSharedCases()
        if cases.isEmpty { throw XCTSkip(Vectors.skipReasonNoShared()) }
        return cases.flatMap { CaseFiles.bitstreams(of: $0) }
    }

    func testEveryUnitMatchesUnitsJSON() throws {
        var files = 0, unitsChecked = 0, fieldsChecked = 0
        for bs in try allBitstreams() {
            let source = try NNRByteSource(contentsOf: bs.bitstream)
            let (units, error) = NNRUnitParser.parseAll(source, tracing: true)
            XCTAssertNil(error, "\(bs.bitstream.path): \(String(describing: error))")
            let expected = try CaseFiles.units(bs.unitsJSON)
            XCTAssertEqual(units.count, expected.count, bs.bitstream.path)
            for (u, e) in zip(units, expected) {
                let ctx = "\(bs.bitstream.lastPathComponent) unit \(u.location.index)"
                XCTAssertEqual(u.location.offset, e["offset"] as? Int, ctx)
                XCTAssertEqual(u.location.size, e["nnr_unit_size"] as? Int, ctx)
                XCTAssertEqual(u.common.nnrUnitType, e["type"] as? Int, ctx)
                XCTAssertEqual(u.typeName, e["type_name"] as? String, ctx)
                XCTAssertEqual(u.headerByteCount, e["header_bytes"] as? Int, ctx)
                XCTAssertEqual(u.location.size - u.headerByteCount, e["payload_bytes"] as? Int, ctx)
                let ours = FieldListBuilder.fields(of: u)
                var dict: [String: FieldValue] = [:]
                for f in ours { dict[f.name] = f.value }
                let fields = e["fields"] as? [String: Any] ?? [:]
                for (key, value) in fields {
                    fieldsChecked += 1
                    if Self.contextKeys.contains(key) && u.common.nnrUnitType != 0 {
                        let c = u.context
                        let v: Int = key == "general_profile_idc" ? c.generalProfileIdc
                            : key == "mps_topology_indexed_reference_flag" ? (c.mpsTopologyIndexedReferenceFlag ? 1 : 0)
                            : (c.mpsParentSignallingEnabledFlag ? 1 : 0)
                        XCTAssertEqual(v, value as? Int, "\(ctx) \(key)")
                        continue
                    }
                    if key == "cabac_entry_point_list" {
                        let packed = (u.ndu?.entryPoints ?? []).map { ($0.bitOffsetDelta << 11) | ($0.value << 3) | $0.dqState }
                        XCTAssertEqual(packed, value as? [Int], "\(ctx) \(key)")
                        continue
                    }
                    let name = Self.nameMap[key] ?? key
                    guard let mine = dict[name] else {
                        XCTFail("\(ctx): field \(key) missing; ours: \(ours.map(\.name))")
                        continue
                    }
                    XCTAssertTrue(Self.same(mine, value), "\(ctx) \(key): ours \(mine), reference \(value)")
                }
                unitsChecked += 1
            }
            files += 1
        }
        print("units.json: \(files) bitstreams, \(unitsChecked) units, \(fieldsChecked) fields compared")
        XCTAssertGreaterThan(unitsChecked, 200)
    }

    static func same(_ v: FieldValue, _ ref: Any) -> Bool {
        switch v {
        case let .int(i): return (ref as? Int) == i
        case let .string(s): return (ref as? String) == s
        case let .float(f): return (ref as? Double).map { Float($0) == f } ?? false
        case let .bytes(b): return (ref as? String) == b.map { String(format2hex: $0) }.joined()
        case let .list(l):
            guard let arr = ref as? [Any], arr.count == l.count else { return false }
            return zip(l, arr).allSatisfy { same($0, $1) }
        }
    }

    func testEveryUnitReserializesByteExactly() throws {
        var units = 0
        for bs in try allBitstreams() {
            let source = try NNRByteSource(contentsOf: bs.bitstream)
            let original = source.bytes(0..<source.count)
            let (parsed, error) = NNRUnitParser.parseAll(source)
            XCTAssertNil(error)
            var rebuilt: [UInt8] = []
            for u in parsed {
                let bytes = try NNRUnitSerializer.serialize(u, source: source)
                XCTAssertEqual(bytes, source.bytes(u.location.offset..<u.location.end),
                               "\(bs.bitstream.path) unit \(u.location.index) (\(u.typeName))")
                rebuilt += bytes
                units += 1
            }
            XCTAssertEqual(rebuilt, original, bs.bitstream.path)
        }
        XCTAssertGreaterThan(units, 200)
    }

    /// Cutting a file anywhere gives the units before the cut and a typed error naming the unit
    /// that was cut (or no error when the cut falls on a unit boundary). Never a crash.
    func testTruncationAtEveryByte() throws {
        guard Vectors.sharedConformance != nil else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        for name in ["m_torch_smallcnn_blocks", "c_scan_order1_dq", "t2d_codebook_clustered"] {
            guard let dir = Vectors.sharedCase(name) else { continue }
            let full = try Array(Data(contentsOf: dir.appendingPathComponent("bitstream.nnc")))
            let (units, _) = NNRUnitParser.parseAll(NNRByteSource(bytes: full))
            let boundaries = Set(units.map(\.location.offset) + [full.count])
            for cut in 0..<full.count {
                let (got, error) = NNRUnitParser.parseAll(NNRByteSource(bytes: Array(full[0..<cut])))
                if boundaries.contains(cut) {
                    XCTAssertNil(error, "\(name) cut at \(cut)")
                    XCTAssertEqual(got.count, units.filter { $0.location.end <= cut }.count)
                } else {
                    guard let e = error else { XCTFail("\(name) cut at \(cut): no error"); continue }
                    let containing = units.first { $0.location.offset <= cut && cut < $0.location.end }
                    XCTAssertEqual(e.unitIndex, containing?.location.index, "\(name) cut at \(cut): \(e)")
                    XCTAssertGreaterThanOrEqual(e.position.byteOffset, containing?.location.offset ?? 0)
                    XCTAssertLessThanOrEqual(e.position.byteOffset, cut)
                }
            }
        }
    }
}
