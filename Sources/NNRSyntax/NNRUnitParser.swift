import Foundation
import NNRBitIO
import NNRContainer

/// The type-specific content of a unit.
public enum NNRUnitContent: Sendable, Equatable {
    case start(NNRStartUnitHeader)
    case modelParameterSet(NNRModelParameterSet)
    case layerParameterSet(NNRLayerParameterSet)
    case topology(NNRTopologyUnit)
    case quantization(NNRQuantizationUnit)
    case compressedData(NDUHeader)
    case aggregate(NNRAggregateUnitHeader)
    /// nnr_unit_type 7…63: reserved; carried as bytes.
    case reserved(Int)

    /// The nnr_unit_type of a unit with this content.
    public var nnrUnitType: Int {
        switch self {
        case .start: return NNRUnitType.startUnit.rawValue
        case .modelParameterSet: return NNRUnitType.modelParameterSet.rawValue
        case .layerParameterSet: return NNRUnitType.layerParameterSet.rawValue
        case .topology: return NNRUnitType.topology.rawValue
        case .quantization: return NNRUnitType.quantization.rawValue
        case .compressedData: return NNRUnitType.compressedData.rawValue
        case .aggregate: return NNRUnitType.aggregate.rawValue
        case let .reserved(t): return t
        }
    }
}

/// One parsed NNR unit: where it is, its headers, and where its payload bytes lie.
public struct NNRParsedUnit: Sendable {
    public var location: NNRUnitLocation
    public var common: NNRUnitCommonHeader { location.common }
    public var content: NNRUnitContent
    /// Bytes of the unit up to the end of the type-specific unit header (for NNR_NDU: up to and
    /// including its byte_alignment(), i.e. where the CABAC payload starts).
    public var headerByteCount: Int
    /// File range of the NDU payload (arithmetic-coded or raw float data) or of the
    /// payload bytes not represented by `content` (reserved types, AGG).
    public var payloadRange: Range<Int>
    /// The context this unit was parsed with.
    public var context: SyntaxContext
    /// Every element read, when tracing was asked for.
    public var trace: [SyntaxTraceEntry]?
    /// Reserved bits or alignment bits that were not as required.
    public var warnings: [SyntaxWarning]
    /// NNR_AGG: the units its payload carries (parsed with the same context).
    public var children: [NNRParsedUnit] = []
    /// Nesting depth (0 for top-level units).
    public var depth = 0

    public var typeName: String { NNRUnitType.name(of: location.common.nnrUnitType) }
    public var ndu: NDUHeader? { if case let .compressedData(h) = content { return h } else { return nil } }
}

/// Parses units in file order, carrying the context (profile, MPS flags) from unit to unit.
public struct NNRUnitParser {
    public let source: NNRByteSource
    public var limits: NNRLimits
    public var context: SyntaxContext
    /// Record a trace of every element.
    public var tracing: Bool
    /// Accept nnr_unit_type 7…63 as `.reserved` instead of throwing (dump and checker do).
    public var allowReservedTypes = false
    /// Units parsed so far, top-level and inside NNR_AGG units: `limits.maxUnits` counts per file
    /// (per parser), not per aggregate unit.
    public private(set) var unitsParsed = 0

    public init(source: NNRByteSource, limits: NNRLimits = .default, context: SyntaxContext = SyntaxContext(), tracing: Bool = false) {
        self.source = source
        self.limits = limits
        self.context = context
        self.tracing = tracing
    }

    /// How many bytes of a unit are read for its headers: all of it except an NDU's payload,
    /// whose header is read from a bounded prefix first.
    static let nduHeaderProbeBytes = 4096

