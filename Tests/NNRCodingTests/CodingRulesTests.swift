import XCTest
import NNRBitIO
@testable import NNRCoding

/// The coding rules the decoder and the encoder share (CodingRules.swift, ContextLayout,
/// TensorGeometry, DependentQuantization): each defined once, checked here against the spec's
/// wording.
final class CodingRulesTests: XCTestCase {
    func testScanWalkVisitsBlocksLeftToRightAndRowsInsideABlock() {
        // 10 × 9 with scan_order 1 (B = 8): block row 0 = rows 0…7, block row 1 = rows 8…9.
        let g = TensorGeometry(height: 10, width: 9, scanOrder: 1)
        var segments: [[Int]] = []
        g.forEachSegment { segments.append([$0, $1, $2]) }
        var expected: [[Int]] = []
        for (r0, r1) in [(0, 8), (8, 10)] {
            for (c0, c1) in [(0, 8), (8, 9)] {
                for r in r0..<r1 { expected.append([r, c0, c1]) }
            }
        }
        XCTAssertEqual(segments, expected)
        XCTAssertEqual(g.blockRows, 2)
        var positions: [Int] = []
        g.forEachPositionInScanOrder { positions.append($0) }
        XCTAssertEqual(positions.count, 90)
        XCTAssertEqual(Set(positions).count, 90)
        XCTAssertEqual(Array(positions.prefix(9)), [0, 1, 2, 3, 4, 5, 6, 7, 9])
        // row-major: whole rows
        var rows: [[Int]] = []
        TensorGeometry(height: 3, width: 4, scanOrder: 0).forEachSegment { rows.append([$0, $1, $2]) }
        XCTAssertEqual(rows, [[0, 0, 4], [1, 0, 4], [2, 0, 4]])
    }

    func testBlockRowCountIsTheCeilingWithoutOverflow() {
        for so in 1...4 {
            let b = 4 << so
            for h in [0, 1, b - 1, b, b + 1, 3 * b] {
                XCTAssertEqual(TensorGeometry.blockRowCount(rows: h, scanOrder: so), (h + b - 1) / b, "h \(h) so \(so)")
            }
            // header-derived row counts near Int.max must not trap
            XCTAssertEqual(TensorGeometry.blockRowCount(rows: Int.max, scanOrder: so), (Int.max - 1) / b + 1)
        }
        XCTAssertEqual(TensorGeometry.blockRowCount(rows: 1000, scanOrder: 0), 1)
    }

    func testSkippedSegmentAdvanceIsWidthZeroParityTransitions() {
        for w in 0..<20 {
            let adv = DependentQuantization.stateAfterSkippedSegment(width: w)
            for s in 0..<8 {
                var t = s
                for _ in 0..<w { t = DependentQuantization.nextState(t, parity: 0) }
                XCTAssertEqual(adv[s], t, "width \(w) state \(s)")
            }
        }
        for (i, next) in DependentQuantization.transition.enumerated() {
            XCTAssertEqual(DependentQuantization.nextState(i >> 1, parity: i & 1), Int(next))
        }
    }

