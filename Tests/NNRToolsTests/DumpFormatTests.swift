import Foundation
import XCTest
#if canImport(FoundationXML)
import FoundationXML
#endif
import NNRBitIO
import NNRContainer
import NNRSyntax
import NNRTools
import NNRTestSupport

/// The text, JSON and XML dumps of every reference bitstream against units.json, the JSON shape of
/// the first version, the XML against Spec/dump.xsd, and escaping.
final class DumpFormatTests: XCTestCase {
    func testTextJSONAndXMLAgreeWithUnitsJSON() throws {
        let cases = Vectors.allSharedCases()
        if cases.isEmpty { throw XCTSkip(Vectors.skipReasonNoShared()) }
        var files = 0, fields = 0
        for bs in cases.flatMap({ CaseFiles.bitstreams(of: $0) }) {
            let source = try NNRByteSource(contentsOf: bs.bitstream)
            let report = NNRDump.dump([(bs.bitstream.path, source)], options: DumpOptions())
            XCTAssertFalse(report.hasError, bs.bitstream.path)
            let expected = try CaseFiles.units(bs.unitsJSON)
            let name = bs.bitstream.deletingLastPathComponent().lastPathComponent + "/" + bs.bitstream.lastPathComponent
            let text = DumpTextRenderer.render(report)
            let json = DumpJSONRenderer.render(report).serialized(indent: 1)
            let xml = DumpXMLRenderer.render(report)
            for (format, units) in [("text", try DumpParsing.text(text)), ("json", try DumpParsing.json(json)), ("xml", try DumpParsing.xml(xml))] {
                fields += DumpParsing.compare(units, expected, context: "\(name) \(format)")
            }
            files += 1
        }
        print("dump formats: \(files) bitstreams, \(fields) field comparisons")
        XCTAssertGreaterThan(fields, 3 * 5000)
    }

    /// JSON keeps the first version's shape: top-level `units`, each with index/offset/size/type
    /// and `fields` equal to the parsed unit's field list.
    func testJSONKeepsTheFirstVersionsShape() throws {
        let cases = Vectors.allSharedCases()
        if cases.isEmpty { throw XCTSkip(Vectors.skipReasonNoShared()) }
        for bs in cases.flatMap({ CaseFiles.bitstreams(of: $0) }) {
            let source = try NNRByteSource(contentsOf: bs.bitstream)
            let (units, _) = NNRUnitParser.parseAll(source, tracing: true, allowReservedTypes: true)
            let v2 = DumpJSONRenderer.render(NNRDump.dump([(bs.bitstream.path, source)], options: DumpOptions()))
            guard case let .array(new)? = v2["units"] else {
                XCTFail("no units array: \(bs.bitstream.path)")
                continue
            }
            XCTAssertEqual(units.count, new.count)
            XCTAssertEqual(v2["file_size"], .int(source.count))
            for (u, b) in zip(units, new) {
                XCTAssertEqual(b["index"], .int(u.location.index))
                XCTAssertEqual(b["offset"], .int(u.location.offset))
                XCTAssertEqual(b["size"], .int(u.location.size))
                XCTAssertEqual(b["type"], .string(u.typeName))
                XCTAssertEqual(b["header_bytes"], .int(u.headerByteCount))
                XCTAssertEqual(b["payload_bytes"], .int(u.location.size - u.headerByteCount))
                XCTAssertEqual(b["fields"], .object(FieldListBuilder.fields(of: u).map { ($0.name, $0.value.json) }), bs.bitstream.path)
            }
        }
    }

    /// Spec/dump.xsd, loaded once with libxml2.
    static let schema = XMLSchemaValidator(schemaPath: Vectors.repoRoot.appendingPathComponent("Spec/dump.xsd").path)

