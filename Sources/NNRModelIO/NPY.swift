// NPY: numpy's single-array file format (format versions 1.0, 2.0 and 3.0).
//
// Layout: "\x93NUMPY" major minor, header length (u16 LE for 1.x, u32 LE for 2.x/3.x), then an
// ASCII (3.x: UTF-8) Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// padded with spaces and ended by '\n' so the data begins at a multiple of 64 bytes.

import Foundation

public enum NPY {
    public static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY

    /// The parsed header of an NPY array.
    public struct Header: Sendable, Equatable {
        public var dtype: TensorDType
        public var bigEndian: Bool
        public var shape: [Int]
        /// Byte offset of the array data from the start of the NPY bytes.
        public var dataOffset: Int
        public var version: (major: UInt8, minor: UInt8) { (versionMajor, versionMinor) }
        var versionMajor: UInt8
        var versionMinor: UInt8
        /// prod(shape) * byteWidth.
        public var dataByteCount: Int

        public static func == (a: Header, b: Header) -> Bool {
            a.dtype == b.dtype && a.bigEndian == b.bigEndian && a.shape == b.shape && a.dataOffset == b.dataOffset
                && a.versionMajor == b.versionMajor && a.versionMinor == b.versionMinor && a.dataByteCount == b.dataByteCount
        }
    }

    // MARK: Reading

    /// Reads a `.npy` file. The tensor is named `name`, or the file name without `.npy`.
    public static func read(_ url: URL, name: String? = nil, limits: ModelIOLimits = .default) throws -> Tensor {
        let file = url.path
        let tensorName = name ?? url.deletingPathExtension().lastPathComponent
        let data = try readFileData(url)
        return try data.withUnsafeBytes { raw in
            try decode(raw, name: tensorName, file: file, limits: limits)
        }
    }

    /// Decodes NPY bytes into a tensor named `name`; `file` is used in error messages.
    public static func decode(_ bytes: [UInt8], name: String, file: String = "<memory>",
                              limits: ModelIOLimits = .default) throws -> Tensor {
        try bytes.withUnsafeBytes { try decode($0, name: name, file: file, limits: limits) }
    }

