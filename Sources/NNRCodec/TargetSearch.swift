import Foundation
import NNRModelIO

/// What a target-driven encode aims at (whole model: every float tensor together).
public enum EncodeTarget: Sendable, Equatable, CustomStringConvertible {
    /// At least this SNR in dB, 10·log10(Σw² / Σ(w − ŵ)²) over all float tensors, with the fewest bytes.
    case snr(Double)
    /// At most this many bytes (the whole file), with the best SNR.
    case bytes(Int)
    /// At most this many bits per parameter (file bits / all tensor elements), with the best SNR.
    case bitsPerParameter(Double)

    var snrValue: Double? { if case let .snr(d) = self { return d } else { return nil } }

    public var description: String {
        switch self {
        case let .snr(d): return String(format: "SNR ≥ %.2f dB", d)
        case let .bytes(b): return "size ≤ \(b) bytes"
        case let .bitsPerParameter(b): return String(format: "≤ %.4f bits/parameter", b)
        }
    }
}

/// A target that no setting reaches; `bestReachable` says how close the encoder can get.
public struct TargetUnreachableError: Error, CustomStringConvertible, Sendable {
    public var target: EncodeTarget
    public var bestReachable: String
    public var description: String { "target \(target) is unreachable: the best reachable is \(bestReachable)" }
}

/// The outcome of `NNREncoder.encode(_:target:)`.
public struct TargetSearchResult: Sendable {
    public var encoded: EncodedBitstream
    public var target: EncodeTarget
    /// Whole-model SNR of the written file (from the coded tensors' squared errors).
    public var snrDB: Double
    public var bytes: Int { encoded.bytes.count }
    /// All tensor elements (the bits-per-parameter denominator).
    public var parameterCount: Int
    public var bitsPerParameter: Double { parameterCount > 0 ? Double(bytes * 8) / Double(parameterCount) : 0 }
    /// QP chosen for each float tensor.
    public var qpForTensor: [String: Int]
    /// The RD slope (Δdistortion / Δbit, in units of the model's signal energy) the tensors share.
    public var lambda: Double
    /// Tensor codings the search ran (a plain encode is one per tensor).
    public var tensorCodings: Int
    /// Search rounds (each codes only the (tensor, QP) pairs not coded before).
    public var rounds: Int
}

/// Per-tensor QP choice at equal rate-distortion slope, on the real coder.
///
/// Every float tensor is coded at a few QPs (each (tensor, QP) once, cached across rounds); rate
/// and log-distortion are interpolated linearly in QP between the coded points (extrapolated one
/// octave beyond them); for a slope λ each tensor takes the QP minimising D + λ·R, and λ is
/// bisected until the modelled totals meet the target. The chosen QPs are then coded for real, the
/// real totals checked, and the model refined with the new points until the real file meets the
/// target (closely). The file written is always one whose real, coded totals meet the target.
struct TargetSearch {
    let encoder: NNREncoder
    let tensors: [Tensor]
    let target: EncodeTarget
    let progress: ((String) -> Void)?

    struct Coded {
        var unit: [UInt8]
        var report: EncodedTensorReport
    }

    /// One tensor coded (or modelled) at one QP: its bits and squared error.
    typealias Point = (qp: Int, bits: Double, sse: Double)
    /// One QP per float tensor with the modelled totals.
    typealias Choice = (qps: [Int], bits: Double, sse: Double)

    /// A choice of QPs with its real, coded totals.
    struct Evaluated { var qps: [Int]; var bytes: Int; var sse: Double; var lambda: Double }

    /// Extra rounds after the first real evaluation.
    let maxRounds = 10

    func run() throws -> TargetSearchResult {
        var state = try State(self)
        let q0 = state.firstProbeQP()
        try state.firstProbe(q0)
        let p0 = state.evaluate(state.floatIdx.map { _ in q0 }, lambda: 0)
        try state.secondProbe(q0: q0, p0: p0)
        let (chosen, rounds) = try state.searchRounds(from: p0)
        return try state.assemble(chosen, rounds: rounds)
    }

