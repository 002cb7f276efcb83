import XCTest
import NNRCoding
@testable import NNRQuantization

final class RateModelTests: XCTestCase {
    /// The compact Int16 contexts must behave exactly like NNRCoding's ContextModel + BitCost.
    func testCompactContextMatchesContextModel() {
        var g = SplitMix(seed: 7)
        for set in 0..<9 {
            let t = RateTables(gtCount: 11, estimatorSet: set)
            let p = UnsafeMutablePointer<Int16>.allocate(capacity: t.storeStride)
            defer { p.deallocate() }
            t.reset(p)
            var m = ContextModel(set: set)
            for i in 0..<20_000 {
                // Runs of biased bins drive the state to its extremes.
                let bias = (i / 500) % 3
                let r = Int.random(in: 0..<100, using: &g)
                let bin = bias == 0 ? (r < 50 ? 1 : 0) : bias == 1 ? (r < 97 ? 1 : 0) : (r < 3 ? 1 : 0)
                XCTAssertEqual(t.cost(p, 5, 0), m.scaledBits(for: 0))
                XCTAssertEqual(t.cost(p, 5, 1), m.scaledBits(for: 1))
                t.update(p, 5, bin)
                m.update(bin: UInt32(bin))
                XCTAssertEqual(Int32(p[10]), m.s0)
                XCTAssertEqual(Int32(p[11]), m.s01)
            }
        }
    }

    func testSkipPermutationIsWidthZeroTransitions() {
        for w in 0..<40 {
            let p = SkipPermutation(width: w)
            for s in 0..<8 {
                var t = s
                for _ in 0..<w { t = DependentQuantization.nextState(t, parity: 0) }
                XCTAssertEqual(p.forward[s], t)
                XCTAssertEqual(p.backward[t], s)
            }
        }
    }

    /// Unbounded cost-only and update-only paths agree with the combined general path.
    func testLevelCostPathsAgree() {
        let t = RateTables(gtCount: 4)
        let a = UnsafeMutablePointer<Int16>.allocate(capacity: t.storeStride)
        let b = UnsafeMutablePointer<Int16>.allocate(capacity: t.storeStride)
        defer { a.deallocate(); b.deallocate() }
        t.reset(a)
        t.reset(b)
        var g = SplitMix(seed: 3)
        var neighbour: Int32 = 0
        for _ in 0..<5000 {
            let mag = Int32.random(in: 0...3, using: &g) == 0 ? Int32.random(in: 0...5000, using: &g) : Int32.random(in: 0...6, using: &g)
            let k = Bool.random(using: &g) ? mag : -mag
            let c = RateTables.neighbourClass(neighbour)
            let sig = ContextLayout.sigContext(state: 0, neighbour: c, parent: 0, history: false)
            var expected = UInt64(t.cost(a, sig, k != 0 ? 1 : 0))
            if k != 0 { expected += UInt64(t.costNonZeroTail(a, k: k, neighbour: c)) }
            t.updateLevel(a, k: k, sigCtx: sig, neighbour: c)
            let got = t.codeLevel(b, k: k, sigCtx: sig, neighbour: c, bounds: nil)
            XCTAssertEqual(got, expected)
            XCTAssertTrue(memcmp(a, b, t.storeStride * 2) == 0)
            neighbour = k
        }
    }

    /// Spec 5.4 example: L = 11, |k| = 14: sig, sign, 11 gt ones, remainder 2 = prefix 1,0 + 1 suffix bit.
    func testRemainderBinCount() {
        let t = RateTables(gtCount: 11)
        let p = UnsafeMutablePointer<Int16>.allocate(capacity: t.storeStride)
        defer { p.deallocate() }
        t.reset(p)
        // Every bin uses a different context, all in the initial state: 13 ones (sig, 11 gt,
        // prefix 1), 2 zeros (sign +, prefix end) and one bypass bin.
        let zero = UInt64(t.cost(p, 0, 0)), one = UInt64(t.cost(p, 0, 1))
        let cost = one + UInt64(t.costNonZeroTail(p, k: 14, neighbour: 0))
        XCTAssertEqual(cost, one * 13 + zero * 2 + UInt64(nnrScaledBypassBits))
    }

    func testExpGolombLengths() {
        // ue(0): 0 → "1", 1,2 → 3 bits, 3…6 → 5 bits.
        XCTAssertEqual(NNRCodebook.expGolombLength(0, order: 0), 1)
        XCTAssertEqual(NNRCodebook.expGolombLength(2, order: 0), 3)
        XCTAssertEqual(NNRCodebook.expGolombLength(3, order: 0), 5)
        XCTAssertEqual(NNRCodebook.expGolombLength(6, order: 0), 5)
        XCTAssertEqual(NNRCodebook.expGolombLength(7, order: 0), 7)
        // ue(2): 0…3 → 3 bits, 4…11 → 5 bits.
        XCTAssertEqual(NNRCodebook.expGolombLength(3, order: 2), 3)
        XCTAssertEqual(NNRCodebook.expGolombLength(4, order: 2), 5)
        XCTAssertEqual(NNRCodebook.expGolombLength(11, order: 2), 5)
        XCTAssertEqual(NNRCodebook.expGolombLength(12, order: 2), 7)
        XCTAssertEqual(NNRCodebook.signedExpGolombLength(0, order: 0), 1)
        XCTAssertEqual(NNRCodebook.signedExpGolombLength(1, order: 0), 3)
        XCTAssertEqual(NNRCodebook.signedExpGolombLength(-1, order: 0), 3)
        XCTAssertEqual(NNRCodebook.signedExpGolombLength(-2, order: 0), 5)
    }

    func testScanSegmentsCoverScanOrder() {
        for (h, w, s) in [(20, 27, 2), (40, 30, 1), (9, 9, 1), (5, 64, 3), (1, 10, 2), (10, 1, 1), (7, 5, 0)] {
            let g = TensorGeometry(height: h, width: w, scanOrder: s)
            var expected: [Int] = []
            g.forEachPositionInScanOrder { expected.append($0) }
            for split in [false, true] {
                var got: [Int] = []
                var resets = 0
                for seg in g.scanSegments(splitRows: split) {
                    XCTAssertEqual(seg.row, seg.start / max(w, 1))
                    if seg.startsBlockRow { resets += 1 }
                    got.append(contentsOf: seg.start..<(seg.start + seg.length))
                }
                XCTAssertEqual(got, expected, "\(h)x\(w) scan \(s)")
                XCTAssertEqual(resets, g.blockRows - 1)
            }
        }
    }
}
