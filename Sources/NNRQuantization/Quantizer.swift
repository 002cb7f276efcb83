import Foundation
import NNRBitIO
import NNRCoding

/// How levels are chosen.
public enum QuantizationMethod: String, Sendable, CaseIterable {
    /// Uniform reconstruction quantizer, q = round(w/Δ) (NNCodec's URQ with lambda_scale 0).
    case nearest
    /// Uniform, rate-distortion optimised with the context-model rate (NNCodec's URQ with
    /// lambda_scale > 0). With lambdaScale ≤ 0 it is `nearest`.
    case rdoq
    /// Dependent quantization (dq_flag = 1): the 8-state trellis. With lambdaScale ≤ 0 it minimises
    /// distortion only (NNCodec's default).
    case dependent
}

/// NNCodec's codebook modes.
public enum CodebookMode: Sendable, Equatable {
    /// codebook_mode 1: always the codebook.
    case always
    /// codebook_mode 2: codebook or uniform, whichever is estimated cheaper.
    case byCost
}

/// Settings of a `Quantizer`.
public struct QuantizerOptions: Sendable, Equatable {
    public var method: QuantizationMethod
    /// NNCodec's lambda_scale (its default 0 = no rate term). λ for the uniform quantizer is
    /// lambdaScale·ln2/6 and for DQ lambdaScale·4·ln2/6·0.7, against distortion in units of Δ²
    /// and rate in bits, as in NNCodec.
    public var lambdaScale: Double
    /// Row skipping (profile 1): rows whose levels are all zero are flagged and not coded. The
    /// result's flags are always exactly its all-zero rows (what a payload encoder derives from the
    /// levels). With rate-aware methods, rows that round to zero are planned as skipped up front
    /// (forced to zero, no rate); with DQ the trellis applies the decoder's w-fold state advance to
    /// every skipped segment.
    public var rowSkipping: Bool
    /// Error bound E: choose the coarsest QP (at the given qp_density, not above the requested QP)
    /// whose float32 reconstruction is within E of every value; verified on every value.
    public var maxError: Float?
    /// Allowed levels q (e.g. `BitDepthLimit.levelRange`); must contain 0. Quantizers choose
    /// within the range (DQ stays consistent with the state machine; NNCodec clips after).
    public var levelRange: ClosedRange<Int32>?
    /// cabac_unary_length_minus1 of the payload (rate model: L = this + 1 gt flags).
    public var cabacUnaryLengthMinus1: Int
    /// QPs that may be used (overflow adjustment, error-bounded search). Default:
    /// −2^(5+d) … 2^(5+d) − 1, what a qp_offset of 6 + d bits reaches with an MPS QP of 0.
    public var qpRange: ClosedRange<Int>?
    /// Fill `stats.estimatedPayloadBits`.
    public var estimateRate: Bool
    /// Check that DQ levels follow the decoder's state machine before returning them (an internal
    /// consistency check of the trellis, `QuantizationError.internalInconsistency`). A caller that
    /// hands the levels straight to `PayloadEncoder`, which makes the same check on the same levels
    /// (a typed `NNRError`), may turn it off.
    public var verifiesDependentPath = true

    public init(method: QuantizationMethod = .nearest, lambdaScale: Double = 0, rowSkipping: Bool = false,
                maxError: Float? = nil, levelRange: ClosedRange<Int32>? = nil, cabacUnaryLengthMinus1: Int = 10,
                qpRange: ClosedRange<Int>? = nil, estimateRate: Bool = false) {
        self.method = method
        self.lambdaScale = lambdaScale
        self.rowSkipping = rowSkipping
        self.maxError = maxError
        self.levelRange = levelRange
        self.cabacUnaryLengthMinus1 = cabacUnaryLengthMinus1
        self.qpRange = qpRange
        self.estimateRate = estimateRate
    }
}