    /// Every public vector's XML — headers only, and with stats, trace, hex — validates against
    /// Spec/dump.xsd in-process (libxml2's xmlSchemaValidateDoc), and so do the dumps of broken files.
    func testXMLValidatesAgainstTheSchema() throws {
        let cases = Vectors.allSharedCases()
        if cases.isEmpty { throw XCTSkip(Vectors.skipReasonNoShared()) }
        XCTAssertNil(Self.schema.loadError)
        var validated = 0
        func validate(_ report: DumpReport, _ name: String) {
            let problems = Self.schema.validate(DumpXMLRenderer.render(report))
            XCTAssertEqual(problems, [], name)
            validated += 1
        }
        let full = DumpOptions(stats: true, trace: true, traceLimit: 300, hex: true)
        for dir in cases {
            let steps = CaseFiles.bitstreams(of: dir)
            var inputs: [(path: String, source: NNRByteSource)] = []
            for (k, bs) in steps.enumerated() {
                let source = try NNRByteSource(contentsOf: bs.bitstream)
                inputs.append((bs.bitstream.path, source))
                validate(NNRDump.dump([(bs.bitstream.path, source)], options: DumpOptions()), "\(dir.lastPathComponent)-\(k)")
            }
            // Decoding every tensor of the two largest vectors takes long in debug builds; their
            // header-only XML is validated above, and the decoded elements are the same kinds.
            if inputs.reduce(0, { $0 + $1.source.count }) > 256 << 10 { continue }
            var options = full
            let reference = dir.appendingPathComponent("input.npz")
            if steps.count == 1, FileManager.default.fileExists(atPath: reference.path) { options.reference = try loadNPZ(reference) }
            let report = NNRDump.dump(inputs, options: options)
            XCTAssertFalse(report.hasError, dir.lastPathComponent)
            validate(report, "\(dir.lastPathComponent)-full")
        }
        // Broken files: cut inside a header, inside a payload, a corrupted payload.
        if let dir = Vectors.sharedCase("m_torch_smallcnn_blocks") {
            let bytes = try Array(Data(contentsOf: dir.appendingPathComponent("bitstream.nnc")))
            for cut in [1, 5, 40, 100, 2000] {
                validate(NNRDump.dump([("cut", NNRByteSource(bytes: Array(bytes[0..<cut])))], options: full), "cut-\(cut)")
            }
            var broken = bytes
            broken[300] ^= 0x5A
            validate(NNRDump.dump([("corrupt", NNRByteSource(bytes: broken))], options: full), "corrupt")
        }
        print("dump XML: \(validated) documents valid against Spec/dump.xsd")
        XCTAssertGreaterThan(validated, 60)
    }

    /// The validator is not a rubber stamp: an element the schema does not know, a missing
    /// required attribute and a document that is not well-formed are refused.
    func testSchemaValidatorRefusesInvalidXML() throws {
        XCTAssertNil(Self.schema.loadError)
        let report = NNRDump.dump([("x", NNRByteSource(bytes: [0, 0, 0, 5, 0]))], options: DumpOptions())
        let xml = DumpXMLRenderer.render(report)
        XCTAssertEqual(Self.schema.validate(xml), [])
        XCTAssertFalse(Self.schema.validate(xml.replacingOccurrences(of: "<bitstream ", with: "<bitstreams ")
            .replacingOccurrences(of: "</bitstream>", with: "</bitstreams>")).isEmpty)
        XCTAssertFalse(Self.schema.validate(xml.replacingOccurrences(of: " size=\"5\"", with: "")).isEmpty)
        XCTAssertFalse(Self.schema.validate(String(xml.dropLast(5))).isEmpty)
        XCTAssertNotNil(XMLSchemaValidator(schemaPath: "/nonexistent.xsd").loadError)
    }

    /// Names with markup characters, quotes, control characters and non-characters survive the
    /// three formats (XML: entities; characters XML cannot carry as \uXXXX).
    func testEscapingOfNames() throws {
        guard let dir = Vectors.sharedCase("t2d_uniform_qp-32_dq") else { throw XCTSkip(Vectors.skipReasonNoShared()) }
        let name = "a<b>&\"c'\u{1}\n\t z\u{FFFE}é"
        let bytes = try DumpParsing.renamedTensor(dir.appendingPathComponent("bitstream.nnc"), to: name)
        let report = NNRDump.dump([("odd <name> & \"file\"", NNRByteSource(bytes: bytes))], options: DumpOptions(stats: true, trace: true, traceLimit: 5))
        XCTAssertFalse(report.hasError)

        let xml = DumpXMLRenderer.render(report)
        let units = try DumpParsing.xml(xml)
        let ndu = try XCTUnwrap(units.last)
        let xmlName = ndu.items.first { $0.name == "topology_elem_id" }?.value as? String
        XCTAssertEqual(xmlName, "a<b>&\"c'\\u0001\n\t z\\uFFFEé")
        XCTAssertTrue(xml.contains("file=\"odd &lt;name&gt; &amp; &quot;file&quot;\""))

        let json = try DumpParsing.json(DumpJSONRenderer.render(report).serialized(indent: 1))
        XCTAssertEqual(json.last?.items.first { $0.name == "topology_elem_id" }?.value as? String, name)

        let text = try DumpParsing.text(DumpTextRenderer.render(report))
        XCTAssertEqual(text.last?.items.first { $0.name == "topology_elem_id" }?.value as? String, name)

        // Trace lines keep the name as one token.
        let line = try XCTUnwrap(report.files.first?.trace.first)
        let columns = DumpParsing.traceColumns(DumpTextRenderer.traceLine(line))
        XCTAssertEqual(columns.count, 10)
        XCTAssertEqual(DumpParsing.decodeToken(columns[1]), name)

        XCTAssertEqual(Self.schema.validate(xml), [])
    }
}

