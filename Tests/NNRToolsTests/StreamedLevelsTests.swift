import Foundation
import XCTest
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRCoding
import NNRCodec
import NNRModelIO
import NNRTools
import NNRTestSupport

/// Tensors streamed a chunk of rows at a time (`NDUPlan.decode(…, stream:)`): the levels handed
/// over equal the whole-tensor path's, every chunk stays within its bound, runs of skipped rows
/// arrive as zero runs, and check and `dump --stats` give the same output either way.
final class StreamedLevelsTests: XCTestCase {
    /// A tensor of `rows` × `cols` zeros with non-zero values in the rows `nonZero` selects.
    static func tensor(_ name: String, rows: Int, cols: Int, nonZero: (Int) -> Bool) -> Tensor {
        var v = [Float](repeating: 0, count: rows * cols)
        for r in 0..<rows where nonZero(r) {
            for c in 0..<cols { v[r * cols + c] = Float((r * 7 + c * 3) % 11 - 5) * 0.01 }
        }
        return Tensor(name: name, shape: [rows, cols], float32: v)
    }

    static func encode(_ tensors: [Tensor], scanOrder: Int, dq: Bool = true) throws -> NNRByteSource {
        var o = EncoderOptions()
        o.scanOrder = scanOrder
        o.dependentQuantization = dq
        return NNRByteSource(bytes: try NNREncoder(options: o).encode(tensors).bytes)
    }

    /// Every tensor of every NDU decoded whole and streamed in chunks of at most `chunk` elements.
    func assertStreamMatchesWhole(_ source: NNRByteSource, chunk: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        var parser = NNRUnitParser(source: source, limits: .default)
        var sets = NNRParameterSets()
        var tensors = 0, zeroRuns = 0
        for r in NNRUnitScanner(source: source, limits: .default) {
            let u = try parser.parse(r.get())
            sets.observe(u)
            guard case let .compressedData(h) = u.content else { continue }
            let plan = try NDUPlan(unit: u, header: h, parameterSets: sets, limits: .default)
            let whole = try plan.decode(source, state: IncrementalDecoderState(), options: NDUDecodeOptions())
            var options = NDUDecodeOptions()
            options.streamChunkElements = chunk
            var got: [Int: [Int32]] = [:]
            var next: [Int: Int] = [:]
            let streamed = try plan.decode(source, state: IncrementalDecoderState(), options: options, stream: { i, t in
                let width = t.dims.dropFirst().reduce(1, *)
                got[i] = []
                next[i] = 0
                return { _, rows, levels in
                    XCTAssertEqual(rows.lowerBound, next[i], "rows in order", file: file, line: line)
                    next[i] = rows.upperBound
                    if let levels {
                        XCTAssertEqual(levels.count, rows.count * width, file: file, line: line)
                        XCTAssertLessThanOrEqual(levels.count, Swift.max(chunk, width * 32), "chunk bound", file: file, line: line)
                        got[i]! += levels
                    } else {
                        zeroRuns += 1
                        got[i]! += [Int32](repeating: 0, count: rows.count * width)
                    }
                }
            })
            XCTAssertEqual(streamed.tensors.count, whole.tensors.count, file: file, line: line)
            XCTAssertEqual(streamed.info.observedEntryPoints, whole.info.observedEntryPoints, file: file, line: line)
            for (i, t) in whole.tensors.enumerated() {
                XCTAssertEqual(got[i], t.levels, "\(t.name)", file: file, line: line)
                XCTAssertTrue(streamed.tensors[i].levels.isEmpty && streamed.tensors[i].tensor.storage.isEmpty, file: file, line: line)
                XCTAssertEqual(streamed.tensors[i].qpOffset, t.qpOffset, file: file, line: line)
                XCTAssertEqual(streamed.tensors[i].tensor.shape, t.tensor.shape, file: file, line: line)
                tensors += 1
            }
        }
        XCTAssertGreaterThan(tensors, 0, file: file, line: line)
    }

    func testStreamedLevelsEqualWholeTensorLevels() throws {
        // mixed rows, every scan order, with and without DQ; chunks smaller than a block row too
        for scan in 0...4 {
            for dq in [true, false] {
                let t = Self.tensor("w", rows: 200, cols: 96, nonZero: { $0 % 5 == 1 || ($0 >= 64 && $0 < 70) })
                let z = Self.tensor("z", rows: 64, cols: 33, nonZero: { _ in false })
                let source = try Self.encode([t, z, Tensor(name: "b", shape: [96], float32: (0..<96).map { Float($0) * 0.001 })],
                                             scanOrder: scan, dq: dq)
                for chunk in [1, 500, 4096, 1 << 18] { try assertStreamMatchesWhole(source, chunk: chunk) }
            }
        }
    }

    /// 2048 × 512 zeros, every row skipped: the stream is zero runs only, one per chunk.
    func testAllSkippedRowsArriveAsZeroRuns() throws {
        let source = try Self.encode([Tensor(name: "zeros", shape: [2048, 512], float32: [Float](repeating: 0, count: 2048 * 512))], scanOrder: 0)
        var parser = NNRUnitParser(source: source, limits: .default)
        var sets = NNRParameterSets()
        var runs = 0, rows = 0, decodedRows = 0
        for r in NNRUnitScanner(source: source, limits: .default) {
            let u = try parser.parse(r.get())
            sets.observe(u)
            guard case let .compressedData(h) = u.content else { continue }
            let plan = try NDUPlan(unit: u, header: h, parameterSets: sets, limits: .default)
            let d = try plan.decode(source, state: IncrementalDecoderState(), options: NDUDecodeOptions(), stream: { _, _ in
                { _, r, levels in
                    if levels == nil { runs += 1; rows += r.count } else { decodedRows += r.count }
                }
            })
            XCTAssertTrue(d.tensors[0].tensor.storage.isEmpty)
        }
        XCTAssertEqual(rows, 2048)
        XCTAssertEqual(decodedRows, 0)
        XCTAssertEqual(runs, 2048 * 512 / (1 << 18), "one zero run per chunk of 2^18 elements")
    }

