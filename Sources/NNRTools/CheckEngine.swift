import Foundation
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRCoding
import NNRModelIO
import NNRCodec

/// Settings of a conformance check.
public struct CheckOptions: Sendable {
    public var limits: NNRLimits
    /// Decode the NDUs of a file concurrently.
    public var concurrent: Bool
    /// Keep the decoded tensors in `FileCheckReport.decodedTensors` (tests, tools).
    public var keepTensors: Bool
    /// Keep what a later bitstream of the sequence needs (the levels of every tensor); turn off for
    /// the last (or only) bitstream.
    public var carryState: Bool
    /// Tensors of at least this many elements are hashed as they are decoded, a chunk of rows at a
    /// time, when nothing needs their levels or values afterwards (no reference comparison, no
    /// kept tensors, no later bitstream): memory stays bounded whatever the tensor's size.
    public var streamMinimumElements = 1 << 22

    public init(limits: NNRLimits = .default, concurrent: Bool = true, keepTensors: Bool = false, carryState: Bool = true) {
        self.limits = limits
        self.concurrent = concurrent
        self.keepTensors = keepTensors
        self.carryState = carryState
    }
}

/// Checks NNR bitstreams against every rule of `CheckRules`. Give the bitstreams of an
/// incremental sequence to the same checker in order: like `NNRDecoder`, it carries the TCA
/// bases, the HDSP histories and the node identities of decoded tensors from one to the next.
public struct ConformanceChecker: Sendable {
    public var options: CheckOptions
    /// Decoder state carried across bitstreams.
    public private(set) var decoderState = IncrementalDecoderState()
    /// device_id, parameter_id and put_node_depth of the last NDU that carried each tensor.
    public private(set) var nodes: [String: NodeIdentity] = [:]

    /// Node identity of an NDU (profile 1).
    public struct NodeIdentity: Sendable, Equatable {
        public var deviceId: Int
        public var parameterId: Int
        public var putNodeDepth: Int
    }

    public init(options: CheckOptions = CheckOptions()) { self.options = options }

    /// Checks a file; I/O failures throw (exit status 2 in the CLI), everything about the content
    /// is reported.
    public mutating func check(url: URL, reference: [Tensor]? = nil, referencePath: String? = nil) throws -> FileCheckReport {
        let source = try NNRByteSource(contentsOf: url)
        return check(source, path: url.path, reference: reference, referencePath: referencePath)
    }

    /// Checks one bitstream. `reference`: tensors to compare with bit for bit (dtype, shape, bytes).
    public mutating func check(_ source: NNRByteSource, path: String, reference: [Tensor]? = nil,
                               referencePath: String? = nil) -> FileCheckReport {
        var byName: [String: Tensor]?
        if let ref = reference {
            var m: [String: Tensor] = [:]
            for r in ref where m[r.name] == nil { m[r.name] = r }
            byName = m
        }
        var run = CheckRun(source: source, options: options, state: decoderState, nodes: nodes, reference: byName)
        run.perform()
        decoderState = run.finalState
        nodes = run.finalNodes

        var report = FileCheckReport(path: path, fileSize: source.count, unitCount: run.topLevelCount,
                                     violations: run.violations.sorted(by: ConformanceChecker.order))
        report.tensors = run.checked
        if let ref = reference {
            report.referencePath = referencePath ?? "<reference>"
            var seen = Set(report.tensors.map(\.name))
            for r in ref where !seen.contains(r.name) {
                seen.insert(r.name)
                report.missingTensors.append(MissingReferenceTensor(name: r.name, dtype: r.dtype.rawValue, shape: r.shape))
            }
        }
        if options.keepTensors { report.decodedTensors = run.kept }
        return report
    }

    /// Report order: by file position, then rule ID.
    static func order(_ a: CheckViolation, _ b: CheckViolation) -> Bool {
        if a.byteOffset != b.byteOffset { return a.byteOffset < b.byteOffset }
        if a.bitOffset != b.bitOffset { return a.bitOffset < b.bitOffset }
        return a.ruleID < b.ruleID
    }
}

/// Bit-exact comparison of a decoded tensor with a reference tensor.
public enum TensorComparison {
    public static func compare(_ decoded: Tensor, _ reference: Tensor) -> TensorComparisonResult {
        var problems: [String] = []
        if decoded.dtype != reference.dtype { problems.append("dtype \(decoded.dtype.rawValue), reference \(reference.dtype.rawValue)") }
        if decoded.shape != reference.shape { problems.append("shape \(decoded.shape), reference \(reference.shape)") }
        if decoded.storage != reference.storage {
            if decoded.storage.count != reference.storage.count {
                problems.append("\(decoded.storage.count) bytes, reference \(reference.storage.count)")
            } else {
                let width = Swift.max(1, decoded.dtype.byteWidth)
                var differing = 0
                var first = -1
                var i = 0
                while i < decoded.storage.count {
                    let end = Swift.min(i + width, decoded.storage.count)
                    if decoded.storage[i..<end] != reference.storage[i..<end] {
                        differing += 1
                        if first < 0 { first = i / width }
                    }
                    i = end
                }
                problems.append("\(differing) of \(decoded.storage.count / width) elements differ (first at flat index \(first))")
            }
        }
        return problems.isEmpty ? .match : .mismatch(problems.joined(separator: "; "))
    }
}