/// A quantized tensor: the decoder's levels and what is needed to code and reconstruct them.
public struct QuantizedTensor: Sendable, Equatable {
    /// The decoder's levels, row-major: the reconstruction index q for uniform and DQ tensors
    /// (w ≈ Float(Δ)·Float(q)), the signed codebook index k for codebook tensors.
    public var q: [Int32]
    /// The tensor's QP (may differ from the requested one: overflow or error-bounded search).
    public var qp: Int
    public var qpDensity: Int
    /// Δ(qp, qp_density) as float32.
    public var stepSize: Float
    /// dq_flag.
    public var dependentQuantization: Bool
    /// row_skip_flag per row when row skipping is on and the tensor has row-skip syntax: exactly the
    /// rows whose levels are all zero.
    public var rowSkipFlags: [Bool]?
    /// The codebook of a codebook tensor.
    public var codebook: NNRCodebook?
    public var stats: QuantizationStats

    /// Float32 reconstruction as the decoder computes it (codebook: float64 product rounded to
    /// float32).
    public func reconstructed() -> [Float] {
        if codebook != nil { return reconstructedDouble().map { Float($0) } }
        let d = stepSize
        return q.map { d * Float($0) }
    }

    /// Reconstruction in double (exactly NNCodec's float64 for codebook tensors).
    public func reconstructedDouble() -> [Double] {
        if let cb = codebook { return q.map { cb.value(level: $0, stepSize: stepSize) ?? .nan } }
        let d = stepSize
        return q.map { Double(d * Float($0)) }
    }
}

/// Front end of the quantizers.
public struct Quantizer: Sendable {
    public var options: QuantizerOptions

    public init(options: QuantizerOptions = QuantizerOptions()) {
        self.options = options
    }

    /// One-call form of `Quantizer(options:).quantize(...)`.
    public static func quantize(values: [Float], geometry: TensorGeometry, qp: Int, qpDensity: Int,
                                method: QuantizationMethod = .nearest, lambdaScale: Double = 0,
                                rowSkipping: Bool = false, maxError: Float? = nil) throws -> QuantizedTensor {
        let o = QuantizerOptions(method: method, lambdaScale: lambdaScale, rowSkipping: rowSkipping, maxError: maxError)
        return try Quantizer(options: o).quantize(values: values, geometry: geometry, qp: qp, qpDensity: qpDensity)
    }

    /// Quantizes `values` (row-major, `geometry.count` of them) at `qp`.
    ///
    /// Without `maxError`, if the levels would overflow Int32 at `qp`, the QP is raised as NNCodec
    /// does (the result's `qp` says which was used). With `maxError`, `qp` is the coarsest QP
    /// allowed and the result's QP is the coarsest at or below it that meets the bound.
    public func quantize(values: [Float], geometry: TensorGeometry, qp: Int, qpDensity: Int) throws -> QuantizedTensor {
        try values.withUnsafeBufferPointer { try quantize(buffer: $0, geometry: geometry, qp: qp, qpDensity: qpDensity) }
    }

    /// `quantize(values:geometry:qp:qpDensity:)` on values in memory the caller holds (a float32
    /// tensor's bytes, without a copy).
    public func quantize(buffer v: UnsafeBufferPointer<Float>, geometry: TensorGeometry, qp: Int,
                         qpDensity: Int) throws -> QuantizedTensor {
        let range = try validate(count: v.count, geometry: geometry, qp: qp, qpDensity: qpDensity)
        try checkFinite(v)
        let (maxPos, maxNeg) = extremes(v)
        let job = Job(values: v, geometry: geometry, qpDensity: qpDensity, options: options,
                      largest: maxPos, smallest: maxNeg)
        if let e = options.maxError {
            return try job.searchErrorBounded(maxError: e, ceiling: qp, range: range)
        }
        var useQP = qp
        var outcome = job.attempt(qp: useQP, maxError: nil)
        if case .overflow = outcome {
            useQP = Swift.max(useQP, job.nncodecOverflowQP())
            while true {
                guard useQP <= range.upperBound else { throw QuantizationError.levelOverflow(qp: range.upperBound) }
                outcome = job.attempt(qp: useQP, maxError: nil)
                if case .overflow = outcome { useQP += 1 } else { break }
            }
        }
        guard case .ok(let result) = outcome else {
            throw QuantizationError.internalInconsistency("no admissible levels at qp \(useQP)")
        }
        return try job.finish(result)
    }

