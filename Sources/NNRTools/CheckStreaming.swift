import NNRSyntax
import NNRCoding
import NNRModelIO
import NNRCodec

/// What check keeps of a decoded tensor: the SHA-256 of its reconstruction (the bytes `nnr decode`
/// writes), its first value that is not finite and, for a streamed NNR_PT_INT tensor, its first
/// value outside the declared nnr_decompressed_data_format.
struct TensorDigest: Sendable {
    var sha256: String
    var firstNonFinite: Int?
    /// The tensor was hashed as it was decoded (it holds no levels or values).
    var streamed = false
    var outOfRange: Int32?

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }
}

/// Hashes a tensor's reconstruction as the payload decoder hands over its rows
/// (`NDUPlan.decode(…, stream:)`): memory is one chunk of rows, and a run of rows that are all 0
/// is hashed without materialising it (level 0 reconstructs to +0.0, so the SHA-256 is fed zero
/// bytes; the schedule of a zero block needs no loads). Float32 (uniform) and int32 tensors only;
/// codebook tensors are hashed whole.
final class StreamingDigest: @unchecked Sendable {
    let float: Bool
    let qp: Int
    let qpDensity: Int
    let width: Int
    let range: ClosedRange<Int>?
    var sha = SHA256()
    var seen = 0
    var firstNonFinite: Int?
    var outOfRange: Int32?
    var scratch: [Float] = []

    /// nil when the tensor is not streamed: codebook or raw tensors, or fewer than `minimumElements`.
    init?(plan: NDUPlan, tensor t: NDUTensorPlan, minimumElements: Int) {
        guard t.codebook == nil, let pt = plan.payloadType, pt == .int || pt == .float || pt == .block,
              let n = NDUHeader.elementCount(t.dims, limit: Int.max), n >= minimumElements else { return nil }
        float = pt != .int
        qp = plan.baseQP ?? 0
        qpDensity = plan.qpDensity ?? 0
        var w = 1
        for d in t.dims.dropFirst() { w = w &* d }
        width = Swift.max(1, w)
        let h = plan.header
        range = pt == .int && h.nnrDecompressedDataFormatPresentFlag ? CheckRun.integerRange(format: h.nnrDecompressedDataFormat) : nil
    }

    func rows(qpOffset: Int, rows: Range<Int>, levels: UnsafeBufferPointer<Int32>?) {
        let step = StepSize.float32(qp: qp + qpOffset, qpDensity: qpDensity)
        guard let levels else {
            zeros(rows.count &* width, step: step)
            return
        }
        if let range, outOfRange == nil, let bad = levels.first(where: { !range.contains(Int($0)) }) { outOfRange = bad }
        guard float else {
            sha.update(UnsafeRawBufferPointer(levels))
            seen += levels.count
            return
        }
        if scratch.count < levels.count { scratch = [Float](repeating: 0, count: levels.count) }
        scratch.withUnsafeMutableBufferPointer { out in
            for i in 0..<levels.count { out[i] = step * Float(levels[i]) }
            let values = UnsafeBufferPointer(rebasing: out[0..<levels.count])
            if firstNonFinite == nil, let i = values.firstIndex(where: { !$0.isFinite }) { firstNonFinite = seen + i }
            sha.update(UnsafeRawBufferPointer(values))
        }
        seen += levels.count
    }

    /// `count` elements of level 0.
    func zeros(_ count: Int, step: Float) {
        if let range, outOfRange == nil, !range.contains(0) { outOfRange = 0 }
        let value: Float = float ? step * 0 : 0
        if firstNonFinite == nil && !value.isFinite { firstNonFinite = seen }
        if value.bitPattern == 0 {
            sha.updateZeros(count: count &* 4)
        } else {
            let block = [Float](repeating: value, count: Swift.min(count, 1 << 14))
            var left = count
            block.withUnsafeBytes { raw in
                while left > 0 {
                    let k = Swift.min(left, block.count)
                    sha.update(UnsafeRawBufferPointer(rebasing: raw[0..<(k * 4)]))
                    left -= k
                }
            }
        }
        seen += count
    }

    var digest: TensorDigest {
        var s = sha
        return TensorDigest(sha256: TensorDigest.hex(s.finalize()), firstNonFinite: firstNonFinite, streamed: true, outOfRange: outOfRange)
    }
}

/// The streamed digests of one NDU's tensors, by tensor index.
final class StreamingDigests: @unchecked Sendable {
    var byTensor: [Int: StreamingDigest] = [:]

    /// The `stream` argument of `NDUPlan.decode`: streams the tensors `StreamingDigest` takes.
    func handlers(plan: NDUPlan, minimumElements: Int) -> (Int, NDUTensorPlan) -> LevelRowsHandler? {
        { [self] i, t in
            guard let d = StreamingDigest(plan: plan, tensor: t, minimumElements: minimumElements) else { return nil }
            byTensor[i] = d
            return { d.rows(qpOffset: $0, rows: $1, levels: $2) }
        }
    }
}