/// Reading the three formats back, for the tests.
enum DumpParsing {
    /// One element or derived value as a format shows it.
    struct Item {
        var name: String
        var value: Any
        var derived: Bool
        var descriptor: String?
    }

    struct Unit {
        var index: Int
        var offset: Int
        var size: Int
        var type: String
        var headerBytes: Int
        var payloadBytes: Int
        var items: [Item] = []
    }

    enum Failure: Error { case parse(String) }

    // MARK: text

    static func text(_ s: String) throws -> [Unit] {
        var units: [Unit] = []
        let unitLine = try NSRegularExpression(pattern: #"^unit (\d+) (\S+) @(\d+) size (\d+) \(header (\d+), payload (-?\d+)\)$"#)
        let elementLine = try NSRegularExpression(pattern: #"^\s+(\d+)\.(\d)\s+(\S+)\s+(\d+)\s+(\S+)\s+(\S+) = (.*)$"#)
        let derivedLine = try NSRegularExpression(pattern: #"^\s+-> (\S+) = (.*)$"#)
        for line in s.components(separatedBy: "\n") {
            let ns = line as NSString
            let range = NSRange(location: 0, length: ns.length)
            func group(_ m: NSTextCheckingResult, _ i: Int) -> String { ns.substring(with: m.range(at: i)) }
            if let m = unitLine.firstMatch(in: line, range: range) {
                units.append(Unit(index: Int(group(m, 1)) ?? -1, offset: Int(group(m, 3)) ?? -1, size: Int(group(m, 4)) ?? -1,
                                  type: group(m, 2), headerBytes: Int(group(m, 5)) ?? -1, payloadBytes: Int(group(m, 6)) ?? -1))
            } else if let m = derivedLine.firstMatch(in: line, range: range) {
                guard !units.isEmpty else { throw Failure.parse("derived value before a unit: \(line)") }
                units[units.count - 1].items.append(Item(name: group(m, 1), value: try textValue(group(m, 2)), derived: true, descriptor: nil))
            } else if let m = elementLine.firstMatch(in: line, range: range) {
                guard !units.isEmpty else { throw Failure.parse("element before a unit: \(line)") }
                units[units.count - 1].items.append(Item(name: group(m, 6), value: try textValue(group(m, 7)), derived: false,
                                                         descriptor: group(m, 3)))
            }
        }
        return units
    }

    /// The value at the start of `s` (the rest is a symbol or note).
    static func textValue(_ s: String) throws -> Any {
        if s.hasPrefix("\"") {
            var escaped = false
            var end = s.index(after: s.startIndex)
            while end < s.endIndex {
                let c = s[end]
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { break }
                end = s.index(after: end)
            }
            guard end < s.endIndex else { throw Failure.parse("unterminated string: \(s)") }
            return try jsonString(String(s[s.startIndex...end]))
        }
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else { throw Failure.parse("unterminated list: \(s)") }
            return try JSONSerialization.jsonObject(with: Data(s[s.startIndex...close].utf8))
        }
        let token = String(s.prefix { $0 != " " })
        if let i = Int(token) { return i }
        if token.hasPrefix("0x") { return String(token.dropFirst(2)) }
        if let d = Double(token) { return d }
        return token
    }

    static func jsonString(_ literal: String) throws -> String {
        guard let arr = try JSONSerialization.jsonObject(with: Data("[\(literal)]".utf8)) as? [Any], let s = arr.first as? String else {
            throw Failure.parse("bad string literal \(literal)")
        }
        return s
    }

    // MARK: JSON

    static func json(_ s: String) throws -> [Unit] {
        guard let top = try JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any],
              let units = top["units"] as? [[String: Any]] else { throw Failure.parse("no units") }
        return units.map { u in
            var out = Unit(index: u["index"] as? Int ?? -1, offset: u["offset"] as? Int ?? -1, size: u["size"] as? Int ?? -1,
                           type: u["type"] as? String ?? "", headerBytes: u["header_bytes"] as? Int ?? -1,
                           payloadBytes: u["payload_bytes"] as? Int ?? -1)
            for section in u["sections"] as? [[String: Any]] ?? [] {
                for e in section["elements"] as? [[String: Any]] ?? [] {
                    out.items.append(Item(name: e["name"] as? String ?? "", value: e["value"] ?? NSNull(), derived: false,
                                          descriptor: e["descriptor"] as? String))
                    for d in e["derived"] as? [[String: Any]] ?? [] {
                        out.items.append(Item(name: d["name"] as? String ?? "", value: d["value"] ?? NSNull(), derived: true, descriptor: nil))
                    }
                }
                for d in section["derived"] as? [[String: Any]] ?? [] {
                    out.items.append(Item(name: d["name"] as? String ?? "", value: d["value"] ?? NSNull(), derived: true, descriptor: nil))
                }
            }
            return out
        }
    }

    // MARK: XML

    final class XMLCollector: NSObject, XMLParserDelegate {
        var units: [Unit] = []
        var depth = 0
        var error: Error?

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes a: [String: String] = [:]) {
            switch name {
            case "unit":
                depth += 1
                if depth == 1 {
                    units.append(Unit(index: Int(a["index"] ?? "") ?? -1, offset: Int(a["offset"] ?? "") ?? -1,
                                      size: Int(a["size"] ?? "") ?? -1, type: a["type"] ?? "",
                                      headerBytes: Int(a["header_bytes"] ?? "") ?? -1, payloadBytes: Int(a["payload_bytes"] ?? "") ?? -1))
                }
            case "field" where depth == 1 && !units.isEmpty:
                let d = a["descriptor"] ?? ""
                let raw = a["value"] ?? ""
                let value: Any
                if d == "st(v)" {
                    value = raw
                } else if raw.hasPrefix("0x") {
                    value = String(raw.dropFirst(2))
                } else {
                    value = DumpParsing.scalar(raw)
                }
                units[units.count - 1].items.append(Item(name: a["name"] ?? "", value: value, derived: false, descriptor: d))
            case "derived" where depth == 1 && !units.isEmpty:
                let raw = a["value"] ?? ""
                var value: Any = DumpParsing.scalar(raw)
                if raw.hasPrefix("["), let v = try? JSONSerialization.jsonObject(with: Data(raw.utf8)) { value = v }
                units[units.count - 1].items.append(Item(name: a["name"] ?? "", value: value, derived: true, descriptor: nil))
            default:
                break
            }
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "unit" { depth -= 1 }
        }

        func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) { error = parseError }
    }

    static func scalar(_ raw: String) -> Any {
        if let i = Int(raw) { return i }
        if let d = Double(raw) { return d }
        return raw
    }

    static func xml(_ s: String) throws -> [Unit] {
        let parser = XMLParser(data: Data(s.utf8))
        let collector = XMLCollector()
        parser.delegate = collector
        guard parser.parse() else { throw collector.error ?? Failure.parse("XML does not parse") }
        return collector.units
    }

    // MARK: comparison with units.json

    static let nameMap = ["codebook_egk__": "codebook_egk", "codebook_size__": "codebook_size",
                          "CbZeroOffset__": "CbZeroOffset", "codebook__": "codebook"]

    /// Fields by name as units.json has them: "x[j]" items as the list x, alignment left out.
    static func fields(_ items: [Item]) -> [String: Any] {
        var out: [String: Any] = [:]
        for item in items where item.descriptor != "byte_alignment()" {
            if let br = item.name.firstIndex(of: "[") {
                let base = String(item.name[..<br])
                out[base] = (out[base] as? [Any] ?? []) + [item.value]
            } else {
                out[item.name] = item.value
            }
        }
        return out
    }

    /// Compares every unit with units.json; returns the number of fields compared.
    @discardableResult
    static func compare(_ units: [Unit], _ expected: [[String: Any]], context: String,
                        file: StaticString = #filePath, line: UInt = #line) -> Int {
        XCTAssertEqual(units.count, expected.count, "\(context): unit count", file: file, line: line)
        var profile = 0, indexed = 0, parent = 0
        var compared = 0
        for (u, e) in zip(units, expected) {
            let where_ = "\(context) unit \(u.index)"
            XCTAssertEqual(u.offset, e["offset"] as? Int, where_, file: file, line: line)
            XCTAssertEqual(u.size, e["nnr_unit_size"] as? Int, where_, file: file, line: line)
            XCTAssertEqual(u.type, e["type_name"] as? String, where_, file: file, line: line)
            XCTAssertEqual(u.headerBytes, e["header_bytes"] as? Int, where_, file: file, line: line)
            XCTAssertEqual(u.payloadBytes, e["payload_bytes"] as? Int, where_, file: file, line: line)
            let mine = fields(u.items)
            for (key, value) in e["fields"] as? [String: Any] ?? [:] {
                compared += 1
                let type = e["type"] as? Int ?? -1
                if type != 0 && key == "general_profile_idc" {
                    XCTAssertEqual(profile, value as? Int, "\(where_) \(key)", file: file, line: line)
                    continue
                }
                if type != 1 && key == "mps_topology_indexed_reference_flag" {
                    XCTAssertEqual(indexed, value as? Int, "\(where_) \(key)", file: file, line: line)
                    continue
                }
                if type != 1 && key == "mps_parent_signalling_enabled_flag" {
                    XCTAssertEqual(parent, value as? Int, "\(where_) \(key)", file: file, line: line)
                    continue
                }
                if key == "cabac_entry_point_list" {
                    let deltas = mine["bit_offset_delta"] as? [Any] ?? []
                    let values = mine["ep_value"] as? [Any] ?? []
                    let states = mine["ep_dq_state"] as? [Any] ?? []
                    var packed: [Int] = []
                    for j in 0..<deltas.count {
                        let d = deltas[j] as? Int ?? -1
                        let v = j < values.count ? values[j] as? Int ?? -1 : -1
                        let s = j < states.count ? states[j] as? Int ?? -1 : 0
                        packed.append((d << 11) | (v << 3) | s)
                    }
                    XCTAssertEqual(packed, value as? [Int], "\(where_) \(key)", file: file, line: line)
                    continue
                }
                let name = nameMap[key] ?? key
                guard let ours = mine[name] else {
                    XCTFail("\(where_): \(key) missing; shown: \(mine.keys.sorted())", file: file, line: line)
                    continue
                }
                XCTAssertTrue(same(ours, value), "\(where_) \(key): shown \(ours), units.json \(value)", file: file, line: line)
            }
            if e["type"] as? Int == 0 { profile = mine["general_profile_idc"] as? Int ?? -1 }
            if e["type"] as? Int == 1 {
                indexed = mine["mps_topology_indexed_reference_flag"] as? Int ?? -1
                parent = mine["mps_parent_signalling_enabled_flag"] as? Int ?? -1
            }
        }
        return compared
    }

    static func same(_ a: Any, _ b: Any) -> Bool {
        if let x = a as? [Any], let y = b as? [Any] {
            return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        }
        if let x = a as? String, let y = b as? String { return x == y }
        if let x = a as? Int, let y = b as? Int { return x == y }
        if let x = a as? Double, let y = b as? Double { return Float(x) == Float(y) }
        return false
    }

    // MARK: helpers

    static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The columns of a text trace line (a quoted tensor name is one column).
    static func traceColumns(_ line: String) -> [String] {
        var out: [String] = []
        var current = ""
        var quoted = false, escaped = false
        for c in line {
            if quoted {
                current.append(c)
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { quoted = false }
            } else if c == " " {
                if !current.isEmpty { out.append(current) }
                current = ""
            } else {
                if c == "\"" && current.isEmpty { quoted = true }
                current.append(c)
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// A name column: "-" is none, a quoted one is a JSON string literal.
    static func decodeToken(_ s: String) -> String? {
        if s == "-" { return nil }
        if s.hasPrefix("\"") { return try? jsonString(s) }
        return s
    }

    /// A reference bitstream whose (single) NDU names its tensor `name`.
    static func renamedTensor(_ url: URL, to name: String) throws -> [UInt8] {
        let source = try NNRByteSource(contentsOf: url)
        let (units, error) = NNRUnitParser.parseAll(source)
        if let e = error { throw e }
        var out: [UInt8] = []
        for u in units {
            if var h = u.ndu {
                h.topologyElemId = name
                out += try NNRUnitSerializer.serialize(common: u.common, content: .compressedData(h), context: u.context,
                                                       payload: source.bytes(u.payloadRange))
            } else {
                out += source.bytes(u.location.offset..<u.location.end)
            }
        }
        return out
    }
}