    /// What the steps of one search share: the target in bytes or noise, the model's signal, and
    /// every (tensor, QP) coded so far.
    struct State {
        let search: TargetSearch
        let octave: Int
        let qpRange: ClosedRange<Int>
        /// Indices of the float tensors (the ones the search chooses a QP for).
        let floatIdx: [Int]
        /// Σw² of each tensor (0 for integer tensors).
        let energy: [Double]
        let signal: Double
        let parameterCount: Int
        let floatCount: Int
        /// The byte budget of a size target; nil for an SNR target.
        let targetBytes: Int?
        /// The squared-error budget of an SNR target; infinite for a size target.
        let noiseBudget: Double
        /// The end of the QP range on the side the target needs.
        var bound: Int { targetBytes != nil ? qpRange.upperBound : qpRange.lowerBound }

        var header: [UInt8] = []
        /// Integer tensors, coded once by the first probe.
        var fixedUnits: [Int: Coded] = [:]
        var fixedBytes = 0
        /// cache[tensor][QP]: every float tensor coding so far.
        var cache: [[Int: Coded]]
        var codings = 0

        /// Checks the options and the target, and measures the model.
        init(_ search: TargetSearch) throws {
            self.search = search
            let o = search.encoder.options
            let tensors = search.tensors
            guard o.maxError == nil else {
                throw EncoderError(tensor: "-", message: "a target and --max-error cannot be combined")
            }
            guard o.qpForTensor.isEmpty else {
                throw EncoderError(tensor: "-", message: "a target chooses every tensor's QP: it cannot be combined with per-tensor QPs (--qp-for)")
            }
            let density = o.qpDensity
            octave = 1 << density
            let limit = 1 << (5 + density)
            qpRange = -limit...(limit - 1)
            floatIdx = tensors.indices.filter { tensors[$0].dtype.isFloatingPoint }
            guard !floatIdx.isEmpty else { throw EncoderError(tensor: "-", message: "a target needs at least one float tensor") }
            energy = tensors.map { t in
                t.dtype.isFloatingPoint ? t.floatValues().reduce(0.0) { $0 + Double($1) * Double($1) } : 0
            }
            let signal = energy.reduce(0, +)
            self.signal = signal
            let parameterCount = tensors.reduce(0) { $0 + max(1, $1.shape.reduce(1, *)) }
            self.parameterCount = parameterCount
            switch search.target {
            case let .snr(d):
                guard d.isFinite else { throw EncoderError(tensor: "-", message: "SNR target \(d) is not a number") }
                guard signal > 0 else { throw EncoderError(tensor: "-", message: "the model's float tensors are all zero: SNR is undefined") }
                targetBytes = nil
                noiseBudget = signal / pow(10, d / 10)
            case let .bytes(b):
                targetBytes = b
                noiseBudget = .infinity
            case let .bitsPerParameter(b):
                guard b.isFinite, b > 0 else { throw EncoderError(tensor: "-", message: "bits per parameter \(b) must be positive") }
                targetBytes = Int((b * Double(parameterCount) / 8).rounded(.down))
                noiseBudget = .infinity
            }
            floatCount = floatIdx.reduce(0) { $0 + max(1, tensors[$1].shape.reduce(1, *)) }
            cache = Array(repeating: [:], count: tensors.count)
        }