    /// Codebook quantization as NNCodec's `approx_method = "codebook"`: uniform levels at QP
    /// qp − 2^d when DQ is requested (codebooks cannot use DQ; NNCodec compensates the step),
    /// nearest or RDOQ by lambdaScale, within the level range; the distinct levels form the
    /// codebook (`CodebookBuilder`). With `.byCost`, the uniform tensor at `qp` (with DQ if the
    /// method is `.dependent`) is returned instead when its estimated payload bits are not larger
    /// than the codebook indices' plus the codebook syntax (NNCodec compares real encodes, and adds
    /// the codebook's size in bits to the payload's in bytes; here both sides are in bits).
    public func quantizeWithCodebook(values: [Float], geometry: TensorGeometry, qp: Int, qpDensity: Int,
                                     mode: CodebookMode = .byCost) throws -> QuantizedTensor {
        guard options.maxError == nil else {
            throw QuantizationError.invalidParameter("maxError is not supported with codebooks")
        }
        _ = try validate(count: values.count, geometry: geometry, qp: qp, qpDensity: qpDensity)
        var uo = options
        uo.method = options.lambdaScale > 0 ? .rdoq : .nearest
        uo.rowSkipping = false
        uo.estimateRate = false
        let cbQP = qp - (options.method == .dependent ? 1 << qpDensity : 0)
        let base = try Quantizer(options: uo).quantize(values: values, geometry: geometry, qp: cbQP, qpDensity: qpDensity)
        let (cb, indices) = try CodebookBuilder.build(levels: base.q, geometry: geometry, rowSkipping: options.rowSkipping,
                                                      cabacUnaryLengthMinus1: options.cabacUnaryLengthMinus1)
        let flags = options.rowSkipping && geometry.hasRowSkipSyntax(profile1: true, codebookSize: cb.codebookSize)
            ? allZeroRows(indices, geometry) : nil
        let idxBits = try PayloadRateEstimate.bits(levels: indices, geometry: geometry, dependentQuantization: false,
                                                   rowSkipFlags: flags, codebook: cb,
                                                   cabacUnaryLengthMinus1: options.cabacUnaryLengthMinus1)
        var cbTensor = QuantizedTensor(q: indices, qp: base.qp, qpDensity: qpDensity, stepSize: base.stepSize,
                                       dependentQuantization: false, rowSkipFlags: flags, codebook: cb,
                                       stats: base.stats)
        let rec = cbTensor.reconstructedDouble()
        cbTensor.stats = makeStats(values: values, reconstructed: rec, levels: indices, flags: flags,
                                   bits: idxBits + Double(cb.syntaxBits))
        if mode == .always { return cbTensor }
        var o = options
        o.estimateRate = true
        let uniform = try Quantizer(options: o).quantize(values: values, geometry: geometry, qp: qp, qpDensity: qpDensity)
        let uniformBits = uniform.stats.estimatedPayloadBits ?? .infinity
        return idxBits + Double(cb.syntaxBits) < uniformBits ? cbTensor : uniform
    }

    /// Checks parameters; returns the allowed QP range.
    private func validate(count: Int, geometry: TensorGeometry, qp: Int, qpDensity: Int) throws -> ClosedRange<Int> {
        guard count == geometry.count, geometry.height >= 0, geometry.width >= 0 else {
            throw QuantizationError.countMismatch(values: count, geometry: geometry.count)
        }
        guard (0...7).contains(qpDensity) else {
            throw QuantizationError.invalidParameter("qpDensity \(qpDensity) outside 0…7")
        }
        guard options.lambdaScale.isFinite, options.lambdaScale >= 0 else {
            throw QuantizationError.invalidParameter("lambdaScale \(options.lambdaScale)")
        }
        guard (0...30).contains(options.cabacUnaryLengthMinus1) else {
            throw QuantizationError.invalidParameter("cabacUnaryLengthMinus1 \(options.cabacUnaryLengthMinus1) outside 0…30")
        }
        if let e = options.maxError, !(e.isFinite && e >= 0) {
            throw QuantizationError.invalidParameter("maxError \(e) must be finite and ≥ 0")
        }
        if let r = options.levelRange, !r.contains(0) {
            throw QuantizationError.invalidParameter("levelRange \(r) must contain 0")
        }
        let limit = 1 << (5 + qpDensity)
        let range = options.qpRange ?? (-limit...(limit - 1))
        guard range.lowerBound >= -(1 << 20), range.upperBound <= 1 << 20 else {
            throw QuantizationError.invalidParameter("qpRange \(range) too wide")
        }
        guard range.contains(qp) else {
            throw QuantizationError.invalidParameter("qp \(qp) outside the allowed range \(range)")
        }
        return range
    }
}

