import CLibXML2
import Foundation

/// XML written with libxml2's `xmlTextWriter` into memory, one element at a time; `take()` hands
/// over what is written so far, so a streaming driver can write unit by unit.
///
/// Layout is ours (libxml2's own indentation is off): `open`/`close`/`empty`/`textElement` put
/// each element on its own line, indented by two spaces per level; `start`/`text`/`end` write
/// inline. Text and attribute values are escaped by libxml2 (attributes: markup characters other
/// than `'`, and tab, newline and carriage return as references; UTF-8 as it is); characters
/// XML 1.0 cannot carry at all are replaced first, as `unrepresentable` says.
final class XMLStreamWriter {
    private let buffer: xmlBufferPtr?
    private let writer: xmlTextWriterPtr?
    private let unrepresentable: XMLText.Unrepresentable
    private(set) var depth = 0

    init(unrepresentable: XMLText.Unrepresentable) {
        self.unrepresentable = unrepresentable
        let b = xmlBufferCreate()
        buffer = b
        writer = b.flatMap { xmlNewTextWriterMemory($0, 0) }
    }

    deinit {
        if let w = writer { xmlFreeTextWriter(w) }
        if let b = buffer { xmlBufferFree(b) }
    }

    /// `<?xml version="1.0" encoding="UTF-8"?>` and a newline.
    func startDocument() {
        guard let w = writer else { return }
        xmlTextWriterStartDocument(w, nil, "UTF-8", nil)
    }

    /// Closes what is open; ends with a newline.
    func endDocument() {
        guard let w = writer else { return }
        xmlTextWriterEndDocument(w)
    }

    /// Starts an element inline (no indentation, no newline).
    func start(_ name: String, _ attributes: [(String, String)] = []) {
        guard let w = writer else { return }
        xmlTextWriterStartElement(w, name)
        for (k, v) in attributes {
            xmlTextWriterWriteAttribute(w, k, XMLText.replacingUnrepresentable(v, with: unrepresentable))
        }
    }

    /// Character data (escaped).
    func text(_ s: String) {
        guard let w = writer, !s.isEmpty else { return }
        xmlTextWriterWriteString(w, XMLText.replacingUnrepresentable(s, with: unrepresentable))
    }

    /// Ends the innermost element: `/>` when nothing was written inside it.
    func end() {
        guard let w = writer else { return }
        xmlTextWriterEndElement(w)
    }

    private var indentation: String { String(repeating: "  ", count: depth) }

    /// `<name …>` on its own line; what follows is indented one level more.
    func open(_ name: String, _ attributes: [(String, String)] = []) {
        text(indentation)
        start(name, attributes)
        text("\n")
        depth += 1
    }

    /// `</name>` of the element `open` started (the root's newline comes from `endDocument`).
    func close() {
        depth -= 1
        text(indentation)
        end()
        if depth > 0 { text("\n") }
    }

    /// `<name …/>` on its own line.
    func empty(_ name: String, _ attributes: [(String, String)] = []) {
        text(indentation)
        start(name, attributes)
        end()
        text("\n")
    }

    /// `<name …>text</name>` on its own line.
    func textElement(_ name: String, _ content: String, _ attributes: [(String, String)] = []) {
        text(indentation)
        start(name, attributes)
        text(content)
        end()
        text("\n")
    }

    /// A line of character data at the current indentation.
    func textLine(_ content: String) {
        text(indentation + content + "\n")
    }

    /// What was written since the last call.
    func take() -> String {
        guard let w = writer, let b = buffer else { return "" }
        xmlTextWriterFlush(w)
        let n = Int(xmlBufferLength(b))
        guard n > 0, let p = xmlBufferContent(b) else { return "" }
        let s = String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
        xmlBufferEmpty(b)
        return s
    }
}

/// XSD validation with libxml2 (Spec/dump.xsd for the XML dump).
public final class XMLSchemaValidator {
    private let schema: xmlSchemaPtr?
    /// Why the schema could not be loaded (nil when it was).
    public let loadError: String?

    /// Loads an XSD file.
    public init(schemaPath: String) {
        var problems: [String] = []
        // libxml2 reports an unreadable file through its generic handler (standard error): look first.
        let readable = FileManager.default.isReadableFile(atPath: schemaPath)
        if !readable { problems.append("not readable") }
        let parserContext = readable ? xmlSchemaNewParserCtxt(schemaPath) : nil
        var s: xmlSchemaPtr?
        if let pc = parserContext {
            Self.withErrorCollector(&problems) { ctx, handler in
                xmlSchemaSetParserStructuredErrors(pc, handler, ctx)
                s = xmlSchemaParse(pc)
            }
            xmlSchemaFreeParserCtxt(pc)
        }
        schema = s
        loadError = s == nil ? "cannot load the schema \(schemaPath): " + problems.joined(separator: "; ") : nil
    }

    deinit {
        if let s = schema { xmlSchemaFree(s) }
    }

    /// The problems of a document: not well-formed or not valid against the schema (empty: valid).
    public func validate(_ xml: String) -> [String] {
        guard let s = schema else { return [loadError ?? "no schema"] }
        var problems: [String] = []
        let bytes = Array(xml.utf8)
        let doc: xmlDocPtr? = bytes.withUnsafeBufferPointer { p in
            p.baseAddress.flatMap { base in
                base.withMemoryRebound(to: CChar.self, capacity: p.count) {
                    xmlReadMemory($0, Int32(clamping: p.count), "dump.xml", "UTF-8", Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue))
                }
            }
        }
        guard let d = doc else {
            let message = xmlGetLastError().map { String(cString: $0.pointee.message) } ?? "parse error"
            return ["not well-formed: " + message.trimmingCharacters(in: .whitespacesAndNewlines)]
        }
        defer { xmlFreeDoc(d) }
        guard let vc = xmlSchemaNewValidCtxt(s) else { return ["cannot create a validation context"] }
        defer { xmlSchemaFreeValidCtxt(vc) }
        var result: Int32 = 0
        Self.withErrorCollector(&problems) { ctx, handler in
            xmlSchemaSetValidStructuredErrors(vc, handler, ctx)
            result = xmlSchemaValidateDoc(vc, d)
        }
        if result != 0 && problems.isEmpty { problems.append("invalid (libxml2 code \(result))") }
        return problems
    }

    /// Runs `body` with a structured-error handler that appends "line N: message" to `problems`.
    private static func withErrorCollector(_ problems: inout [String], _ body: (UnsafeMutableRawPointer, xmlStructuredErrorFunc) -> Void) {
        final class Box { var lines: [String] = [] }
        let box = Box()
        let handler: xmlStructuredErrorFunc = { ctx, error in
            guard let ctx, let e = error else { return }
            let b = Unmanaged<Box>.fromOpaque(ctx).takeUnretainedValue()
            let m = e.pointee.message.map { String(cString: $0) } ?? "?"
            b.lines.append("line \(e.pointee.line): " + m.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        withExtendedLifetime(box) {
            body(Unmanaged.passUnretained(box).toOpaque(), handler)
        }
        problems += box.lines
    }
}
