import Foundation
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRModelIO
import NNRCoding

// The data model of `nnr dump`: everything the renderers (text, JSON, XML) show, computed once.
// Building it reads unit headers only; payloads are read only for what was asked for
// (`--stats`, `--trace`), plus the first bytes of each NDU payload for the first tensor's QP.

/// What to show.
public struct DumpOptions: Sendable {
    /// Decode every tensor and report level statistics (and SNR against `reference`).
    public var stats = false
    /// Trace the payload syntax elements.
    public var trace = false
    /// Only trace this tensor (by name).
    public var traceTensor: String?
    /// Stop the trace after this many lines (nil: no limit).
    public var traceLimit: Int?
    /// Show each unit's bytes.
    public var hex = false
    /// Show every byte of NDU/AGG payloads instead of the first `hexPayloadLimit`.
    public var hexAll = false
    /// Bytes of an NDU/AGG/reserved payload shown by `hex` without `hexAll`.
    public var hexPayloadLimit = 64
    /// Bytes of the other units (whose payloads are fields) shown by `hex` without `hexAll`.
    public var hexUnitLimit = 4096
    /// Bytes shown on each side of an error.
    public var errorWindow = 32
    /// Reference tensors for the SNR (`--reference`), by name.
    public var reference: [String: Tensor]?
    public var limits: NNRLimits = .default
    /// `--stats` counts the levels of tensors of at least this many elements as they are decoded,
    /// a chunk of rows at a time (without `--reference` and when no later file needs the levels).
    public var streamMinimumElements = 1 << 22

    public init(stats: Bool = false, trace: Bool = false, traceTensor: String? = nil, traceLimit: Int? = nil,
                hex: Bool = false, hexAll: Bool = false, reference: [String: Tensor]? = nil, limits: NNRLimits = .default) {
        self.stats = stats
        self.trace = trace
        self.traceTensor = traceTensor
        self.traceLimit = traceLimit
        self.hex = hex || hexAll
        self.hexAll = hexAll
        self.reference = reference
        self.limits = limits
    }

    /// Whether payloads are decoded.
    public var decodesPayloads: Bool { stats || trace }
}

/// A value computed from syntax elements and shown beside them (step size, tensor shape,
/// CbZeroOffset, codebook entries, entry-point offsets, …).
public struct DumpDerived: Sendable, Equatable {
    public var name: String
    public var value: FieldValue
    /// How it was computed, or what it refers to.
    public var note: String?

    public init(_ name: String, _ value: FieldValue, note: String? = nil) {
        self.name = name
        self.value = value
        self.note = note
    }
}

/// One syntax element as read from the file.
public struct DumpElement: Sendable {
    public var entry: SyntaxTraceEntry
    /// The element's bits as read: "0101…" for up to 64 bits, "0x…" hex for byte strings (capped).
    public var raw: String
    /// The symbolic name of an enumerated value (NNR_PT_FLOAT, NNR_TPL_PYT, …).
    public var symbol: String?
    public var derived: [DumpDerived] = []

    public var name: String { entry.name }
    public var byteOffset: Int { entry.bitPosition >> 3 }
    public var bitOffset: Int { entry.bitPosition & 7 }
    public var bitWidth: Int { entry.bitWidth }
    public var descriptor: String { DescriptorText.of(entry) }
    public var value: FieldValue { FieldValue(entry.value) }
}

/// `SyntaxTraceEntry.descriptorText`, made once per descriptor and parameter (the dump shows it
/// for every element).
enum DescriptorText {
    static let all: [SyntaxDescriptor] = [.u, .i, .ue, .ie, .flt, .st, .bs, .alignment]
    static let maxParameter = 64
    static let table: [[String]] = all.map { d in
        (0...maxParameter).map { SyntaxTraceEntry(name: "", descriptor: d, parameter: $0, bitPosition: 0, bitWidth: 0, value: .int(0)).descriptorText }
    }

    static func of(_ e: SyntaxTraceEntry) -> String {
        guard e.parameter >= 0 && e.parameter <= maxParameter, let row = all.firstIndex(of: e.descriptor) else { return e.descriptorText }
        return table[row][e.parameter]
    }
}

