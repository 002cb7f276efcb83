import Foundation
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRCodec

/// The output formats of `nnr dump` that stream.
public enum DumpStreamFormat: String, Sendable {
    case text, json, xml
}

/// `nnr dump` as a stream: each unit is parsed, laid out, (for JSON and XML with --stats/--trace)
/// decoded, rendered by the format's per-unit function and released, so memory grows with the
/// largest unit and the tensor table, not with the file. The output is the same as rendering the
/// whole `DumpReport` (`NNRDump.dump` + `render`).
public struct DumpStreamer: ~Copyable {
    public let options: DumpOptions
    public let format: DumpStreamFormat
    let write: ([UInt8]) -> Void
    var session: DumpSession
    /// What is rendered and not handed to `write` yet (handed over in chunks of `chunk` bytes).
    var out = DumpBytes(capacity: DumpStreamer.chunk + (1 << 14))
    static let chunk = 1 << 16
    /// The XML format's writer (keeps the open elements across units and files).
    let xml = DumpXMLStream()
    /// Whether any file failed, and whether any tensor was named `options.traceTensor`.
    public private(set) var failed = false
    public private(set) var tensorSeen = false

    /// `write` receives the output in pieces, in order.
    public init(options: DumpOptions, format: DumpStreamFormat, write: @escaping (String) -> Void) {
        self.init(options: options, format: format, writeBytes: { write(String(decoding: $0, as: UTF8.self)) })
    }

    /// `writeBytes` receives the output (UTF-8) in pieces, in order.
    public init(options: DumpOptions, format: DumpStreamFormat, writeBytes: @escaping ([UInt8]) -> Void) {
        self.options = options
        self.format = format
        self.write = writeBytes
        session = DumpSession(options: options)
    }

    /// Appends `s` to the output.
    mutating func put(_ s: String) {
        out.append(s)
        flushIfFull()
    }

    mutating func flushIfFull() {
        if out.count >= DumpStreamer.chunk { flush() }
    }

    mutating func flush() {
        if out.count > 0 { write(out.take()) }
    }

    /// Dumps one file or an incremental sequence.
    public mutating func run(_ inputs: [(path: String, source: NNRByteSource)]) {
        if format == .xml {
            xml.begin()
            out.append(xml.takeBytes())
        }
        if format == .json && inputs.count > 1 { put("{\n \"files\": [\n") }
        for (i, input) in inputs.enumerated() {
            if i > 0 { put(format == .json ? ",\n" : format == .text ? "\n" : "") }
            file(input.path, input.source, carryState: i + 1 < inputs.count, jsonLevel: inputs.count > 1 ? 2 : 0)
        }
        switch format {
        case .xml: put(xml.end())
        case .json: put(inputs.count > 1 ? "\n ]\n}\n" : "\n")
        case .text: break
        }
        flush()
    }

    /// Streams one file.
    mutating func file(_ path: String, _ source: NNRByteSource, carryState: Bool, jsonLevel: Int) {
        let scan = DumpScan.scan(source, limits: options.limits)
        var file = DumpFile(path: path, fileSize: source.count, units: [])
        file.failure = scan.failure(source, options: options)
        let decoding = options.decodesPayloads && file.failure == nil
        // JSON and XML show decoded qp_offsets in the units: decode as the units go by.
        var pass: DumpSession.Pass? = decoding && format != .text ? session.begin(&file, source: source, carryState: carryState, trace: nil) : nil
        let frame = Frame(format: format, file: file, unitCount: scan.unitCount, jsonLevel: jsonLevel, xml: xml)
        out.append(frame.head)
        var builder = DumpUnitBuilder(source: source, options: options)
        var kept = KeptUnits()
        var parser = NNRUnitParser(source: source, limits: options.limits, tracing: true)
        parser.allowReservedTypes = true
        var index = 0
        for r in NNRUnitScanner(source: source, limits: options.limits) where index < scan.unitCount {
            guard let parsed = try? parser.parse(r.get()) else { break }
            var u = builder.unit(parsed)
            file.tensors += builder.takeTensors()
            if pass != nil { session.unit(u, file: &file, pass: &pass!) }
            NNRDump.refreshTensorDerived(&u, tensors: file.tensors)
            frame.unit(u, first: index == 0, into: &out)
            flushIfFull()
            if decoding && format == .text { kept.add(u) }
            index += 1
        }
        put(frame.endUnits(count: index))
        file.partialUnit = scan.partialUnit(&builder, source: source)
        if let p = file.partialUnit, format != .json { frame.unit(p, first: index == 0, into: &out) }
        if let p = pass { session.end(&file, pass: p) }
        if decoding && format == .text { decodeText(&file, kept, source: source, carryState: carryState) }
        out.append(frame.tail(file))
        flushIfFull()
        failed = failed || file.failure != nil
        tensorSeen = tensorSeen || file.tensors.contains { $0.name == options.traceTensor }
    }