// MARK: - One file

/// A unit in decoding order: top-level units and the units an NNR_AGG carries (the AGG itself is
/// not part of the sequence).
struct SequencedUnit {
    var location: NNRUnitLocation
    /// nil when the unit could not be parsed (or parsing stopped before it).
    var parsed: NNRParsedUnit?
    var type: Int { location.common.nnrUnitType }
}

/// The work of checking one file.
struct CheckRun {
    let source: NNRByteSource
    let options: CheckOptions
    let initialState: IncrementalDecoderState
    let initialNodes: [String: ConformanceChecker.NodeIdentity]

    var violations: [CheckViolation] = []
    var topLevelCount = 0
    var sequence: [SequencedUnit] = []
    var aggregates: [NNRParsedUnit] = []
    /// Tensors to compare with, by name.
    let reference: [String: Tensor]?
    /// Every decoded tensor, hashed (and compared) as it was decoded.
    var checked: [CheckedTensor] = []
    /// The decoded tensors, with `keepTensors`.
    var kept: [Tensor] = []
    var finalState: IncrementalDecoderState
    var finalNodes: [String: ConformanceChecker.NodeIdentity]

    init(source: NNRByteSource, options: CheckOptions, state: IncrementalDecoderState,
         nodes: [String: ConformanceChecker.NodeIdentity], reference: [String: Tensor]? = nil) {
        self.source = source
        self.options = options
        self.reference = reference
        self.initialState = state
        self.initialNodes = nodes
        self.finalState = state
        self.finalNodes = nodes
    }

    mutating func add(_ rule: String, unit: Int?, at position: BitPosition, _ element: String, _ message: String) {
        violations.append(CheckViolation(ruleID: rule, unitIndex: unit, position: position, element: element, message: message))
    }

    mutating func perform() {
        readUnits()
        checkUnitContents()
        checkOrder()
        checkDataUnits()
    }

    // MARK: Container and parsing

    mutating func readUnits() {
        if source.count == 0 {
            add(CheckRules.firstUnitIsStart, unit: nil, at: BitPosition(byteOffset: 0, bitOffset: 0), "nnr_unit",
                "the file is empty: a bitstream starts with an NNR_STR unit")
            return
        }
        var parser = NNRUnitParser(source: source, limits: options.limits)
        parser.allowReservedTypes = true
        var parsing = true
        for r in NNRUnitScanner(source: source, limits: options.limits) {
            switch r {
            case let .failure(e):
                violations.append(CheckErrorMapping.violation(for: e, stage: .container))
                return
            case let .success(loc):
                topLevelCount += 1
                checkSizeForm(loc)
                guard parsing else {
                    sequence.append(SequencedUnit(location: loc, parsed: nil))
                    continue
                }
                do {
                    let u = try parser.parse(loc)
                    append(u)
                } catch let e as NNRError {
                    violations.append(CheckErrorMapping.violation(for: e, stage: .header, unitIndex: loc.index))
                    sequence.append(SequencedUnit(location: loc, parsed: nil))
                    // Later units depend on the profile (NNR_STR) and the MPS flags: stop interpreting them.
                    if loc.common.nnrUnitType == NNRUnitType.startUnit.rawValue
                        || loc.common.nnrUnitType == NNRUnitType.modelParameterSet.rawValue {
                        parsing = false
                    }
                } catch {
                    add(CheckRules.unitSyntaxFitsSize, unit: loc.index, at: BitPosition(byteOffset: loc.offset, bitOffset: 0),
                        "nnr_unit", "\(error)")
                    sequence.append(SequencedUnit(location: loc, parsed: nil))
                }
            }
        }
    }

    /// Adds a parsed unit (and, for NNR_AGG, the units it carries) to the sequence.
    mutating func append(_ u: NNRParsedUnit) {
        if case .aggregate = u.content {
            aggregates.append(u)
            for c in u.children {
                checkSizeForm(c.location)
                append(c)
            }
        } else {
            sequence.append(SequencedUnit(location: u.location, parsed: u))
        }
    }

    mutating func checkSizeForm(_ loc: NNRUnitLocation) {
        if loc.common.nnrUnitSizeFlag && loc.size < 32768 {
            add(CheckRules.longSizeForm, unit: loc.index, at: BitPosition(byteOffset: loc.offset, bitOffset: 0), "nnr_unit_size_flag",
                "a \(loc.size)-byte unit uses the 32-bit size form (the 16-bit form holds sizes below 32768)")
        }
    }

    // MARK: Per-unit contents

