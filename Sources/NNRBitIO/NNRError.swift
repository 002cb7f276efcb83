/// Where in a bitstream something happened: absolute byte offset in the file and the bit (0 = MSB)
/// inside that byte, plus the syntax element being read or written.
public struct BitPosition: Sendable, Equatable, CustomStringConvertible {
    public var byteOffset: Int
    public var bitOffset: Int
    public init(byteOffset: Int, bitOffset: Int) {
        self.byteOffset = byteOffset
        self.bitOffset = bitOffset
    }
    public init(absoluteBit: Int) {
        self.byteOffset = absoluteBit >> 3
        self.bitOffset = absoluteBit & 7
    }
    public var absoluteBit: Int { byteOffset &* 8 &+ bitOffset }
    public var description: String { "byte \(byteOffset) bit \(bitOffset)" }
}

/// Every failure of the toolkit on input data is one of these: a typed reason, the syntax element
/// that was being read, and where.
public struct NNRError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// The element needs more bits than remain in the unit or file.
        case truncated(neededBits: Int, availableBits: Int)
        /// An Exp-Golomb prefix ran past the limit of leading zero bits.
        case expGolombPrefixTooLong(limit: Int)
        /// A st(v) string has no terminating 0x00 inside its unit.
        case unterminatedString
        /// A st(v) string is not valid UTF-8.
        case invalidUTF8
        /// st(v) must start byte-aligned.
        case stringNotAligned
        /// A value outside what the syntax or the toolkit allows.
        case invalidValue(String)
        /// A configurable resource limit would be exceeded.
        case limitExceeded(String)
        /// Arithmetic on input-derived values would overflow.
        case overflow(String)
        /// The syntax is valid but this toolkit does not implement it.
        case unsupported(String)
        /// A unit size disagrees with its contents or the file.
        case sizeMismatch(String)
        /// The arithmetic-coded payload is inconsistent (bad termination, overread, ...).
        case payload(String)
        /// I/O failure (file system).
        case io(String)
    }

    public var reason: Reason
    /// The syntax element being processed (standard's name where it has one).
    public var element: String
    /// Where in the file.
    public var position: BitPosition
    /// Index of the NNR unit in the file, when known.
    public var unitIndex: Int?

    public init(_ reason: Reason, element: String, position: BitPosition, unitIndex: Int? = nil) {
        self.reason = reason
        self.element = element
        self.position = position
        self.unitIndex = unitIndex
    }

    public init(_ reason: Reason, element: String, byteOffset: Int, bitOffset: Int = 0, unitIndex: Int? = nil) {
        self.init(reason, element: element, position: BitPosition(byteOffset: byteOffset, bitOffset: bitOffset), unitIndex: unitIndex)
    }

    /// Returns the error with the unit index filled in.
    public func inUnit(_ index: Int) -> NNRError {
        var copy = self
        if copy.unitIndex == nil { copy.unitIndex = index }
        return copy
    }

    public var reasonText: String {
        switch reason {
        case let .truncated(needed, available):
            return "truncated: needs \(needed) bits, \(available) available"
        case let .expGolombPrefixTooLong(limit): return "Exp-Golomb prefix longer than \(limit) zero bits"
        case .unterminatedString: return "unterminated string (no 0x00 before the end of the unit)"
        case .invalidUTF8: return "string is not valid UTF-8"
        case .stringNotAligned: return "string does not start byte-aligned"
        case let .invalidValue(s): return "invalid value: \(s)"
        case let .limitExceeded(s): return "limit exceeded: \(s)"
        case let .overflow(s): return "arithmetic overflow: \(s)"
        case let .unsupported(s): return "unsupported: \(s)"
        case let .sizeMismatch(s): return "size mismatch: \(s)"
        case let .payload(s): return "payload error: \(s)"
        case let .io(s): return "I/O error: \(s)"
        }
    }

    /// A short machine-friendly name of the reason.
    public var reasonCode: String {
        switch reason {
        case .truncated: return "truncated"
        case .expGolombPrefixTooLong: return "exp_golomb_prefix_too_long"
        case .unterminatedString: return "unterminated_string"
        case .invalidUTF8: return "invalid_utf8"
        case .stringNotAligned: return "string_not_aligned"
        case .invalidValue: return "invalid_value"
        case .limitExceeded: return "limit_exceeded"
        case .overflow: return "overflow"
        case .unsupported: return "unsupported"
        case .sizeMismatch: return "size_mismatch"
        case .payload: return "payload"
        case .io: return "io"
        }
    }

    public var description: String {
        var s = "\(element) at \(position)"
        if let u = unitIndex { s = "unit \(u): " + s }
        return s + ": " + reasonText
    }
}

/// Resource limits checked before anything is allocated from a size read from the input.
public struct NNRLimits: Sendable, Equatable {
    /// Most elements of one tensor.
    public var maxTensorElements: Int
    /// Most decoded bytes for a whole file (all tensors together).
    public var maxTotalDecodedBytes: Int
    /// Most NNR units in one file.
    public var maxUnits: Int
    /// Longest st(v) string in bytes.
    public var maxStringLength: Int
    /// Deepest nesting of NNR_AGG units.
    public var maxAggregateDepth: Int
    /// Most tensor dimensions.
    public var maxDimensions: Int
    /// Most entries of lists read from headers (entry points, topology ids, map entries).
    public var maxListEntries: Int

    public init(maxTensorElements: Int = 1 << 31, maxTotalDecodedBytes: Int = 64 << 30, maxUnits: Int = 1 << 20,
                maxStringLength: Int = 1 << 16, maxAggregateDepth: Int = 4, maxDimensions: Int = 16,
                maxListEntries: Int = 1 << 20) {
        self.maxTensorElements = maxTensorElements
        self.maxTotalDecodedBytes = maxTotalDecodedBytes
        self.maxUnits = maxUnits
        self.maxStringLength = maxStringLength
        self.maxAggregateDepth = maxAggregateDepth
        self.maxDimensions = maxDimensions
        self.maxListEntries = maxListEntries
    }

    public static let `default` = NNRLimits()
}