    /// The block walk (four positions per table lookup, then single positions) against the
    /// one-position rule `quantizationIndex` / `nextState`, on valid paths of every length 0…13
    /// and with one q changed at a random position (the walk fails exactly when the rule does).
    func testQuantizationIndicesWalkMatchesThePerPositionRule() {
        func walk(_ q: [Int32], state: inout Int) -> (Bool, [Int32]) {
            let qp = UnsafeMutablePointer<Int32>.allocate(capacity: q.count + 1)
            let kp = UnsafeMutablePointer<Int32>.allocate(capacity: q.count + 1)
            defer { qp.deallocate(); kp.deallocate() }
            qp.initialize(from: q, count: q.count)
            let ok = DependentQuantization.quantizationIndices(qp, count: q.count, state: &state, into: kp, store: true)
            return (ok, Array(UnsafeBufferPointer(start: kp, count: q.count)))
        }
        var rng = SystemRandomNumberGenerator()
        for n in 0...13 {
            for trial in 0..<40 {
                let start = trial & 7
                // A valid path: each q representable in the state it is coded in.
                var q = [Int32](), k = [Int32](), st = start
                for _ in 0..<n {
                    let mag = Int32.random(in: 0...9, using: &rng), neg = Bool.random(using: &rng)
                    let kk = neg ? -mag : mag
                    let qq = DependentQuantization.reconstructionIndex(k: kk, state: st)
                    q.append(qq)
                    k.append(kk)
                    st = DependentQuantization.nextState(st, parity: Int(kk))
                }
                var state = start
                let (ok, out) = walk(q, state: &state)
                XCTAssertTrue(ok, "n \(n) start \(start) q \(q)")
                XCTAssertEqual(out, k)
                XCTAssertEqual(state, st)
                // Break the path at one position: flip the parity of a non-zero q, or use Int32.min.
                guard n > 0 else { continue }
                let bad = Int.random(in: 0..<n, using: &rng)
                var broken = q
                broken[bad] = trial % 5 == 0 ? Int32.min : (q[bad] == 0 ? 1 : q[bad] + 1)
                // A zero after the break can still be valid; the walk must fail only if the first
                // unrepresentable q is real, which the per-position rule decides.
                var expectOK = true, s2 = start
                for v in broken {
                    guard v != Int32.min, let kk = DependentQuantization.quantizationIndex(q: v, state: s2) else {
                        expectOK = false
                        break
                    }
                    s2 = DependentQuantization.nextState(s2, parity: Int(kk))
                }
                var state2 = start
                let (ok2, _) = walk(broken, state: &state2)
                XCTAssertEqual(ok2, expectOK, "n \(n) start \(start) broken \(broken)")
            }
        }
    }

    func testContextSelectionPrecedence() {
        let layout = ContextLayout(cabacUnaryLengthMinus1: 9)
        // neighbour rule 3·state + c; TCA 24 + 2·state + (|parent| > 1); HDSP 40 + state wins over both
        XCTAssertEqual(ContextLayout.sigContext(state: 5, neighbour: 2, parent: 0, history: false), 17)
        XCTAssertEqual(ContextLayout.sigContext(state: 5, neighbour: 2, parent: -3, history: false), 35)
        XCTAssertEqual(ContextLayout.sigContext(state: 5, neighbour: 2, parent: 1, history: false), 34)
        XCTAssertEqual(ContextLayout.sigContext(state: 5, neighbour: 2, parent: -3, history: true), 45)
        XCTAssertEqual(ContextLayout.signContext(neighbour: 1, parent: 0), 49)
        XCTAssertEqual(ContextLayout.signContext(neighbour: 1, parent: 4), 52)
        XCTAssertEqual(ContextLayout.signContext(neighbour: 1, parent: -4), 51)
        XCTAssertEqual(layout.gtContext(3, negative: true, parentMagnitude: 0), 53 + 6 + 1)
        XCTAssertEqual(layout.gtContext(3, negative: true, parentMagnitude: 3), 53 + 20 + 6)
        XCTAssertEqual(layout.gtContext(3, negative: true, parentMagnitude: 2), 53 + 20 + 6 + 1)
    }