/// The largest value and 0 (the larger) and the smallest value and 0 (the smaller) of finite values,
/// eight lanes at a time.
func extremes(_ v: UnsafeBufferPointer<Float>) -> (largest: Float, smallest: Float) {
    var hi = SIMD8<Float>(repeating: 0), lo = SIMD8<Float>(repeating: 0)
    var i = 0
    if let base = v.baseAddress {
        let raw = UnsafeRawPointer(base)
        while i &+ 8 <= v.count {
            let x = raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
            hi.replace(with: x, where: x .> hi)
            lo.replace(with: x, where: x .< lo)
            i &+= 8
        }
    }
    var largest = hi.max(), smallest = lo.min()
    while i < v.count {
        if v[i] > largest { largest = v[i] }
        if v[i] < smallest { smallest = v[i] }
        i &+= 1
    }
    return (largest, smallest)
}

func makeStats(values: [Float], reconstructed: [Double], levels: [Int32], flags: [Bool]?, bits: Double?) -> QuantizationStats {
    values.withUnsafeBufferPointer { v in
        makeStats(values: v, levels: levels, flags: flags, bits: bits) { reconstructed[$0] }
    }
}

/// Stats of a reconstruction given per index by `rec`.
@inline(__always)
func makeStats(values: UnsafeBufferPointer<Float>, levels: [Int32], flags: [Bool]?, bits: Double?,
               rec: (Int) -> Double) -> QuantizationStats {
    var maxErr = 0.0, signal = 0.0, noise = 0.0
    var nonZero = 0
    for i in 0..<values.count {
        let w = Double(values[i])
        let d = abs(w - rec(i))
        if d > maxErr { maxErr = d }
        signal += w * w
        noise += d * d
        if levels[i] != 0 { nonZero += 1 }
    }
    return QuantizationStats(count: values.count, nonZeroCount: nonZero,
                             skippedRows: flags?.reduce(0) { $0 + ($1 ? 1 : 0) } ?? 0,
                             maxAbsError: maxErr, meanSquaredError: values.isEmpty ? 0 : noise / Double(values.count),
                             snrDB: QuantizationStats.snrFromEnergies(signal: signal, noise: noise),
                             estimatedPayloadBits: bits)
}

// MARK: - one quantization job

/// Levels of one successful attempt.
struct AttemptResult {
    var qp: Int
    var stepSize: Float
    var q: [Int32]
    var flags: [Bool]?
}

enum AttemptOutcome {
    case ok(AttemptResult)
    /// The levels do not fit (Int32 or level range) at this QP or any finer one.
    case overflow
    /// Some value has no admissible level at this QP (error bound).
    case infeasible
}

struct Job {
    let values: UnsafeBufferPointer<Float>
    let geometry: TensorGeometry
    let qpDensity: Int
    let options: QuantizerOptions
    /// Largest value (≥ 0) and smallest value (≤ 0).
    let largest: Float
    let smallest: Float

    /// Int32 safety limits of |q| for positive / negative values when no level range is given
    /// (NNCodec's overflow checks: URQ ±2^31 − 1 / −2^31, TCQ 2^31 − 3 / −(2^31 − 2)).
    var safetyLimits: (pos: Int64, neg: Int64) {
        let one: Int64 = 1
        if options.method == .dependent { return ((one << 31) - 3, (one << 31) - 2) }
        return ((one << 31) - 1, one << 31)
    }

