import CLibXML2
import Foundation

/// XML written with libxml2's `xmlTextWriter` into one reused memory buffer: the XML dump
/// (`DumpXMLStream`) and the JUnit report (`JUnitReport`) are written through it, in one layout.
///
/// An element: `begin(name)`, `attribute`s, then `openEnd()` (children follow on their own lines,
/// one level deeper; `close()` ends it), `emptyEnd()` (`<name …/>`, or `</name>` after inline
/// content) or `textEnd(content)` (`<name …>content</name>`); each on its own line, indented by
/// two spaces per level. `start`/`text`/`end` write inline. libxml2's own indentation is off.
///
/// libxml2 writes and escapes everything: `xmlTextWriterStartElement`, `WriteAttribute` (markup
/// characters other than `'`, and tab, newline and carriage return as references; UTF-8 as it
/// is), `WriteString` (character data), `EndElement` (`/>` or `</name>`); the layout's spaces
/// and newlines, which need no escaping, go through `xmlTextWriterWriteRawLen` (it also closes a
/// start tag with `>`). Characters XML 1.0 cannot carry at all are replaced first, as
/// `unrepresentable` says (strings without them, nearly all, are handed over as they are).
///
/// What crosses to C is pointers to bytes that exist already: element and attribute names are
/// `StaticString`s (their UTF-8 is in the binary, NUL-terminated), strings go through `withCString`
/// (no copy for native strings), integers are written into a scratch buffer the writer owns; the
/// Swift side allocates nothing per element or attribute.
final class XMLStreamWriter {
    private let buffer: xmlBufferPtr?
    private let writer: xmlTextWriterPtr?
    private let unrepresentable: XMLText.Unrepresentable
    private(set) var depth = 0
    /// A line ends with the next line's indentation, in one call (`settle()` where none follows).
    private var newlinePending = false
    /// A newline, then `indentWidth` spaces (layout), then room for a number and its NUL.
    private let scratch: UnsafeMutablePointer<xmlChar>
    private static let indentWidth = 64
    private static let digitsEnd = 1 + indentWidth + 24

    init(unrepresentable: XMLText.Unrepresentable) {
        self.unrepresentable = unrepresentable
        let b = xmlBufferCreate()
        buffer = b
        writer = b.flatMap { xmlNewTextWriterMemory($0, 0) }
        scratch = .allocate(capacity: Self.digitsEnd + 1)
        scratch.initialize(repeating: 0x20, count: Self.digitsEnd + 1)
        scratch[0] = UInt8(ascii: "\n")
    }

    deinit {
        if let w = writer { xmlFreeTextWriter(w) }
        if let b = buffer { xmlBufferFree(b) }
        scratch.deallocate()
    }

    // MARK: libxml2 calls

    /// `<?xml version="1.0" encoding="UTF-8"?>` and a newline.
    func startDocument() {
        guard let w = writer else { return }
        xmlTextWriterStartDocument(w, nil, "UTF-8", nil)
    }

    /// Closes what is open; ends with a newline.
    func endDocument() {
        guard let w = writer else { return }
        settle()
        xmlTextWriterEndDocument(w)
        depth = 0
    }

    /// `<name` inline (no indentation).
    @inline(__always) func start(_ name: StaticString) {
        guard let w = writer else { return }
        settle()
        Self.withName(name) { xmlTextWriterStartElement(w, $0) }
    }

    func attribute(_ k: StaticString, _ v: String) {
        guard let w = writer else { return }
        Self.withName(k) { key in
            withXMLText(v) { xmlTextWriterWriteAttribute(w, key, $0) }
        }
    }

    func attribute(_ k: StaticString, _ v: Int) {
        guard let w = writer else { return }
        // Digits from the end of the scratch buffer backwards, as `String(v)` writes them.
        var i = Self.digitsEnd
        scratch[i] = 0
        var m = v.magnitude
        repeat {
            i -= 1
            scratch[i] = UInt8(truncatingIfNeeded: m % 10) &+ 0x30
            m /= 10
        } while m > 0
        if v < 0 {
            i -= 1
            scratch[i] = UInt8(ascii: "-")
        }
        let digits = UnsafePointer(scratch + i)
        Self.withName(k) { xmlTextWriterWriteAttribute(w, $0, digits) }
    }

    func attribute(_ k: StaticString, _ v: Bool) {
        guard let w = writer else { return }
        let text: StaticString = v ? "true" : "false"
        Self.withName(k) { key in xmlTextWriterWriteAttribute(w, key, text.utf8Start) }
    }

