// Tensor: a named n-dimensional array held as raw little-endian bytes in C (row-major) order.

/// A named tensor. `storage` holds `elementCount * dtype.byteWidth` little-endian bytes in C order.
///
/// The memberwise initialisers do not validate; readers always produce valid tensors and writers
/// call ``validate(file:)`` before writing.
public struct Tensor: Sendable, Equatable {
    public var name: String
    public var dtype: TensorDType
    public var shape: [Int]
    /// Raw little-endian element bytes, C order.
    public var storage: [UInt8]

    public init(name: String, dtype: TensorDType, shape: [Int], storage: [UInt8]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.storage = storage
    }

    public init(name: String, shape: [Int], float32 values: [Float]) {
        self.init(name: name, dtype: .float32, shape: shape, storage: Tensor.pack(values) { $0.bitPattern })
    }

    public init(name: String, shape: [Int], float64 values: [Double]) {
        self.init(name: name, dtype: .float64, shape: shape, storage: Tensor.pack(values) { $0.bitPattern })
    }

    public init(name: String, shape: [Int], int32 values: [Int32]) {
        self.init(name: name, dtype: .int32, shape: shape, storage: Tensor.pack(values) { $0 })
    }

    public init(name: String, shape: [Int], int64 values: [Int64]) {
        self.init(name: name, dtype: .int64, shape: shape, storage: Tensor.pack(values) { $0 })
    }

    public init(name: String, shape: [Int], uint8 values: [UInt8]) {
        self.init(name: name, dtype: .uint8, shape: shape, storage: values)
    }

    public init(name: String, shape: [Int], bool values: [Bool]) {
        self.init(name: name, dtype: .bool, shape: shape, storage: values.map { $0 ? 1 : 0 })
    }

    /// binary16 or bfloat16 tensor from raw 16-bit patterns.
    public init(name: String, shape: [Int], halfBits: [UInt16], dtype: TensorDType = .float16) {
        self.init(name: name, dtype: dtype, shape: shape, storage: Tensor.pack(halfBits) { $0 })
    }

    /// Product of `shape` (1 for a scalar). Saturates at `Int.max` on overflow and is 0 if any
    /// dimension is negative; ``validate(file:)`` reports both as errors.
    public var elementCount: Int {
        var count = 1
        for d in shape {
            if d < 0 { return 0 }
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            if overflow { return Int.max }
            count = p
        }
        return count
    }

    /// Number of bytes the shape and dtype call for, or nil on a negative dimension or overflow.
    public var expectedByteCount: Int? {
        Tensor.byteCount(shape: shape, dtype: dtype)
    }

    static func byteCount(shape: [Int], dtype: TensorDType) -> Int? {
        var count = dtype.byteWidth
        for d in shape {
            if d < 0 { return nil }
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            count = p
        }
        return count
    }

    /// Throws ``ModelIOError/invalidTensor(file:tensor:message:)`` if the shape is invalid or the
    /// storage size differs from prod(shape) * byteWidth.
    public func validate(file: String = "<memory>") throws {
        guard let expected = expectedByteCount else {
            throw ModelIOError.invalidTensor(file: file, tensor: name,
                                             message: "shape \(shape) has a negative dimension or its byte size overflows")
        }
        guard expected == storage.count else {
            throw ModelIOError.invalidTensor(file: file, tensor: name,
                                             message: "shape \(shape) of \(dtype.rawValue) needs \(expected) bytes but storage has \(storage.count)")
        }
    }

    // MARK: Element access

    /// All elements as Float (one rounding for float64 and large integers; exact otherwise).
    /// If storage is not a whole number of elements, the trailing partial element is ignored.
    public func floatValues() -> [Float] {
        switch dtype {
        case .float32: return unpack(UInt32.self) { Float(bitPattern: $0) }
        case .float16: return unpack(UInt16.self) { FloatBits.float(fromFloat16: $0) }
        case .bfloat16: return unpack(UInt16.self) { FloatBits.float(fromBFloat16: $0) }
        case .float64: return unpack(UInt64.self) { Float(Double(bitPattern: $0)) }
        case .int8: return unpack(UInt8.self) { Float(Int8(bitPattern: $0)) }
        case .uint8: return unpack(UInt8.self) { Float($0) }
        case .bool: return unpack(UInt8.self) { $0 != 0 ? 1 : 0 }
        case .int16: return unpack(UInt16.self) { Float(Int16(bitPattern: $0)) }
        case .uint16: return unpack(UInt16.self) { Float($0) }
        case .int32: return unpack(UInt32.self) { Float(Int32(bitPattern: $0)) }
        case .uint32: return unpack(UInt32.self) { Float($0) }
        case .int64: return unpack(UInt64.self) { Float(Int64(bitPattern: $0)) }
        case .uint64: return unpack(UInt64.self) { Float($0) }
        }
    }

