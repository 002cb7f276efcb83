/// The value of one syntax element, as recorded by a trace.
public enum SyntaxValue: Sendable, Equatable, CustomStringConvertible {
    case int(Int)
    case float(Float)
    case string(String)
    case bytes([UInt8])

    public var description: String {
        switch self {
        case let .int(v): return String(v)
        case let .float(v): return String(v)
        case let .string(s): return "\"\(s)\""
        case let .bytes(b): return b.map { String(format2hex: $0) }.joined()
        }
    }
}

extension String {
    /// Two lowercase hex digits.
    public init(format2hex b: UInt8) {
        let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
        self.init([digits[Int(b >> 4)], digits[Int(b & 15)]])
    }
}

/// Descriptor of a syntax element (ISO/IEC 15938-17 clause 6 notation).
public enum SyntaxDescriptor: String, Sendable {
    case u, i, ue, ie, flt, st, bs, alignment = "byte_alignment"
}

/// One syntax element as read or written: name, where it starts, how many bits it took, its value.
public struct SyntaxTraceEntry: Sendable, Equatable {
    public var name: String
    public var descriptor: SyntaxDescriptor
    /// Parameter of the descriptor: n of u(n)/i(n), k of ue(k)/ie(k), 32 for flt.
    public var parameter: Int
    /// Absolute bit position in the file where the element starts.
    public var bitPosition: Int
    /// Width in bits.
    public var bitWidth: Int
    public var value: SyntaxValue

    public init(name: String, descriptor: SyntaxDescriptor, parameter: Int, bitPosition: Int, bitWidth: Int, value: SyntaxValue) {
        self.name = name
        self.descriptor = descriptor
        self.parameter = parameter
        self.bitPosition = bitPosition
        self.bitWidth = bitWidth
        self.value = value
    }

    /// Descriptor as written in syntax tables, e.g. "u(8)", "ue(7)", "st(v)".
    public var descriptorText: String {
        switch descriptor {
        case .u, .i, .ue, .ie, .flt: return "\(descriptor.rawValue)(\(parameter))"
        case .st, .bs: return "\(descriptor.rawValue)(v)"
        case .alignment: return "byte_alignment()"
        }
    }
}

/// A rule the syntax states but a reader can continue past (reserved bits, alignment bits).
public struct SyntaxWarning: Sendable, Equatable {
    public var element: String
    public var position: BitPosition
    public var message: String
    public init(element: String, position: BitPosition, message: String) {
        self.element = element
        self.position = position
        self.message = message
    }
}
