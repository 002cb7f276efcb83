// The entry functions of the fuzz targets, shared with the regression tests.
//
// This file is compiled twice: into the fuzz package (Fuzz/Package.swift, target FuzzEntries,
// built with -sanitize=fuzzer,address) and, through the symlink
// Tests/NNRCodecTests/RobustnessFuzzHarnessTests.swift, into the main package's NNRCodecTests, so
// `swift test` feeds every saved crasher (Fuzz/Regressions/<target>/) to exactly the code the
// fuzzer ran. Keep it free of XCTest, of NNRTools (NNRCodecTests does not depend on it) and of
// anything that traps: every outcome is returned as a `FuzzOutcome`.

import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRCoding
import NNRModelIO
import NNRCodec

/// What one input did. Anything but `.invariantViolated` and `.untypedError` is a pass: the fuzz
/// targets abort on those two (so libFuzzer saves the input), the tests fail on them.
public enum FuzzOutcome: Equatable, CustomStringConvertible {
    /// Parsed / decoded; `summary` says how far.
    case ok(String)
    /// Refused with the toolkit's typed error.
    case typedError(NNRError)
    /// A model file refused with the model reader's typed error.
    case modelError(ModelIOError)
    /// Something other than `NNRError` was thrown.
    case untypedError(String)
    /// A property every input must have was broken (for example: concurrent and sequential decoding
    /// disagree).
    case invariantViolated(String)

    public var isFailure: Bool {
        switch self {
        case .ok, .typedError, .modelError: return false
        case .untypedError, .invariantViolated: return true
        }
    }

    public var description: String {
        switch self {
        case let .ok(s): return "ok: \(s)"
        case let .typedError(e): return "NNRError: \(e)"
        case let .modelError(e): return "ModelIOError: \(e)"
        case let .untypedError(s): return "UNTYPED ERROR: \(s)"
        case let .invariantViolated(s): return "INVARIANT VIOLATED: \(s)"
        }
    }
}

/// The fuzz targets' entry functions. Limits are tight so the fuzzer explores logic, not allocation.
public enum FuzzEntries {
    /// Limits of every target: at most 2^20 elements per tensor (4 MiB of levels), 64 MiB decoded.
    public static let limits = NNRLimits(maxTensorElements: 1 << 20, maxTotalDecodedBytes: 64 << 20, maxUnits: 4096,
                                         maxStringLength: 4096, maxAggregateDepth: 4, maxDimensions: 8,
                                         maxListEntries: 1 << 14)

    /// Target names (the folders of Fuzz/Corpus and Fuzz/Regressions).
    public static let targetNames = ["parser", "payload", "decode", "check", "model"]

    // MARK: - parser

    /// Unit container and header parser: `NNRUnitParser.parseAll` with tracing on, reserved unit
    /// types refused and accepted; then every parsed unit (and every unit inside an NNR_AGG) is
    /// serialized again with `NNRUnitSerializer`, and the rebuilt unit is scanned again.
    public static func parser(_ data: [UInt8]) -> FuzzOutcome {
        let source = NNRByteSource(bytes: data)
        var lastError: NNRError?
        var parsedUnits = 0
        for allowReserved in [false, true] {
            let (units, error) = NNRUnitParser.parseAll(source, limits: limits, tracing: true,
                                                        allowReservedTypes: allowReserved)
            if let error { lastError = error }
            if case .io = error?.reason { return .untypedError("parseAll wrapped a non-NNRError: \(String(describing: error))") }
            parsedUnits = Swift.max(parsedUnits, units.count)
            var stack = units
            while let unit = stack.popLast() {
                stack.append(contentsOf: unit.children)
                let rebuilt: [UInt8]
                do {
                    rebuilt = try NNRUnitSerializer.serialize(unit, source: source)
                } catch is NNRError {
                    continue
                } catch {
                    return .untypedError("NNRUnitSerializer.serialize: \(error)")
                }
                // The rebuilt unit must scan as one unit of the same type (its header fields are the
                // parsed ones; the size field is recomputed).
                let again = NNRByteSource(bytes: rebuilt)
                let scan = NNRUnitScanner.scan(again, limits: limits)
                if let e = scan.error {
                    return .invariantViolated("rebuilt \(unit.typeName) unit \(unit.location.index) does not scan: \(e)")
                }
                guard scan.units.count == 1, scan.units.first?.common.nnrUnitType == unit.common.nnrUnitType else {
                    return .invariantViolated("rebuilt \(unit.typeName) unit \(unit.location.index) scans as \(scan.units.count) units")
                }
            }
        }
        if let e = lastError { return .typedError(e) }
        return .ok("\(parsedUnits) units")
    }