    mutating func checkUnitContents() {
        for a in aggregates {
            checkAggregate(a)
        }
        for s in sequence {
            guard let u = s.parsed else { continue }
            for w in u.warnings {
                let rule = w.element.hasPrefix("alignment_bit") ? CheckRules.byteAlignment : CheckRules.reservedBits
                add(rule, unit: u.location.index, at: w.position, w.element, w.message)
            }
            let typeOffset = BitPosition(byteOffset: u.location.offset + (u.common.nnrUnitSizeFlag ? 4 : 2), bitOffset: 0)
            switch u.content {
            case let .start(h):
                if h.generalProfileIdc != 0 && h.generalProfileIdc != 1 {
                    add(CheckRules.profile, unit: u.location.index, at: position(of: "general_profile_idc", in: u), "general_profile_idc",
                        "general_profile_idc \(h.generalProfileIdc) (0 and 1 are defined)")
                }
            case let .modelParameterSet(m):
                if m.mpsQuantizationMethodFlags & ~3 != 0 {
                    add(CheckRules.quantizationMethodFlags, unit: u.location.index, at: position(of: "mps_quantization_method_flags", in: u),
                        "mps_quantization_method_flags", "mps_quantization_method_flags \(m.mpsQuantizationMethodFlags) sets the reserved bit 4")
                }
            case let .layerParameterSet(l):
                if l.lpsQuantizationMethodFlags & ~3 != 0 {
                    add(CheckRules.quantizationMethodFlags, unit: u.location.index, at: position(of: "lps_quantization_method_flags", in: u),
                        "lps_quantization_method_flags", "lps_quantization_method_flags \(l.lpsQuantizationMethodFlags) sets the reserved bit 4")
                }
            case let .topology(t):
                if t.topologyStorageFormat > 6 {
                    add(CheckRules.topologyFormats, unit: u.location.index, at: position(of: "topology_storage_format", in: u),
                        "topology_storage_format", "topology_storage_format \(t.topologyStorageFormat) is reserved (0..6 are defined)")
                }
                if t.topologyCompressionFormat > 1 {
                    add(CheckRules.topologyFormats, unit: u.location.index, at: position(of: "topology_compression_format", in: u),
                        "topology_compression_format", "topology_compression_format \(t.topologyCompressionFormat) is reserved (0 raw, 1 deflate)")
                }
            case let .reserved(code):
                add(CheckRules.reservedUnitType, unit: u.location.index, at: typeOffset, "nnr_unit_type",
                    "nnr_unit_type \(code) is reserved")
            default:
                break
            }
            if u.common.partialDataCounterPresentFlag && u.common.nnrUnitType == NNRUnitType.compressedData.rawValue {
                add(CheckRules.partialDataCounter, unit: u.location.index,
                    at: BitPosition(byteOffset: typeOffset.byteOffset, bitOffset: 7), "partial_data_counter_present_flag",
                    "an NNR_NDU with partial_data_counter_present_flag = 1 (partial_data_counter \(u.common.partialDataCounter))")
            }
        }
    }

    mutating func checkAggregate(_ a: NNRParsedUnit) {
        add(CheckRules.aggregateUnit, unit: a.location.index, at: BitPosition(byteOffset: a.location.offset, bitOffset: 0), "nnr_unit_type",
            "NNR_AGG carrying \(a.children.count) units: the reference decoder cannot decode aggregate units")
        guard case let .aggregate(h) = a.content, h.entryPointsPresentFlag else { return }
        let start = a.payloadRange.lowerBound
        for (i, c) in a.children.enumerated() where i < h.unitTypes.count && i < h.unitEntryPoints.count {
            let offset = c.location.offset - start
            if h.unitTypes[i] != c.common.nnrUnitType || h.unitEntryPoints[i] != offset {
                let element = h.unitTypes[i] != c.common.nnrUnitType ? "nnr_unit_type[\(i)]" : "nnr_unit_entry_point[\(i)]"
                add(CheckRules.aggregateContent, unit: a.location.index, at: position(of: element, in: a), element,
                    "entry \(i) gives type \(h.unitTypes[i]) at payload offset \(h.unitEntryPoints[i]); the carried unit is type \(c.common.nnrUnitType) at offset \(offset)")
                return
            }
        }
    }

    /// Where an element of a unit starts (re-parses the unit with tracing); the unit's first byte
    /// after its size field if the element is not found.
    func position(of element: String, in u: NNRParsedUnit) -> BitPosition {
        var ctx = u.context
        if case .modelParameterSet = u.content { ctx = SyntaxContext(generalProfileIdc: u.context.generalProfileIdc) }
        var parser = NNRUnitParser(source: source, limits: options.limits, context: ctx, tracing: true)
        parser.allowReservedTypes = true
        if let traced = try? parser.parse(u.location), let trace = traced.trace,
           let entry = trace.first(where: { $0.name == element || $0.name.hasPrefix(element + "[") }) {
            return BitPosition(absoluteBit: entry.bitPosition)
        }
        return BitPosition(byteOffset: u.location.offset + (u.common.nnrUnitSizeFlag ? 4 : 2), bitOffset: 0)
    }

    // MARK: Order

