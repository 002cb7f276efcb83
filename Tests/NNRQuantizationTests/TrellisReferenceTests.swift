import XCTest
import NNRCoding
@testable import NNRQuantization

/// A literal, unoptimised transcription of the structure of NNCodec's distortion-only TCQ (branch
/// lists built by ascending predecessor, level before zero, first minimum wins; no rate), used to
/// check the vectorised trellis decision for decision, including ties.
private func referenceTCQ(_ v: [Float], step: Float) -> [Int32] {
    var lists = [[(prev: Int, slot: Int)]](repeating: [], count: 8)
    for p in 0..<8 {
        let quantizer = p & 1
        lists[DependentQuantization.nextState(p, parity: 0)].append((p, 3 * quantizer))
        lists[DependentQuantization.nextState(p, parity: 0)].append((p, 4))
        lists[DependentQuantization.nextState(p, parity: 1)].append((p, 2 - quantizer))
    }
    let qscale = 1.0 / Double(step)
    var cost = [Double](repeating: 0.5 * Double.greatestFiniteMagnitude, count: 8)
    cost[0] = 0
    var decisions: [[(level: Int32, prev: Int)]] = []
    for w in v {
        let sign: Int32 = w < 0 ? -1 : 1
        let org = qscale * Double(w) * Double(sign)
        let minQ = max(1, Int(org) - 1)
        var dist = [Double](repeating: 0, count: 5)
        var level = [Int32](repeating: 0, count: 5)
        dist[4] = org * org
        for qi in minQ..<(minQ + 4) {
            dist[qi & 3] = (org - Double(qi)) * (org - Double(qi))
            level[qi & 3] = sign * Int32((qi + 1) >> 1)
        }
        var next = [Double](repeating: 0, count: 8)
        var dec = [(level: Int32, prev: Int)](repeating: (0, 0), count: 8)
        for c in 0..<8 {
            var best = Double.greatestFiniteMagnitude
            for b in lists[c] {
                let x = cost[b.prev] + dist[b.slot]
                if x < best {
                    best = x
                    dec[c] = (level[b.slot], b.prev)
                }
            }
            next[c] = best
        }
        cost = next
        decisions.append(dec)
    }
    var state = 0
    for s in 1..<8 where cost[s] < cost[state] { state = s }
    var out = [Int32](repeating: 0, count: v.count)
    for i in stride(from: v.count - 1, through: 0, by: -1) {
        let d = decisions[i][state]
        state = d.prev
        out[i] = d.level == 0 ? 0 : 2 * d.level - (d.level > 0 ? 1 : -1) * Int32(state & 1)
    }
    return out
}

final class TrellisReferenceTests: XCTestCase {
    func testTopologyConstantsMatchTransitionTable() {
        XCTAssertTrue(TrellisTopology.isConsistent)
    }

    func testVectorisedTrellisMatchesReferenceIncludingTies() throws {
        let step: Float = 1.0 / 64
        var g = SplitMix(seed: 77)
        for trial in 0..<6 {
            let n = 3000
            var v: [Float]
            switch trial % 3 {
            case 0: v = gaussian(n, sigma: 0.1, seed: UInt64(trial))
            case 1: // exact multiples of Δ/2 and Δ/4: many equal-cost branches
                v = (0..<n).map { _ in Float(Int.random(in: -40...40, using: &g)) * step / 4 }
            default: // sparse with exact zeros
                v = (0..<n).map { _ in Int.random(in: 0..<4, using: &g) == 0 ? Float(g.normal() * 0.05) : 0 }
            }
            let geo = TensorGeometry(height: 1, width: n, scanOrder: 0)
            let t = try Quantizer.quantize(values: v, geometry: geo, qp: -24, qpDensity: 2, method: .dependent)
            XCTAssertEqual(t.stepSize, step)
            XCTAssertEqual(t.q, referenceTCQ(v, step: step), "trial \(trial)")
        }
    }

    /// The trellis loops without the level-limit logic (`UnboundedLevels`, taken when every |w|/Δ is
    /// far below the limits) give the same levels as the general ones (`largestMagnitude` unknown),
    /// with row skipping and block scan; and every level is written (no zero fill beforehand).
    func testUnboundedTrellisLoopsMatchTheBoundedOnes() {
        let step: Float = 1.0 / 64
        for trial in 0..<3 {
            var v = gaussian(4000, sigma: 0.2, seed: UInt64(50 + trial))
            for c in 0..<100 { v[300 + c] = 0 }
            let geo = TensorGeometry(height: 40, width: 100, scanOrder: trial == 2 ? 1 : 0)
            var skip = [Bool](repeating: false, count: 40)
            skip[3] = trial > 0
            var req = CoreRequest(stepSize: step, maxPositive: (1 << 31) - 3, maxNegative: (1 << 31) - 2,
                                  maxError: nil, lambdaScale: 0, gtCount: 11,
                                  segments: geo.scanSegments(splitRows: trial > 0), skipRows: trial > 0 ? skip : nil,
                                  width: geo.width)
            req.largestMagnitude = v.map(\.magnitude).max() ?? 0
            var general = req
            general.largestMagnitude = .infinity
            var fast = [Int32](repeating: 77, count: v.count), slow = [Int32](repeating: -77, count: v.count)
            v.withUnsafeBufferPointer { values in
                XCTAssertEqual(fast.withUnsafeMutableBufferPointer { quantizeDependent(values, req, into: $0) }, .ok)
                XCTAssertEqual(slow.withUnsafeMutableBufferPointer { quantizeDependent(values, general, into: $0) }, .ok)
            }
            XCTAssertNil(fast.indices.first { fast[$0] != slow[$0] }, "trial \(trial): first differing level")
            XCTAssertFalse(fast.contains(77), "trial \(trial)")
            XCTAssertGreaterThan(fast.filter { $0 != 0 }.count, 3000, "trial \(trial)")
        }
    }
}