    // MARK: - payload

    /// The parameters and payload a `payload` input describes.
    public struct PayloadCase: Equatable, CustomStringConvertible {
        public var tensors: [TensorPayloadParameters]
        public var payload: [UInt8]
        /// Bytes of the input before the payload (the payload's offset in the input).
        public var headerCount: Int
        /// Decode block rows concurrently from the entry points (and compare with a sequential decode).
        public var concurrent: Bool
        /// Decode with a tracer (the traced code paths).
        public var traced: Bool

        public var description: String {
            let t = tensors.map { p in
                "dims \(p.dims) profile \(p.generalProfileIdc) scan \(p.scanOrder) dq \(p.dqFlag) L-1 \(p.cabacUnaryLengthMinus1) "
                    + "qpOffset \(p.codesQPOffset) d \(p.qpDensity) cb \(p.codebook.map { "\($0.codebookSize)/\($0.cbZeroOffset)" } ?? "-") "
                    + "parent \(p.parentNodeIdPresent) tca \(p.tcaBase != nil) hdsp \(p.hdspHistory != nil) eps \(p.entryPoints.count)"
            }
            return "[\(t.joined(separator: "; "))] payload \(payload.count) bytes concurrent \(concurrent) traced \(traced)"
        }
    }

    /// Reads bytes from the front of the input; zeros once it runs out.
    struct ByteCursor {
        let bytes: [UInt8]
        init(bytes: [UInt8]) { self.bytes = bytes }
        var index = 0
        mutating func next() -> Int {
            guard index < bytes.count else { return 0 }
            defer { index += 1 }
            return Int(bytes[index])
        }
        mutating func next16() -> Int { (next() << 8) | next() }
    }

    /// splitmix64, for TCA bases and HDSP histories (sized by the tensor, seeded by one byte).
    struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Limits of the payload target: at most 2^18 elements per tensor (1 MiB of levels), so a
    /// random shape costs little.
    public static let payloadLimits: NNRLimits = {
        var l = limits
        l.maxTensorElements = 1 << 18
        return l
    }()

