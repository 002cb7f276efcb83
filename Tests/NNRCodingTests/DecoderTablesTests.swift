@testable import NNRCoding
import XCTest

/// The decoder's context layout: table indices, compacted slow-table rows, MPS and rLPS row.
final class DecoderTablesTests: XCTestCase {
    /// Every parameter set's shift1 has its own row inside the slow table (the table holds
    /// `slowRows` rows; a set with a further shift1 would index past it).
    func testEveryParameterSetShift1HasASlowRow() {
        var rows = Set<Int>()
        for p in nnrEstimatorParameterSets {
            XCTAssertTrue(DecoderTables.hasSlowTable(shift1: p.shift1))
            let row = DecoderTables.slowRow(shift1: p.shift1)
            XCTAssertLessThan(row, DecoderTables.slowRows, "shift1 \(p.shift1)")
            rows.insert(row)
        }
        XCTAssertEqual(rows.count, DecoderTables.slowShifts.nonzeroBitCount)
    }

    /// The initial context of each set: same S0 and S01 as `ContextModel`, its shifts in the
    /// indices, the MPS of S01 and the rLPS row of |S01 >> 7|.
    func testInitialContextsMatchContextModel() {
        for set in 0..<nnrEstimatorParameterSets.count {
            let m = ContextModel(set: set)
            let c = DecoderContext(set: set)
            XCTAssertEqual(c.s0, Int(m.s0), "set \(set)")
            XCTAssertEqual(c.s01, Int(m.s01), "set \(set)")
            XCTAssertEqual(Int(c.fast) >> 8, Int(m.shift0 & 7), "set \(set)")
            XCTAssertEqual(Int(c.slow) >> 12, DecoderTables.slowRow(shift1: m.shift1), "set \(set)")
            XCTAssertEqual(Int(c.mps), m.s01 >= 0 ? 1 : 0, "set \(set)")
            let mag = min(abs(Int(m.s01 >> 7)), 31)
            for rangeClass in 0..<8 {
                let rlps = Int(truncatingIfNeeded: c.lps >> (8 * rangeClass)) & 0xFF
                XCTAssertEqual(rlps, Int(nnrRangeLPSTable[rangeClass * 32 + mag]), "set \(set), class \(rangeClass)")
            }
        }
    }
}