    /// All elements as Double (exact except int64/uint64 beyond 2^53, which round to nearest even).
    public func doubleValues() -> [Double] {
        switch dtype {
        case .float32: return unpack(UInt32.self) { Double(Float(bitPattern: $0)) }
        case .float16: return unpack(UInt16.self) { Double(FloatBits.float(fromFloat16: $0)) }
        case .bfloat16: return unpack(UInt16.self) { Double(FloatBits.float(fromBFloat16: $0)) }
        case .float64: return unpack(UInt64.self) { Double(bitPattern: $0) }
        case .int8: return unpack(UInt8.self) { Double(Int8(bitPattern: $0)) }
        case .uint8: return unpack(UInt8.self) { Double($0) }
        case .bool: return unpack(UInt8.self) { $0 != 0 ? 1 : 0 }
        case .int16: return unpack(UInt16.self) { Double(Int16(bitPattern: $0)) }
        case .uint16: return unpack(UInt16.self) { Double($0) }
        case .int32: return unpack(UInt32.self) { Double(Int32(bitPattern: $0)) }
        case .uint32: return unpack(UInt32.self) { Double($0) }
        case .int64: return unpack(UInt64.self) { Double(Int64(bitPattern: $0)) }
        case .uint64: return unpack(UInt64.self) { Double($0) }
        }
    }

    /// All elements as Int64. Integers are exact except uint64 above Int64.max (clamped);
    /// floating-point values are truncated toward zero and clamped to the Int64 range, NaN gives 0;
    /// bool gives 0/1.
    public func int64Values() -> [Int64] {
        switch dtype {
        case .int8: return unpack(UInt8.self) { Int64(Int8(bitPattern: $0)) }
        case .uint8: return unpack(UInt8.self) { Int64($0) }
        case .bool: return unpack(UInt8.self) { $0 != 0 ? 1 : 0 }
        case .int16: return unpack(UInt16.self) { Int64(Int16(bitPattern: $0)) }
        case .uint16: return unpack(UInt16.self) { Int64($0) }
        case .int32: return unpack(UInt32.self) { Int64(Int32(bitPattern: $0)) }
        case .uint32: return unpack(UInt32.self) { Int64($0) }
        case .int64: return unpack(UInt64.self) { Int64(bitPattern: $0) }
        case .uint64: return unpack(UInt64.self) { Int64(clamping: $0) }
        case .float16, .bfloat16, .float32, .float64: return doubleValues().map(Tensor.clampToInt64)
        }
    }

    /// All elements as UInt64, with the same rules as ``int64Values()`` (negative values clamp to 0).
    public func uint64Values() -> [UInt64] {
        switch dtype {
        case .uint64: return unpack(UInt64.self) { $0 }
        case .float16, .bfloat16, .float32, .float64: return doubleValues().map(Tensor.clampToUInt64)
        default: return int64Values().map { UInt64(clamping: $0) }
        }
    }

    /// All elements as Int32: exact for int8/uint8/int16/uint16/int32/bool and for float values
    /// that are whole numbers in range. Other values are truncated toward zero and clamped to
    /// [Int32.min, Int32.max]; NaN gives 0.
    public func int32Values() -> [Int32] {
        switch dtype {
        case .int32: return unpack(UInt32.self) { Int32(bitPattern: $0) }
        case .uint64: return unpack(UInt64.self) { Int32(clamping: $0) }
        default: return int64Values().map { Int32(clamping: $0) }
        }
    }

    /// The 16-bit patterns of a float16/bfloat16 tensor (any other dtype is converted first).
    public func halfBits() -> [UInt16] {
        switch dtype {
        case .float16, .bfloat16, .int16, .uint16: return unpack(UInt16.self) { $0 }
        default: return converted(to: .float16).halfBits()
        }
    }