/// A syntax structure of a unit: nnr_unit_size(), nnr_unit_header(), the type's header, its payload.
public struct DumpSection: Sendable {
    public var name: String
    /// File byte offset and length.
    public var offset: Int
    public var size: Int
    public var elements: [DumpElement] = []
    /// Values about the section as a whole (payload start, first tensor's qp_offset, …).
    public var derived: [DumpDerived] = []
}

/// Bytes of the file shown in hex.
public struct DumpHexBlock: Sendable, Equatable {
    /// File offset of `bytes[0]`.
    public var offset: Int
    public var bytes: [UInt8]
    /// Bytes of the range that are not shown (cap).
    public var omitted: Int
    /// A byte to point at (errors).
    public var mark: Int?

    public init(offset: Int, bytes: [UInt8], omitted: Int = 0, mark: Int? = nil) {
        self.offset = offset
        self.bytes = bytes
        self.omitted = omitted
        self.mark = mark
    }

    /// Rows of 16 bytes aligned to file offsets that are multiples of 16: (row offset, the bytes
    /// of that row that are in the block, index of the first of them within the row).
    public var rows: [(offset: Int, bytes: ArraySlice<UInt8>, column: Int)] {
        guard !bytes.isEmpty else { return [] }
        var out: [(Int, ArraySlice<UInt8>, Int)] = []
        var i = 0
        while i < bytes.count {
            let fileOffset = offset + i
            let rowStart = fileOffset - fileOffset % 16
            let column = fileOffset - rowStart
            let n = Swift.min(16 - column, bytes.count - i)
            out.append((rowStart, bytes[i..<(i + n)], column))
            i += n
        }
        return out
    }
}

/// One unit of the dump.
public struct DumpUnit: Sendable {
    public var index: Int
    public var offset: Int
    public var size: Int
    public var typeCode: Int
    public var typeName: String
    /// Bytes up to the end of the type's header (NDU: where the arithmetic-coded payload starts).
    public var headerBytes: Int
    public var payloadBytes: Int { size - headerBytes }
    /// NNR_AGG nesting depth (0 at top level).
    public var depth: Int
    /// The first version's view of the unit (its `fields`); nil for a unit that failed to parse.
    public var parsed: NNRParsedUnit?
    public var sections: [DumpSection]
    public var warnings: [SyntaxWarning]
    /// Indices into `DumpFile.tensors` of the tensors this NDU carries.
    public var tensorIndices: [Int] = []
    /// Semantic problems found while laying out the unit's tensors (not syntax errors).
    public var problems: [String] = []
    public var hex: DumpHexBlock?
    public var children: [DumpUnit] = []
    /// True for the unit that failed to parse: `sections` hold the elements read before the error.
    public var partial = false
}

/// Level statistics of one decoded tensor.
public struct DumpTensorStats: Sendable {
    public struct Bin: Sendable, Equatable {
        public var label: String
        /// Inclusive level range of the bin.
        public var low: Int
        public var high: Int
        public var count: Int
    }

    public var count: Int
    public var minLevel: Int
    public var maxLevel: Int
    public var zeros: Int
    /// 11 bins: level 0, and on each side five bins of equal width covering the largest |level|.
    public var histogram: [Bin]
    /// SNR in dB of the reconstruction against the reference tensor (+inf when identical).
    public var snrDB: Double?
    /// Why there is no SNR although a reference was given.
    public var snrNote: String?

    public var zeroFraction: Double { count > 0 ? Double(zeros) / Double(count) : 0 }
}