    mutating func checkOrder() {
        guard let first = sequence.first else { return }
        let start = NNRUnitType.startUnit.rawValue
        let mps = NNRUnitType.modelParameterSet.rawValue
        if first.type != start {
            add(CheckRules.firstUnitIsStart, unit: first.location.index, at: BitPosition(byteOffset: first.location.offset, bitOffset: 0),
                "nnr_unit_type", "the first unit is \(NNRUnitType.name(of: first.type)), not NNR_STR")
        }
        var startSeen = false
        var mpsSeen = false
        for (i, s) in sequence.enumerated() {
            let pos = BitPosition(byteOffset: s.location.offset, bitOffset: 0)
            if s.type == start {
                if startSeen {
                    add(CheckRules.singleStart, unit: s.location.index, at: pos, "nnr_unit_type", "a second NNR_STR unit")
                } else if i + 1 < sequence.count {
                    let next = sequence[i + 1]
                    if next.type != mps {
                        add(CheckRules.mpsAfterStart, unit: next.location.index, at: BitPosition(byteOffset: next.location.offset, bitOffset: 0),
                            "nnr_unit_type", "the unit after NNR_STR is \(NNRUnitType.name(of: next.type)), not NNR_MPS")
                    }
                } else {
                    add(CheckRules.mpsAfterStart, unit: nil, at: BitPosition(byteOffset: source.count, bitOffset: 0), "nnr_unit_type",
                        "the bitstream ends after NNR_STR without an NNR_MPS")
                }
                startSeen = true
            }
            if s.type == mps {
                if mpsSeen {
                    add(CheckRules.singleMPS, unit: s.location.index, at: pos, "nnr_unit_type", "a second NNR_MPS unit")
                }
                mpsSeen = true
            }
        }
    }

    // MARK: Data units

    /// An NDU ready to decode.
    struct Job: Sendable {
        var sequenceIndex: Int
        var plan: NDUPlan
    }

    /// The outcome of decoding one NDU.
    struct Outcome: Sendable {
        var result: DecodedNDU?
        var error: NNRError?
        /// Digests of the tensors hashed while they were decoded, by tensor index.
        var streamed: [Int: TensorDigest] = [:]
    }

    mutating func checkDataUnits() {
        var started = false
        var sets = NNRParameterSets()
        var names = TensorNameRules()
        var referenceListCount: Int?
        var jobs: [Job] = []
        var nduIndices: [Int] = []
        var fileNodes: [(String, ConformanceChecker.NodeIdentity)] = []

        for (i, s) in sequence.enumerated() {
            guard let u = s.parsed else { continue }
            sets.observe(u)
            switch u.content {
            case .start:
                started = true
            case let .topology(t):
                if t.topologyStorageFormat == NNRTopologyStorageFormat.reflist && referenceListCount == nil {
                    referenceListCount = t.referenceList.count
                }
            case let .compressedData(h):
                nduIndices.append(i)
                let hasQP = (sets.mps?.hasQuantizationParameters ?? false) || (sets.lps?.hasQuantizationParameters ?? false)
                let blocking = checkHeader(u, h, hasQP: hasQP, referenceListCount: referenceListCount, sequenceIndex: i)
                let topologyNames = NDUPlan.topologyNames(h, context: u.context)
                if u.context.isProfile1, let n = topologyNames.first {
                    checkParentIdentity(u, h, name: n)
                    fileNodes.append((n, ConformanceChecker.NodeIdentity(deviceId: h.deviceId, parameterId: h.parameterId,
                                                                          putNodeDepth: h.putNodeDepth)))
                }
                let parentMissing = checkTemporal(u, h, names: topologyNames, blocking: blocking)
                guard !blocking, !parentMissing, started, sets.mps != nil else { continue }
                if let plan = plan(u, h, sets: sets, names: &names) { jobs.append(Job(sequenceIndex: i, plan: plan)) }
            default:
                break
            }
        }
        checkDecompositionPairing(nduIndices)
        decodeAll(jobs, parentSignalling: sets.parentSignalling)
        for (n, id) in fileNodes { finalNodes[n] = id }
    }

    /// NNR-I001 and NNR-I003 of an NDU coded with temporal context adaptation. Returns true when a
    /// parent tensor is missing.
    mutating func checkTemporal(_ u: NNRParsedUnit, _ h: NDUHeader, names: [String], blocking: Bool) -> Bool {
        guard u.context.isProfile1 && h.temporalContextModelingFlag else { return false }
        var parentMissing = false
        if !blocking {
            for n in names where initialState.previousLevels[n] == nil {
                add(CheckRules.parentTensor, unit: u.location.index, at: position(of: "temporal_context_modeling_flag", in: u),
                    "temporal_context_modeling_flag",
                    "temporal_context_modeling_flag = 1 but no earlier bitstream of the sequence carried tensor \(n)")
                parentMissing = true
            }
        }
        if u.common.independentlyDecodableFlag {
            add(CheckRules.independentlyDecodable, unit: u.location.index,
                at: BitPosition(byteOffset: u.location.offset + (u.common.nnrUnitSizeFlag ? 4 : 2), bitOffset: 6),
                "independently_decodable_flag", "independently_decodable_flag = 1 on an NDU coded with temporal context adaptation")
        }
        return parentMissing
    }

