import Foundation
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRCoding
import NNRModelIO

/// One tensor out of a bitstream.
public struct DecodedTensor: Sendable {
    /// Reconstructed values in the reference decoder's dtype (float32; float64 for codebook
    /// tensors; int32 for NNR_PT_INT).
    public var tensor: Tensor
    /// Integer levels out of the entropy decoder (uniform: reconstruction index q after DQ;
    /// codebook: signed index relative to CbZeroOffset; INT: the values). Empty for RAW_FLOAT.
    public var levels: [Int32]
    public var unitIndex: Int
    public var payloadType: NNRPayloadType
    /// Role inside an NNR_PT_BLOCK ("weight", "bias", …), nil outside blocks.
    public var role: String?
    /// The tensor's QP (base QP + qp_offset), nil when not coded.
    public var qp: Int?
    /// qp_offset as coded (NNR_PT_FLOAT / NNR_PT_BLOCK).
    public var qpOffset: Int?
    public var qpDensity: Int
    public var dqFlag: Bool
    public var codebook: NNRCodebook?
    public var rowSkipEnabled: Bool
    public var hdspEnabled: Bool
    public var scanOrder: Int
    /// Bits of the arithmetic-coded payload the tensor took (the whole payload for an NDU of one tensor).
    public var bits: Int
    /// The tensor went to the sink in pieces as it was decoded (`DecodingSession.streamElements`):
    /// `tensor` holds its name, shape and dtype but no data, and there are no levels.
    public var streamed = false

    public var name: String { tensor.name }
    /// Δ in float32, as reconstruction uses it.
    public var stepSize: Float? { qp.map { StepSize.float32(qp: $0, qpDensity: qpDensity) } }
}

/// What decoding one NDU observed, for checking.
public struct DecodedNDUInfo: Sendable {
    public var unitIndex: Int
    public var payloadEnd: PayloadEnd?
    public var payloadBytes: Int
    public var headerEntryPoints: [EntryPoint]
    public var observedEntryPoints: [EntryPoint]
    public var tensorNames: [String]
}

/// A decoded bitstream.
public struct DecodedBitstream: Sendable {
    public var units: [NNRParsedUnit]
    public var tensors: [DecodedTensor]
    public var ndus: [DecodedNDUInfo]

    public func tensor(named name: String) -> DecodedTensor? { tensors.first { $0.name == name } }
}

/// State carried from one bitstream of an incremental sequence to the next: the TCA bases
/// (previous reconstruction indices of each tensor) and the HDSP histories.
public struct IncrementalDecoderState: Sendable {
    public var previousLevels: [String: [Int32]] = [:]
    public var history: [String: [UInt8]] = [:]
    public init() {}
}

public struct DecoderOptions: Sendable {
    public var limits: NNRLimits = .default
    /// Decode independent NDUs concurrently.
    public var concurrent = true
    /// Keep the integer levels in the result.
    public var keepLevels = true
    /// Keep what a later bitstream of an incremental sequence needs (TCA bases, HDSP history).
    /// Turn off for the last (or only) bitstream to save the memory of the levels.
    public var carryState = true
    /// Keep the parsed units in `DecodedBitstream.units`. Off: `decode(_ source:)` parses the
    /// units one at a time and keeps none (memory independent of the number of units).
    public var keepUnits = true
    public init(limits: NNRLimits = .default, concurrent: Bool = true, keepLevels: Bool = true, carryState: Bool = true,
                keepUnits: Bool = true) {
        self.limits = limits
        self.concurrent = concurrent
        self.keepLevels = keepLevels
        self.carryState = carryState
        self.keepUnits = keepUnits
    }
}

/// Decodes NNR bitstreams into memory; feed the bitstreams of an incremental sequence to the same
/// decoder in order. A convenience on top of `DecodingSession`, which streams.
public struct NNRDecoder: Sendable {
    public var options: DecoderOptions
    public var state = IncrementalDecoderState()

    public init(options: DecoderOptions = DecoderOptions()) { self.options = options }

    public mutating func decode(_ source: NNRByteSource) throws -> DecodedBitstream {
        if !options.keepUnits {
            // every verdict on the headers before the first payload is decoded, then the payloads
            _ = try DecodingSession.manifest(source, options: options)
            var session = DecodingSession(options: options, state: state)
            var sink = Collector()
            try session.decode(source, sink: &sink)
            state = session.state
            return DecodedBitstream(units: [], tensors: sink.tensors, ndus: sink.infos)
        }
        let (units, error) = NNRUnitParser.parseAll(source, limits: options.limits)
        if let e = error { throw e }
        return try decode(units: units, source: source)
    }

    public mutating func decode(url: URL) throws -> DecodedBitstream {
        try decode(NNRByteSource(contentsOf: url))
    }

    /// Decodes already-parsed units (top level, and the units inside NNR_AGG).
    public mutating func decode(units: [NNRParsedUnit], source: NNRByteSource) throws -> DecodedBitstream {
        // every verdict on the headers (names, limits) before the first payload is decoded
        _ = try DecodingSession.manifest(units, source: source, options: options)
        var session = DecodingSession(options: options, state: state)
        var sink = Collector()
        session.begin()
        for u in units { try session.feed(u, source: source, sink: &sink) }
        try session.end(source: source, sink: &sink)
        state = session.state
        return DecodedBitstream(units: units, tensors: sink.tensors, ndus: sink.infos)
    }

    struct Collector: DecodedNDUSink {
        var tensors: [DecodedTensor] = []
        var infos: [DecodedNDUInfo] = []
        mutating func consume(_ ndu: DecodedNDU) throws {
            tensors += ndu.tensors
            infos.append(ndu.info)
        }
    }
}