    /// Parses the headers of the unit at `location` and updates the context.
    public mutating func parse(_ location: NNRUnitLocation, depth: Int = 0) throws -> NNRParsedUnit {
        guard unitsParsed < limits.maxUnits else {
            throw NNRError(.limitExceeded("more than \(limits.maxUnits) units in the file (NNR_AGG children included)"), element: "nnr_unit",
                           byteOffset: location.offset, unitIndex: location.index)
        }
        unitsParsed += 1
        var unit: NNRParsedUnit
        do {
            unit = try parseUnchecked(location)
        } catch let e as NNRError {
            throw e.inUnit(location.index)
        }
        unit.depth = depth
        if case let .aggregate(a) = unit.content {
            guard depth < limits.maxAggregateDepth else {
                throw NNRError(.limitExceeded("NNR_AGG nested deeper than \(limits.maxAggregateDepth)"), element: "nnr_aggregate_unit_payload",
                               byteOffset: unit.payloadRange.lowerBound, unitIndex: location.index)
            }
            for r in NNRUnitScanner(source: source, limits: limits, startOffset: unit.payloadRange.lowerBound, endOffset: unit.payloadRange.upperBound) {
                switch r {
                case let .failure(e): throw e.inUnit(location.index)
                case let .success(loc):
                    // Stop at the first unit past the declared count, before parsing it.
                    guard unit.children.count < a.unitCount else {
                        throw NNRError(.sizeMismatch("NNR_AGG carries more than num_of_nnr_units_minus2 + 2 = \(a.unitCount) units"),
                                       element: "num_of_nnr_units_minus2", byteOffset: location.offset, unitIndex: location.index)
                    }
                    unit.children.append(try parse(loc, depth: depth + 1))
                }
            }
            if unit.children.count != a.unitCount {
                throw NNRError(.sizeMismatch("NNR_AGG carries \(unit.children.count) units, num_of_nnr_units_minus2 + 2 = \(a.unitCount)"),
                               element: "num_of_nnr_units_minus2", byteOffset: location.offset, unitIndex: location.index)
            }
        }
        return unit
    }

    private mutating func parseUnchecked(_ location: NNRUnitLocation) throws -> NNRParsedUnit {
        let type = location.common.nnrUnitType
        // For NDUs read a small prefix first and grow it only if the header does not fit, so a
        // headers-only pass touches little more than the headers.
        var probe = type == NNRUnitType.compressedData.rawValue ? Self.nduHeaderProbeBytes : Int.max
        while true {
            let readEnd = probe >= location.size ? location.end : location.offset + probe
            do {
                return try parseRange(location, readEnd: readEnd)
            } catch let e as NNRError {
                if case .truncated = e.reason, readEnd < location.end {
                    probe = probe >= (1 << 20) ? Int.max : probe * 16
                    continue
                }
                if case .unterminatedString = e.reason, readEnd < location.end {
                    probe = probe >= (1 << 20) ? Int.max : probe * 16
                    continue
                }
                throw e
            }
        }
    }

    private mutating func parseRange(_ location: NNRUnitLocation, readEnd: Int) throws -> NNRParsedUnit {
        let bytes = source.bytes(location.offset..<readEnd)
        var r = BitReader(bytes: bytes, fileOffset: location.offset, limits: limits, tracing: tracing)
        var common = NNRUnitCommonHeader()
        try common.visit(&r)
        let type = common.nnrUnitType
        var content: NNRUnitContent
        var headerEnd = 0
        var payloadRange = location.end..<location.end
        let unitWarnings: [SyntaxWarning]
        switch NNRUnitType(rawValue: type) {
        case .startUnit:
            var h = NNRStartUnitHeader()
            try h.visit(&r)
            headerEnd = r.byteIndex
            content = .start(h)
            context = SyntaxContext(generalProfileIdc: h.generalProfileIdc)
        case .modelParameterSet:
            headerEnd = r.byteIndex
            var m = NNRModelParameterSet()
            try m.visit(&r, context: context)
            content = .modelParameterSet(m)
            context.mpsTopologyIndexedReferenceFlag = m.mpsTopologyIndexedReferenceFlag
            context.mpsParentSignallingEnabledFlag = m.mpsParentSignallingEnabledFlag
        case .layerParameterSet:
            var l = NNRLayerParameterSet()
            try l.visitHeader(&r)
            headerEnd = r.byteIndex
            try l.visitPayload(&r)
            content = .layerParameterSet(l)
        case .topology:
            var t = NNRTopologyUnit()
            try t.visitHeader(&r)
            headerEnd = r.byteIndex
            try t.visitPayload(&r)
            content = .topology(t)
        case .quantization:
            var q = NNRQuantizationUnit()
            try q.visitHeader(&r)
            headerEnd = r.byteIndex
            try q.visitPayload(&r)
            content = .quantization(q)
        case .compressedData:
            var h = NDUHeader()
            try h.visit(&r, context: context)
            headerEnd = r.byteIndex
            content = .compressedData(h)
            payloadRange = (location.offset + headerEnd)..<location.end
        case .aggregate:
            var a = NNRAggregateUnitHeader()
            try a.visit(&r)
            headerEnd = r.byteIndex
            content = .aggregate(a)
            payloadRange = (location.offset + headerEnd)..<location.end
        case nil:
            if !allowReservedTypes {
                throw NNRError(.unsupported("nnr_unit_type \(type) is reserved"), element: "nnr_unit_type",
                               byteOffset: location.offset + (common.nnrUnitSizeFlag ? 4 : 2))
            }
            headerEnd = r.byteIndex
            content = .reserved(type)
            payloadRange = (location.offset + headerEnd)..<location.end
        }
        unitWarnings = r.warnings
        // Units whose syntax ends inside the unit must end exactly at its end.
        switch content {
        case .compressedData, .aggregate, .reserved:
            break
        default:
            let used = r.byteIndex
            if used != location.size {
                throw NNRError(.sizeMismatch("the unit's syntax ends after \(used) bytes but nnr_unit_size is \(location.size)"),
                               element: "nnr_unit_size", byteOffset: location.offset, bitOffset: 1)
            }
        }
        return NNRParsedUnit(location: location, content: content, headerByteCount: headerEnd, payloadRange: payloadRange,
                             context: context, trace: r.trace, warnings: unitWarnings)
    }