/// One tensor of the bitstream.
public struct DumpTensor: Sendable {
    public var index: Int
    public var unitIndex: Int
    public var name: String
    /// Role inside an NNR_PT_BLOCK ("weight", "bi", "bn_beta", …).
    public var role: String?
    public var shape: [Int]
    public var elementCount: Int
    public var codebook: NNRCodebook?
    /// This tensor's entries of the header's cabac_entry_point_list.
    public var entryPoints: [EntryPoint] = []
    public var payloadTypeCode: Int
    public var payloadType: String { NNRPayloadType.name(of: payloadTypeCode) }
    /// QP of the MPS (or LPS) the tensor's qp_offset is added to.
    public var baseQP: Int?
    public var qpDensity: Int?
    /// qp_offset from the payload (nil until decoded).
    public var qpOffset: Int?
    public var qp: Int? {
        guard let b = baseQP, let o = qpOffset else { return nil }
        return b + o
    }
    /// Δ in float32, as reconstruction uses it.
    public var stepSize: Float? {
        guard let q = qp, let d = qpDensity else { return nil }
        return StepSize.float32(qp: q, qpDensity: d)
    }
    public var dq: Bool
    public var codebookSize: Int?
    public var scanOrder: Int
    /// Payload bits of this tensor: exact for an NDU carrying one tensor (all payload bytes), else
    /// measured by the arithmetic decoder when decoding (nil before).
    public var bits: Int?
    /// True when `bits` counts whole payload bytes.
    public var bitsExact = false
    /// Size of the file the tensor is in (for its share).
    public var fileSize: Int

    public var bytes: Int? { bits.map { ($0 + 7) >> 3 } }
    public var bitsPerParameter: Double? {
        guard let b = bits, elementCount > 0 else { return nil }
        return Double(b) / Double(elementCount)
    }
    public var share: Double? {
        guard let b = bytes, fileSize > 0 else { return nil }
        return Double(b) / Double(fileSize)
    }
    public var stats: DumpTensorStats?
}

/// One payload syntax element of `--trace`.
public struct DumpTraceLine: Sendable, Equatable {
    public var unitIndex: Int
    public var tensor: String
    /// The syntax element ("qp_offset", "sig_flag", …, "level", "terminating_bin").
    public var element: String
    /// Row-major position in the tensor, −1 for tensor-level syntax.
    public var position: Int
    public var row: Int
    public var column: Int
    /// Dependent-quantization state, −1 when not known (positions of skipped rows).
    public var dqState: Int
    /// Context index, −1 for bypass bins and derived lines.
    public var context: Int
    /// The bins, "0"/"1" characters in decoding order ("" for none).
    public var bins: String
    public var value: Int64

    public init(unitIndex: Int, tensor: String, element: String, position: Int, row: Int, column: Int,
                dqState: Int, context: Int, bins: String, value: Int64) {
        self.unitIndex = unitIndex
        self.tensor = tensor
        self.element = element
        self.position = position
        self.row = row
        self.column = column
        self.dqState = dqState
        self.context = context
        self.bins = bins
        self.value = value
    }
}

/// The failure that ended a dump, with the bytes around it.
public struct DumpFailure: Sendable {
    public var error: NNRError
    /// "structure" (units and headers) or "payload" (decoding for --stats/--trace).
    public var stage: String
    public var window: DumpHexBlock
}

/// The dump of one file.
public struct DumpFile: Sendable {
    public var path: String
    public var fileSize: Int
    public var units: [DumpUnit]
    /// The unit that failed to parse, as far as it was read.
    public var partialUnit: DumpUnit?
    public var tensors: [DumpTensor] = []
    /// Trace lines (when traced without a streaming handler).
    public var trace: [DumpTraceLine] = []
    /// Trace lines produced (stored or streamed).
    public var traceLineCount = 0
    /// The trace stopped at `--limit`.
    public var traceTruncated = false
    /// Whether the payloads were decoded.
    public var decoded = false
    public var failure: DumpFailure?

    /// Units in file order, those inside NNR_AGG after their aggregate.
    public var flatUnits: [DumpUnit] {
        var out: [DumpUnit] = []
        func add(_ u: DumpUnit) {
            out.append(u)
            u.children.forEach(add)
        }
        units.forEach(add)
        return out
    }
}

/// The dump of one or more files (several: an incremental sequence, decoded in order).
public struct DumpReport: Sendable {
    public var files: [DumpFile]
    public var options: DumpOptions
    public var hasError: Bool { files.contains { $0.failure != nil } }
}
