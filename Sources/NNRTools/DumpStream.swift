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
public struct DumpStreamer {
    public let options: DumpOptions
    public let format: DumpStreamFormat
    let write: (String) -> Void
    var session: DumpSession
    /// The XML format's writer (libxml2 keeps the open elements across units and files).
    let xml = DumpXMLStream()
    /// Whether any file failed, and whether any tensor was named `options.traceTensor`.
    public private(set) var failed = false
    public private(set) var tensorSeen = false

    /// `write` receives the output in pieces, in order.
    public init(options: DumpOptions, format: DumpStreamFormat, write: @escaping (String) -> Void) {
        self.options = options
        self.format = format
        self.write = write
        session = DumpSession(options: options)
    }

    /// Dumps one file or an incremental sequence.
    public mutating func run(_ inputs: [(path: String, source: NNRByteSource)]) {
        if format == .xml {
            xml.begin()
            write(xml.take())
        }
        if format == .json && inputs.count > 1 { write("{\n \"files\": [\n") }
        for (i, input) in inputs.enumerated() {
            if i > 0 { write(format == .json ? ",\n" : format == .text ? "\n" : "") }
            file(input.path, input.source, carryState: i + 1 < inputs.count, jsonLevel: inputs.count > 1 ? 2 : 0)
        }
        switch format {
        case .xml: write(xml.end())
        case .json: write(inputs.count > 1 ? "\n ]\n}\n" : "\n")
        case .text: break
        }
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
        write(frame.head)
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
            write(frame.unit(u, first: index == 0))
            if decoding && format == .text { kept.add(u) }
            index += 1
        }
        write(frame.endUnits(count: index))
        file.partialUnit = scan.partialUnit(&builder, source: source)
        if let p = file.partialUnit, format != .json { write(frame.unit(p, first: index == 0)) }
        if let p = pass { session.end(&file, pass: p) }
        if decoding && format == .text { decodeText(&file, kept, source: source, carryState: carryState) }
        write(frame.tail(file))
        failed = failed || file.failure != nil
        tensorSeen = tensorSeen || file.tensors.contains { $0.name == options.traceTensor }
    }

    /// Text: the trace follows the tree, streamed as it is decoded.
    mutating func decodeText(_ file: inout DumpFile, _ kept: KeptUnits, source: NNRByteSource, carryState: Bool) {
        if options.trace { write(DumpTextRenderer.traceHeader()) }
        let lines = DumpTraceWriter()
        let write = self.write
        var pass = session.begin(&file, source: source, carryState: carryState, trace: { line in
            lines.append(line)
            if lines.count >= 1 << 16 { write(String(decoding: lines.take(), as: UTF8.self)) }
        })
        for u in kept.units { session.unit(u, file: &file, pass: &pass) }
        session.end(&file, pass: pass)
        write(String(decoding: lines.take(), as: UTF8.self))
        if options.trace { write(DumpTextRenderer.traceFooter(file)) }
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
    let head: String
    let xml: DumpXMLStream
    /// JSON: the text after `"units": [...]` comes from the whole file object at the end.
    static let unitsKey = "\"units\": []"

    init(format: DumpStreamFormat, file: DumpFile, unitCount: Int, jsonLevel: Int, xml: DumpXMLStream) {
        self.format = format
        self.xml = xml
        self.unitCount = unitCount
        self.jsonLevel = jsonLevel
        switch format {
        case .text:
            head = DumpTextRenderer.fileLine(file, unitCount: unitCount)
        case .json:
            let whole = Frame.json(file, level: jsonLevel)
            let cut = whole.range(of: Frame.unitsKey)!
            head = String(repeating: " ", count: jsonLevel) + String(whole[..<cut.lowerBound]) + "\"units\": " + (unitCount == 0 ? "[]" : "[\n")
        case .xml:
            xml.beginFile(file, unitCount: unitCount)
            head = xml.take()
        }
    }

    static func json(_ file: DumpFile, level: Int) -> String {
        DumpJSONRenderer.file(file).serialized(indent: 1, level: level)
    }

    func unit(_ u: DumpUnit, first: Bool) -> String {
        switch format {
        case .text:
            var out = ""
            DumpTextRenderer.unit(u, into: &out)
            return out
        case .json:
            let pad = String(repeating: " ", count: jsonLevel + 2)
            return (first ? "" : ",\n") + pad + DumpJSONRenderer.unit(u).serialized(indent: 1, level: jsonLevel + 2)
        case .xml:
            xml.unit(u)
            return xml.take()
        }
    }

    func endUnits(count: Int) -> String {
        format == .json && count > 0 ? "\n" + String(repeating: " ", count: jsonLevel + 1) + "]" : ""
    }

    /// Everything after the units.
    func tail(_ f: DumpFile) -> String {
        switch format {
        case .text:
            return DumpTextRenderer.tensors(f) + DumpTextRenderer.failure(f)
        case .json:
            let whole = Frame.json(f, level: jsonLevel)
            let cut = whole.range(of: Frame.unitsKey)!
            return String(whole[cut.upperBound...])
        case .xml:
            xml.endFile(f)
            return xml.take()
        }
    }
}