        /// The first probe's QP, the same for every float tensor. For an SNR target the step whose
        /// noise meets the budget (Δ²/12 per value for uniform quantization, about Δ²/4 measured
        /// with DQ, whose two quantizers step 2Δ); for a size target the finest QP whose estimated
        /// size fits.
        func firstProbeQP() -> Int {
            let o = search.encoder.options
            let tensors = search.tensors
            var q0 = o.qp
            if case .snr = search.target {
                let step = ((o.dependentQuantization ? 4 : 12) * noiseBudget / Double(floatCount)).squareRoot()
                if step > 0 && step.isFinite { q0 = Int(max(-1e6, min(1e6, Double(octave) * log2(step))).rounded()) }
            } else if let tb = targetBytes {
                // The finest QP whose estimated size fits: log2(rms/Δ) + 1.1 bits per value (measured
                // on MiniLM-L6 with DQ at QP −25…−40), all tensors at one QP.
                let rms = floatIdx.map { (energy[$0] / Double(max(1, tensors[$0].shape.reduce(1, *)))).squareRoot() }
                let counts = floatIdx.map { Double(max(1, tensors[$0].shape.reduce(1, *))) }
                let octave = self.octave
                func estimate(_ qp: Int) -> Double {
                    let log2Step = Double(qp) / Double(octave)
                    return zip(rms, counts).reduce(0.0) { acc, e in e.0 > 0 ? acc + e.1 * max(0, log2(e.0) - log2Step + 1.1) : acc }
                }
                let goal = Double(tb * 8)
                q0 = qpRange.upperBound
                for qp in qpRange where estimate(qp) <= goal { q0 = qp; break }
            }
            return min(max(q0, qpRange.lowerBound), qpRange.upperBound)
        }

        /// Header bytes and the fixed units (integer tensors) from one plain encode at q0.
        mutating func firstProbe(_ q0: Int) throws {
            let tensors = search.tensors
            var first = search.encoder
            first.options.qpForTensor = Dictionary(uniqueKeysWithValues: floatIdx.map { (tensors[$0].name, q0) })
            search.progress?("probe: QP \(q0) for every float tensor")
            let plain = try first.encode(tensors)
            var offset = plain.bytes.count - plain.tensors.reduce(0) { $0 + $1.bytes }
            header = Array(plain.bytes[0..<offset])
            for (i, r) in plain.tensors.enumerated() {
                let c = Coded(unit: Array(plain.bytes[offset..<(offset + r.bytes)]), report: r)
                offset += r.bytes
                if tensors[i].dtype.isFloatingPoint { cache[i][q0] = c } else { fixedUnits[i] = c }
            }
            codings = tensors.count
            fixedBytes = header.count + fixedUnits.values.reduce(0) { $0 + $1.unit.count }
        }

        /// Second probe where the first one's miss says the target lies (about 6 dB and 1 bit per
        /// value per octave of step size), at least one QP away and at most two octaves.
        mutating func secondProbe(q0: Int, p0: Evaluated) throws {
            let octavesAway: Double = {
                if let tb = targetBytes { return Double(p0.bytes - tb) * 8 / Double(floatCount) }
                return (10 * log10(signal / max(p0.sse, 1e-300)) - (search.target.snrValue ?? 0)) / 6.02
            }()
            let move = max(-2 * octave, min(2 * octave, Int((octavesAway * Double(octave) * 1.25).rounded(.awayFromZero))))
            let q1 = min(max(q0 + (move == 0 ? 1 : move), qpRange.lowerBound), qpRange.upperBound)
            if q1 != q0 { try code(floatIdx.map { ($0, q1) }) }
        }

        /// Codes each (tensor, QP) pair of `jobs` (concurrently when allowed) into the cache.
        mutating func code(_ jobs: [(Int, Int)]) throws {
            guard !jobs.isEmpty else { return }
            search.progress?("coding \(jobs.count) tensor/QP pairs")
            for (j, r) in coded(jobs).enumerated() {
                guard let r else { throw EncoderError(tensor: "-", message: "internal: tensor not coded") }
                cache[jobs[j].0][jobs[j].1] = try r.get()
            }
            codings += jobs.count
        }