    /// Parses every unit of a file. Returns the units parsed before any error, and the error.
    public static func parseAll(_ source: NNRByteSource, limits: NNRLimits = .default, tracing: Bool = false,
                                context: SyntaxContext = SyntaxContext(), allowReservedTypes: Bool = false) -> (units: [NNRParsedUnit], error: NNRError?) {
        var parser = NNRUnitParser(source: source, limits: limits, context: context, tracing: tracing)
        parser.allowReservedTypes = allowReservedTypes
        var out: [NNRParsedUnit] = []
        for r in NNRUnitScanner(source: source, limits: limits) {
            switch r {
            case let .failure(e): return (out, e)
            case let .success(loc):
                do { out.append(try parser.parse(loc)) } catch let e as NNRError { return (out, e) } catch {
                    return (out, NNRError(.io("\(error)"), element: "nnr_unit", byteOffset: loc.offset, unitIndex: loc.index))
                }
            }
        }
        return (out, nil)
    }
}

/// Builds units back from parsed values.
public enum NNRUnitSerializer {
    /// The bytes of a unit rebuilt from its parsed header values; `payload` is the NDU/AGG/reserved
    /// payload carried through (ignored for the other types, whose payload is in `content`).
    public static func serialize(common: NNRUnitCommonHeader, content: NNRUnitContent, context: SyntaxContext,
                                 payload: [UInt8] = [], forceLongSize: Bool = false) throws -> [UInt8] {
        var w = BitWriter()
        switch content {
        case var .start(h): try h.visit(&w)
        case var .modelParameterSet(m): try m.visit(&w, context: context)
        case var .layerParameterSet(l):
            try l.visitHeader(&w)
            try l.visitPayload(&w)
        case var .topology(t):
            try t.visitHeader(&w)
            try t.visitPayload(&w)
        case var .quantization(q):
            try q.visitHeader(&w)
            try q.visitPayload(&w)
        case var .compressedData(h):
            try h.visit(&w, context: context)
            w.writeBytes(payload)
        case var .aggregate(a):
            try a.visit(&w)
            w.writeBytes(payload)
        case .reserved:
            w.writeBytes(payload)
        }
        var c = common
        c.nnrUnitType = content.nnrUnitType
        return try NNRUnitWriter.unit(common: c, body: w.bytes, forceLongSize: forceLongSize)
    }

    /// Rebuilds a parsed unit (payload bytes taken from `source`).
    public static func serialize(_ unit: NNRParsedUnit, source: NNRByteSource) throws -> [UInt8] {
        // The context a unit was parsed with is the one before it for MPS fields; STR/MPS set it.
        var ctx = unit.context
        if case .modelParameterSet = unit.content { ctx = SyntaxContext(generalProfileIdc: unit.context.generalProfileIdc) }
        return try serialize(common: unit.common, content: unit.content, context: ctx,
                             payload: source.bytes(unit.payloadRange), forceLongSize: unit.common.nnrUnitSizeFlag && unit.location.size < 32768)
    }
}