    /// The decoder's plan of an NDU (nil, with the violation, when the decoder would refuse it).
    mutating func plan(_ u: NNRParsedUnit, _ h: NDUHeader, sets: NNRParameterSets, names: inout TensorNameRules) -> NDUPlan? {
        var unit = u
        // Reported as NNR-C007; the payload is still checked.
        unit.location.common.partialDataCounterPresentFlag = false
        unit.children = []
        do {
            let plan = try NDUPlan(unit: unit, header: h, parameterSets: sets, limits: options.limits)
            for t in plan.tensors { try names.admit(t, unit: unit) }
            return plan
        } catch let e as NNRError {
            violations.append(CheckErrorMapping.violation(for: e, stage: .payload, unitIndex: u.location.index))
        } catch {
            add(CheckRules.payloadWithinUnit, unit: u.location.index, at: BitPosition(byteOffset: u.location.offset, bitOffset: 0),
                "nnr_compressed_data_unit_payload", "\(error)")
        }
        return nil
    }

    /// Decodes the NDUs a few at a time, each from the state the file started with (NDUs of one
    /// bitstream are independent of each other); every tensor is checked, hashed and released.
    mutating func decodeAll(_ jobs: [Job], parentSignalling: Bool) {
        var state = initialState
        let window = options.concurrent ? 2 * Swift.max(1, ProcessInfo.processInfo.activeProcessorCount) : 1
        var start = 0
        while start < jobs.count {
            let batch = Array(jobs[start..<Swift.min(jobs.count, start + window)])
            start += batch.count
            for (job, outcome) in zip(batch, decode(batch)) {
                let u = job.plan.unit
                if let e = outcome.error {
                    violations.append(CheckErrorMapping.violation(for: e, stage: .payload, unitIndex: u.location.index))
                    continue
                }
                guard let r = outcome.result else { continue }
                let digests = r.tensors.indices.map { outcome.streamed[$0] ?? CheckRun.digest(r.tensors[$0]) }
                checkDecoded(r, unit: u, digests: digests)
                for (t, d) in zip(r.tensors, digests) {
                    take(t, sha256: d.sha256)
                    if options.carryState { state.carry(t.name, levels: t.levels, parentSignalling: parentSignalling) }
                }
            }
        }
        finalState = state
    }

    /// A tensor's SHA-256 and its first value that is not finite, a block at a time.
    static func digest(_ t: DecodedTensor) -> TensorDigest {
        var sha = SHA256()
        var first: Int?
        var seen = 0
        t.reconstructedBlocks { raw in
            sha.update(raw)
            if first == nil {
                switch t.tensor.dtype {
                case .float32: first = firstNonFinite(raw, Float.self).map { seen + $0 }
                case .float64: first = firstNonFinite(raw, Double.self).map { seen + $0 }
                default: break
                }
            }
            seen += raw.count / Swift.max(1, t.tensor.dtype.byteWidth)
        }
        return TensorDigest(sha256: TensorDigest.hex(sha.finalize()), firstNonFinite: first)
    }

    /// Records a decoded tensor and compares it with the reference.
    mutating func take(_ t: DecodedTensor, sha256: String) {
        var c = CheckedTensor(name: t.name, dtype: t.tensor.dtype.rawValue, shape: t.tensor.shape,
                              sha256: sha256, unitIndex: t.unitIndex)
        if let refs = reference {
            c.comparison = refs[t.name].map { TensorComparison.compare(t.tensor, $0) } ?? .notInReference
        }
        checked.append(c)
        if options.keepTensors { kept.append(t.tensor) }
    }