    /// Text: the trace follows the tree, streamed as it is decoded.
    mutating func decodeText(_ file: inout DumpFile, _ kept: KeptUnits, source: NNRByteSource, carryState: Bool) {
        if options.trace { put(DumpTextRenderer.traceHeader()) }
        flush()
        let lines = DumpTraceWriter()
        let write = self.write
        var pass = session.begin(&file, source: source, carryState: carryState, trace: { line in
            lines.append(line)
            if lines.count >= 1 << 16 { write(lines.take()) }
        })
        for u in kept.units { session.unit(u, file: &file, pass: &pass) }
        session.end(&file, pass: pass)
        out.append(lines.take())
        if options.trace { put(DumpTextRenderer.traceFooter(file)) }
    }
}

/// The units the text format decodes after its tree: NDUs and the parameter sets before them,
/// without their elements (a run of parameter sets keeps only the last MPS and LPS).
struct KeptUnits {
    var units: [DumpUnit] = []

    mutating func add(_ u: DumpUnit) {
        guard let p = u.parsed else { return }
        switch p.content {
        case .modelParameterSet, .layerParameterSet:
            // only the last MPS and LPS before the next NDU matter
            if let last = units.indices.last(where: { units[$0].typeCode == u.typeCode }),
               !units[last...].contains(where: { $0.typeCode != NNRUnitType.modelParameterSet.rawValue
                                                 && $0.typeCode != NNRUnitType.layerParameterSet.rawValue }) {
                units.remove(at: last)
            }
        case .compressedData, .aggregate:
            break
        default:
            return
        }
        units.append(KeptUnits.stripped(u))
    }

    static func stripped(_ u: DumpUnit) -> DumpUnit {
        var s = u
        s.sections = []
        s.hex = nil
        s.parsed?.trace = nil
        s.children = u.children.map(stripped)
        return s
    }
}

/// What each format writes around the units of a file.
struct Frame {
    let format: DumpStreamFormat
    let unitCount: Int
    let jsonLevel: Int
    let head: [UInt8]
    let xml: DumpXMLStream
    /// JSON: the text after `"units": [...]` comes from the whole file object at the end.
    static let unitsKey = Array("\"units\": []".utf8)

    init(format: DumpStreamFormat, file: DumpFile, unitCount: Int, jsonLevel: Int, xml: DumpXMLStream) {
        self.format = format
        self.xml = xml
        self.unitCount = unitCount
        self.jsonLevel = jsonLevel
        switch format {
        case .text:
            head = Array(DumpTextRenderer.fileLine(file, unitCount: unitCount).utf8)
        case .json:
            var h = DumpBytes()
            h.spaces(jsonLevel)
            let whole = Frame.json(file, level: jsonLevel)
            let cut = Frame.unitsCut(whole)
            h.append(Array(whole[..<cut]))
            h.append(unitCount == 0 ? "\"units\": []" : "\"units\": [\n")
            head = h.bytes
        case .xml:
            xml.beginFile(file, unitCount: unitCount)
            head = xml.takeBytes()
        }
    }

    static func json(_ file: DumpFile, level: Int) -> [UInt8] {
        var e = JSONBytesEmitter(indent: 1, level: level)
        DumpJSONRenderer.file(file, &e)
        return e.out.bytes
    }

    /// Where `"units": []` starts in a file object written with no units.
    static func unitsCut(_ whole: [UInt8]) -> Int {
        let key = unitsKey
        var i = 0
        while i + key.count <= whole.count {
            if whole[i] == key[0] && whole[i..<(i + key.count)].elementsEqual(key) { return i }
            i += 1
        }
        return whole.count
    }

    func unit(_ u: DumpUnit, first: Bool, into out: inout DumpBytes) {
        switch format {
        case .text:
            DumpTextRenderer.unit(u, into: &out)
        case .json:
            if !first { out.append(",\n") }
            out.spaces(jsonLevel + 2)
            var e = JSONBytesEmitter(indent: 1, level: jsonLevel + 2, out: DumpBytes(capacity: 0))
            swap(&e.out, &out)
            DumpJSONRenderer.unit(u, &e)
            swap(&e.out, &out)
        case .xml:
            xml.unit(u, into: &out)
        }
    }

    func endUnits(count: Int) -> String {
        format == .json && count > 0 ? "\n" + String(repeating: " ", count: jsonLevel + 1) + "]" : ""
    }

    /// Everything after the units.
    func tail(_ f: DumpFile) -> [UInt8] {
        switch format {
        case .text:
            return Array((DumpTextRenderer.tensors(f) + DumpTextRenderer.failure(f)).utf8)
        case .json:
            let whole = Frame.json(f, level: jsonLevel)
            let cut = Frame.unitsCut(whole)
            return Array(whole[Swift.min(whole.count, cut + Frame.unitsKey.count)...])
        case .xml:
            xml.endFile(f)
            return xml.takeBytes()
        }
    }
}
