import Foundation
import XCTest
import NNRBitIO
import NNRContainer
import NNRCoding
import NNRModelIO
import NNRTools
import NNRTestSupport

/// `--trace` against levels.npz, `--stats` against levels.npz and case.json.
final class DumpTraceTests: XCTestCase {
    /// Scan order of a tensor's positions.
    static func scanOrder(_ t: DumpTensor) -> [Int] {
        var order: [Int] = []
        order.reserveCapacity(t.elementCount)
        TensorGeometry(dims: t.shape, scanOrder: t.scanOrder).forEachPositionInScanOrder { order.append($0) }
        return order
    }

    /// For every reference bitstream (incremental steps in order, state carried), the `level`
    /// lines of the trace visit every position of every tensor once, in scan order, with the value
    /// levels.npz holds for it.
    func testTraceReproducesLevelsOfEveryVector() throws {
        let cases = Vectors.allSharedCases()
        if cases.isEmpty { throw XCTSkip(Vectors.skipReasonNoShared()) }
        var tensors = 0, positions = 0
        for dir in cases {
            let steps = CaseFiles.bitstreams(of: dir)
            // The two vectors of more than 256 KiB (a 1024 x 1024 tensor, a MiniLM layer) repeat what
            // the others cover and take minutes to trace in debug builds.
            let bytes = steps.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1.bitstream.path)[.size] as? Int) ?? 0) }
            if bytes > 256 << 10 { continue }
            var session = DumpSession(options: DumpOptions(trace: true))
            for (k, bs) in steps.enumerated() {
                let source = try NNRByteSource(contentsOf: bs.bitstream)
                var file = NNRDump.structure(path: bs.bitstream.path, source: source, options: session.options)
                var traced: [String: (positions: [Int], values: [Int32])] = [:]
                session.decode(&file, source: source, carryState: k + 1 < steps.count) { line in
                    guard line.element == "level" else { return }
                    traced[line.tensor, default: ([], [])].positions.append(line.position)
                    traced[line.tensor, default: ([], [])].values.append(Int32(truncatingIfNeeded: line.value))
                }
                let ctx = "\(dir.lastPathComponent) \(bs.bitstream.lastPathComponent)"
                XCTAssertNil(file.failure, "\(ctx): \(String(describing: file.failure?.error))")
                let expected = try loadNPZ(bs.levels)
                for t in file.tensors where t.payloadTypeCode != 2 {
                    guard let got = traced[t.name] else {
                        XCTFail("\(ctx): no level lines for \(t.name)")
                        continue
                    }
                    guard let reference = expected[t.name] else {
                        XCTFail("\(ctx): \(t.name) is not in levels.npz")
                        continue
                    }
                    let values = reference.int32Values()
                    let order = Self.scanOrder(t)
                    XCTAssertEqual(got.positions, order, "\(ctx) \(t.name): positions not in scan order")
                    XCTAssertEqual(got.values, order.map { $0 < values.count ? values[$0] : Int32.min }, "\(ctx) \(t.name): levels")
                    tensors += 1
                    positions += got.positions.count
                }
            }
        }
        print("trace: \(tensors) tensors, \(positions) positions checked against levels.npz")
        XCTAssertGreaterThan(tensors, 50)
    }

    /// The text lines themselves: parsed back column by column they give the levels; --tensor
    /// keeps one tensor, --limit stops the trace.
    func testTextTraceLinesGiveTheLevels() throws {
        guard Vectors.sharedConformance != nil else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        for (name, tensor) in [("c_scan_order2_dq", "w"), ("t2d_sparse90_unstruct_rowskip", "w"), ("m_torch_smallcnn_blocks", "3.weight"),
                               ("t2d_codebook_dq", "w"), ("t_int16_signed_64x48", "ints")] {
            guard let dir = Vectors.sharedCase(name) else { continue }
            let source = try NNRByteSource(contentsOf: dir.appendingPathComponent("bitstream.nnc"))
            let report = NNRDump.dump([(name, source)], options: DumpOptions(trace: true, traceTensor: tensor))
            let file = try XCTUnwrap(report.files.first)
            XCTAssertNil(file.failure)
            let t = try XCTUnwrap(file.tensors.first { $0.name == tensor })
            var positions: [Int] = [], values: [Int32] = []
            for line in file.trace {
                let c = DumpParsing.traceColumns(DumpTextRenderer.traceLine(line))
                XCTAssertEqual(c.count, 10, DumpTextRenderer.traceLine(line))
                guard c.count == 10 else { continue }
                XCTAssertEqual(c[0], String(t.unitIndex))
                XCTAssertEqual(DumpParsing.decodeToken(c[1]), tensor)
                XCTAssertEqual(c[8], "=")
                if c[7] == "level" {
                    positions.append(Int(c[2]) ?? -1)
                    values.append(Int32(c[9]) ?? Int32.min)
                    let rc = c[3].split(separator: ",").compactMap { Int($0) }
                    let width = t.elementCount / (t.shape.first ?? 1)
                    XCTAssertEqual(rc, [(Int(c[2]) ?? 0) / width, (Int(c[2]) ?? 0) % width])
                }
            }
            let reference = try XCTUnwrap(try loadNPZ(dir.appendingPathComponent("levels.npz"))[tensor]).int32Values()
            let order = Self.scanOrder(t)
            XCTAssertEqual(positions, order, name)
            XCTAssertEqual(values, order.map { reference[$0] }, name)

            let limited = NNRDump.dump([(name, source)], options: DumpOptions(trace: true, traceLimit: 7))
            XCTAssertEqual(limited.files.first?.trace.count, 7)
            XCTAssertEqual(limited.files.first?.traceTruncated, true)
        }
    }

    /// `--stats`: level range and zeros as in levels.npz; QP and step size as case.json says; SNR
    /// against input.npz as NNCodec's round trip measured it. Without --stats the first tensor of
    /// each NDU already has its QP.
    func testStatsAndQPAgreeWithTheReference() throws {
        let cases = Vectors.allSharedCases()
        if cases.isEmpty { throw XCTSkip(Vectors.skipReasonNoShared()) }
        var qps = 0, snrs = 0, headerQPs = 0
        for dir in cases {
            let steps = CaseFiles.bitstreams(of: dir)
            let info = try CaseFiles.caseInfo(dir)
            let levelInfo = info["levels"] as? [String: [String: Any]] ?? [:]
            let roundtrip = info["roundtrip"] as? [String: [String: Any]] ?? [:]
            var inputs: [(path: String, source: NNRByteSource)] = []
            for bs in steps { inputs.append((bs.bitstream.path, try NNRByteSource(contentsOf: bs.bitstream))) }
            var options = DumpOptions(stats: true)
            if steps.count == 1 { options.reference = try loadNPZ(dir.appendingPathComponent("input.npz")) }
            let report = NNRDump.dump(inputs, options: options)
            for (file, bs) in zip(report.files, steps) {
                let ctx = "\(dir.lastPathComponent) \(bs.bitstream.lastPathComponent)"
                XCTAssertNil(file.failure, ctx)
                let levels = try loadNPZ(bs.levels)
                for t in file.tensors where t.payloadTypeCode != 2 {
                    let s = try XCTUnwrap(t.stats, "\(ctx) \(t.name)")
                    let ref = try XCTUnwrap(levels[t.name], "\(ctx) \(t.name)").int32Values().map(Int.init)
                    XCTAssertEqual(s.count, ref.count)
                    XCTAssertEqual(s.minLevel, ref.min() ?? 0, "\(ctx) \(t.name)")
                    XCTAssertEqual(s.maxLevel, ref.max() ?? 0, "\(ctx) \(t.name)")
                    XCTAssertEqual(s.zeros, ref.filter { $0 == 0 }.count, "\(ctx) \(t.name)")
                    XCTAssertEqual(s.histogram.map(\.count).reduce(0, +), ref.count)
                    XCTAssertNotNil(t.bits, "\(ctx) \(t.name)")
                    if steps.count == 1, let l = levelInfo[t.name], let qp = l["qp"] as? Int {
                        XCTAssertEqual(t.qp, qp, "\(ctx) \(t.name)")
                        if let step = l["stepsize"] as? Double { XCTAssertEqual(t.stepSize, Float(step), "\(ctx) \(t.name)") }
                        qps += 1
                    }
                    if steps.count == 1, let r = roundtrip[t.name], let snr = r["snr_db"] as? Double, let mine = s.snrDB {
                        if mine.isFinite {
                            XCTAssertEqual(mine, snr, accuracy: 1e-6 * Swift.max(1, abs(snr)), "\(ctx) \(t.name)")
                        } else {
                            XCTAssertTrue((r["exact"] as? Bool) == true || !snr.isFinite, "\(ctx) \(t.name)")
                        }
                        snrs += 1
                    }
                }
            }
            // Headers only: the first tensor of each NDU has its QP from the payload's first bins.
            if steps.count == 1, let first = inputs.first {
                let file = NNRDump.structure(path: first.path, source: first.source, options: DumpOptions())
                for t in file.tensors {
                    guard let qp = t.qp else { continue }
                    if let expected = levelInfo[t.name]?["qp"] as? Int {
                        XCTAssertEqual(qp, expected, "\(dir.lastPathComponent) \(t.name) (headers only)")
                        headerQPs += 1
                    }
                    XCTAssertFalse(file.decoded)
                    XCTAssertNil(t.stats)
                }
            }
        }
        print("stats: \(qps) QPs, \(snrs) SNRs, \(headerQPs) header-only QPs checked")
        XCTAssertGreaterThan(qps, 50)
        XCTAssertGreaterThan(snrs, 20)
        XCTAssertGreaterThan(headerQPs, 40)
    }
}