    /// Header rules of one NDU. Returns true when the payload cannot be read meaningfully.
    mutating func checkHeader(_ u: NNRParsedUnit, _ h: NDUHeader, hasQP: Bool, referenceListCount: Int?, sequenceIndex: Int) -> Bool {
        var blocking = false
        let idx = u.location.index
        func report(_ rule: String, _ element: String, _ message: String, blocks: Bool = true) {
            add(rule, unit: idx, at: position(of: element, in: u), element, message)
            if blocks { blocking = true }
        }
        let pt = h.payloadType
        if pt == nil {
            report(CheckRules.payloadType, "nnr_compressed_data_unit_payload_type",
                   "nnr_compressed_data_unit_payload_type \(h.nnrCompressedDataUnitPayloadType) is reserved")
        } else if h.nnrMultipleTopologyElementsPresentFlag != h.isBlock {
            report(CheckRules.multipleTopologyElements, "nnr_multiple_topology_elements_present_flag",
                   "nnr_multiple_topology_elements_present_flag = \(h.nnrMultipleTopologyElementsPresentFlag ? 1 : 0) with payload type \(NNRPayloadType.name(of: h.nnrCompressedDataUnitPayloadType))")
        } else if h.isBlock {
            let expected = BlockLayout.topologyElementCount(compressedParameterTypes: h.compressedParameterTypes)
            let actual = u.context.mpsTopologyIndexedReferenceFlag ? h.topologyElemIdIndexList.count : h.topologyElemIdList.count
            if actual != expected {
                report(CheckRules.blockElementCount, "count_topology_elements_minus2",
                       "NNR_PT_BLOCK with compressed_parameter_types \(h.compressedParameterTypes) needs \(expected) topology elements, lists \(actual)")
            }
        }
        if h.nnrDecompressedDataFormatPresentFlag && h.nnrDecompressedDataFormat > 9 {
            report(CheckRules.decompressedDataFormat, "nnr_decompressed_data_format",
                   "nnr_decompressed_data_format \(h.nnrDecompressedDataFormat) is reserved (0..9 are defined)", blocks: false)
        }
        var dimsValid = false
        if !h.inputParametersPresentFlag || !h.tensorDimensionsFlag {
            report(CheckRules.dimensionsInBand, h.inputParametersPresentFlag ? "tensor_dimensions_flag" : "input_parameters_present_flag",
                   "the tensor dimensions are not in the NDU header (out-of-band parameters are not available to this toolkit)")
        } else if h.tensorDimensions.isEmpty {
            report(CheckRules.dimensionValues, "count_tensor_dimensions", "count_tensor_dimensions is 0")
        } else if let j = h.tensorDimensions.firstIndex(where: { $0 < 1 }) {
            report(CheckRules.dimensionValues, "tensor_dimensions[\(j)]", "tensor_dimensions[\(j)] = \(h.tensorDimensions[j]) (must be ≥ 1)")
        } else {
            dimsValid = true
        }
        if h.tensorDimensions.count > 1 && h.scanOrder > 4 {
            report(CheckRules.scanOrder, "scan_order", "scan_order \(h.scanOrder) is reserved (0..4 are defined)")
        }
        if h.codebookPresentFlag && h.dqFlag {
            report(CheckRules.codebookWithoutDQ, "dq_flag", "dq_flag = 1 together with codebook_present_flag = 1")
        }
        if pt == .int && h.dqFlag {
            report(CheckRules.integerWithoutDQ, "dq_flag", "dq_flag = 1 in an NNR_PT_INT unit")
        }
        if (pt == .float || pt == .block) && !hasQP {
            report(CheckRules.quantizationParameters, "nnr_compressed_data_unit_payload_type",
                   "\(NNRPayloadType.name(of: h.nnrCompressedDataUnitPayloadType)) data but no qp_density / quantization_parameter: mps_quantization_method_flags & 3 = 0 and no NNR_LPS has them")
        }
        if h.hasDecomposition && h.inputParametersPresentFlag {
            let total = dimsValid ? NDUHeader.elementCount(h.tensorDimensions, limit: Int.max) : nil
            if h.decompositionRank < 1 || h.gNumberOfRows < 1 {
                report(CheckRules.decompositionParameters, "decomposition_rank",
                       "decomposition_rank \(h.decompositionRank), g_number_of_rows \(h.gNumberOfRows) (both must be ≥ 1)")
            } else if let n = total, n % h.gNumberOfRows != 0 {
                report(CheckRules.decompositionParameters, "g_number_of_rows",
                       "g_number_of_rows \(h.gNumberOfRows) does not divide the \(n) elements of tensor_dimensions \(h.tensorDimensions)")
            }
        }
        if u.context.mpsTopologyIndexedReferenceFlag {
            let indices = h.nnrMultipleTopologyElementsPresentFlag ? h.topologyElemIdIndexList : [h.topologyElemIdIndex]
            if let n = referenceListCount {
                if let bad = indices.first(where: { $0 >= n }) {
                    report(CheckRules.indexedReferenceList, h.nnrMultipleTopologyElementsPresentFlag ? "topology_elem_id_index_list" : "topology_elem_id_index",
                           "topology element index \(bad) is outside the NNR_TPL_REFLIST of \(n) elements", blocks: false)
                }
            } else {
                report(CheckRules.indexedReferenceList, h.nnrMultipleTopologyElementsPresentFlag ? "topology_elem_id_index_list" : "topology_elem_id_index",
                       "mps_topology_indexed_reference_flag = 1 but no NNR_TPL with NNR_TPL_REFLIST precedes this NDU", blocks: false)
            }
        }
        return blocking
    }

    /// NNR-I002: the parent reference names the node the tensor last came from.
    mutating func checkParentIdentity(_ u: NNRParsedUnit, _ h: NDUHeader, name: String) {
        guard u.context.mpsParentSignallingEnabledFlag, h.parentNodeIdPresentFlag, h.parentNodeIdType == 0,
              let parent = initialNodes[name] else { return }
        var problems: [String] = []
        if h.parentDeviceId != parent.deviceId { problems.append("parent_device_id \(h.parentDeviceId) ≠ parent device_id \(parent.deviceId)") }
        if h.parameterId != parent.parameterId { problems.append("parameter_id \(h.parameterId) ≠ parent parameter_id \(parent.parameterId)") }
        if h.putNodeDepth != parent.putNodeDepth + 1 {
            problems.append("put_node_depth \(h.putNodeDepth) ≠ parent put_node_depth \(parent.putNodeDepth) + 1")
        }
        if !problems.isEmpty {
            add(CheckRules.parentIdentity, unit: u.location.index, at: position(of: "parent_device_id", in: u), "parent_device_id",
                "tensor \(name): " + problems.joined(separator: "; "))
        }
    }