    func testEstimatorSelectionListOrderAndPresence() {
        let layout = ContextLayout(cabacUnaryLengthMinus1: 9)
        func list(dq: Bool, tca: Bool, hdsp: Bool, codebook: NNRCodebook?) -> [(Int, Bool)] {
            var out: [(Int, Bool)] = []
            EstimatorSelectionList.forEach(layout: layout, dq: dq, tca: tca, hdsp: hdsp, codebook: codebook) {
                out.append(($0, $1))
            }
            return out
        }
        let all = list(dq: true, tca: true, hdsp: true, codebook: nil)
        XCTAssertEqual(all.count, 24 + 16 + 8 + 5 + 4 * 10 + 31)
        XCTAssertEqual(Array(all.map { $0.0 }.prefix(49)), Array(0..<49))
        XCTAssertTrue(all.allSatisfy { $0.1 })
        let plain = list(dq: false, tca: false, hdsp: false, codebook: nil)
        XCTAssertEqual(Array(plain.map { $0.0 }.prefix(6)), [0, 1, 2, 48, 49, 50])
        XCTAssertEqual(plain.count, 3 + 3 + 20 + 31)
        // a codebook with its zero at the start: the sign is inferred, |k| ≤ 2 bounds the flags
        let cb = list(dq: false, tca: false, hdsp: false, codebook: NNRCodebook(entries: [0, 5, 9], cbZeroOffset: 0))
        XCTAssertEqual(cb.filter { (48..<51).contains($0.0) }.map { $0.1 }, [false, false, false])
        XCTAssertEqual(cb.filter { (53..<73).contains($0.0) && $0.1 }.map { $0.0 }, [53, 54, 55, 56])
        // a one-entry codebook codes no entry at all
        XCTAssertFalse(list(dq: false, tca: false, hdsp: false, codebook: NNRCodebook()).contains { $0.1 })
    }

    func testSharedParameterValidation() throws {
        let pos = BitPosition(byteOffset: 3, bitOffset: 0)
        func reason(_ p: TensorPayloadParameters, limits: NNRLimits = .default) -> String? {
            do { _ = try TensorCodingSetup(p, limits: limits, position: pos); return nil } catch let e as NNRError {
                return e.reasonCode
            } catch { return "untyped" }
        }
        XCTAssertEqual(reason(TensorPayloadParameters(dims: [4, 4], scanOrder: 5)), "unsupported")
        XCTAssertEqual(reason(TensorPayloadParameters(dims: [100, 100]), limits: NNRLimits(maxTensorElements: 9999)),
                       "limit_exceeded")
        XCTAssertEqual(reason(TensorPayloadParameters(dims: [4, 4], qpDensity: 8)), "invalid_value")
        XCTAssertNil(reason(TensorPayloadParameters(dims: [4, 4])))
        let s = try TensorCodingSetup(TensorPayloadParameters(dims: [4, 4], dqFlag: true, codesQPOffset: false),
                                      limits: .default, position: pos)
        XCTAssertFalse(s.dq, "NNR_PT_INT has no DQ")
        XCTAssertTrue(s.rowSkipSyntax)
        XCTAssertFalse(try TensorCodingSetup(TensorPayloadParameters(generalProfileIdc: 0, dims: [4, 4]),
                                             limits: .default, position: pos).rowSkipSyntax)
        XCTAssertFalse(try TensorCodingSetup(TensorPayloadParameters(dims: [1, 16]), limits: .default,
                                             position: pos).rowSkipSyntax)
        let one = try TensorCodingSetup(TensorPayloadParameters(dims: [4, 4], codebook: NNRCodebook()),
                                        limits: .default, position: pos)
        XCTAssertFalse(one.codesValues)
        XCTAssertFalse(one.rowSkipSyntax)
    }
}

/// The batched bypass decoding equals bin-by-bin decoding on any input.
final class BypassBatchTests: XCTestCase {
    func testBatchedBypassBinsEqualSingleBins() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let bytes = (0..<64).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let payload = PayloadBytes(bytes)
            var a = CABACReader(base: payload.base, count: payload.count)
            guard a.value < a.range << 7 else { continue }
            var b = a
            // a mix of context-free batches of every size, as remainders and qp_offset use them
            for n in [0, 1, 3, 8, 9, 17, 32, 5, 2] {
                let batched = a.decodeBypassBins(n)
                var single: UInt32 = 0
                for _ in 0..<n { single = (single << 1) | UInt32(b.decodeBypass()) }
                XCTAssertEqual(batched, single, "n \(n)")
                XCTAssertEqual(a.value, b.value)
                XCTAssertEqual(a.bitOffset, b.bitOffset)
            }
        }
    }
}
