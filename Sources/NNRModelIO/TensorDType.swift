// TensorDType: element types supported by the model readers and writers.

/// Element type of a ``Tensor``. Storage is always little-endian.
public enum TensorDType: String, Sendable, CaseIterable, Codable {
    case float16, bfloat16, float32, float64
    case int8, uint8, int16, uint16, int32, uint32, int64, uint64
    case bool

    /// Size of one element in bytes.
    public var byteWidth: Int {
        switch self {
        case .int8, .uint8, .bool: return 1
        case .float16, .bfloat16, .int16, .uint16: return 2
        case .float32, .int32, .uint32: return 4
        case .float64, .int64, .uint64: return 8
        }
    }

    /// The numpy `descr` string used when writing `.npy` (`"<f4"`); `nil` for bfloat16, which numpy lacks.
    public var numpyDescr: String? {
        switch self {
        case .float16: return "<f2"
        case .bfloat16: return nil
        case .float32: return "<f4"
        case .float64: return "<f8"
        case .int8: return "|i1"
        case .uint8: return "|u1"
        case .int16: return "<i2"
        case .uint16: return "<u2"
        case .int32: return "<i4"
        case .uint32: return "<u4"
        case .int64: return "<i8"
        case .uint64: return "<u8"
        case .bool: return "|b1"
        }
    }

    /// The safetensors header `dtype` string (`"F32"`, `"BF16"`, `"BOOL"`, ...).
    public var safetensorsName: String {
        switch self {
        case .float16: return "F16"
        case .bfloat16: return "BF16"
        case .float32: return "F32"
        case .float64: return "F64"
        case .int8: return "I8"
        case .uint8: return "U8"
        case .int16: return "I16"
        case .uint16: return "U16"
        case .int32: return "I32"
        case .uint32: return "U32"
        case .int64: return "I64"
        case .uint64: return "U64"
        case .bool: return "BOOL"
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .float16, .bfloat16, .float32, .float64: return true
        default: return false
        }
    }

    /// True for the signed and unsigned integer types (not bool).
    public var isInteger: Bool {
        switch self {
        case .int8, .uint8, .int16, .uint16, .int32, .uint32, .int64, .uint64: return true
        default: return false
        }
    }

    public var isSignedInteger: Bool {
        switch self {
        case .int8, .int16, .int32, .int64: return true
        default: return false
        }
    }

    /// Inverse of ``safetensorsName``.
    public init?(safetensorsName: String) {
        guard let match = TensorDType.allCases.first(where: { $0.safetensorsName == safetensorsName }) else { return nil }
        self = match
    }

    /// Parses a numpy `descr` string. Returns the dtype and whether the data is big-endian.
    /// Accepts `<`, `>`, `=`, `|` byte-order prefixes (and none), e.g. `"<f4"`, `">i8"`, `"|b1"`, `"?"`.
    public static func fromNumpyDescr(_ descr: String) -> (dtype: TensorDType, bigEndian: Bool)? {
        var s = Substring(descr)
        var bigEndian = false
        if let first = s.first, "<>=|!".contains(first) {
            bigEndian = (first == ">" || first == "!")
            s = s.dropFirst()
        }
        let dtype: TensorDType
        switch s {
        case "f2", "e": dtype = .float16
        case "f4", "f": dtype = .float32
        case "f8", "d": dtype = .float64
        case "i1", "b": dtype = .int8
        case "u1", "B": dtype = .uint8
        case "i2", "h": dtype = .int16
        case "u2", "H": dtype = .uint16
        case "i4": dtype = .int32
        case "u4": dtype = .uint32
        case "i8", "q": dtype = .int64
        case "u8", "Q": dtype = .uint64
        case "b1", "?": dtype = .bool
        default: return nil
        }
        if dtype.byteWidth == 1 { bigEndian = false }
        return (dtype, bigEndian)
    }
}