    /// Derives tensor parameters from a parameter block at the front of the input (values kept in
    /// bounded ranges, with a few out-of-range choices so the validation is exercised too); the
    /// rest is the payload. The block is 18 bytes, then 5 bytes per entry point:
    ///
    /// byte 0: flags: bit 0 profile 1, 1 qp_offset coded (FLOAT/BLOCK), 2 dq_flag, 3 parent node id
    ///         present, 4 TCA base, 5 HDSP history, 6 codebook, 7 concurrent block rows
    /// byte 1: bits 0-1 dimension count − 1, bit 2 a second tensor, bit 3 traced, bit 4 huge first
    ///         dimension (the limit path), bits 5-6 entry-point mode
    /// bytes 2-9: four dimensions, 16 bits each, 1 + v % 4096 (the first: 2^(20 + v % 44) when huge)
    /// byte 10: scan_order (b % 6; 5 is invalid), byte 11: cabac_unary_length_minus1,
    /// byte 12: qp_density (b % 9; 8 is invalid), bytes 13-14: codebook_size − 1 (% 4096),
    /// bytes 15-16: CbZeroOffset (% size, or = size, invalid, when ≥ 0xF000), byte 17: PRNG seed
    /// (TCA base and HDSP history), then the entry points: value u8, delta u24, dq state u8.
    /// Entry-point modes: 0 none, 1 one per block row after the first (what a header carries),
    /// 2 that many with delta 0, 3 (first byte after the block) % 9 of them.
    public static func payloadCase(_ data: [UInt8]) -> PayloadCase {
        var c = ByteCursor(bytes: data)
        let flags = c.next()
        let shape = c.next()
        let dimCount = 1 + (shape & 3)
        var dims: [Int] = []
        for _ in 0..<4 {
            let v = c.next16()
            if dims.count < dimCount { dims.append(1 + v % 4096) }
        }
        let scanOrder = c.next() % 6
        let unaryLengthMinus1 = c.next()
        let qpDensity = c.next() % 9
        let cbSize = 1 + c.next16() % 4096
        let cbZeroRaw = c.next16()
        let seed = c.next()
        if shape & 0x10 != 0 {
            // A first dimension far beyond the limit, one whose product overflows, or (2^63) Int.min.
            dims[0] = 1 << (20 + (dims[0] - 1) % 44)
        }
        // Element count, when the decoder would accept the shape (TCA base and HDSP history are
        // only built for those).
        var count = 1
        var bounded = true
        for d in dims {
            let (m, overflow) = count.multipliedReportingOverflow(by: d)
            if overflow || d < 1 || m > payloadLimits.maxTensorElements {
                bounded = false
                break
            }
            count = m
        }
        var rng = SplitMix(state: UInt64(seed) &* 0x1000_0001)

        var p = TensorPayloadParameters(dims: dims)
        p.generalProfileIdc = flags & 1 != 0 ? 1 : 0
        p.scanOrder = dims.count > 1 ? scanOrder : 0
        p.dqFlag = flags & 4 != 0
        p.cabacUnaryLengthMinus1 = unaryLengthMinus1
        p.codesQPOffset = flags & 2 != 0
        p.qpDensity = qpDensity
        if flags & 0x40 != 0 {
            p.codebook = NNRCodebook(entries: Array(0..<cbSize), cbZeroOffset: cbZeroRaw >= 0xF000 ? cbSize : cbZeroRaw % cbSize)
        }
        p.parentNodeIdPresent = flags & 8 != 0
        if flags & 0x10 != 0 && bounded {
            let wide = seed & 1 != 0
            p.tcaBase = (0..<count).map { _ in
                let r = rng.next()
                return wide ? Int32(truncatingIfNeeded: r) : Int32(Int(r % 9) - 4)
            }
        }
        if flags & 0x20 != 0 && bounded {
            p.hdspHistory = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next() & 1) }
        }
        let geometry = TensorGeometry(dims: bounded ? dims : [1], scanOrder: p.scanOrder)
        let needed = Swift.max(0, geometry.blockRows - 1)
        let epMode = (shape >> 5) & 3
        let epCount = Swift.min(epMode == 3 ? c.next() % 9 : (epMode == 0 ? 0 : needed), 1024)
        var eps: [EntryPoint] = []
        for _ in 0..<epCount {
            let value = c.next()
            let delta = (c.next() << 16) | c.next16()
            let state = c.next()
            eps.append(EntryPoint(bitOffsetDelta: epMode == 2 ? 0 : delta, value: value, dqState: p.dqFlag ? state & 7 : 0))
        }
        p.entryPoints = eps
        var tensors = [p]
        if shape & 4 != 0 {
            // A second tensor in the same payload: reversed shape, no TCA/HDSP/entry points.
            var q = p
            q.dims = dims.reversed()
            q.tcaBase = nil
            q.hdspHistory = nil
            q.entryPoints = []
            tensors.append(q)
        }
        let headerCount = Swift.min(c.index, data.count)
        return PayloadCase(tensors: tensors, payload: Array(data.dropFirst(headerCount)), headerCount: headerCount,
                           concurrent: flags & 0x80 != 0, traced: shape & 8 != 0)
    }

    /// The parameter block `payloadCase` reads back as `p` (for building seeds from real streams):
    /// single tensor, entry-point mode 1 when `p` has entry points.
    public static func payloadHeader(_ p: TensorPayloadParameters, concurrent: Bool = false) -> [UInt8]? {
        guard (1...4).contains(p.dims.count), p.dims.allSatisfy({ (1...4096).contains($0) }),
              (0...255).contains(p.cabacUnaryLengthMinus1), (0...7).contains(p.qpDensity), (0...4).contains(p.scanOrder) else { return nil }
        var flags = p.generalProfileIdc == 1 ? 1 : 0
        if p.codesQPOffset { flags |= 2 }
        if p.dqFlag { flags |= 4 }
        if p.parentNodeIdPresent { flags |= 8 }
        if p.tcaBase != nil { flags |= 0x10 }
        if p.hdspHistory != nil { flags |= 0x20 }
        if p.codebook != nil { flags |= 0x40 }
        if concurrent { flags |= 0x80 }
        var out: [UInt8] = [UInt8(flags), UInt8((p.dims.count - 1) | (p.entryPoints.isEmpty ? 0 : 0x20))]
        func u16(_ v: Int) { out.append(UInt8((v >> 8) & 0xFF)); out.append(UInt8(v & 0xFF)) }
        for j in 0..<4 { u16(j < p.dims.count ? p.dims[j] - 1 : 0) }
        out.append(UInt8(p.scanOrder))
        out.append(UInt8(p.cabacUnaryLengthMinus1))
        out.append(UInt8(p.qpDensity))
        u16(((p.codebook?.codebookSize ?? 1) - 1) % 4096)
        u16((p.codebook?.cbZeroOffset ?? 0) % 0xF000)
        out.append(0)
        for ep in p.entryPoints {
            out.append(UInt8(ep.value & 0xFF))
            out.append(UInt8((ep.bitOffsetDelta >> 16) & 0xFF))
            u16(ep.bitOffsetDelta & 0xFFFF)
            out.append(UInt8(ep.dqState & 7))
        }
        return out
    }

    /// Counts traced elements (the tracer-enabled code paths without keeping them).
    struct CountingTracer: PayloadTracer {
        var count = 0
        mutating func element(_ e: PayloadTraceElement) { count &+= 1 }
    }

    /// What decoding a payload gave, to compare two decodes of the same input.
    struct PayloadResult: Equatable {
        var levels: [[Int32]] = []
        var qpOffsets: [Int] = []
        var end: PayloadEnd?
        var error: NNRError?
    }

    static func decodePayload(_ pc: PayloadCase, concurrent: Bool) -> Result<PayloadResult, FuzzFailure> {
        var result = PayloadResult()
        do {
            var decoder = try PayloadDecoder(payload: pc.payload, fileOffset: pc.headerCount, limits: payloadLimits)
            decoder.concurrentBlockRows = concurrent
            decoder.concurrencyMinimumElements = concurrent ? 0 : Int.max
            for p in pc.tensors {
                let r: DecodedTensorPayload
                if pc.traced {
                    var tracer = CountingTracer()
                    r = try decoder.decodeTensor(p, tracer: &tracer)
                } else {
                    r = try decoder.decodeTensor(p)
                }
                let expected = p.dims.reduce(1, &*)
                guard r.levels.count == expected else {
                    return .failure(.invariant("decoded \(r.levels.count) levels for \(expected) positions"))
                }
                // No bound on codebook indices here: a non-conforming payload can decode an index past
                // the codebook (the truncated remainder's suffix bits still run to 2^n - 1); the
                // file decoder refuses it in Reconstruction.codebookFloat64 with a typed error.
                // (Fuzz/Regressions/payload/crash-a4452368... is such a payload.)
                result.levels.append(r.levels)
                result.qpOffsets.append(r.qpOffset)
            }
            result.end = try decoder.finish()
        } catch let e as NNRError {
            result.error = e
        } catch {
            return .failure(.untyped("\(error)"))
        }
        return .success(result)
    }

    enum FuzzFailure: Error {
        case untyped(String)
        case invariant(String)
    }

    /// The payload decoder on one NDU payload: parameters from the input's first bytes (see
    /// `payloadCase`), the rest decoded as the payload, then the terminating bin. With concurrency
    /// on, the result must equal a sequential decode of the same input.
    public static func payload(_ data: [UInt8]) -> FuzzOutcome {
        let pc = payloadCase(data)
        let first: PayloadResult
        switch decodePayload(pc, concurrent: pc.concurrent) {
        case let .failure(.untyped(s)): return .untypedError(s)
        case let .failure(.invariant(s)): return .invariantViolated(s)
        case let .success(r): first = r
        }
        if pc.concurrent && !pc.traced {
            switch decodePayload(pc, concurrent: false) {
            case let .failure(.untyped(s)): return .untypedError(s)
            case let .failure(.invariant(s)): return .invariantViolated(s)
            case let .success(r):
                if r != first {
                    return .invariantViolated("concurrent and sequential decoding differ (\(pc))")
                }
            }
        }
        if let e = first.error { return .typedError(e) }
        return .ok("\(first.levels.count) tensors, \(first.end?.bytesConsumed ?? 0) bytes consumed")
    }

    // MARK: - decode

    /// Splits an input into the bitstreams of an incremental sequence: a new bitstream starts at
    /// every top-level NNR_STR unit after the first unit. Bytes after a unit that does not scan stay
    /// with the last bitstream (so its decoder sees the error).
    public static func bitstreams(_ data: [UInt8]) -> [[UInt8]] {
        let (units, _) = NNRUnitScanner.scan(NNRByteSource(bytes: data), limits: limits)
        var starts = [0]
        for u in units where u.index > 0 && u.common.nnrUnitType == NNRUnitType.startUnit.rawValue {
            starts.append(u.offset)
        }
        var out: [[UInt8]] = []
        for (i, s) in starts.enumerated() {
            let e = i + 1 < starts.count ? starts[i + 1] : data.count
            out.append(Array(data[s..<e]))
        }
        return out
    }

    /// Whole-file decode with `NNRDecoder` (sequential): the input's bitstreams (see `bitstreams`)
    /// are decoded in order by one decoder, as an incremental sequence (TCA bases and HDSP
    /// histories carried); a bitstream that fails leaves the state as it was and the next one is
    /// still decoded.
    public static func decode(_ data: [UInt8]) -> FuzzOutcome {
        var decoder = NNRDecoder(options: DecoderOptions(limits: limits, concurrent: false, keepLevels: true))
        var firstError: NNRError?
        var tensors = 0
        let streams = bitstreams(data)
        for stream in streams {
            do {
                let r = try decoder.decode(NNRByteSource(bytes: stream))
                for t in r.tensors {
                    guard t.tensor.expectedByteCount == t.tensor.storage.count else {
                        return .invariantViolated("tensor \(t.name): \(t.tensor.storage.count) bytes for \(t.tensor.dtype) \(t.tensor.shape)")
                    }
                }
                tensors += r.tensors.count
            } catch let e as NNRError {
                if firstError == nil { firstError = e }
            } catch {
                return .untypedError("\(error)")
            }
        }
        if let e = firstError { return .typedError(e) }
        return .ok("\(streams.count) bitstreams, \(tensors) tensors")
    }

    // MARK: - model

    /// Limits of the model target: 16 MiB per tensor, 64 MiB per file, 64 KiB headers.
    public static let modelLimits = ModelIOLimits(maxTensorBytes: 16 << 20, maxTotalBytes: 64 << 20, maxHeaderBytes: 64 << 10,
                                                  maxTensors: 4096, maxRank: 16, maxNameBytes: 4096)

    /// Model-file readers on the input as an .npz (ZIP, stored or deflated .npy members), an .npy
    /// and a .safetensors file, whatever its first bytes. Every tensor a reader returns must be
    /// consistent (storage = shape × dtype), and what it read must write and read back the same
    /// (npz: unless a name is refused as unsafe).
    public static func model(_ data: [UInt8]) -> FuzzOutcome {
        var firstError: ModelIOError?
        var tensors = 0
        func consistent(_ ts: [Tensor]) -> String? {
            for t in ts where t.expectedByteCount != t.storage.count {
                return "tensor \(t.name): \(t.storage.count) bytes for \(t.dtype) \(t.shape)"
            }
            return nil
        }
        do {
            let ts = try NPZ.decode(data, file: "fuzz.npz", limits: modelLimits)
            if let problem = consistent(ts) { return .invariantViolated("npz: " + problem) }
            tensors += ts.count
            if ts.allSatisfy({ MemberName.problem($0.name) == nil && $0.dtype != .bfloat16 }) {
                let again = try NPZ.decode(NPZ.encode(ts, compression: .deflate(level: 1)), file: "rewritten.npz", limits: modelLimits)
                guard again == ts else { return .invariantViolated("npz: tensors differ after writing and reading back") }
            }
        } catch let e as ModelIOError {
            firstError = firstError ?? e
        } catch {
            return .untypedError("npz: \(error)")
        }
        do {
            let t = try NPY.decode(data, name: "fuzz", file: "fuzz.npy", limits: modelLimits)
            if let problem = consistent([t]) { return .invariantViolated("npy: " + problem) }
            tensors += 1
            guard try NPY.decode(NPY.encode(t), name: "fuzz", limits: modelLimits) == t else {
                return .invariantViolated("npy: tensor differs after writing and reading back")
            }
        } catch let e as ModelIOError {
            firstError = firstError ?? e
        } catch {
            return .untypedError("npy: \(error)")
        }
        do {
            let ts = try Safetensors.decode(data, file: "fuzz.safetensors", limits: modelLimits)
            if let problem = consistent(ts) { return .invariantViolated("safetensors: " + problem) }
            tensors += ts.count
            guard try Safetensors.decode(Safetensors.encode(ts), limits: modelLimits) == ts else {
                return .invariantViolated("safetensors: tensors differ after writing and reading back")
            }
        } catch let e as ModelIOError {
            firstError = firstError ?? e
        } catch {
            return .untypedError("safetensors: \(error)")
        }
        if tensors == 0, let e = firstError { return .modelError(e) }
        return .ok("\(tensors) tensors")
    }

    /// Runs the entry function of `target` ("parser", "payload", "decode", "model"); nil for other names.
    public static func run(_ target: String, _ data: [UInt8]) -> FuzzOutcome? {
        switch target {
        case "parser": return parser(data)
        case "payload": return payload(data)
        case "decode": return decode(data)
        case "model": return model(data)
        default: return nil
        }
    }
}
