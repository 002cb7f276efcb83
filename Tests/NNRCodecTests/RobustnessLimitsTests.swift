import Foundation
import XCTest
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRCoding
import NNRCodec
import NNRTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Resource limits (Spec/limits.md): the default `NNRLimits` let a real model through and stop a
/// bomb of each kind with the exact `NNRError`, quickly and before anything large is allocated.
final class RobustnessLimitsTests: XCTestCase {

    // MARK: - Building small hostile files

    static func unit(_ content: NNRUnitContent, profile: Int = 1, payload: [UInt8] = []) throws -> [UInt8] {
        try NNRUnitSerializer.serialize(common: NNRUnitCommonHeader(type: 0), content: content,
                                        context: SyntaxContext(generalProfileIdc: profile), payload: payload)
    }

    /// NNR_STR + NNR_MPS (profile `profile`, uniform quantization with QP).
    static func prologue(profile: Int = 1) throws -> [UInt8] {
        try unit(.start(NNRStartUnitHeader(generalProfileIdc: profile)), profile: profile)
            + unit(.modelParameterSet(NNRModelParameterSet()), profile: profile)
    }

    /// An NNR_PT_FLOAT NDU claiming `dims`, with a two-byte payload.
    static func ndu(_ dims: [Int], name: String = "w", profile: Int = 1) throws -> [UInt8] {
        var h = NDUHeader()
        h.topologyElemId = name
        h.tensorDimensions = dims
        return try unit(.compressedData(h), profile: profile, payload: [0x00, 0x00])
    }

    static func expectError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> NNRError? {
        do {
            try body()
            XCTFail("no error", file: file, line: line)
        } catch let e as NNRError {
            return e
        } catch {
            XCTFail("untyped error \(error)", file: file, line: line)
        }
        return nil
    }

    // MARK: - Peak memory