        private func coded(_ jobs: [(Int, Int)]) -> [Result<Coded, Error>?] {
            var out = [Result<Coded, Error>?](repeating: nil, count: jobs.count)
            let lock = NSLock()
            let one: (Int) -> Void = { j in
                let (i, qp) = jobs[j]
                var e = search.encoder
                e.options.qpForTensor = [search.tensors[i].name: qp]
                let r = Result { () throws -> Coded in
                    let t = try e.encodeTensor(search.tensors[i], parameterId: i)
                    return Coded(unit: t.unit, report: t.report)
                }
                lock.lock(); out[j] = r; lock.unlock()
            }
            if search.encoder.options.concurrent && jobs.count > 1 && ProcessInfo.processInfo.activeProcessorCount > 1 {
                DispatchQueue.concurrentPerform(iterations: jobs.count, execute: one)
            } else {
                for j in jobs.indices { one(j) }
            }
            return out
        }

        /// The model of one tensor: (QP, bits, squared error) at every integer QP from one octave
        /// below its finest coded QP to one octave above its coarsest, within the QP range.
        func model(_ i: Int) -> [Point] {
            let pts = cache[i].sorted { $0.key < $1.key }.map { q, c -> (Int, Double, Double) in
                (q, Double(c.report.bytes * 8), max(c.report.squaredErrorSum, 1e-300))
            }
            guard pts.count > 1 else { return pts.map { (qp: $0.0, bits: $0.1, sse: $0.2) } }
            let lo = max(qpRange.lowerBound, pts[0].0 - octave), hi = min(qpRange.upperBound, pts[pts.count - 1].0 + octave)
            var out: [Point] = []
            var k = 0
            for q in lo...hi {
                while k + 2 < pts.count && q > pts[k + 1].0 { k += 1 }
                let a = pts[k], b = pts[k + 1]
                if q == a.0 { out.append((q, a.1, a.2)); continue }
                if q == b.0 { out.append((q, b.1, b.2)); continue }
                let t = Double(q - a.0) / Double(b.0 - a.0)
                let bits = max(0, a.1 + t * (b.1 - a.1))
                let sse = exp(log(a.2) + t * (log(b.2) - log(a.2)))
                out.append((q, bits, sse))
            }
            return out
        }

        /// Per-tensor choice at slope λ (distortion in units of the signal energy per bit).
        func choose(_ models: [[Point]], lambda: Double) -> Choice {
            var qps = [Int](), bits = 0.0, sse = 0.0
            for m in models {
                var best = m[0], bestCost = Double.infinity
                for p in m {
                    let c = p.sse / max(signal, 1e-300) + lambda * p.bits
                    if c < bestCost { bestCost = c; best = p }
                }
                qps.append(best.qp); bits += best.bits; sse += best.sse
            }
            return (qps, bits, sse)
        }

        /// The Lagrangian choice only reaches the convex hull's corners (one QP step of a big tensor
        /// moves the totals by several tenths of a dB): fill the gap to the goal greedily, one QP
        /// step of one tensor at a time, the step with the best rate/distortion exchange first.
        func fill(_ models: [[Point]], _ c: Choice, goalBits: Double?, goalSSE: Double) -> [Int] {
            var pos = models.indices.map { k in models[k].firstIndex { $0.qp == c.qps[k] } ?? 0 }
            var bits = c.bits, sse = c.sse
            let coarser = goalBits == nil  // SNR target: spend the spare noise; size target: spend the spare bits
            while true {
                var bestK = -1, bestScore = -Double.infinity
                for k in models.indices {
                    let j = pos[k] + (coarser ? 1 : -1)
                    guard models[k].indices.contains(j) else { continue }
                    let dBits = models[k][j].bits - models[k][pos[k]].bits
                    let dSSE = models[k][j].sse - models[k][pos[k]].sse
                    if coarser {
                        guard sse + dSSE <= goalSSE, dBits < 0 else { continue }
                        let score = -dBits / max(dSSE, 1e-300)
                        if score > bestScore { bestScore = score; bestK = k }
                    } else {
                        guard let g = goalBits, bits + dBits <= g, dSSE < 0 else { continue }
                        let score = -dSSE / max(dBits, 1e-300)
                        if score > bestScore { bestScore = score; bestK = k }
                    }
                }
                guard bestK >= 0 else { break }
                let j = pos[bestK] + (coarser ? 1 : -1)
                bits += models[bestK][j].bits - models[bestK][pos[bestK]].bits
                sse += models[bestK][j].sse - models[bestK][pos[bestK]].sse
                pos[bestK] = j
            }
            return models.indices.map { models[$0][pos[$0]].qp }
        }

