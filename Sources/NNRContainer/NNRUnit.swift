import Foundation
import NNRBitIO

/// `nnr_unit_type` (u(6)).
public enum NNRUnitType: Int, Sendable, CaseIterable {
    /// NNR_STR: start unit.
    case startUnit = 0
    /// NNR_MPS: model parameter set.
    case modelParameterSet = 1
    /// NNR_LPS: layer parameter set.
    case layerParameterSet = 2
    /// NNR_TPL: topology.
    case topology = 3
    /// NNR_QNT: quantization.
    case quantization = 4
    /// NNR_NDU: compressed data unit.
    case compressedData = 5
    /// NNR_AGG: aggregate unit.
    case aggregate = 6

    /// The standard's name, e.g. "NNR_STR".
    public var name: String {
        switch self {
        case .startUnit: return "NNR_STR"
        case .modelParameterSet: return "NNR_MPS"
        case .layerParameterSet: return "NNR_LPS"
        case .topology: return "NNR_TPL"
        case .quantization: return "NNR_QNT"
        case .compressedData: return "NNR_NDU"
        case .aggregate: return "NNR_AGG"
        }
    }

    /// Name for any 6-bit code ("NNR_RSVD_7" for the reserved ones).
    public static func name(of code: Int) -> String {
        NNRUnitType(rawValue: code)?.name ?? "NNR_RSVD_\(code)"
    }
}

/// `nnr_unit_size()` and the part of `nnr_unit_header()` every unit type shares.
public struct NNRUnitCommonHeader: Sendable, Equatable {
    /// nnr_unit_size_flag u(1): 0 → 15-bit size, 1 → 31-bit size.
    public var nnrUnitSizeFlag: Bool = false
    /// nnr_unit_size u(15 + 16·flag): bytes of the whole unit, this field included.
    public var nnrUnitSize: Int = 0
    /// nnr_unit_type u(6).
    public var nnrUnitType: Int = 0
    /// independently_decodable_flag u(1).
    public var independentlyDecodableFlag: Bool = true
    /// partial_data_counter_present_flag u(1).
    public var partialDataCounterPresentFlag: Bool = false
    /// partial_data_counter u(8), present if the flag is set.
    public var partialDataCounter: Int = 0

    public init(type: Int, independentlyDecodable: Bool = true, partialDataCounter: Int? = nil) {
        nnrUnitType = type
        independentlyDecodableFlag = independentlyDecodable
        if let c = partialDataCounter {
            partialDataCounterPresentFlag = true
            self.partialDataCounter = c
        }
    }

    public init() {}

    /// nnr_unit_size() then the common header fields.
    public mutating func visit<V: SyntaxVisitor>(_ v: inout V) throws {
        try v.flag("nnr_unit_size_flag", &nnrUnitSizeFlag)
        try v.u("nnr_unit_size", nnrUnitSizeFlag ? 31 : 15, &nnrUnitSize)
        try v.u("nnr_unit_type", 6, &nnrUnitType)
        try v.flag("independently_decodable_flag", &independentlyDecodableFlag)
        try v.flag("partial_data_counter_present_flag", &partialDataCounterPresentFlag)
        if partialDataCounterPresentFlag {
            try v.u("partial_data_counter", 8, &partialDataCounter)
        }
    }

    /// Bytes taken by the size field and the common header fields.
    public var byteLength: Int { (nnrUnitSizeFlag ? 4 : 2) + 1 + (partialDataCounterPresentFlag ? 1 : 0) }

    public var unitType: NNRUnitType? { NNRUnitType(rawValue: nnrUnitType) }
}

/// Where a unit lies in a file.
public struct NNRUnitLocation: Sendable, Equatable {
    /// Position of the unit in the file (0-based).
    public var index: Int
    /// Byte offset of the unit's first byte.
    public var offset: Int
    /// Total size in bytes (nnr_unit_size).
    public var size: Int
    public var common: NNRUnitCommonHeader

    public var end: Int { offset + size }
    /// Offset of the first byte after the common header (the type-specific header).
    public var bodyOffset: Int { offset + common.byteLength }
}