    /// Decodes NPY bytes into a tensor named `name`; `file` is used in error messages.
    public static func decode(_ raw: UnsafeRawBufferPointer, name: String, file: String = "<memory>",
                              limits: ModelIOLimits = .default) throws -> Tensor {
        let header = try parseHeader(raw, name: name, file: file, limits: limits)
        let available = raw.count - header.dataOffset
        guard available == header.dataByteCount else {
            throw ModelIOError.shapeSizeMismatch(file: file, tensor: name, shape: header.shape,
                                                 expectedBytes: header.dataByteCount, actualBytes: available)
        }
        let dataStart = header.dataOffset
        var storage = try TensorStorage.allocate(count: header.dataByteCount, file: file, tensor: name) { out in
            out.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[dataStart..<(dataStart + header.dataByteCount)]))
        }
        if header.bigEndian {
            byteSwapInPlace(&storage, width: header.dtype.byteWidth)
        }
        return Tensor(name: name, dtype: header.dtype, shape: header.shape, storage: storage)
    }

    /// The preamble (magic, version, header length) from the first bytes of an NPY member; needs
    /// 12 bytes or all there are. Checks the header length against the limit, not against the bytes.
    static func preamble(_ raw: UnsafeRawBufferPointer, name: String, file: String,
                         limits: ModelIOLimits) throws -> (major: UInt8, minor: UInt8, headerStart: Int, headerLength: Int) {
        guard raw.count >= 8 else {
            if raw.count < magic.count && !raw.elementsEqual(magic.prefix(raw.count)) {
                throw ModelIOError.badMagic(file: file, tensor: name, format: "NPY")
            }
            throw ModelIOError.truncated(file: file, tensor: name, what: "NPY preamble (magic, version, header length)")
        }
        guard raw.prefix(6).elementsEqual(magic) else {
            throw ModelIOError.badMagic(file: file, tensor: name, format: "NPY")
        }
        let major = raw[6], minor = raw[7]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            guard raw.count >= 10 else {
                throw ModelIOError.truncated(file: file, tensor: name, what: "NPY header length")
            }
            headerLength = Int(raw[8]) | (Int(raw[9]) << 8)
            headerStart = 10
        case 2, 3:
            guard raw.count >= 12 else {
                throw ModelIOError.truncated(file: file, tensor: name, what: "NPY header length")
            }
            headerLength = Int(raw[8]) | (Int(raw[9]) << 8) | (Int(raw[10]) << 16) | (Int(raw[11]) << 24)
            headerStart = 12
        default:
            throw ModelIOError.malformedHeader(file: file, tensor: name,
                                               message: "unsupported NPY format version \(major).\(minor) (1.0, 2.0 and 3.0 are supported)")
        }
        guard headerLength <= limits.maxHeaderBytes else {
            throw ModelIOError.limitExceeded(file: file, tensor: name, limit: "maxHeaderBytes",
                                             value: UInt64(headerLength), maximum: UInt64(max(0, limits.maxHeaderBytes)))
        }
        return (major, minor, headerStart, headerLength)
    }

    /// Parses and validates the NPY preamble and header dict. Does not require the data to be present.
    public static func parseHeader(_ raw: UnsafeRawBufferPointer, name: String, file: String = "<memory>",
                                   limits: ModelIOLimits = .default) throws -> Header {
        let (major, minor, headerStart, headerLength) = try preamble(raw, name: name, file: file, limits: limits)
        guard headerLength <= raw.count - headerStart else {
            throw ModelIOError.truncated(file: file, tensor: name,
                                         what: "NPY header (declares \(headerLength) bytes, \(raw.count - headerStart) present)")
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: raw[headerStart..<(headerStart + headerLength)])
        let text: String
        if major == 3 {
            guard let s = String(validating: headerBytes, as: UTF8.self) else {
                throw ModelIOError.malformedHeader(file: file, tensor: name, message: "NPY 3.0 header is not valid UTF-8")
            }
            text = s
        } else {
            guard headerBytes.allSatisfy({ $0 < 0x80 }) else {
                throw ModelIOError.malformedHeader(file: file, tensor: name, message: "NPY header is not ASCII (non-ASCII needs format 3.0)")
            }
            text = String(decoding: headerBytes, as: UTF8.self)
        }
        let dict: [(String, PyLiteral)]
        do {
            var parser = PyLiteralParser(text)
            let value = try parser.parseTopLevel()
            guard case let .dict(entries) = value else {
                throw PyLiteralParser.Failure(message: "header is not a dict literal")
            }
            dict = entries
        } catch let failure as PyLiteralParser.Failure {
            throw ModelIOError.malformedHeader(file: file, tensor: name, message: "cannot parse NPY header dict: \(failure.message)")
        }
        func lookup(_ key: String) throws -> PyLiteral {
            let matches = dict.filter { $0.0 == key }
            guard let first = matches.first else {
                throw ModelIOError.malformedHeader(file: file, tensor: name, message: "NPY header has no '\(key)' key")
            }
            guard matches.count == 1 else {
                throw ModelIOError.malformedHeader(file: file, tensor: name, message: "NPY header repeats the '\(key)' key")
            }
            return first.1
        }
        for (key, _) in dict where !["descr", "fortran_order", "shape"].contains(key) {
            throw ModelIOError.malformedHeader(file: file, tensor: name, message: "NPY header has unexpected key '\(key)'")
        }
        // descr
        let descrValue = try lookup("descr")
        guard case let .string(descr) = descrValue else {
            throw ModelIOError.unsupportedDType(file: file, tensor: name, dtype: descrValue.pythonText)
        }
        guard let (dtype, bigEndian) = TensorDType.fromNumpyDescr(descr) else {
            throw ModelIOError.unsupportedDType(file: file, tensor: name, dtype: descr)
        }
        // fortran_order
        switch try lookup("fortran_order") {
        case .bool(false): break
        case .bool(true): throw ModelIOError.fortranOrderUnsupported(file: file, tensor: name)
        case let other:
            throw ModelIOError.malformedHeader(file: file, tensor: name,
                                               message: "'fortran_order' must be True or False, found \(other.pythonText)")
        }
        // shape
        let shapeValue = try lookup("shape")
        guard case let .tuple(items) = shapeValue else {
            throw ModelIOError.invalidShape(file: file, tensor: name, message: "'shape' must be a tuple, found \(shapeValue.pythonText)")
        }
        guard items.count <= limits.maxRank else {
            throw ModelIOError.limitExceeded(file: file, tensor: name, limit: "maxRank",
                                             value: UInt64(items.count), maximum: UInt64(max(0, limits.maxRank)))
        }
        var shape: [Int] = []
        shape.reserveCapacity(items.count)
        for item in items {
            guard case let .int(d) = item else {
                throw ModelIOError.invalidShape(file: file, tensor: name, message: "dimension \(item.pythonText) is not an integer")
            }
            guard d >= 0 else {
                throw ModelIOError.invalidShape(file: file, tensor: name, message: "negative dimension \(d)")
            }
            shape.append(d)
        }
        guard let byteCount = Tensor.byteCount(shape: shape, dtype: dtype) else {
            throw ModelIOError.invalidShape(file: file, tensor: name, message: "byte size of shape \(shape) overflows")
        }
        guard byteCount <= limits.maxTensorBytes else {
            throw ModelIOError.limitExceeded(file: file, tensor: name, limit: "maxTensorBytes",
                                             value: UInt64(byteCount), maximum: UInt64(max(0, limits.maxTensorBytes)))
        }
        return Header(dtype: dtype, bigEndian: bigEndian, shape: shape, dataOffset: headerStart + headerLength,
                      versionMajor: major, versionMinor: minor, dataByteCount: byteCount)
    }

    static func byteSwapInPlace(_ storage: inout [UInt8], width: Int) {
        guard width > 1 else { return }
        storage.withUnsafeMutableBufferPointer { p in
            var i = 0
            while i + width <= p.count {
                var lo = i, hi = i + width - 1
                while lo < hi {
                    p.swapAt(lo, hi)
                    lo += 1
                    hi -= 1
                }
                i += width
            }
        }
    }

    // MARK: Writing

    /// The NPY preamble + header for `tensor` (version 1.0 if the header fits, else 2.0; 3.0 only
    /// if ever needed for non-ASCII, which cannot occur here). Data is padded to a 64-byte boundary.
    public static func headerBytes(for tensor: Tensor, file: String = "<memory>") throws -> [UInt8] {
        try tensor.validate(file: file)
        return try headerBytes(for: TensorManifestEntry(name: tensor.name, shape: tensor.shape, dtype: tensor.dtype), file: file)
    }

    /// The NPY preamble + header for a tensor of this name, shape and dtype.
    public static func headerBytes(for entry: TensorManifestEntry, file: String = "<memory>") throws -> [UInt8] {
        guard let descr = entry.dtype.numpyDescr else {
            throw ModelIOError.dtypeNotRepresentable(file: file, tensor: entry.name, dtype: entry.dtype, format: "NPY")
        }
        let shapeText: String
        switch entry.shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(entry.shape[0]),)"
        default: shapeText = "(" + entry.shape.map(String.init).joined(separator: ", ") + ")"
        }
        let dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        var body = Array(dict.utf8)
        // Version 1.0: 10-byte preamble, u16 length. Total (preamble + header) must be a multiple of 64.
        var preamble = 10
        var padded = roundUp(preamble + body.count + 1, to: 64)
        if padded - preamble > 0xFFFF {
            preamble = 12
            padded = roundUp(preamble + body.count + 1, to: 64)
        }
        let headerLength = padded - preamble
        body.append(contentsOf: repeatElement(0x20, count: headerLength - body.count - 1))
        body.append(0x0A)
        var out = magic
        if preamble == 10 {
            out += [1, 0, UInt8(truncatingIfNeeded: headerLength), UInt8(truncatingIfNeeded: headerLength >> 8)]
        } else {
            out += [2, 0]
            for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: headerLength >> shift)) }
        }
        out += body
        return out
    }

    /// The complete NPY encoding of `tensor`.
    public static func encode(_ tensor: Tensor, file: String = "<memory>") throws -> [UInt8] {
        var out = try headerBytes(for: tensor, file: file)
        out += tensor.storage
        return out
    }

    /// Writes `tensor` as a `.npy` file, atomically.
    public static func write(_ tensor: Tensor, to url: URL) throws {
        let header = try headerBytes(for: tensor, file: url.path)
        try AtomicFile.withWriter(to: url) { writer in
            try writer.write(header)
            try writer.write(tensor.storage)
        }
    }

    static func roundUp(_ n: Int, to multiple: Int) -> Int {
        (n + multiple - 1) / multiple * multiple
    }
}