        /// Every QP evaluated has been coded (missing ones count as infinitely bad: never chosen).
        func evaluate(_ qps: [Int], lambda: Double) -> Evaluated {
            var bytes = fixedBytes, sse = 0.0
            for (k, i) in floatIdx.enumerated() {
                guard let r = cache[i][qps[k]]?.report else { return Evaluated(qps: qps, bytes: .max, sse: .infinity, lambda: lambda) }
                bytes += r.bytes; sse += r.squaredErrorSum
            }
            return Evaluated(qps: qps, bytes: bytes, sse: sse, lambda: lambda)
        }

        func meets(_ e: Evaluated) -> Bool {
            if let tb = targetBytes { return e.bytes <= tb }
            return e.sse <= noiseBudget
        }

        func better(_ a: Evaluated, than b: Evaluated?) -> Bool {
            guard let b else { return true }
            if targetBytes != nil { return a.sse < b.sse || (a.sse == b.sse && a.bytes < b.bytes) }
            return a.bytes < b.bytes || (a.bytes == b.bytes && a.sse < b.sse)
        }

        /// Close enough to stop: within 0.5% of a size target, within 0.02 dB of an SNR target.
        func closeEnough(_ e: Evaluated) -> Bool {
            if let tb = targetBytes { return Double(e.bytes) >= 0.995 * Double(tb) }
            return 10 * log10(e.sse / noiseBudget) > -0.02
        }

        /// The model's QPs for one round, aiming `slack` tighter than the target: λ bisected on
        /// log λ until the modelled totals meet the goal, then the gap filled greedily.
        func modelChoice(slack: Double) -> (qps: [Int], lambda: Double) {
            let models = floatIdx.map { model($0) }
            let goalBits: Double? = targetBytes.map { Double(($0 - fixedBytes) * 8) * (1 - slack) }
            let goalSSE = noiseBudget * pow(10, -slack / 10)
            func ok(_ c: Choice) -> Bool {
                if let g = goalBits { return c.bits <= g }
                return c.sse <= goalSSE
            }
            // ok() holds for small λ (SNR) or large λ (size): bisect on log λ.
            var lo = -40.0, hi = 40.0
            let okAtLow = targetBytes == nil
            for _ in 0..<90 {
                let mid = (lo + hi) / 2
                if ok(choose(models, lambda: pow(10, mid))) == okAtLow { lo = mid } else { hi = mid }
            }
            let lam = pow(10, okAtLow ? lo : hi)
            var pick = fill(models, choose(models, lambda: lam), goalBits: goalBits, goalSSE: goalSSE)
            // Not even the model's edge meets the goal: code every tensor at the end of the QP range.
            if !ok(choose(models, lambda: lam)) && floatIdx.contains(where: { cache[$0][bound] == nil }) {
                pick = floatIdx.map { _ in bound }
            }
            return (pick, lam)
        }

