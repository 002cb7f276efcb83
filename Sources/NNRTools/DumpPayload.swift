import Foundation
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRCoding
import NNRModelIO
import NNRCodec

/// Decodes the NDU payloads of dumped files for `--stats` and `--trace`, tensor by tensor in
/// payload order, as `NNRDecoder` does. Files of an incremental sequence go through one session
/// in order: the TCA bases and HDSP histories are carried from one file to the next.
public struct DumpSession {
    public var options: DumpOptions
    /// The decoder state carried from one file of the sequence to the next.
    var state = IncrementalDecoderState()

    public init(options: DumpOptions) { self.options = options }

    /// Decodes what `options` asks for and fills QPs, bits, statistics and the trace into `file`.
    /// `carryState`: later files of the sequence follow (keep every tensor's levels for them).
    /// `trace`: receives the trace lines as they are produced; without it they go to `file.trace`.
    public mutating func decode(_ file: inout DumpFile, source: NNRByteSource, carryState: Bool,
                                trace: ((DumpTraceLine) -> Void)? = nil) {
        guard file.failure == nil else { return }
        var pass = begin(&file, source: source, carryState: carryState, trace: trace)
        for i in file.units.indices { unit(file.units[i], file: &file, pass: &pass) }
        end(&file, pass: pass)
    }

    /// One file's decoding, unit by unit (`begin`, `unit` for each top-level unit, `end`).
    public struct Pass {
        let source: NNRByteSource
        let carryState: Bool
        let collector: DumpTraceCollector
        let tracer: DumpNDUTracer
        var kept: [(String, [Int32])] = []
        var sets = NNRParameterSets()
        var failure: NNRError?
        var stopped = false
    }

    public func begin(_ file: inout DumpFile, source: NNRByteSource, carryState: Bool, trace: ((DumpTraceLine) -> Void)?) -> Pass {
        file.decoded = true
        let collector = DumpTraceCollector(limit: options.trace ? options.traceLimit : 0, handler: trace)
        return Pass(source: source, carryState: carryState, collector: collector,
                    tracer: DumpNDUTracer(options: options, collector: collector))
    }

    /// Decodes the NDUs of a top-level unit (and of the units it carries).
    public mutating func unit(_ unit: DumpUnit, file: inout DumpFile, pass: inout Pass) {
        guard !pass.stopped, let parsed = unit.parsed else { return }
        pass.sets.observe(parsed)
        if case let .compressedData(h) = parsed.content {
            if !options.stats && !pass.carryState && pass.collector.full && options.trace {
                pass.stopped = true
                return
            }
            do {
                try decodeUnit(unit, parsed: parsed, header: h, sets: pass.sets, file: &file, source: pass.source, tracer: pass.tracer,
                               carryState: pass.carryState, kept: &pass.kept)
            } catch let e as NNRError {
                pass.failure = e
                pass.stopped = true
            } catch {
                pass.failure = NNRError(.io("\(error)"), element: "nnr_compressed_data_unit_payload", byteOffset: unit.offset, unitIndex: unit.index)
                pass.stopped = true
            }
        }
        for c in unit.children { self.unit(c, file: &file, pass: &pass) }
    }

    public mutating func end(_ file: inout DumpFile, pass: Pass) {
        file.trace = pass.collector.lines
        file.traceLineCount = pass.collector.count
        file.traceTruncated = pass.collector.truncated
        NNRDump.refreshTensorDerived(&file)
        if let e = pass.failure {
            file.failure = DumpFailure(error: e, stage: "payload",
                                       window: NNRDump.errorWindow(pass.source, at: e.position.byteOffset, radius: options.errorWindow))
            return
        }
        if pass.carryState {
            for (name, levels) in pass.kept { state.carry(name, levels: levels, parentSignalling: pass.sets.parentSignalling) }
        }
    }