    /// Peak resident set size of this process in KiB (VmHWM), nil where /proc is absent.
    static func peakRSSKiB() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
        return nil
    }

    /// Resets VmHWM to the current RSS (Linux: "5" into /proc/self/clear_refs); false if not possible.
    static func resetPeakRSS() -> Bool {
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return write(fd, "5", 1) == 1
    }

    /// Runs `body` and returns how much the peak RSS grew (KiB), or nil if it cannot be measured.
    static func peakGrowthKiB(_ body: () -> Void) -> Int? {
        guard resetPeakRSS(), let before = peakRSSKiB() else {
            body()
            return nil
        }
        body()
        guard let after = peakRSSKiB() else { return nil }
        return after - before
    }

    /// A refusal must cost less than this much memory.
    static let smallKiB = 32 * 1024

    func assertSmallAndQuick(_ what: String, seconds: Double = 2, _ body: () -> Void) {
        let t0 = Date()
        let growth = Self.peakGrowthKiB(body)
        let elapsed = Date().timeIntervalSince(t0)
        XCTAssertLessThan(elapsed, seconds, "\(what) took \(elapsed) s")
        if let g = growth {
            XCTAssertLessThan(g, Self.smallKiB, "\(what): peak RSS grew by \(g) KiB")
            print("peak RSS growth while \(what): \(g) KiB in \(String(format: "%.3f", elapsed)) s")
        }
    }

    /// The measurement itself: touching 96 MiB shows up as peak growth (else the checks above
    /// would pass vacuously).
    func testPeakMemoryMeasurementSeesAnAllocation() throws {
        var sum = 0
        let growth = Self.peakGrowthKiB {
            let big = [UInt8](repeating: 1, count: 96 << 20)
            sum = big.withUnsafeBufferPointer { b in stride(from: 0, to: b.count, by: 4096).reduce(0) { $0 &+ Int(b[$1]) } }
        }
        XCTAssertEqual(sum, (96 << 20) / 4096)
        guard let g = growth else { throw XCTSkip("peak RSS cannot be reset here (/proc/self/clear_refs)") }
        XCTAssertGreaterThan(g, 90 * 1024, "a 96 MiB allocation grew the peak by only \(g) KiB")
    }

    // MARK: - A tiny file claiming a huge tensor

    /// About twenty bytes claim a 2^40-element tensor: refused by the header's element limit with a
    /// clear error, in well under a second, without a large allocation.
    func testTinyFileClaiming2Pow40ElementsIsRefused() throws {
        let file = try Self.ndu([1 << 20, 1 << 20], profile: 0)
        XCTAssertLessThan(file.count, 24, "the bomb is \(file.count) bytes")
        var error: NNRError?
        assertSmallAndQuick("decoding a 2^40-element claim") {
            error = Self.expectError { var d = NNRDecoder(); _ = try d.decode(NNRByteSource(bytes: file)) }
        }
        let e = try XCTUnwrap(error)
        XCTAssertEqual(e.reason, .limitExceeded("tensor_dimensions [1048576, 1048576] multiply to more than 2147483648 elements"))
        XCTAssertEqual(e.element, "tensor_dimensions")
        XCTAssertEqual(e.unitIndex, 0)
        XCTAssertTrue(e.description.contains("limit exceeded"), e.description)
    }

    /// With the element limit raised past 2^40, the total-bytes limit still refuses the claim
    /// before the decoder allocates.
    func testRaisedElementLimitStillRefusedByTotalBytes() throws {
        let file = try Self.prologue() + Self.ndu([1 << 20, 1 << 20])
        var limits = NNRLimits.default
        limits.maxTensorElements = 1 << 41
        var error: NNRError?
        assertSmallAndQuick("decoding with maxTensorElements 2^41") {
            var decoder = NNRDecoder(options: DecoderOptions(limits: limits))
            error = Self.expectError { _ = try decoder.decode(NNRByteSource(bytes: file)) }
        }
        let e = try XCTUnwrap(error)
        XCTAssertEqual(e.reason, .limitExceeded("decoded tensors exceed 68719476736 bytes"))
        XCTAssertEqual(e.element, "tensor_dimensions")
        XCTAssertEqual(e.unitIndex, 2)
    }

    /// The payload decoder checks the element count against its limit before allocating the levels
    /// (2^40 elements, and a product that overflows Int).
    func testPayloadDecoderRefusesBeforeAllocating() throws {
        var limits = NNRLimits.default
        limits.maxTensorElements = 1 << 20
        for dims in [[1 << 20, 1 << 20], [Int.max / 2, 4], [1 << 20, 2]] {
            var error: NNRError?
            assertSmallAndQuick("PayloadDecoder on \(dims)") {
                error = Self.expectError {
                    var d = try PayloadDecoder(payload: [0x00, 0x00, 0x00, 0x00], fileOffset: 100, limits: limits)
                    _ = try d.decodeTensor(TensorPayloadParameters(dims: dims))
                }
            }
            let e = try XCTUnwrap(error)
            XCTAssertEqual(e.reason, .limitExceeded("tensor of \(dims) elements exceeds 1048576"), "\(dims)")
            XCTAssertEqual(e.element, "tensor_dimensions")
        }
    }

    /// `nnr decode` on the bomb, as a separate process: exits with an error message and a small
    /// maximum RSS (getrusage of that child alone, through wait4).
    func testCommandLineDecoderRefusesBombWithSmallRSS() throws {
        guard let nnr = RobustnessProcess.nnrBinary() else {
            throw XCTSkip("the nnr binary was not found next to the test bundle nor at .build/debug/nnr (run `swift build` first)")
        }
        let dir = try RobustnessProcess.temporaryDirectory("bomb")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("bomb.nnc")
        try Data(try Self.prologue() + Self.ndu([1 << 20, 1 << 20])).write(to: input)
        let output = dir.appendingPathComponent("out.npz")
        let run = try RobustnessProcess.run(nnr, ["decode", input.path, "-o", output.path, "-q"], stderr: dir.appendingPathComponent("err.txt"))
        let message = (try? String(contentsOf: dir.appendingPathComponent("err.txt"), encoding: .utf8)) ?? ""
        XCTAssertEqual(run.signal, 0, "nnr decode died of signal \(run.signal)")
        XCTAssertNotEqual(run.exitCode, 0)
        XCTAssertTrue(message.contains("limit exceeded"), message)
        XCTAssertTrue(message.contains("tensor_dimensions"), message)
        XCTAssertLessThan(run.maxRSSKiB, 256 * 1024, "nnr decode peaked at \(run.maxRSSKiB) KiB")
        XCTAssertLessThan(run.seconds, 30)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.path), "no output for a refused input")
    }

    // MARK: - Defaults: a real model passes

    /// The 1.77M-parameter MiniLM layer decodes with the default limits.
    func testRealModelDecodesWithDefaultLimits() throws {
        guard let dir = Vectors.sharedCase("m_minilm_layer0_qp-38") else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        var decoder = NNRDecoder(options: DecoderOptions(limits: .default, keepLevels: false))
        let r = try decoder.decode(url: dir.appendingPathComponent("bitstream.nnc"))
        let elements = r.tensors.reduce(0) { $0 + $1.tensor.elementCount }
        XCTAssertGreaterThan(elements, 1_700_000)
        XCTAssertLessThan(elements, 1_900_000)
    }

    // MARK: - One bomb per limit, default limits

    /// maxUnits (2^20): 2^20 + 1 four-byte NNR_STR units; the scanner passes the first 2^20 and
    /// refuses the next.
    func testUnitCountBomb() throws {
        let str = try Self.unit(.start(NNRStartUnitHeader(generalProfileIdc: 1)))
        XCTAssertEqual(str.count, 4)
        let n = NNRLimits.default.maxUnits
        var bytes = [UInt8]()
        bytes.reserveCapacity((n + 1) * str.count)
        for _ in 0...n { bytes += str }
        let scanned = NNRUnitScanner.scan(NNRByteSource(bytes: bytes))
        XCTAssertEqual(scanned.units.count, n)
        let e = try XCTUnwrap(scanned.error)
        XCTAssertEqual(e.reason, .limitExceeded("more than 1048576 units"))
        XCTAssertEqual(e.element, "nnr_unit")
        XCTAssertEqual(e.unitIndex, n)
        XCTAssertEqual(e.position.byteOffset, n * str.count)
        // parseAll and the decoder stop at the scanner's error (a lowered limit keeps this quick)
        var limits = NNRLimits.default
        limits.maxUnits = 1000
        let small = NNRByteSource(bytes: Array(bytes.prefix(1001 * str.count)))
        let parsed = NNRUnitParser.parseAll(small, limits: limits)
        XCTAssertEqual(parsed.units.count, 1000)
        XCTAssertEqual(parsed.error?.reason, .limitExceeded("more than 1000 units"))
        var decoder = NNRDecoder(options: DecoderOptions(limits: limits))
        let de = Self.expectError { _ = try decoder.decode(small) }
        XCTAssertEqual(de?.reason, .limitExceeded("more than 1000 units"))
    }

    /// An NNR_MPS (profile 1) carrying base_model_id `name`.
    static func mpsWithBaseModelId(_ name: String) throws -> [UInt8] {
        var m = NNRModelParameterSet()
        m.baseModelIdPresentFlag = true
        m.baseModelId = name
        return try unit(.start(NNRStartUnitHeader(generalProfileIdc: 1))) + unit(.modelParameterSet(m))
    }

    /// maxStringLength (64 KiB): a base_model_id of 65,537 bytes; 65,536 pass.
    func testStringLengthBomb() throws {
        let limit = NNRLimits.default.maxStringLength
        let ok = try Self.mpsWithBaseModelId(String(repeating: "a", count: limit))
        let parsed = NNRUnitParser.parseAll(NNRByteSource(bytes: ok))
        XCTAssertNil(parsed.error)
        guard case let .modelParameterSet(m)? = parsed.units.last?.content else { return XCTFail("no MPS parsed") }
        XCTAssertEqual(m.baseModelId.utf8.count, limit)
        let bomb = try Self.mpsWithBaseModelId(String(repeating: "a", count: limit + 1))
        let e = try XCTUnwrap(Self.expectError { var d = NNRDecoder(); _ = try d.decode(NNRByteSource(bytes: bomb)) })
        XCTAssertEqual(e.reason, .limitExceeded("string longer than 65536 bytes"))
        XCTAssertEqual(e.element, "base_model_id")
        XCTAssertEqual(e.unitIndex, 1)
    }

    /// maxAggregateDepth (4): NNR_AGG units nested `levels` deep, each carrying the next and an NNR_STR.
    static func nestedAggregates(_ levels: Int) throws -> [UInt8] {
        let str = try unit(.start(NNRStartUnitHeader(generalProfileIdc: 1)))
        var inner = str + str
        for _ in 0..<levels {
            inner = try unit(.aggregate(NNRAggregateUnitHeader()), payload: inner) + str
        }
        return Array(inner.dropLast(str.count))
    }

    func testAggregateNestingBomb() throws {
        let depth = NNRLimits.default.maxAggregateDepth
        let ok = try Self.nestedAggregates(depth)
        let parsed = NNRUnitParser.parseAll(NNRByteSource(bytes: ok))
        XCTAssertNil(parsed.error, "\(depth) nested NNR_AGG units")
        XCTAssertEqual(parsed.units.count, 1)
        let bomb = try Self.nestedAggregates(depth + 1)
        let bombParsed = NNRUnitParser.parseAll(NNRByteSource(bytes: bomb))
        let e = try XCTUnwrap(bombParsed.error)
        XCTAssertEqual(e.reason, .limitExceeded("NNR_AGG nested deeper than 4"))
        XCTAssertEqual(e.element, "nnr_aggregate_unit_payload")
        // A thousand levels (every byte of it well-formed) is refused the same way, without deep recursion.
        let deep = try Self.nestedAggregates(1000)
        let deepParsed = NNRUnitParser.parseAll(NNRByteSource(bytes: deep))
        XCTAssertEqual(deepParsed.error?.reason, .limitExceeded("NNR_AGG nested deeper than 4"))
    }

    /// maxTensorElements (2^31): 2^31 elements pass the header, 2^32 do not.
    func testElementsPerTensorBomb() throws {
        let ok = try Self.prologue() + Self.ndu([1 << 15, 1 << 16])
        XCTAssertNil(NNRUnitParser.parseAll(NNRByteSource(bytes: ok)).error)
        let bomb = try Self.prologue() + Self.ndu([1 << 16, 1 << 16])
        var error: NNRError?
        assertSmallAndQuick("decoding a 2^32-element claim") {
            error = Self.expectError { var d = NNRDecoder(); _ = try d.decode(NNRByteSource(bytes: bomb)) }
        }
        let e = try XCTUnwrap(error)
        XCTAssertEqual(e.reason, .limitExceeded("tensor_dimensions [65536, 65536] multiply to more than 2147483648 elements"))
        XCTAssertEqual(e.element, "tensor_dimensions")
        XCTAssertEqual(e.unitIndex, 2)
    }

    /// maxTotalDecodedBytes (64 GiB at 8 bytes per element): four 2^31-element tensors fit
    /// exactly, the fifth is refused before any tensor is decoded.
    func testTotalDecodedBytesBomb() throws {
        var file = try Self.prologue()
        for i in 0..<5 { file += try Self.ndu([1 << 15, 1 << 16], name: "t\(i)") }
        var error: NNRError?
        assertSmallAndQuick("decoding five 2^31-element claims") {
            error = Self.expectError { var d = NNRDecoder(); _ = try d.decode(NNRByteSource(bytes: file)) }
        }
        let e = try XCTUnwrap(error)
        XCTAssertEqual(e.reason, .limitExceeded("decoded tensors exceed 68719476736 bytes"))
        XCTAssertEqual(e.element, "tensor_dimensions")
        XCTAssertEqual(e.unitIndex, 6)
    }

    /// maxDimensions (16): count_tensor_dimensions 17 is refused before the list is allocated.
    func testDimensionCountBomb() throws {
        // the writer checks the same limit: write with a raised one
        var h = NDUHeader()
        h.topologyElemId = "w"
        h.tensorDimensions = Array(repeating: 1, count: 17)
        var raised = NNRLimits.default
        raised.maxDimensions = 64
        var w = BitWriter(limits: raised)
        try h.visit(&w, context: SyntaxContext(generalProfileIdc: 1))
        let ndu = try NNRUnitWriter.unit(common: NNRUnitCommonHeader(type: NNRUnitType.compressedData.rawValue),
                                         body: w.bytes + [0x00, 0x00])
        let bomb = try Self.prologue() + ndu
        let e = try XCTUnwrap(Self.expectError { var d = NNRDecoder(); _ = try d.decode(NNRByteSource(bytes: bomb)) })
        XCTAssertEqual(e.reason, .limitExceeded("count_tensor_dimensions = 17 exceeds the limit 16"))
        XCTAssertEqual(e.element, "count_tensor_dimensions")
        XCTAssertEqual(e.unitIndex, 2)
    }
}