    /// NNR-O006: G/H NDUs of a decomposition outside blocks come in pairs.
    mutating func checkDecompositionPairing(_ nduIndices: [Int]) {
        func dcName(_ k: Int) -> (NNRParsedUnit, String?)? {
            guard k >= 0, k < nduIndices.count, let u = sequence[nduIndices[k]].parsed, let h = u.ndu,
                  h.hasDecomposition, !h.isBlock, h.inputParametersPresentFlag else { return nil }
            return (u, u.context.mpsTopologyIndexedReferenceFlag ? nil : h.topologyElemId)
        }
        for k in nduIndices.indices {
            guard let (u, nameOpt) = dcName(k) else { continue }
            let pos = position(of: "compressed_parameter_types", in: u)
            guard let name = nameOpt else {
                add(CheckRules.decompositionPairing, unit: u.location.index, at: pos, "topology_elem_id_index",
                    "a decomposed tensor outside NNR_PT_BLOCK is referenced by index: G or H cannot be told")
                continue
            }
            if name.hasSuffix("_G") {
                let base = String(name.dropLast(2))
                if let (_, next) = dcName(k + 1), next == base + "_H" { continue }
                add(CheckRules.decompositionPairing, unit: u.location.index, at: pos, "topology_elem_id",
                    "\(name) (decomposition G) is not followed by the NDU of \(base)_H")
            } else if name.hasSuffix("_H") {
                let base = String(name.dropLast(2))
                if let (_, prev) = dcName(k - 1), prev == base + "_G" { continue }
                add(CheckRules.decompositionPairing, unit: u.location.index, at: pos, "topology_elem_id",
                    "\(name) (decomposition H) does not follow the NDU of \(base)_G")
            } else {
                add(CheckRules.decompositionPairing, unit: u.location.index, at: pos, "topology_elem_id",
                    "\(name): a decomposed tensor outside NNR_PT_BLOCK must be named …_G or …_H")
            }
        }
    }

    /// Decodes NDUs, concurrently when allowed.
    func decode(_ jobs: [Job]) -> [Outcome] {
        var o = NDUDecodeOptions(limits: self.options.limits, keepLevels: self.options.carryState, reconstruct: true)
        // hashed a block at a time unless the whole tensor is compared or kept
        o.inBlocks = reference == nil && !self.options.keepTensors
        let options = o
        let streaming = o.inBlocks && !self.options.carryState
        let minimum = self.options.streamMinimumElements
        let state = initialState
        let source = self.source
        let work: @Sendable (Job) -> Outcome = { job in
            do {
                let streamed = StreamingDigests()
                let r = try job.plan.decode(source, state: state, options: options,
                                            stream: streaming ? streamed.handlers(plan: job.plan, minimumElements: minimum) : nil)
                return Outcome(result: r, error: nil, streamed: streamed.byTensor.mapValues(\.digest))
            } catch let e as NNRError {
                return Outcome(result: nil, error: e)
            } catch {
                let u = job.plan.unit
                return Outcome(result: nil, error: NNRError(.io("\(error)"), element: "nnr_compressed_data_unit_payload",
                                                            byteOffset: u.payloadRange.lowerBound, unitIndex: u.location.index))
            }
        }
        if self.options.concurrent && jobs.count > 1 {
            let box = OutcomeBox(count: jobs.count)
            DispatchQueue.concurrentPerform(iterations: jobs.count) { i in box.set(i, work(jobs[i])) }
            return box.values.map { $0 ?? Outcome(result: nil, error: nil) }
        }
        return jobs.map(work)
    }