    private mutating func decodeUnit(_ unit: DumpUnit, parsed: NNRParsedUnit, header h: NDUHeader, sets: NNRParameterSets,
                                     file: inout DumpFile, source: NNRByteSource, tracer: DumpNDUTracer, carryState: Bool,
                                     kept: inout [(String, [Int32])]) throws {
        if sets.mps != nil, let problem = unit.problems.first {
            throw NNRError(.invalidValue(problem), element: "nnr_compressed_data_unit_header", byteOffset: unit.offset, unitIndex: unit.index)
        }
        let plan = try NDUPlan(unit: parsed, header: h, parameterSets: sets, limits: options.limits)
        let indices = unit.tensorIndices.filter { $0 < file.tensors.count }
        if plan.payloadType == .rawFloat {
            _ = try plan.decode(source, state: state, options: NDUDecodeOptions(limits: options.limits))
            return
        }
        let wanted = options.stats || carryState || plan.tensors.contains { tracer.traces($0.name) }
        if !wanted { return }
        let stats = options.stats, reference = options.reference
        var done: [(Int, DecodedTensor)] = []
        let streamed = LevelStatsStreams()
        defer {
            for (k, t) in done where k < indices.count {
                let i = indices[k]
                if let o = t.qpOffset { file.tensors[i].qpOffset = o }
                if !file.tensors[i].bitsExact { file.tensors[i].bits = t.bits }
                if stats {
                    file.tensors[i].stats = streamed.byTensor[k]?.stats
                        ?? Self.stats(levels: t.levels, tensor: file.tensors[i], reference: reference)
                }
            }
        }
        let ndu = NDUDecodeOptions(limits: options.limits, keepLevels: true, reconstruct: false)
        let tr = options.trace ? tracer : nil
        // --stats without a reference counts large tensors' levels as they are decoded
        if stats && reference == nil && !carryState {
            _ = try plan.decode(source, state: state, options: ndu, tracer: tr, tensorDone: { done.append(($0, $1)) },
                                stream: streamed.handlers(minimumElements: options.streamMinimumElements))
            if !streamed.byTensor.values.contains(where: \.overflowed) { return }
            // more distinct large levels than the counts hold: decode again with the levels
            done = []
            streamed.byTensor = [:]
        }
        let decoded = try plan.decode(source, state: state, options: ndu, tracer: tr, tensorDone: { done.append(($0, $1)) })
        if carryState { kept += decoded.tensors.map { ($0.name, $0.levels) } }
    }

    /// The 11 bins of the level histogram: 0, and five bins of `width` levels on each side, wide
    /// enough for the largest |level|; `counts` gets the bin width and returns the 11 counts.
    static func histogram(maxAbs: Int, counts: (_ width: Int) -> [Int]) -> [DumpTensorStats.Bin] {
        let width = Swift.max(1, (maxAbs + 4) / 5)
        let counts = counts(width)
        var bins: [DumpTensorStats.Bin] = []
        for (i, c) in counts.enumerated() {
            let k = i - 5
            let a = k == 0 ? 0 : (abs(k) - 1) * width + 1
            let b = k == 0 ? 0 : abs(k) * width
            let (low, high) = k < 0 ? (-b, -a) : (a, b)
            bins.append(.init(label: low == high ? String(low) : "\(low)..\(high)", low: low, high: high, count: c))
        }
        return bins
    }

    /// The histogram bin (0…10) of level `v` for bins of `width` levels.
    @inline(__always)
    static func bin(_ v: Int, width: Int) -> Int {
        let k = v == 0 ? 0 : Swift.min(5, (abs(v) - 1) / width + 1)
        return v < 0 ? 5 - k : 5 + k
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
        let bins = histogram(maxAbs: Swift.max(abs(lo), abs(hi))) { width in
            var counts = [Int](repeating: 0, count: 11)
            for l in levels { counts[bin(Int(l), width: width)] += 1 }
            return counts
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
public final class DumpTraceCollector {
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

/// The dump's tracer of NDU payloads: trace lines for the tensors `--trace` (and `--tensor`) ask for.
public final class DumpNDUTracer: NDUTracer {
    let options: DumpOptions
    let collector: DumpTraceCollector
    var current: DumpTracer?

    init(options: DumpOptions, collector: DumpTraceCollector) {
        self.options = options
        self.collector = collector
    }

    func traces(_ name: String) -> Bool {
        options.trace && (options.traceTensor == nil || options.traceTensor == name)
    }

    public func beginTensor(_ t: NDUTensorPlan, of plan: NDUPlan) -> Bool {
        guard traces(t.name) && !collector.full else { return false }
        current = DumpTracer(unitIndex: plan.unit.location.index, tensor: t.name, dims: t.dims, scanOrder: plan.scanOrder(of: t),
                             collector: collector)
        return true
    }

    public func element(_ e: PayloadTraceElement) { current?.element(e) }

    public func endTensor(_ t: NDUTensorPlan, of plan: NDUPlan) {
        current?.finish()
        current = nil
    }

    public func endPayload(_ plan: NDUPlan) {
        guard options.trace && options.traceTensor == nil else { return }
        collector.emit(DumpTraceLine(unitIndex: plan.unit.location.index, tensor: "", element: "terminating_bin", position: -1, row: -1,
                                     column: -1, dqState: -1, context: -1, bins: "1", value: 1))
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
