import Foundation
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRCoding
import NNRModelIO

/// Decodes the NDU payloads of dumped files for `--stats` and `--trace`, tensor by tensor in
/// payload order, as `NNRDecoder` does. Files of an incremental sequence go through one session
/// in order: the TCA bases and HDSP histories are carried from one file to the next.
public struct DumpSession {
    public var options: DumpOptions
    /// Reconstruction indices of each tensor of the files decoded so far (TCA bases).
    var previousLevels: [String: [Int32]] = [:]
    /// Per position 1 if an earlier update had a non-zero level (HDSP).
    var history: [String: [UInt8]] = [:]

    public init(options: DumpOptions) { self.options = options }

    /// Decodes what `options` asks for and fills QPs, bits, statistics and the trace into `file`.
    /// `carryState`: later files of the sequence follow (keep every tensor's levels for them).
    /// `trace`: receives the trace lines as they are produced; without it they go to `file.trace`.
    public mutating func decode(_ file: inout DumpFile, source: NNRByteSource, carryState: Bool,
                                trace: ((DumpTraceLine) -> Void)? = nil) {
        guard file.failure == nil else { return }
        file.decoded = true
        let collector = DumpTraceCollector(limit: options.trace ? options.traceLimit : 0, handler: trace)
        var kept: [(String, [Int32])] = []
        var parentSignalling = false
        var seenMPS = false
        var failure: NNRError?
        walk: for unit in file.flatUnits {
            guard let parsed = unit.summary?.unit else { continue }
            switch parsed.content {
            case let .modelParameterSet(m):
                seenMPS = true
                parentSignalling = m.mpsParentSignallingEnabledFlag
            case let .compressedData(h):
                if !options.stats && !carryState && collector.full && options.trace { break walk }
                do {
                    guard seenMPS else {
                        throw NNRError(.invalidValue("NNR_NDU before any NNR_MPS"), element: "nnr_unit_type",
                                       byteOffset: unit.offset, unitIndex: unit.index)
                    }
                    try decodeUnit(unit, parsed: parsed, header: h, file: &file, source: source, collector: collector,
                                   carryState: carryState, kept: &kept)
                } catch let e as NNRError {
                    failure = e
                    break walk
                } catch {
                    failure = NNRError(.io("\(error)"), element: "nnr_compressed_data_unit_payload", byteOffset: unit.offset, unitIndex: unit.index)
                    break walk
                }
            default:
                break
            }
        }
        file.trace = collector.lines
        file.traceLineCount = collector.count
        file.traceTruncated = collector.truncated
        NNRDump.refreshTensorDerived(&file)
        if let e = failure {
            file.failure = DumpFailure(error: e, stage: "payload",
                                       window: NNRDump.errorWindow(source, at: e.position.byteOffset, radius: options.errorWindow))
            return
        }
        if carryState {
            for (name, levels) in kept {
                previousLevels[name] = levels
                if parentSignalling {
                    var h = history[name] ?? [UInt8](repeating: 0, count: levels.count)
                    if h.count == levels.count {
                        for i in 0..<h.count where levels[i] != 0 { h[i] = 1 }
                        history[name] = h
                    }
                }
            }
        }
    }

    private func traces(_ name: String) -> Bool {
        options.trace && (options.traceTensor == nil || options.traceTensor == name)
    }