    /// Payload rules that need the decoded result.
    mutating func checkDecoded(_ r: DecodedNDU, unit u: NNRParsedUnit, digests: [TensorDigest]) {
        let idx = u.location.index
        guard let h = u.ndu else { return }
        do {
            let info = r.info
            if let end = info.payloadEnd, !end.stopPatternValid {
                let last = u.payloadRange.lowerBound + Swift.max(0, end.bytesConsumed - 1)
                add(CheckRules.stopPattern, unit: idx, at: BitPosition(byteOffset: last, bitOffset: 0), "rbsp_stop_bit",
                    String(format: "the last payload byte 0x%02x does not end with the stop pattern (a 1 bit, then 0 bits)",
                           Int(source[last])))
            }
            checkEntryPoints(info, unit: u, header: h)
        }
        var stepReported = false
        for (t, d) in zip(r.tensors, digests) {
            if let problem = MemberName.problem(t.name) {  // NNR-H021, the verdict `nnr decode` gives
                add(CheckRules.tensorNameUnsafe, unit: idx, at: position(of: "topology_elem_id", in: u), "topology_elem_id",
                    "tensor \(MemberName.quoted(t.name)): name is unsafe as a file or archive member name: \(problem)")
            }
            if t.qp != nil && !stepReported {
                if let problem = CheckRun.stepProblem(t, firstNonFinite: d.firstNonFinite) {
                    add(CheckRules.stepSize, unit: idx, at: BitPosition(byteOffset: u.payloadRange.lowerBound, bitOffset: 0), "qp_offset",
                        "tensor \(t.name): " + problem)
                    stepReported = true
                }
            }
            if t.payloadType == .int && h.nnrDecompressedDataFormatPresentFlag,
               let range = CheckRun.integerRange(format: h.nnrDecompressedDataFormat),
               let bad = d.streamed ? d.outOfRange : (t.levels.isEmpty ? t.tensor.int32Values() : t.levels).first(where: { !range.contains(Int($0)) }) {
                add(CheckRules.declaredIntegerFormat, unit: idx, at: position(of: "nnr_decompressed_data_format", in: u),
                    "nnr_decompressed_data_format",
                    "tensor \(t.name): value \(bad) does not fit \(NNRDecompressedDataFormat.name(of: h.nnrDecompressedDataFormat)) (\(range.lowerBound)…\(range.upperBound))")
            }
        }
        if u.context.isProfile1 && !h.temporalContextModelingFlag && u.common.independentlyDecodableFlag
            && r.tensors.contains(where: { $0.hdspEnabled }) {
            add(CheckRules.independentlyDecodable, unit: idx,
                at: BitPosition(byteOffset: u.location.offset + (u.common.nnrUnitSizeFlag ? 4 : 2), bitOffset: 6),
                "independently_decodable_flag", "independently_decodable_flag = 1 on an NDU coded with history-dependent significance probability (HDSP)")
        }
    }

    mutating func checkEntryPoints(_ info: DecodedNDUInfo, unit u: NNRParsedUnit, header h: NDUHeader) {
        let header = info.headerEntryPoints
        let observed = info.observedEntryPoints
        if header.count != observed.count {
            add(CheckRules.entryPoints, unit: u.location.index, at: position(of: "scan_order", in: u), "cabac_entry_point_list",
                "the header lists \(header.count) entry points, the payload has \(observed.count) block-row starts after the first")
            return
        }
        for j in header.indices {
            let a = header[j], b = observed[j]
            let dqDiffers = h.dqFlag && a.dqState != b.dqState
            if a.bitOffsetDelta != b.bitOffsetDelta || a.value != b.value || dqDiffers {
                add(CheckRules.entryPoints, unit: u.location.index, at: position(of: "ep_value[\(j)]", in: u), "ep_value[\(j)]",
                    "entry point \(j): header (offset delta \(a.bitOffsetDelta), ep_value \(a.value), ep_dq_state \(a.dqState)), decoder (offset delta \(b.bitOffsetDelta), ep_value \(b.value), dq state \(b.dqState))")
                return
            }
        }
    }

    /// What is wrong with a tensor's step size or reconstruction, or nil.
    static func stepProblem(_ t: DecodedTensor, firstNonFinite: Int?) -> String? {
        guard let qp = t.qp else { return nil }
        if t.codebook != nil {
            let d = StepSize.delta(qp: qp, qpDensity: t.qpDensity)
            if !d.isFinite || d == 0 { return "QP \(qp) (qp_density \(t.qpDensity)) gives the step size \(d)" }
        } else {
            let d = StepSize.float32(qp: qp, qpDensity: t.qpDensity)
            if !d.isFinite || d == 0 { return "QP \(qp) (qp_density \(t.qpDensity)) gives the float32 step size \(d)" }
        }
        return firstNonFinite.map { "reconstructed value at flat index \($0) is not finite (QP \(qp))" }
    }

    /// The first value that is not finite, read in place (no copy of the tensor).
    static func firstNonFinite<F: BinaryFloatingPoint>(_ raw: UnsafeRawBufferPointer, _: F.Type) -> Int? {
        let width = MemoryLayout<F>.size
        for i in 0..<(raw.count / width) where !raw.loadUnaligned(fromByteOffset: i * width, as: F.self).isFinite { return i }
        return nil
    }

    /// The value range of an integer nnr_decompressed_data_format, nil for float formats, int64
    /// and reserved values.
    static func integerRange(format: Int) -> ClosedRange<Int>? {
        switch format {
        case 0: return Int(Int32.min)...Int(Int32.max)
        case 2: return -2...1
        case 3: return -4...3
        case 4: return -8...7
        case 5: return -128...127
        case 6: return -32768...32767
        default: return nil
        }
    }
}

/// Results of concurrent NDU decoding.
final class OutcomeBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [CheckRun.Outcome?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ v: CheckRun.Outcome) {
        lock.lock()
        values[i] = v
        lock.unlock()
    }
}
