import NNRSyntax
import NNRCoding
import NNRModelIO

/// What one NDU of `NNREncoder` carries: one tensor, or a block.
enum EncoderUnit: Sendable {
    case tensor(Int)
    case block(BlockGroup)

    /// Index of the tensor the unit is reported by (the weight of a block).
    var first: Int {
        switch self {
        case .tensor(let i): return i
        case .block(let b): return b.weight
        }
    }
}

/// A weight with its satellites (indices into the model's tensors).
struct BlockGroup: Sendable, Equatable {
    var weight: Int
    var bias: Int?
    /// beta ("Y.bias"), gamma ("Y.weight"), running mean, running variance.
    var batchNorm: [Int]?

    var compressedParameterTypes: Int {
        (bias != nil ? NNRCompressedParameterType.bi : 0) | (batchNorm != nil ? NNRCompressedParameterType.bn : 0)
    }
}

/// topology_elem_id_list and compressed_parameter_types of an NNR_PT_BLOCK header.
struct BlockHeader: Sendable {
    var topologyElemIdList: [String]
    var compressedParameterTypes: Int
}

/// Groups a PyTorch-style state dict into NNR_PT_BLOCK units, as NNCodec does for a module:
/// a weight "P.weight" (more than one dimension, floating point, dims[0] = rows) takes
/// - the bias "P.bias" (floating point, `rows` values);
/// - the batch-norm layer that comes next: the first module Q after P (in order of first appearance
///   of the module names) that is not a weight-bearing layer itself, when Q has "Q.weight",
///   "Q.bias", "Q.running_mean" and "Q.running_var", each floating point with `rows` values.
/// A weight without either stays a tensor of its own, as does everything else.
enum BlockGrouping {
    static func units(_ tensors: [Tensor]) throws -> [EncoderUnit] {
        var index: [String: Int] = [:]
        for (i, t) in tensors.enumerated() { index[t.name] = i }
        func module(_ name: String) -> (String, String)? {
            guard let dot = name.lastIndex(of: ".") else { return nil }
            return (String(name[..<dot]), String(name[name.index(after: dot)...]))
        }
        func satellite(_ name: String, rows: Int) -> Int? {
            guard let i = index[name], tensors[i].dtype.isFloatingPoint, tensors[i].shape.count == 1, tensors[i].shape[0] == rows else { return nil }
            return i
        }
        // Modules in order of first appearance.
        var modules: [String] = []
        var seen = Set<String>()
        for t in tensors {
            if let (m, _) = module(t.name), seen.insert(m).inserted { modules.append(m) }
        }
        var consumed = Set<Int>()
        var groups: [Int: BlockGroup] = [:]
        for (mi, m) in modules.enumerated() {
            guard let w = index[m + ".weight"], !consumed.contains(w), tensors[w].dtype.isFloatingPoint,
                  tensors[w].shape.count > 1, let rows = tensors[w].shape.first, rows >= 1 else { continue }
            var g = BlockGroup(weight: w)
            if let b = satellite(m + ".bias", rows: rows), !consumed.contains(b) { g.bias = b }
            if mi + 1 < modules.count {
                let q = modules[mi + 1]
                let names = [q + ".bias", q + ".weight", q + ".running_mean", q + ".running_var"]
                let bn = names.compactMap { satellite($0, rows: rows) }
                if bn.count == 4 && bn.allSatisfy({ !consumed.contains($0) }) { g.batchNorm = bn }
            }
            guard g.bias != nil || g.batchNorm != nil else { continue }
            consumed.insert(w)
            if let b = g.bias { consumed.insert(b) }
            g.batchNorm?.forEach { consumed.insert($0) }
            groups[w] = g
        }
        var out: [EncoderUnit] = []
        for i in tensors.indices {
            if let g = groups[i] { out.append(.block(g)) } else if !consumed.contains(i) { out.append(.tensor(i)) }
        }
        return out
    }
}

extension NNREncoder {
    /// One NNR_PT_BLOCK NDU: the satellites at the non-weight QP, the weight at its QP, all with the
    /// weight's dependent-quantization setting; uniform quantization only.
    func encodeBlock(_ g: BlockGroup, tensors: [Tensor]) throws -> [TensorResult] {
        let weight = try quantizeTensor(tensors[g.weight])
        if weight.codebook != nil {
            throw EncoderError(tensor: weight.name, message: "codebooks are not available in NNR_PT_BLOCK units")
        }
        let bn = try (g.batchNorm ?? []).map { try quantizeTensor(tensors[$0]) }
        let bias = try g.bias.map { try quantizeTensor(tensors[$0]) }
        for s in bn + (bias.map { [$0] } ?? []) where s.dependentQuantization != weight.dependentQuantization {
            throw EncoderError(tensor: s.name, message: "dependent quantization differs from its block's weight \(weight.name)")
        }
        let cpt = g.compressedParameterTypes
        // Header order: weight, BN × 4, bias; payload order from BlockLayout (bias, BN, weight).
        let header = BlockHeader(topologyElemIdList: [weight.name] + bn.map(\.name) + (bias.map { [$0.name] } ?? []),
                                 compressedParameterTypes: cpt)
        let layout = try BlockLayout.tensors(compressedParameterTypes: cpt, dims: weight.dims, decompositionRank: nil, gNumberOfRows: nil)
        let byTopologyIndex = [weight] + bn + (bias.map { [$0] } ?? [])
        let parts = layout.map { byTopologyIndex[$0.topologyIndex] }
        return try writeUnit(parts, block: header, node: NDUNode(parameterId: g.weight))
    }
}