    func attempt(qp: Int, maxError: Double?) -> AttemptOutcome {
        let step = StepSize.float32(qp: qp, qpDensity: qpDensity)
        guard step > 0, (Float(1) / step).isFinite else { return .overflow }
        guard step.isFinite else { return .infeasible }
        var maxPos: Int64, maxNeg: Int64
        let scale = Float(1) / step
        if let r = options.levelRange {
            maxPos = Int64(Swift.max(0, r.upperBound))
            maxNeg = Int64(Swift.max(0, -Int64(r.lowerBound)))
            if let e = maxError {
                // Values beyond the outermost level by more than E fail here and at every finer QP.
                if Double(largest) - Double(step * Float(maxPos)) > e { return .overflow }
                if -Double(smallest) - Double(step * Float(maxNeg)) > e { return .overflow }
            }
        } else {
            (maxPos, maxNeg) = safetyLimits
            let top = Double((scale * largest).rounded(.toNearestOrAwayFromZero))
            let bottom = Double((scale * smallest).rounded(.toNearestOrAwayFromZero))
            if top > Double(maxPos) || -bottom > Double(maxNeg) { return .overflow }
        }
        let rowSkip = options.rowSkipping && geometry.hasRowSkipSyntax(profile1: true, codebookSize: 0)
        let rateAware = options.method == .dependent || (options.method == .rdoq && options.lambdaScale > 0)
        var forced: [Bool]?
        if rowSkip && rateAware {
            var rows = [Bool](repeating: true, count: geometry.height)
            for r in 0..<geometry.height {
                let base = r * geometry.width
                let bound = maxError ?? .infinity
                for c in 0..<geometry.width {
                    let w = values[base + c]
                    let rounded: Float = (scale * w).rounded(.toNearestOrAwayFromZero)
                    if rounded != 0 || Double(abs(w)) > bound {
                        rows[r] = false
                        break
                    }
                }
            }
            forced = rows
        }
        var req = CoreRequest(stepSize: step, maxPositive: maxPos, maxNegative: maxNeg, maxError: maxError,
                              lambdaScale: options.lambdaScale, gtCount: options.cabacUnaryLengthMinus1 + 1,
                              segments: geometry.scanSegments(splitRows: rowSkip), skipRows: forced,
                              width: geometry.width, largestMagnitude: Swift.max(largest, -smallest))
        // The dependent quantizer writes every level (skipped segments as zeros): no zero fill, and
        // the fresh memory of a large tensor on huge pages.
        var q = options.method == .dependent
            ? HugePages.array(of: Int32.self, count: values.count) { _ in }
            : [Int32](repeating: 0, count: values.count)
        // A skipped segment advances the DQ state w times (spec 4.3), which equals coding its zeros
        // only when the segment is the whole row (scan_order 0, or a single block column).
        let segmentIsRow = geometry.scanOrder == 0 || geometry.width <= geometry.blockSize
        var flags: [Bool]?
        while true {
            let outcome: CoreOutcome = q.withUnsafeMutableBufferPointer { out in
                switch options.method {
                case .nearest: return quantizeNearest(values, req, into: out)
                case .rdoq:
                    return options.lambdaScale > 0 ? quantizeRDOQ(values, req, into: out) : quantizeNearest(values, req, into: out)
                case .dependent: return quantizeDependent(values, req, into: out)
                }
            }
            guard outcome == .ok else { return .infeasible }
            guard rowSkip else { break }
            // The flags are exactly the all-zero rows (what NNCodec's and our payload encoders
            // derive from the levels). With DQ and several block columns, a row the trellis left
            // all zero without having planned its skip is added to the planned rows and the
            // trellis rerun; the planned set only grows, so this ends (normally after one rerun).
            let zero = allZeroRows(q, geometry)
            if options.method == .dependent && !segmentIsRow,
               let planned = req.skipRows, zero != planned {
                req.skipRows = zip(planned, zero).map { $0 || $1 }
                continue
            }
            flags = zero
            break
        }
        if let e = maxError {
            for i in 0..<values.count {
                let m = q[i] < 0 ? -Int64(q[i]) : Int64(q[i])
                if reconstructionError(absw: abs(Double(values[i])), magnitude: m, step: step) > e { return .infeasible }
            }
        }
        return .ok(AttemptResult(qp: qp, stepSize: step, q: q, flags: flags))
    }