    /// check: the streamed digest (zero runs hashed without being materialised) equals the
    /// whole-tensor path's, on the zero bomb shape, mixed tensors and every conformance vector.
    func testCheckReportIsTheSameStreamedOrWhole() throws {
        let mixed = Self.tensor("w", rows: 300, cols: 64, nonZero: { $0 % 7 == 3 })
        var sources = [try Self.encode([Tensor(name: "zeros", shape: [1024, 1024], float32: [Float](repeating: 0, count: 1024 * 1024))], scanOrder: 0),
                       try Self.encode([mixed], scanOrder: 0), try Self.encode([mixed], scanOrder: 2)]
        var paths = ["zeros", "mixed0", "mixed2"]
        // damaged payloads: the same violations (overread, sizes, entry points) either way
        let good = Array(sources[2].bytes(0..<sources[2].count))
        for (k, at) in [good.count - 1, good.count - 9, good.count - 40, good.count / 2 + 40].enumerated() {
            var bad = good
            bad[at] ^= 0x5A
            sources.append(NNRByteSource(bytes: bad))
            paths.append("mutant\(k)")
        }
        sources.append(NNRByteSource(bytes: Array(good.dropLast(20))))
        paths.append("truncated")
        for dir in Vectors.allSharedCases() {
            // first bitstream of each case (later steps need the earlier ones' state)
            if let f = CaseFiles.bitstreams(of: dir).first?.bitstream, let s = try? NNRByteSource(contentsOf: f), s.count <= Self.vectorBytes {
                sources.append(s)
                paths.append(f.path)
            }
        }
        if Vectors.sharedConformance == nil { print(Vectors.skipReasonNoShared()) }
        var streamedTensors = 0, damaged = 0
        for (source, path) in zip(sources, paths) {
            var whole = CheckOptions(carryState: false)
            whole.streamMinimumElements = Int.max
            var streamed = whole
            streamed.streamMinimumElements = 0
            var a = ConformanceChecker(options: whole), b = ConformanceChecker(options: streamed)
            let ra = a.check(source, path: path), rb = b.check(source, path: path)
            XCTAssertEqual(CheckRendering.json(ra), CheckRendering.json(rb), path)
            streamedTensors += rb.tensors.count
            if path.hasPrefix("mutant") || path == "truncated" { damaged += rb.violations.isEmpty ? 0 : 1 }
        }
        XCTAssertGreaterThan(streamedTensors, 2)
        XCTAssertGreaterThanOrEqual(damaged, 3, "the damaged payloads are reported")
        // the zero tensor's digest is the SHA-256 of 2^22 zero bytes
        var c = ConformanceChecker(options: CheckOptions(carryState: false))
        XCTAssertEqual(c.check(sources[0], path: "zeros").tensors.first?.sha256,
                       Self.hex(SHA256.zeros(1024 * 1024 * 4)))
    }

    /// dump --stats: the streamed level statistics equal the whole-tensor ones.
    func testDumpStatsAreTheSameStreamedOrWhole() throws {
        let mixed = Self.tensor("w", rows: 300, cols: 64, nonZero: { $0 % 7 == 3 })
        var inputs = [("zeros", try Self.encode([Tensor(name: "zeros", shape: [512, 256], float32: [Float](repeating: 0, count: 512 * 256))], scanOrder: 0)),
                      ("mixed", try Self.encode([mixed], scanOrder: 1))]
        for dir in Vectors.allSharedCases() {
            if let f = CaseFiles.bitstreams(of: dir).first?.bitstream, let s = try? NNRByteSource(contentsOf: f), s.count <= Self.vectorBytes {
                inputs.append((f.path, s))
            }
        }
        for (path, source) in inputs {
            var whole = DumpOptions(stats: true)
            whole.streamMinimumElements = Int.max
            var streamed = whole
            streamed.streamMinimumElements = 0
            let a = NNRDump.dump([(path, source)], options: whole)
            let b = NNRDump.dump([(path, source)], options: streamed)
            XCTAssertNotNil(a.files[0].tensors.first?.stats, path)
            XCTAssertEqual(DumpJSONRenderer.render(a), DumpJSONRenderer.render(b), path)
            XCTAssertEqual(DumpTextRenderer.render(a), DumpTextRenderer.render(b), path)
        }
    }

    func testSHA256OfZeroRunsEqualsHashOfZeroBytes() {
        for n in [0, 1, 55, 64, 100, 4096 + 7] {
            var a = SHA256()
            a.update([1, 2, 3])
            a.updateZeros(count: n)
            var b = SHA256()
            b.update([1, 2, 3] + [UInt8](repeating: 0, count: n))
            XCTAssertEqual(a.finalize(), b.finalize(), "\(n)")
        }
        XCTAssertEqual(Self.hex(SHA256.zeros(0)), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        var s = SHA256()
        s.update(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
        XCTAssertEqual(Self.hex(s.finalize()), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    /// Conformance vectors up to this size take part (the debug build decodes each twice).
    static let vectorBytes = 20_000

    static func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }
}

extension SHA256 {
    /// The digest of `n` zero bytes, fed as bytes (not as a zero run).
    static func zeros(_ n: Int) -> [UInt8] {
        var s = SHA256()
        let block = [UInt8](repeating: 0, count: 1 << 16)
        var left = n
        while left > 0 {
            let k = Swift.min(left, block.count)
            s.update(Array(block[0..<k]))
            left -= k
        }
        return s.finalize()
    }
}