    /// Character data (escaped); closes the start tag first.
    func text(_ s: String) {
        guard let w = writer, !s.isEmpty else { return }
        settle()
        withXMLText(s) { xmlTextWriterWriteString(w, $0) }
    }

    /// Ends the innermost element: `/>` when nothing was written inside it, else `</name>`.
    @inline(__always) func end() {
        guard let w = writer else { return }
        settle()
        xmlTextWriterEndElement(w)
    }

    /// The layout's bytes (newline, spaces): nothing to escape.
    @inline(__always) private func raw(_ p: UnsafePointer<xmlChar>, _ n: Int) {
        guard let w = writer, n > 0 else { return }
        xmlTextWriterWriteRawLen(w, p, Int32(truncatingIfNeeded: n))
    }

    // MARK: layout

    /// A newline, written with what follows it.
    @inline(__always) private func newline() { newlinePending = true }

    /// The pending newline, where no indentation follows.
    @inline(__always) private func settle() {
        if newlinePending {
            newlinePending = false
            raw(scratch, 1)
        }
    }

    /// The pending newline and two spaces per level.
    @inline(__always) private func indent() {
        var n = 2 * depth
        if newlinePending {
            newlinePending = false
            let k = Swift.min(n, Self.indentWidth)
            raw(scratch, 1 + k)
            n -= k
        }
        while n > 0 {
            let k = Swift.min(n, Self.indentWidth)
            raw(scratch + 1, k)
            n -= k
        }
    }

    /// Indentation and `<name`.
    func begin(_ name: StaticString) {
        indent()
        start(name)
    }

    /// `>` and a newline: the element's children follow, one level deeper.
    func openEnd() {
        newline()
        depth += 1
    }

    /// `/>` (or `</name>` after inline content) and a newline.
    func emptyEnd() {
        end()
        newline()
    }

    /// `>content</name>` (`/>` for no content) and a newline.
    func textEnd(_ content: String) {
        text(content)
        end()
        newline()
    }

    /// `</name>` of the element `openEnd` left open (the root's newline comes from `endDocument`).
    func close() {
        guard depth > 0 else { return }
        depth -= 1
        indent()
        end()
        if depth > 0 { newline() }
    }

    /// A line of character data at the current indentation.
    func textLine(_ content: String) {
        indent()
        text(content)
        newline()
    }

    // MARK: output

    /// Bytes that reached the memory buffer (libxml2 keeps up to a few KB before handing them on).
    var bufferedCount: Int { buffer.map { Int(xmlBufferLength($0)) } ?? 0 }

    /// Moves what reached the memory buffer to `out` (all of it after a flush); the buffer keeps
    /// its memory.
    func move(into out: inout DumpBytes, flush: Bool) {
        guard let b = buffer else { return }
        if flush, let w = writer {
            settle()
            xmlTextWriterFlush(w)
        }
        let n = Int(xmlBufferLength(b))
        guard n > 0, let p = xmlBufferContent(b) else { return }
        out.append(UnsafeBufferPointer(start: p, count: n))
        xmlBufferEmpty(b)
    }

    /// Moves what reached the memory buffer to `out` if that is `atLeast` bytes or more.
    @inline(__always) func move(into out: inout DumpBytes, atLeast n: Int) {
        if bufferedCount >= n { move(into: &out, flush: false) }
    }

    /// What was written since the last call.
    func take() -> String {
        var out = DumpBytes()
        move(into: &out, flush: true)
        return out.string
    }

    // MARK: strings to C

    /// `name`'s NUL-terminated UTF-8 (a literal of one character may be stored as its scalar).
    @inline(__always) private static func withName<R>(_ name: StaticString, _ body: (UnsafePointer<xmlChar>) -> R) -> R {
        if name.hasPointerRepresentation { return body(name.utf8Start) }
        return String(name.unicodeScalar).withCString {
            body(UnsafeRawPointer($0).assumingMemoryBound(to: xmlChar.self))
        }
    }

    /// `s` as NUL-terminated UTF-8, after replacing what XML cannot carry.
    @inline(__always) private func withXMLText<R>(_ s: String, _ body: (UnsafePointer<xmlChar>) -> R) -> R {
        let plain = s.utf8.withContiguousStorageIfAvailable { !XMLText.mayNeedReplacing($0) } ?? false
        let t = plain ? s : XMLText.replacingUnrepresentable(s, with: unrepresentable)
        return t.withCString { body(UnsafeRawPointer($0).assumingMemoryBound(to: xmlChar.self)) }
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