    /// NNCodec's QP after an overflow (`quantLayer`): the fractional QP of the step
    /// max|w| / (2^31 − 3), evaluated in float32 as there, rounded up.
    func nncodecOverflowQP() -> Int {
        let maxAbs = Swift.max(Double(largest), -Double(smallest))
        let k = Double(1 << qpDensity)
        let minStep = maxAbs / Double((1 << 31) - 3)
        guard minStep > 0 else { return Int.min }
        let baseQP = Float(floor(log2(minStep)) * k)
        let newQP = Float(Double(baseQP) + ((minStep * k) / pow(2.0, Double(baseQP) / k) - k))
        return Int(ceil(newQP))
    }

    /// Coarsest QP ≤ `ceiling` whose reconstruction stays within `maxError` of every value.
    func searchErrorBounded(maxError: Float, ceiling: Int, range: ClosedRange<Int>) throws -> QuantizedTensor {
        let e = Double(maxError)
        func delta(_ qp: Int) -> Double { StepSize.delta(qp: qp, qpDensity: qpDensity) }
        // Uniform nearest errs by at most Δ/2 (+ float rounding), DQ by at most Δ: start where
        // Δ ≤ 2E, and take Δ ≤ E/2 as the (almost always) feasible finer end.
        var hi = Swift.min(ceiling, range.upperBound)
        while hi > range.lowerBound && delta(hi) > 2 * e { hi -= 1 }
        var lo = hi
        while lo > range.lowerBound && delta(lo) > e / 2 { lo -= 1 }
        var best: AttemptResult?
        var finest = hi
        switch attempt(qp: hi, maxError: e) {
        case .ok(let r): return try finish(r)
        case .overflow: throw QuantizationError.errorBoundUnachievable(maxError: maxError, finestQP: hi)
        case .infeasible: break
        }
        if lo < hi {
            finest = lo
            switch attempt(qp: lo, maxError: e) {
            case .ok(let r): best = r
            case .overflow: throw QuantizationError.errorBoundUnachievable(maxError: maxError, finestQP: lo)
            case .infeasible: break
            }
        }
        if var okQP = best?.qp {
            var failQP = hi
            while failQP - okQP > 1 {
                let mid = okQP + (failQP - okQP) / 2
                if case .ok(let r) = attempt(qp: mid, maxError: e) {
                    best = r
                    okQP = mid
                } else {
                    failQP = mid
                }
            }
        } else {
            var qp = lo - 1
            while qp >= range.lowerBound {
                finest = qp
                let a = attempt(qp: qp, maxError: e)
                if case .ok(let r) = a { best = r; break }
                if case .overflow = a { break }
                qp -= 1
            }
        }
        guard let r = best else {
            throw QuantizationError.errorBoundUnachievable(maxError: maxError, finestQP: finest)
        }
        return try finish(r)
    }

    func finish(_ r: AttemptResult) throws -> QuantizedTensor {
        let dq = options.method == .dependent
        if dq, options.verifiesDependentPath, !DependentQuantizationPath.isRepresentable(q: r.q, geometry: geometry, rowSkipFlags: r.flags) {
            throw QuantizationError.internalInconsistency("DQ levels do not follow the decoder's state machine")
        }
        var bits: Double?
        if options.estimateRate {
            bits = try PayloadRateEstimate.bits(levels: r.q, geometry: geometry, dependentQuantization: dq,
                                                rowSkipFlags: r.flags,
                                                cabacUnaryLengthMinus1: options.cabacUnaryLengthMinus1)
        }
        return QuantizedTensor(q: r.q, qp: r.qp, qpDensity: qpDensity, stepSize: r.stepSize,
                               dependentQuantization: dq, rowSkipFlags: r.flags, codebook: nil,
                               stats: r.q.withUnsafeBufferPointer { q in
                                   makeStats(values: values, levels: r.q, flags: r.flags, bits: bits) {
                                       Double(r.stepSize * Float(q[$0]))
                                   }
                               })
    }
}
