import Foundation
import NNRBitIO
import NNRContainer
import NNRSyntax

// MARK: Bitstream surgery

extension ConformanceSuiteBuilder {
    /// A parsed bitstream whose units can be replaced one by one.
    struct Stream {
        var units: [NNRParsedUnit]
        let source: NNRByteSource
        /// The bytes of each unit (replaced units hold their new bytes).
        var pieces: [[UInt8]]

        init(root: URL, _ relativePath: String) throws {
            let url = root.appendingPathComponent(relativePath)
            guard let data = try? Data(contentsOf: url) else { throw BuildError.missing(relativePath) }
            let src = NNRByteSource(data: data)
            let (u, error) = NNRUnitParser.parseAll(src)
            if let e = error { throw BuildError.unexpected("\(relativePath): \(e)") }
            source = src
            units = u
            pieces = u.map { src.bytes($0.location.offset..<$0.location.end) }
        }

        var bytes: [UInt8] { pieces.flatMap { $0 } }

        func index(of type: NNRUnitType, occurrence: Int = 0) throws -> Int {
            let all = units.indices.filter { units[$0].common.nnrUnitType == type.rawValue }
            guard occurrence < all.count else { throw BuildError.missing("unit \(type.name) #\(occurrence)") }
            return all[occurrence]
        }

        func ndu(_ i: Int) throws -> NDUHeader {
            guard let h = units[i].ndu else { throw BuildError.unexpected("unit \(i) is not an NDU") }
            return h
        }

        func mps() throws -> NNRModelParameterSet {
            guard case let .modelParameterSet(m) = units[try index(of: .modelParameterSet)].content else {
                throw BuildError.missing("MPS")
            }
            return m
        }

        func payload(_ i: Int) -> [UInt8] { source.bytes(units[i].payloadRange) }

        /// Replaces NDU `i` by one built from `header` (context as parsed, or `context`).
        mutating func setNDU(_ i: Int, _ header: NDUHeader, common: NNRUnitCommonHeader? = nil, payload: [UInt8]? = nil,
                             context: SyntaxContext? = nil, longSize: Bool = false) throws {
            pieces[i] = try NNRUnitSerializer.serialize(common: common ?? units[i].common, content: .compressedData(header),
                                                        context: context ?? units[i].context, payload: payload ?? self.payload(i),
                                                        forceLongSize: longSize)
        }

        /// Replaces the MPS (serialized with the profile of the stream).
        mutating func setMPS(_ m: NNRModelParameterSet, profile: Int? = nil) throws {
            let i = try index(of: .modelParameterSet)
            let ctx = SyntaxContext(generalProfileIdc: profile ?? units[i].context.generalProfileIdc)
            pieces[i] = try NNRUnitSerializer.serialize(common: units[i].common, content: .modelParameterSet(m), context: ctx)
        }
    }

    /// Overwrites `count` bits at absolute bit `bit` of `bytes` with `value` (MSB first).
    static func setBits(_ bytes: inout [UInt8], at bit: Int, count: Int, value: Int) {
        for k in 0..<count {
            let b = bit + k
            let mask = UInt8(0x80) >> UInt8(b & 7)
            if (value >> (count - 1 - k)) & 1 == 1 { bytes[b >> 3] |= mask } else { bytes[b >> 3] &= ~mask }
        }
    }

    /// Bit position (inside `unitBytes`) of the first traced element named `name` of a unit.
    static func bitPosition(of name: String, unitBytes: [UInt8], context: SyntaxContext) throws -> Int {
        let src = NNRByteSource(bytes: unitBytes)
        var scanner = NNRUnitScanner(source: src)
        guard case let .success(loc)? = scanner.next() else { throw BuildError.unexpected("unit does not scan") }
        var p = NNRUnitParser(source: src, context: context, tracing: true)
        let u = try p.parse(loc)
        guard let e = u.trace?.first(where: { $0.name == name }) else { throw BuildError.missing("element \(name)") }
        return e.bitPosition
    }

    /// A unit with one header element re-coded (`write` emits its new bits; the width may differ):
    /// the header bits up to the final byte_alignment() are spliced, a new alignment appended, the
    /// payload kept and the 16-bit nnr_unit_size updated.
    static func replaceField(_ unitBytes: [UInt8], context: SyntaxContext, element: String,
                             write: (inout BitWriter) throws -> Void) throws -> [UInt8] {
        let src = NNRByteSource(bytes: unitBytes)
        var scanner = NNRUnitScanner(source: src)
        guard case let .success(loc)? = scanner.next(), !loc.common.nnrUnitSizeFlag else {
            throw BuildError.unexpected("unit does not scan in the short size form")
        }
        var p = NNRUnitParser(source: src, context: context, tracing: true)
        let u = try p.parse(loc)
        guard let trace = u.trace, let e = trace.first(where: { $0.name == element }),
              let align = trace.last(where: { $0.descriptor == .alignment }) else { throw BuildError.missing("element \(element)") }
        func bit(_ i: Int) -> Bool { unitBytes[i >> 3] & (UInt8(0x80) >> UInt8(i & 7)) != 0 }
        var w = BitWriter()
        try write(&w)
        var bits: [Bool] = (0..<e.bitPosition).map(bit)
        bits += (0..<w.bitCount).map { w.bytes[$0 >> 3] & (UInt8(0x80) >> UInt8($0 & 7)) != 0 }
        bits += ((e.bitPosition + e.bitWidth)..<align.bitPosition).map(bit)
        bits.append(true)
        while bits.count % 8 != 0 { bits.append(false) }
        var out = [UInt8](repeating: 0, count: bits.count / 8)
        for (k, b) in bits.enumerated() where b { out[k >> 3] |= UInt8(0x80) >> UInt8(k & 7) }
        out += unitBytes[u.headerByteCount...]
        guard out.count < 32768 else { throw BuildError.unexpected("unit too large for the short size form") }
        out[0] = UInt8(out.count >> 8)
        out[1] = UInt8(out.count & 0xFF)
        return out
    }
}
