import Foundation

/// One bitstream of a reference case with its companion files.
public struct CaseBitstream {
    /// "" for the single bitstream of a case, "step<k>_" for a step of an incremental case.
    public var prefix: String
    public var bitstream: URL
    public var unitsJSON: URL
    public var levels: URL
    public var decoded: URL
    public var input: URL
}

public enum CaseFiles {
    /// The bitstreams of a case in decoding order: step0, step1, … for incremental cases, else
    /// bitstream.nnc alone.
    public static func bitstreams(of caseDir: URL) -> [CaseBitstream] {
        let fm = FileManager.default
        var steps: [CaseBitstream] = []
        var k = 0
        while fm.fileExists(atPath: caseDir.appendingPathComponent("step\(k).nnc").path) {
            let p = "step\(k)_"
            steps.append(CaseBitstream(prefix: p, bitstream: caseDir.appendingPathComponent("step\(k).nnc"),
                                       unitsJSON: caseDir.appendingPathComponent(p + "units.json"),
                                       levels: caseDir.appendingPathComponent(p + "levels.npz"),
                                       decoded: caseDir.appendingPathComponent(p + "decoded.npz"),
                                       input: caseDir.appendingPathComponent(p + "input.npz")))
            k += 1
        }
        if !steps.isEmpty { return steps }
        return [CaseBitstream(prefix: "", bitstream: caseDir.appendingPathComponent("bitstream.nnc"),
                              unitsJSON: caseDir.appendingPathComponent("units.json"),
                              levels: caseDir.appendingPathComponent("levels.npz"),
                              decoded: caseDir.appendingPathComponent("decoded.npz"),
                              input: caseDir.appendingPathComponent("input.npz"))]
    }

    /// units.json as an array of dictionaries.
    public static func units(_ url: URL) throws -> [[String: Any]] {
        let data = try Data(contentsOf: url)
        guard let arr = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            throw CocoaError(.fileReadCorruptFile)
        }
        return arr
    }

    /// case.json as a dictionary.
    public static func caseInfo(_ caseDir: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: caseDir.appendingPathComponent("case.json"))
        guard let d = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CocoaError(.fileReadCorruptFile)
        }
        return d
    }
}

/// Typed reads of the loosely typed values `JSONSerialization` gives for units.json and case.json
/// (numbers may arrive as Int, NSNumber or Bool).
public enum CaseJSON {
    public static func int(_ v: Any?) -> Int? {
        if let b = v as? Bool { return b ? 1 : 0 }
        if let i = v as? Int { return i }
        if let n = v as? NSNumber { return n.intValue }
        return nil
    }

    public static func bool(_ v: Any?) -> Bool? {
        if let b = v as? Bool { return b }
        if let n = v as? NSNumber { return n.intValue != 0 }
        return nil
    }

    /// nil if `v` is not an array or any element is not an integer.
    public static func ints(_ v: Any?) -> [Int]? {
        guard let a = v as? [Any] else { return nil }
        var out: [Int] = []
        for e in a {
            guard let i = int(e) else { return nil }
            out.append(i)
        }
        return out
    }

    /// The string elements of an array (others dropped).
    public static func strings(_ v: Any?) -> [String]? {
        guard let a = v as? [Any] else { return nil }
        return a.compactMap { $0 as? String }
    }

    public static func dict(_ v: Any?) -> [String: Any]? { v as? [String: Any] }
}

/// The fields of one NDU entry of units.json that the payload tests use, with NNCodec's values for
/// absent optional fields.
public struct CaseNDU {
    /// The unit's extent in the bitstream.
    public var offset: Int
    public var size: Int
    public var headerBytes: Int
    public var payloadType: Int
    public var dims: [Int]
    public var scanOrder: Int
    public var dq: Bool
    public var cabacUnaryLengthMinus1: Int
    public var compressedParameterTypes: Int
    public var parentNodeIdPresent: Bool
    public var temporalContextModeling: Bool
    /// codebook__ when codebook_present_flag is 1.
    public var codebook: [Int]?
    public var codebookZeroOffset: Int
    public var codebookDC: [Int]?
    public var codebookZeroOffsetDC: Int
    /// cabac_entry_point_list, packed as units.json holds it.
    public var entryPoints: [Int]
    public var decompositionRank: Int?
    public var gNumberOfRows: Int?
    /// topology_elem_id_list (payload type 3) and topology_elem_id ("?" if absent).
    public var topologyElementIdList: [String]
    public var topologyElementId: String

    /// nil when the unit's extent (offset, nnr_unit_size, header_bytes) is missing.
    public init?(unit u: [String: Any], fields f: [String: Any]) {
        guard let offset = CaseJSON.int(u["offset"]), let size = CaseJSON.int(u["nnr_unit_size"]),
              let header = CaseJSON.int(u["header_bytes"]) else { return nil }
        self.offset = offset
        self.size = size
        headerBytes = header
        payloadType = CaseJSON.int(f["nnr_compressed_data_unit_payload_type"]) ?? 1
        dims = CaseJSON.ints(f["tensor_dimensions"]) ?? []
        scanOrder = CaseJSON.int(f["scan_order"]) ?? 0
        dq = CaseJSON.int(f["dq_flag"]) == 1
        cabacUnaryLengthMinus1 = CaseJSON.int(f["cabac_unary_length_minus1"]) ?? 9
        compressedParameterTypes = CaseJSON.int(f["compressed_parameter_types"]) ?? 0
        parentNodeIdPresent = CaseJSON.int(f["parent_node_id_present_flag"]) == 1
        temporalContextModeling = CaseJSON.int(f["temporal_context_modeling_flag"]) == 1
        codebook = CaseJSON.int(f["codebook_present_flag"]) == 1 ? CaseJSON.ints(f["codebook__"]) : nil
        codebookZeroOffset = CaseJSON.int(f["CbZeroOffset__"]) ?? 0
        codebookDC = CaseJSON.ints(f["codebook__dc"])
        codebookZeroOffsetDC = CaseJSON.int(f["CbZeroOffset__dc"]) ?? 0
        entryPoints = CaseJSON.ints(f["cabac_entry_point_list"]) ?? []
        decompositionRank = CaseJSON.int(f["decomposition_rank"])
        gNumberOfRows = CaseJSON.int(f["g_number_of_rows"])
        topologyElementIdList = CaseJSON.strings(f["topology_elem_id_list"]) ?? []
        topologyElementId = f["topology_elem_id"] as? String ?? "?"
    }
}
