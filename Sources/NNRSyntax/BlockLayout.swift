import NNRBitIO

/// One tensor of an NNR_PT_BLOCK payload.
public struct BlockTensor: Sendable, Equatable {
    public enum Role: String, Sendable, Equatable {
        case localScaling = "ls"
        case bias = "bi"
        case batchNormBeta = "bn_beta"
        case batchNormGamma = "bn_gamma"
        case batchNormMean = "bn_mean"
        case batchNormVariance = "bn_var"
        case weight = "weight"
        case decompositionG = "dc_g"
        case decompositionH = "dc_h"
    }

    public var role: Role
    /// The tensor's shape as coded.
    public var dims: [Int]
    /// Index of the tensor's name in topology_elem_id_list (header order).
    public var topologyIndex: Int
    /// Which codebook() of the header applies: 0 the first (weight or G), 1 the second (H);
    /// nil for satellites, which are always uniform.
    public var codebookIndex: Int?

    public init(role: Role, dims: [Int], topologyIndex: Int, codebookIndex: Int?) {
        self.role = role
        self.dims = dims
        self.topologyIndex = topologyIndex
        self.codebookIndex = codebookIndex
    }
}

/// The tensors of an NNR_PT_BLOCK payload (spec 3.6), from compressed_parameter_types
/// (`NNRCompressedParameterType` bits).
public enum BlockLayout {
    static let decomposition = NNRCompressedParameterType.dc
    static let localScaling = NNRCompressedParameterType.ls
    static let batchNorm = NNRCompressedParameterType.bn
    static let bias = NNRCompressedParameterType.bi

    /// Number of entries topology_elem_id_list must have: (DC ? 2 : 1) + [LS] + [BI] + 4·[BN].
    public static func topologyElementCount(compressedParameterTypes cpt: Int) -> Int {
        (cpt & decomposition != 0 ? 2 : 1) + (cpt & localScaling != 0 ? 1 : 0)
            + (cpt & bias != 0 ? 1 : 0) + (cpt & batchNorm != 0 ? 4 : 0)
    }

    /// The tensors in PAYLOAD order: LS, BI, BN beta, gamma, mean, var, then the weight (or G, H),
    /// with their shapes and their index in topology_elem_id_list (whose order is weight (or G, H),
    /// LS, BN × 4, BI).
    public static func tensors(compressedParameterTypes cpt: Int, dims: [Int], decompositionRank: Int?,
                               gNumberOfRows: Int?) throws -> [BlockTensor] {
        guard (0...15).contains(cpt) else {
            throw NNRError(.invalidValue("compressed_parameter_types \(cpt)"), element: "compressed_parameter_types", byteOffset: 0)
        }
        guard let rows = dims.first, rows >= 1, dims.allSatisfy({ $0 >= 1 }) else {
            throw NNRError(.invalidValue("tensor dimensions \(dims)"), element: "tensor_dimensions", byteOffset: 0)
        }
        let dc = cpt & decomposition != 0
        let ls = cpt & localScaling != 0
        let bn = cpt & batchNorm != 0
        let bi = cpt & bias != 0
        let first = dc ? 2 : 1
        var out: [BlockTensor] = []
        if ls { out.append(BlockTensor(role: .localScaling, dims: [rows], topologyIndex: first, codebookIndex: nil)) }
        if bi {
            let idx = first + (ls ? 1 : 0) + (bn ? 4 : 0)
            out.append(BlockTensor(role: .bias, dims: [rows], topologyIndex: idx, codebookIndex: nil))
        }
        if bn {
            let idx = first + (ls ? 1 : 0)
            let roles: [BlockTensor.Role] = [.batchNormBeta, .batchNormGamma, .batchNormMean, .batchNormVariance]
            for (j, role) in roles.enumerated() {
                out.append(BlockTensor(role: role, dims: [rows], topologyIndex: idx + j, codebookIndex: nil))
            }
        }
        if dc {
            guard let rank = decompositionRank, rank >= 1, let g = gNumberOfRows, g >= 1 else {
                throw NNRError(.invalidValue("decomposition_rank \(decompositionRank.map(String.init) ?? "nil"), g_number_of_rows \(gNumberOfRows.map(String.init) ?? "nil")"),
                               element: "decomposition_rank", byteOffset: 0)
            }
            var total = 1
            for d in dims {
                let (m, o) = total.multipliedReportingOverflow(by: d)
                guard !o else {
                    throw NNRError(.overflow("product of tensor dimensions \(dims)"), element: "tensor_dimensions", byteOffset: 0)
                }
                total = m
            }
            let hColumns = total / g
            guard hColumns >= 1 else {
                throw NNRError(.invalidValue("g_number_of_rows \(g) > number of weights \(total)"), element: "g_number_of_rows", byteOffset: 0)
            }
            out.append(BlockTensor(role: .decompositionG, dims: [g, rank], topologyIndex: 0, codebookIndex: 0))
            out.append(BlockTensor(role: .decompositionH, dims: [rank, hColumns], topologyIndex: 1, codebookIndex: 1))
        } else {
            out.append(BlockTensor(role: .weight, dims: dims, topologyIndex: 0, codebookIndex: 0))
        }
        return out
    }
}