    /// Converts to `target`, keeping name and shape.
    ///
    /// - Floating-point targets round to nearest, ties to even, in one step from the source value
    ///   (float16/bfloat16 from float64 are rounded directly, not via float32); overflow gives ±inf,
    ///   NaN stays NaN (quiet; sign and leading payload bits kept).
    /// - Integer targets from floating point truncate toward zero and clamp to the target range;
    ///   NaN gives 0. Integer-to-integer conversions clamp (saturate) to the target range.
    /// - bool targets store 1 for every non-zero (and NaN) element, 0 otherwise; bool sources read as 0/1.
    public func converted(to target: TensorDType) -> Tensor {
        if target == dtype { return self }
        let bytes: [UInt8]
        switch target {
        case .float32:
            bytes = Tensor.pack(floatValues()) { $0.bitPattern }
        case .float64:
            bytes = Tensor.pack(doubleValues()) { $0.bitPattern }
        case .float16:
            if dtype == .float32 || dtype == .bfloat16 {
                bytes = Tensor.pack(floatValues()) { FloatBits.float16Bits(from: $0) }
            } else {
                bytes = Tensor.pack(doubleValues()) { FloatBits.float16Bits(from: $0) }
            }
        case .bfloat16:
            if dtype == .float32 || dtype == .float16 {
                bytes = Tensor.pack(floatValues()) { FloatBits.bfloat16Bits(from: $0) }
            } else {
                bytes = Tensor.pack(doubleValues()) { FloatBits.bfloat16Bits(from: $0) }
            }
        case .bool:
            bytes = doubleValues().map { $0 != 0 ? 1 : 0 }  // NaN != 0 is true
        case .int8: bytes = Tensor.pack(int64Values()) { UInt8(bitPattern: Int8(clamping: $0)) }
        case .uint8: bytes = Tensor.pack(int64Values()) { UInt8(clamping: $0) }
        case .int16: bytes = Tensor.pack(int64Values()) { UInt16(bitPattern: Int16(clamping: $0)) }
        case .uint16: bytes = Tensor.pack(int64Values()) { UInt16(clamping: $0) }
        case .int32: bytes = Tensor.pack(int64Values()) { UInt32(bitPattern: Int32(clamping: $0)) }
        case .uint32: bytes = Tensor.pack(int64Values()) { UInt32(clamping: $0) }
        case .int64: bytes = Tensor.pack(int64Values()) { $0 }
        case .uint64: bytes = Tensor.pack(uint64Values()) { $0 }
        }
        return Tensor(name: name, dtype: target, shape: shape, storage: bytes)
    }

    // MARK: Helpers

    static func clampToInt64(_ d: Double) -> Int64 {
        if d.isNaN { return 0 }
        if d >= 9_223_372_036_854_775_808.0 { return Int64.max }
        if d <= -9_223_372_036_854_775_808.0 { return Int64.min }
        return Int64(d)
    }

    static func clampToUInt64(_ d: Double) -> UInt64 {
        if d.isNaN || d <= 0 { return 0 }
        if d >= 18_446_744_073_709_551_616.0 { return UInt64.max }
        return UInt64(d)
    }

    /// Decodes storage as little-endian `T` elements and maps them.
    @inline(__always)
    func unpack<T: FixedWidthInteger, R>(_: T.Type, _ transform: (T) -> R) -> [R] {
        let width = MemoryLayout<T>.size
        let count = storage.count / width
        return storage.withUnsafeBytes { raw -> [R] in
            var out = [R]()
            out.reserveCapacity(count)
            var offset = 0
            for _ in 0..<count {
                out.append(transform(T(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: T.self))))
                offset += width
            }
            return out
        }
    }

    /// Encodes values as little-endian bytes of the integer type `transform` produces.
    @inline(__always)
    static func pack<V, T: FixedWidthInteger>(_ values: [V], _ transform: (V) -> T) -> [UInt8] {
        let width = MemoryLayout<T>.size
        let (total, overflow) = values.count.multipliedReportingOverflow(by: width)
        if overflow { return [] }
        return [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            var offset = 0
            for v in values {
                raw.storeBytes(of: transform(v).littleEndian, toByteOffset: offset, as: T.self)
                offset += width
            }
            initialized = total
        }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        "Tensor(\(name): \(dtype.rawValue)\(shape), \(storage.count) bytes)"
    }
}