// MARK: - Python literal parser (the subset numpy headers use)

enum PyLiteral: Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case none
    case tuple([PyLiteral])
    case list([PyLiteral])
    case dict([(String, PyLiteral)])

    static func == (a: PyLiteral, b: PyLiteral) -> Bool {
        switch (a, b) {
        case let (.string(x), .string(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.bool(x), .bool(y)): return x == y
        case (.none, .none): return true
        case let (.tuple(x), .tuple(y)), let (.list(x), .list(y)): return x == y
        case let (.dict(x), .dict(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    var pythonText: String {
        switch self {
        case let .string(s): return "'\(s)'"
        case let .int(i): return String(i)
        case let .bool(b): return b ? "True" : "False"
        case .none: return "None"
        case let .tuple(items): return "(" + items.map(\.pythonText).joined(separator: ", ") + (items.count == 1 ? ",)" : ")")
        case let .list(items): return "[" + items.map(\.pythonText).joined(separator: ", ") + "]"
        case let .dict(entries): return "{" + entries.map { "'\($0.0)': \($0.1.pythonText)" }.joined(separator: ", ") + "}"
        }
    }
}

struct PyLiteralParser {
    struct Failure: Error { var message: String }

    private let chars: [Unicode.Scalar]
    private var pos = 0
    private var depth = 0
    private static let maxDepth = 32
    /// Most items in one dict, tuple or list: an NPY header holds three keys and at most a few
    /// dozen dimensions, so a long literal is refused before it takes memory.
    private static let maxItems = 1024

    init(_ text: String) { chars = Array(text.unicodeScalars) }

    mutating func parseTopLevel() throws -> PyLiteral {
        let value = try parseValue()
        skipSpace()
        guard pos == chars.count else { throw Failure(message: "unexpected '\(chars[pos])' after the literal") }
        return value
    }

    private mutating func skipSpace() {
        while pos < chars.count, chars[pos] == " " || chars[pos] == "\n" || chars[pos] == "\t" || chars[pos] == "\r" {
            pos += 1
        }
    }

    private mutating func parseValue() throws -> PyLiteral {
        skipSpace()
        guard pos < chars.count else { throw Failure(message: "unexpected end of header") }
        let c = chars[pos]
        switch c {
        case "{": return try parseDict()
        case "(": return try parseSequence(close: ")", isTuple: true)
        case "[": return try parseSequence(close: "]", isTuple: false)
        case "'", "\"": return .string(try parseString())
        case "-", "+", "0"..."9": return .int(try parseInt())
        default:
            var word = ""
            while pos < chars.count, chars[pos].properties.isAlphabetic || chars[pos] == "_" {
                word.unicodeScalars.append(chars[pos])
                pos += 1
            }
            switch word {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .none
            default: throw Failure(message: word.isEmpty ? "unexpected character '\(c)'" : "unknown name '\(word)'")
            }
        }
    }

    private mutating func enter() throws {
        depth += 1
        if depth > PyLiteralParser.maxDepth { throw Failure(message: "nesting deeper than \(PyLiteralParser.maxDepth)") }
    }

    private mutating func parseDict() throws -> PyLiteral {
        try enter()
        defer { depth -= 1 }
        pos += 1  // {
        var entries: [(String, PyLiteral)] = []
        while true {
            skipSpace()
            guard pos < chars.count else { throw Failure(message: "unterminated dict") }
            if chars[pos] == "}" { pos += 1; return .dict(entries) }
            guard case let .string(key) = try parseValue() else { throw Failure(message: "dict key is not a string") }
            skipSpace()
            guard pos < chars.count, chars[pos] == ":" else { throw Failure(message: "expected ':' after key '\(key)'") }
            pos += 1
            let value = try parseValue()
            guard entries.count < PyLiteralParser.maxItems else { throw Failure(message: "more than \(PyLiteralParser.maxItems) items") }
            entries.append((key, value))
            skipSpace()
            guard pos < chars.count else { throw Failure(message: "unterminated dict") }
            if chars[pos] == "," { pos += 1; continue }
            if chars[pos] == "}" { pos += 1; return .dict(entries) }
            throw Failure(message: "expected ',' or '}' in dict, found '\(chars[pos])'")
        }
    }

    private mutating func parseSequence(close: Unicode.Scalar, isTuple: Bool) throws -> PyLiteral {
        try enter()
        defer { depth -= 1 }
        pos += 1
        var items: [PyLiteral] = []
        var sawComma = false
        while true {
            skipSpace()
            guard pos < chars.count else { throw Failure(message: "unterminated \(isTuple ? "tuple" : "list")") }
            if chars[pos] == close {
                pos += 1
                // (x) without a comma is just a parenthesised value in Python.
                if isTuple && items.count == 1 && !sawComma { return items[0] }
                return isTuple ? .tuple(items) : .list(items)
            }
            guard items.count < PyLiteralParser.maxItems else { throw Failure(message: "more than \(PyLiteralParser.maxItems) items") }
            items.append(try parseValue())
            skipSpace()
            guard pos < chars.count else { throw Failure(message: "unterminated \(isTuple ? "tuple" : "list")") }
            if chars[pos] == "," { pos += 1; sawComma = true; continue }
            if chars[pos] == close { continue }
            throw Failure(message: "expected ',' or '\(close)', found '\(chars[pos])'")
        }
    }

    private mutating func parseString() throws -> String {
        let quote = chars[pos]
        pos += 1
        var out = String.UnicodeScalarView()
        while pos < chars.count {
            let c = chars[pos]
            pos += 1
            if c == quote { return String(out) }
            if c == "\\" {
                guard pos < chars.count else { break }
                let e = chars[pos]
                pos += 1
                switch e {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "0": out.append("\0")
                default: out.append(e)  // \\ \' \" and anything else taken literally
                }
            } else {
                out.append(c)
            }
        }
        throw Failure(message: "unterminated string")
    }

    private func asciiDigit(_ c: Unicode.Scalar) -> Int? {
        c.value >= 0x30 && c.value <= 0x39 ? Int(c.value - 0x30) : nil
    }

    private mutating func parseInt() throws -> Int {
        var negative = false
        if chars[pos] == "-" || chars[pos] == "+" {
            negative = chars[pos] == "-"
            pos += 1
        }
        var value = 0
        var digits = 0
        while pos < chars.count, let d = asciiDigit(chars[pos]) {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(d)
            if o1 || o2 { throw Failure(message: "integer too large") }
            value = a
            digits += 1
            pos += 1
        }
        guard digits > 0 else { throw Failure(message: "expected digits") }
        if pos < chars.count, chars[pos] == "L" || chars[pos] == "l" { pos += 1 }  // Python 2 long suffix
        return negative ? -value : value
    }
}

// MARK: - File helpers

/// Tensor data buffers whose allocation failure is an error, not a trap.
enum TensorStorage {
    /// `count` bytes filled by `fill` (which must write all of them). Where the system refuses
    /// the memory (an address-space limit, overcommit off) this throws ``ModelIOError/outOfMemory``
    /// instead of letting Array's allocation trap: a mapping of the same size is tried first.
    static func allocate(count: Int, file: String, tensor: String?,
                         _ fill: (UnsafeMutableRawBufferPointer) throws -> Void) throws -> [UInt8] {
        guard MemoryProbe.canMap(bytes: count) else {
            throw ModelIOError.outOfMemory(file: file, tensor: tensor, bytes: count)
        }
        return try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            try fill(UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
    }
}

/// Reads a whole file, memory-mapped where the platform allows; errors name the file.
func readFileData(_ url: URL) throws -> Data {
    let path = url.path
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw ModelIOError.fileIO(file: path, operation: "open", errno: errno) }
    var info = stat()
    let statResult = fstat(fd, &info)
    let statErrno = errno
    close(fd)
    guard statResult == 0 else { throw ModelIOError.fileIO(file: path, operation: "stat", errno: statErrno) }
    guard (info.st_mode & S_IFMT) != S_IFDIR else { throw ModelIOError.fileIO(file: path, operation: "read", errno: EISDIR) }
    do {
        return try Data(contentsOf: url, options: [.alwaysMapped])
    } catch {
        throw ModelIOError.fileIO(file: path, operation: "read", errno: EIO)
    }
}
