import Foundation
import XCTest
import NNRBitIO
import NNRCoding
import NNRTestSupport

/// Every input the fuzzers ever failed on (Fuzz/Regressions/<target>/) goes through the same entry
/// functions the fuzz targets run (FuzzEntries, shared with the fuzz package through the symlink
/// RobustnessFuzzHarnessTests.swift) and must give a typed error or a well-formed result, quickly.
/// The seed corpora are replayed too: seeds cut from the reference vectors must still parse and
/// decode.
final class FuzzRegressionTests: XCTestCase {
    static let fuzzRoot = Vectors.repoRoot.appendingPathComponent("Fuzz", isDirectory: true)

    /// Regular files under `dir` (recursively), sorted; no dot files or notes.
    static func inputs(under dir: URL) -> [URL] {
        guard let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        var out: [URL] = []
        for case let url as URL in e {
            let name = url.lastPathComponent
            guard !name.hasPrefix("."), !name.hasSuffix(".md"),
                  (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            out.append(url)
        }
        return out.sorted { $0.path < $1.path }
    }

    /// Runs `target`'s entry on `url`; fails the test on an untyped error, a broken invariant or a
    /// slow run.
    @discardableResult
    func replay(_ target: String, _ url: URL, seconds limit: Double = 20) throws -> FuzzOutcome? {
        let data = try [UInt8](Data(contentsOf: url))
        let t0 = Date()
        guard let outcome = FuzzEntries.run(target, data) else {
            XCTFail("no entry function for target \(target)")
            return nil
        }
        let elapsed = Date().timeIntervalSince(t0)
        let name = url.path.replacingOccurrences(of: Self.fuzzRoot.path + "/", with: "")
        XCTAssertFalse(outcome.isFailure, "\(target) on \(name): \(outcome)")
        XCTAssertLessThan(elapsed, limit, "\(target) on \(name) took \(elapsed) s")
        return outcome
    }

    /// Every saved crasher, whatever target found it, through the parser, payload decoder and file
    /// decoder entries (a crasher of one is a hostile input for the others too).
    func testEverySavedCrasherThroughEveryEntry() throws {
        let files = Self.inputs(under: Self.fuzzRoot.appendingPathComponent("Regressions", isDirectory: true))
        if files.isEmpty { throw XCTSkip("Fuzz/Regressions holds no inputs yet") }
        for url in files {
            for target in ["parser", "payload", "decode", "model"] {
                try replay(target, url)
            }
        }
    }

    /// The model seeds (npy, npz, safetensors files, crafted ones among them) give tensors or a
    /// typed ModelIOError; the well-formed ones (made by numpy) read, the lying ones do not (reading
    /// a member named "../../x.npy" is harmless: only writing such a name is refused).
    func testModelSeeds() throws {
        let files = Self.inputs(under: Self.fuzzRoot.appendingPathComponent("Corpus/model", isDirectory: true))
        XCTAssertFalse(files.isEmpty, "Fuzz/Corpus/model is empty")
        for url in files {
            let outcome = try replay("model", url)
            let crafted = ["bomb_", "sizefield_", "hostile_", "name_", "offsets_"].contains { url.lastPathComponent.hasPrefix($0) }
            if case .modelError(let e)? = outcome, !crafted { XCTFail("seed \(url.lastPathComponent) does not read: \(e)") }
            if case .ok? = outcome, crafted, !["bomb_true_shape.npz", "name_dotdot.npz"].contains(url.lastPathComponent) {
                XCTFail("crafted seed \(url.lastPathComponent) reads")
            }
        }
    }

    /// The parser seeds (reference bitstreams, NDU payloads cut) parse completely.
    func testParserSeedsParse() throws {
        let files = Self.inputs(under: Self.fuzzRoot.appendingPathComponent("Corpus/parser", isDirectory: true))
        XCTAssertFalse(files.isEmpty, "Fuzz/Corpus/parser is empty")
        for url in files {
            let outcome = try replay("parser", url)
            if case .typedError(let e)? = outcome { XCTFail("seed \(url.lastPathComponent) does not parse: \(e)") }
        }
    }

    /// The decode seeds (whole reference bitstreams and incremental sequences) decode completely.
    func testDecodeSeedsDecode() throws {
        let files = Self.inputs(under: Self.fuzzRoot.appendingPathComponent("Corpus/decode", isDirectory: true))
        XCTAssertFalse(files.isEmpty, "Fuzz/Corpus/decode is empty")
        for url in files {
            let outcome = try replay("decode", url)
            if case .typedError(let e)? = outcome { XCTFail("seed \(url.lastPathComponent) does not decode: \(e)") }
        }
    }

    /// The payload seeds decode without untyped errors, and their parameter blocks read back as the
    /// reference tensors' parameters (the first positions decode; a seed's payload may be cut).
    func testPayloadSeeds() throws {
        let files = Self.inputs(under: Self.fuzzRoot.appendingPathComponent("Corpus/payload", isDirectory: true))
        XCTAssertFalse(files.isEmpty, "Fuzz/Corpus/payload is empty")
        for url in files {
            try replay("payload", url)
            let pc = FuzzEntries.payloadCase(try [UInt8](Data(contentsOf: url)))
            XCTAssertEqual(pc.tensors.count, 1, url.lastPathComponent)
            XCTAssertFalse(pc.payload.isEmpty, url.lastPathComponent)
        }
    }

    /// `payloadHeader` and `payloadCase` agree (the seed builder relies on the same layout).
    func testPayloadParameterBlockRoundTrip() throws {
        var p = TensorPayloadParameters(dims: [40, 24], scanOrder: 1, dqFlag: true, cabacUnaryLengthMinus1: 3,
                                        codesQPOffset: true, qpDensity: 2,
                                        codebook: NNRCodebook(entries: Array(0..<49), cbZeroOffset: 24))
        // 40 rows in blocks of 8: 5 block rows, 4 entry points
        p.entryPoints = [EntryPoint(bitOffsetDelta: 70_000, value: 200, dqState: 5),
                         EntryPoint(bitOffsetDelta: 3, value: 1, dqState: 0),
                         EntryPoint(bitOffsetDelta: 0, value: 255, dqState: 7),
                         EntryPoint(bitOffsetDelta: 0xFF_FFFF, value: 0, dqState: 1)]
        let header = try XCTUnwrap(FuzzEntries.payloadHeader(p))
        let pc = FuzzEntries.payloadCase(header + [0x12, 0x34, 0x56])
        XCTAssertEqual(pc.tensors, [p])
        XCTAssertEqual(pc.payload, [0x12, 0x34, 0x56])
        XCTAssertEqual(pc.headerCount, header.count)
        XCTAssertFalse(pc.concurrent)
        XCTAssertFalse(pc.traced)
    }

    /// Inputs split into bitstreams at each top-level NNR_STR, as the decode and check targets do.
    func testBitstreamSplitting() {
        let str: [UInt8] = [0x00, 0x04, 0x02, 0x01]  // NNR_STR, general_profile_idc 1
        XCTAssertEqual(FuzzEntries.bitstreams(str + str + [0xFF]), [str, str + [0xFF]])
        XCTAssertEqual(FuzzEntries.bitstreams([]), [[]])
    }
}