        /// Rounds of model choice, real coding and evaluation until the real file meets the
        /// target closely (or the rounds run out): the best file that met it, and the rounds run.
        mutating func searchRounds(from p0: Evaluated) throws -> (chosen: Evaluated, rounds: Int) {
            var best: Evaluated? = meets(p0) ? p0 : nil
            // How much tighter (positive) or looser than the target the model aims, learnt from the
            // real results: in dB for an SNR target, as a fraction of the bits for a size target.
            var slack = targetBytes != nil ? 0.002 : 0.01
            var rounds = 0
            var seen = Set<[Int]>()
            while rounds <= search.maxRounds {
                rounds += 1
                let (pick, lam) = modelChoice(slack: slack)
                var jobs: [(Int, Int)] = []
                for (k, i) in floatIdx.enumerated() where cache[i][pick[k]] == nil { jobs.append((i, pick[k])) }
                try code(jobs)
                let e = evaluate(pick, lambda: lam)
                let repeated = !seen.insert(pick).inserted
                let snr = 10 * log10(signal / max(e.sse, 1e-300))
                search.progress?(String(format: "round %ld: %ld bytes, SNR %.3f dB", rounds, e.bytes, snr))
                if meets(e) {
                    if better(e, than: best) { best = e }
                    if closeEnough(e) || (repeated && jobs.isEmpty) { break }
                    // Met with room to spare: aim a little closer.
                    if let tb = targetBytes {
                        slack -= (1 - Double(e.bytes) / Double(tb)) / 2
                    } else {
                        slack -= min(0.05, 10 * log10(noiseBudget / e.sse) / 4)
                    }
                } else {
                    if pick.allSatisfy({ $0 == bound }) {
                        // Every tensor at the end of the QP range on the side the target needs.
                        if best == nil { throw unreachable(e, snr: snr) }
                        break
                    }
                    if let tb = targetBytes {
                        slack += Double(e.bytes) / Double(tb) - 1 + 0.001
                    } else {
                        slack += 10 * log10(e.sse / noiseBudget) + 0.01
                    }
                }
            }
            guard let chosen = best else {
                throw EncoderError(tensor: "-", message: "target search did not meet \(search.target) in \(search.maxRounds) rounds")
            }
            return (chosen, rounds)
        }

        private func unreachable(_ e: Evaluated, snr: Double) -> TargetUnreachableError {
            let reached = targetBytes != nil
                ? "\(e.bytes) bytes (\(String(format: "%.4f", Double(e.bytes) * 8 / Double(parameterCount))) bits/parameter)"
                : String(format: "SNR %.2f dB", snr)
            return TargetUnreachableError(target: search.target, bestReachable: reached)
        }

        /// The file of the chosen QPs: header, then every tensor's unit in model order.
        func assemble(_ chosen: Evaluated, rounds: Int) throws -> TargetSearchResult {
            let tensors = search.tensors
            var bytes = header
            var reports: [EncodedTensorReport] = []
            var qpFor: [String: Int] = [:]
            var k = 0
            for i in tensors.indices {
                let found: Coded?
                if tensors[i].dtype.isFloatingPoint {
                    found = cache[i][chosen.qps[k]]
                    qpFor[tensors[i].name] = chosen.qps[k]
                    k += 1
                } else {
                    found = fixedUnits[i]
                }
                guard let c = found else { throw EncoderError(tensor: tensors[i].name, message: "internal: tensor not coded") }
                bytes += c.unit
                reports.append(c.report)
            }
            return TargetSearchResult(encoded: EncodedBitstream(bytes: bytes, tensors: reports), target: search.target,
                                      snrDB: chosen.sse > 0 ? 10 * log10(signal / chosen.sse) : .infinity,
                                      parameterCount: parameterCount, qpForTensor: qpFor, lambda: chosen.lambda,
                                      tensorCodings: codings, rounds: rounds)
        }
    }
}

extension NNREncoder {
    /// Encodes with the settings that meet `target`, found by search on the real coder (see
    /// `TargetSearch`): per-tensor QPs at equal rate-distortion slope, at `options.qpDensity`, with
    /// every other option as set. Throws `TargetUnreachableError` when no QP choice meets it.
    public func encode(_ tensors: [Tensor], target: EncodeTarget, progress: ((String) -> Void)? = nil) throws -> TargetSearchResult {
        try TargetSearch(encoder: self, tensors: tensors, target: target, progress: progress).run()
    }
}