    private mutating func decodeUnit(_ unit: DumpUnit, parsed: NNRParsedUnit, header h: NDUHeader, file: inout DumpFile,
                                     source: NNRByteSource, collector: DumpTraceCollector, carryState: Bool,
                                     kept: inout [(String, [Int32])]) throws {
        if let problem = unit.problems.first {
            throw NNRError(.invalidValue(problem), element: "nnr_compressed_data_unit_header", byteOffset: unit.offset, unitIndex: unit.index)
        }
        if parsed.common.partialDataCounterPresentFlag {
            throw NNRError(.unsupported("partial data units (partial_data_counter_present_flag = 1)"), element: "partial_data_counter_present_flag",
                           byteOffset: unit.offset, unitIndex: unit.index)
        }
        guard let pt = h.payloadType else { return }
        let indices = unit.tensorIndices.filter { $0 < file.tensors.count }
        if pt == .rawFloat {
            for i in indices {
                let t = file.tensors[i]
                guard parsed.payloadRange.count == t.elementCount * 4 else {
                    throw NNRError(.sizeMismatch("NNR_PT_RAW_FLOAT payload holds \(parsed.payloadRange.count) bytes, \(t.elementCount * 4) expected"),
                                   element: "raw_float32_parameter", byteOffset: parsed.payloadRange.lowerBound, unitIndex: unit.index)
                }
            }
            return
        }
        let wanted = options.stats || carryState || indices.contains { traces(file.tensors[$0].name) }
        if !wanted { return }

        let payload = source.bytes(parsed.payloadRange)
        let profile = parsed.context.generalProfileIdc
        var dec: PayloadDecoder
        do {
            dec = try PayloadDecoder(payload: payload, fileOffset: parsed.payloadRange.lowerBound, limits: options.limits)
        } catch let e as NNRError { throw e.inUnit(unit.index) }
        for i in indices {
            let t = file.tensors[i]
            var p = TensorPayloadParameters(dims: t.shape)
            p.generalProfileIdc = profile
            p.scanOrder = t.scanOrder
            p.dqFlag = t.dq
            p.cabacUnaryLengthMinus1 = h.cabacUnaryLengthMinus1
            p.codesQPOffset = pt == .float || pt == .block
            p.qpDensity = t.qpDensity ?? 0
            p.codebook = t.codebook
            p.parentNodeIdPresent = h.parentNodeIdPresentFlag
            if h.temporalContextModelingFlag && profile == 1 {
                guard let base = previousLevels[t.name] else {
                    throw NNRError(.invalidValue("temporal_context_modeling_flag = 1 but no earlier bitstream carried tensor \(t.name) (give the earlier bitstreams of the sequence first)"),
                                   element: "temporal_context_modeling_flag", byteOffset: unit.offset, unitIndex: unit.index)
                }
                p.tcaBase = base
            }
            if h.parentNodeIdPresentFlag, let hist = history[t.name] { p.hdspHistory = hist }
            p.entryPoints = t.entryPoints

            let before = dec.bitOffset
            let r: DecodedTensorPayload
            do {
                if traces(t.name) && !collector.full {
                    var tracer = DumpTracer(unitIndex: unit.index, tensor: t.name, dims: t.shape, scanOrder: t.scanOrder, collector: collector)
                    r = try dec.decodeTensor(p, tracer: &tracer)
                    tracer.finish()
                } else {
                    r = try dec.decodeTensor(p)
                }
            } catch let e as NNRError { throw e.inUnit(unit.index) }
            if p.codesQPOffset { file.tensors[i].qpOffset = r.qpOffset }
            if !file.tensors[i].bitsExact { file.tensors[i].bits = dec.bitOffset - before }
            if options.stats {
                file.tensors[i].stats = Self.stats(levels: r.levels, tensor: file.tensors[i], reference: options.reference)
            }
            if carryState { kept.append((t.name, r.levels)) }
        }
        let end: PayloadEnd
        do { end = try dec.finish() } catch let e as NNRError { throw e.inUnit(unit.index) }
        if options.trace && options.traceTensor == nil {
            collector.emit(DumpTraceLine(unitIndex: unit.index, tensor: "", element: "terminating_bin", position: -1, row: -1, column: -1,
                                         dqState: -1, context: -1, bins: "1", value: 1))
        }
        if end.bytesConsumed != payload.count {
            throw NNRError(.sizeMismatch("the arithmetic-coded payload ends after \(end.bytesConsumed) bytes but the unit holds \(payload.count)"),
                           element: "nnr_unit_size", byteOffset: unit.offset, bitOffset: 1, unitIndex: unit.index)
        }
    }

    /// Level range, zeros, histogram and (with a reference) the SNR of the reconstruction.
    static func stats(levels: [Int32], tensor t: DumpTensor, reference: [String: Tensor]?) -> DumpTensorStats {
        var lo = Int.max, hi = Int.min, zeros = 0
        for l in levels {
            let v = Int(l)
            if v < lo { lo = v }
            if v > hi { hi = v }
            if v == 0 { zeros += 1 }
        }
        if levels.isEmpty { lo = 0; hi = 0 }
        // 11 bins: 0, and five bins of `width` levels on each side, wide enough for the largest |level|.
        let maxAbs = Swift.max(abs(lo), abs(hi))
        let width = Swift.max(1, (maxAbs + 4) / 5)
        var counts = [Int](repeating: 0, count: 11)
        for l in levels {
            let v = Int(l)
            let k = v == 0 ? 0 : Swift.min(5, (abs(v) - 1) / width + 1)
            counts[v < 0 ? 5 - k : 5 + k] += 1
        }
        var bins: [DumpTensorStats.Bin] = []
        for (i, c) in counts.enumerated() {
            let k = i - 5
            let a = k == 0 ? 0 : (abs(k) - 1) * width + 1
            let b = k == 0 ? 0 : abs(k) * width
            let (low, high) = k < 0 ? (-b, -a) : (a, b)
            bins.append(.init(label: low == high ? String(low) : "\(low)..\(high)", low: low, high: high, count: c))
        }
        var out = DumpTensorStats(count: levels.count, minLevel: lo, maxLevel: hi, zeros: zeros, histogram: bins)
        guard let refs = reference else { return out }
        guard let ref = refs[t.name] else {
            out.snrNote = "no tensor named \(t.name) in the reference"
            return out
        }
        let expected = ref.doubleValues()
        guard expected.count == levels.count else {
            out.snrNote = "the reference has \(expected.count) values, the tensor \(levels.count)"
            return out
        }
        let decoded: [Double]
        if t.payloadTypeCode == NNRPayloadType.int.rawValue {
            decoded = levels.map { Double($0) }
        } else if let q = t.qp, let d = t.qpDensity {
            if let cb = t.codebook {
                guard let v = try? Reconstruction.codebookFloat64(levels: levels, codebook: cb.entries, zeroOffset: cb.cbZeroOffset,
                                                                  qp: q, qpDensity: d) else {
                    out.snrNote = "a level lies outside the codebook"
                    return out
                }
                decoded = v
            } else {
                decoded = Reconstruction.float32(levels: levels, qp: q, qpDensity: d).map { Double($0) }
            }
        } else {
            out.snrNote = "no QP"
            return out
        }
        var signal = 0.0, noise = 0.0
        for i in 0..<expected.count {
            signal += expected[i] * expected[i]
            let e = expected[i] - decoded[i]
            noise += e * e
        }
        out.snrDB = noise == 0 ? Double.infinity : 10 * log10(signal / noise)
        return out
    }
}

