import NNRContainer
import NNRSyntax
import NNRCoding
import NNRModelIO

// Tensors too large to hold decoded go from the payload decoder to the writer a chunk of rows at
// a time (`NDUPlan.decode(…, stream:)` → `TensorPieceWriter`): memory is one chunk of levels and
// its bytes, whatever the tensor's size, and a run of skipped rows (all level 0) is written as
// zero bytes without being materialised.

/// The bytes of a streamed tensor's rows in its output dtype, written to the sink's piece writer.
/// Uniform (float32, or bfloat16/float16 after the session's dtype policy) and NNR_PT_INT (int32)
/// tensors; codebook tensors are decoded whole.
final class StreamedTensorWriter {
    let pieces: TensorPieceWriter
    let float: Bool
    let qp: Int
    let qpDensity: Int
    let width: Int
    /// float32 → 16-bit conversion (nil: float32 or int32 bytes as they are).
    let narrow: ((Float) -> UInt16)?
    private var scratch: [UInt8] = []

    /// The entry the sink is asked for: the tensor's name and shape in `dtype`'s target dtype.
    /// Nil when the tensor cannot be streamed (codebook, raw, or a conversion other than to
    /// bfloat16/float16).
    static func entry(plan: NDUPlan, tensor t: NDUTensorPlan, dtype policy: TensorDTypePolicy) -> TensorManifestEntry? {
        guard t.codebook == nil, let pt = plan.payloadType, pt == .int || pt == .float || pt == .block else { return nil }
        let own = plan.dtype(of: t)
        let target = policy.target(for: own)
        guard target == own || (own == .float32 && FloatBits.narrowing(to: target) != nil) else { return nil }
        return TensorManifestEntry(name: t.name, shape: t.dims, dtype: target)
    }

    init(plan: NDUPlan, tensor t: NDUTensorPlan, pieces: TensorPieceWriter) {
        self.pieces = pieces
        float = plan.payloadType != .int
        qp = plan.baseQP ?? 0
        qpDensity = plan.qpDensity ?? 0
        var w = 1
        for d in t.dims.dropFirst() { w = w &* d }
        width = Swift.max(1, w)
        narrow = float ? FloatBits.narrowing(to: pieces.entry.dtype) : nil
    }

    /// One chunk of rows from the payload decoder (`levels` nil: the rows are all level 0).
    func rows(qpOffset: Int, rows: Range<Int>, levels: UnsafeBufferPointer<Int32>?) throws {
        let step = StepSize.float32(qp: qp &+ qpOffset, qpDensity: qpDensity)
        guard let levels else {
            try zeros(rows.count &* width, step: step)
            return
        }
        try write(levels, step: step)
    }

    private func write(_ levels: UnsafeBufferPointer<Int32>, step: Float) throws {
        guard float else {
            try pieces.write(UnsafeRawBufferPointer(levels))
            return
        }
        let size = narrow == nil ? 4 : 2
        if scratch.count < levels.count &* size { scratch = [UInt8](repeating: 0, count: levels.count &* size) }
        try scratch.withUnsafeMutableBytes { out in
            if let narrow {
                for i in 0..<levels.count {
                    out.storeBytes(of: narrow(step * Float(levels[i])).littleEndian, toByteOffset: 2 &* i, as: UInt16.self)
                }
            } else if let base = out.baseAddress {
                Reconstruction.float32(levels: levels, stepSize: step, into: base)
            }
            try pieces.write(UnsafeRawBufferPointer(rebasing: out[0..<(levels.count &* size)]))
        }
    }

    /// `count` elements of level 0: zero bytes unless the step makes 0 · Δ something else (NaN).
    func zeros(_ count: Int, step: Float) throws {
        let value = float ? step * 0 : 0
        let bits: UInt32 = narrow.map { UInt32($0(value)) } ?? value.bitPattern
        if bits == 0 {
            try pieces.writeZeros(count &* (narrow == nil ? 4 : 2))
            return
        }
        let chunk = [Int32](repeating: 0, count: Swift.min(count, 1 << 16))
        try chunk.withUnsafeBufferPointer { zero in
            var left = count
            while left > 0 {
                let n = Swift.min(left, zero.count)
                try write(UnsafeBufferPointer(rebasing: zero[0..<n]), step: step)
                left -= n
            }
        }
    }
}

/// The sink of a streamed NDU, held by reference while the payload decoder calls back.
final class StreamedSinkBox<S: DecodedNDUSink> {
    var sink: S
    /// A tensor of this NDU was decoded whole: the rest are too (tensors reach the sink in order).
    var whole = false
    var failure: Error?
    init(_ sink: S) { self.sink = sink }

    /// The rows handler of tensor `t`, or nil to decode it whole. Every tensor of a streamed NDU
    /// is streamed, small ones too, until the sink or the tensor's kind asks for a whole one.
    func handler(plan: NDUPlan, tensor t: NDUTensorPlan, dtype: TensorDTypePolicy) -> LevelRowsHandler? {
        guard !whole, failure == nil, let entry = StreamedTensorWriter.entry(plan: plan, tensor: t, dtype: dtype),
              let n = NDUHeader.elementCount(t.dims, limit: Int.max) else {
            whole = true
            return nil
        }
        let pieces: TensorPieceWriter
        do {
            guard let p = try sink.beginPieces(entry) else {
                whole = true
                return nil
            }
            pieces = p
        } catch {
            failure = error
            return { _, _, _ in throw error }
        }
        let writer = StreamedTensorWriter(plan: plan, tensor: t, pieces: pieces)
        var seen = 0
        let total = n
        return { qpOffset, rows, levels in
            try writer.rows(qpOffset: qpOffset, rows: rows, levels: levels)
            seen += rows.count &* writer.width
            if seen >= total { try pieces.end() }
        }
    }
}

extension DecodingSession {
    /// True when `plan` is decoded as a stream: a tensor of at least `streamElements` elements,
    /// no tracer, and no later bitstream or caller that needs the levels.
    func streams(_ plan: NDUPlan) -> Bool {
        guard tracer == nil, manifest == nil, !options.keepLevels, !options.carryState, streamElements > 0,
              let pt = plan.payloadType, pt == .int || pt == .float || pt == .block else { return false }
        return plan.tensors.contains { (NDUHeader.elementCount($0.dims, limit: Int.max) ?? 0) >= streamElements }
    }

    /// Decodes `plan` on this thread once everything before it has reached the sink, handing its
    /// tensors to the sink's piece writers as they are decoded (tensors the sink takes only whole
    /// are decoded whole and delivered after).
    mutating func decodeStreamed<S: DecodedNDUSink>(_ plan: NDUPlan, source: NNRByteSource, sink: inout S) throws {
        if let p = pipeline {
            while p.handedOver < p.submitted { try handOver(p, sink: &sink) }
        }
        try flush(source: source, sink: &sink)
        let box = StreamedSinkBox(sink)
        defer { sink = box.sink }
        let policy = dtype
        var decoded = try plan.decode(source, state: state, options: ndu, stream: { _, t in
            box.handler(plan: plan, tensor: t, dtype: policy)
        })
        if let e = box.failure { throw e }
        decoded = decoded.converted(policy, keepLevels: false)
        try deliver(decoded, sink: &box.sink)
    }
}