/// Receives trace lines: stores or forwards them, up to the limit.
final class DumpTraceCollector {
    let limit: Int?
    let handler: ((DumpTraceLine) -> Void)?
    var lines: [DumpTraceLine] = []
    var count = 0
    var truncated = false

    init(limit: Int?, handler: ((DumpTraceLine) -> Void)?) {
        self.limit = limit
        self.handler = handler
    }

    var full: Bool { limit.map { count >= $0 } ?? false }

    func emit(_ line: DumpTraceLine) {
        if full {
            truncated = true
            return
        }
        count += 1
        if let h = handler { h(line) } else { lines.append(line) }
    }
}

/// Turns the payload decoder's elements into trace lines. Positions the decoder does not visit
/// (rows skipped by row_skip_flag) get a `level = 0` line in scan order, so every position of
/// the tensor has exactly one `level` line.
struct DumpTracer: PayloadTracer {
    let unitIndex: Int
    let tensor: String
    let width: Int
    var cursor: DumpScanCursor
    let collector: DumpTraceCollector

    init(unitIndex: Int, tensor: String, dims: [Int], scanOrder: Int, collector: DumpTraceCollector) {
        self.unitIndex = unitIndex
        self.tensor = tensor
        let h = dims.first ?? 1
        var w = 1
        for d in dims.dropFirst() { w = w &* d }
        width = Swift.max(w, 1)
        cursor = DumpScanCursor(height: h, width: w, scanOrder: scanOrder)
        self.collector = collector
    }

    mutating func element(_ e: PayloadTraceElement) {
        var row = -1, column = -1
        if e.position >= 0 {
            if e.name != "row_skip_flag" {
                while let c = cursor.current, c != e.position {
                    skipped(c)
                    cursor.advance()
                }
            }
            row = e.position / width
            column = e.position % width
        }
        var bins = ""
        bins.reserveCapacity(e.bins.count)
        for b in e.bins { bins.append(b == 0 ? "0" : "1") }
        collector.emit(DumpTraceLine(unitIndex: unitIndex, tensor: tensor, element: e.name, position: e.position, row: row, column: column,
                                     dqState: e.dqState, context: e.context, bins: bins, value: e.value))
        if e.name == "level", cursor.current == e.position { cursor.advance() }
    }

    /// Lines for the positions after the last one decoded.
    mutating func finish() {
        while let c = cursor.current {
            skipped(c)
            cursor.advance()
        }
    }

    private func skipped(_ position: Int) {
        collector.emit(DumpTraceLine(unitIndex: unitIndex, tensor: tensor, element: "level", position: position,
                                     row: position / width, column: position % width, dqState: -1, context: -1, bins: "", value: 0))
    }
}

/// Walks the positions of a tensor in the payload's scan order (row-major, or B×B blocks in block
/// rows for scan_order > 0; spec 4.2).
struct DumpScanCursor {
    let height: Int
    let width: Int
    let block: Int
    private var r0 = 0, c0 = 0, r = 0, c = 0
    private var done: Bool

    init(height: Int, width: Int, scanOrder: Int) {
        self.height = height
        self.width = width
        let geo = TensorGeometry(height: height, width: width, scanOrder: scanOrder)
        block = geo.blockSize
        done = height <= 0 || width <= 0
    }

    var current: Int? { done ? nil : r &* width &+ c }

    mutating func advance() {
        guard !done else { return }
        if block == 0 {
            c += 1
            if c == width {
                c = 0
                r += 1
                if r == height { done = true }
            }
            return
        }
        let r1 = Swift.min(r0 + block, height)
        let c1 = Swift.min(c0 + block, width)
        c += 1
        if c < c1 { return }
        c = c0
        r += 1
        if r < r1 { return }
        c0 = c1
        if c0 >= width {
            c0 = 0
            r0 = r1
            if r0 >= height {
                done = true
                return
            }
        }
        r = r0
        c = c0
    }
}
