// TensorSink: where tensors go one at a time, so that nothing above a reader or a decoder needs a
// whole model in memory. Decoders hand each finished tensor to a sink and release it; writers
// (safetensors, npz, shards), hashers and statistics are sinks.

/// What a sink learns before the first tensor: every tensor's name, shape and dtype, in the order
/// they will arrive. A safetensors writer needs it to write its header first.
public struct TensorManifestEntry: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public var dtype: TensorDType

    public init(name: String, shape: [Int], dtype: TensorDType) {
        self.name = name
        self.shape = shape
        self.dtype = dtype
    }

    /// Bytes of the tensor's data (saturating).
    public var byteCount: Int {
        var n = dtype.byteWidth
        for d in shape {
            let (p, o) = n.multipliedReportingOverflow(by: Swift.max(d, 0))
            if o { return Int.max }
            n = p
        }
        return n
    }
}

/// Receives tensors in order: `begin` once (with the manifest when it is known up front, nil
/// otherwise), then `consume` for each tensor, then `finish`. A sink that fails throws; the caller
/// stops and calls nothing more. Writers make their output appear only in `finish` (temporary
/// file + rename), so a failed run leaves nothing behind.
public protocol TensorSink {
    mutating func begin(manifest: [TensorManifestEntry]?) throws
    mutating func consume(_ tensor: Tensor) throws
    /// Opens the next tensor for data that arrives in pieces (a decoder streaming a tensor too
    /// large to hold): the returned writer takes exactly `entry.byteCount` bytes in order, then
    /// `end()`. In place of `consume` for that tensor. Nil (the default): this sink takes whole
    /// tensors only, and the caller builds the tensor first.
    mutating func beginPieces(_ entry: TensorManifestEntry) throws -> TensorPieceWriter?
    mutating func finish() throws
}

extension TensorSink {
    public mutating func beginPieces(_ entry: TensorManifestEntry) throws -> TensorPieceWriter? { nil }
}

/// The data of one tensor written in pieces (see `TensorSink.beginPieces`). Counts the bytes: more
/// than the tensor holds, or fewer at `end()`, is an error, so a short stream never passes as a
/// complete tensor.
public final class TensorPieceWriter {
    public let entry: TensorManifestEntry
    public let file: String
    public private(set) var bytesWritten = 0
    private let expected: Int
    private let body: (UnsafeRawBufferPointer) throws -> Void
    private let close: () throws -> Void
    private let zeros: ((Int) throws -> Void)?
    private var ended = false

    /// `file` names the output in errors; `write` appends bytes, `end` completes the tensor;
    /// `zeros`, if given, appends that many zero bytes without being handed them (a file hole).
    public init(entry: TensorManifestEntry, file: String, write: @escaping (UnsafeRawBufferPointer) throws -> Void,
                zeros: ((Int) throws -> Void)? = nil, end: @escaping () throws -> Void) {
        self.zeros = zeros
        self.entry = entry
        self.file = file
        self.expected = entry.byteCount
        self.body = write
        self.close = end
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        let total = try admit(bytes.count)
        try body(bytes)
        bytesWritten = total
    }

    /// Writes `count` zero bytes: through `zeros` when the sink has it, else from one shared
    /// 1 MiB zero block.
    public func writeZeros(_ count: Int) throws {
        if let zeros {
            let total = try admit(count)
            try zeros(count)
            bytesWritten = total
            return
        }
        var left = count
        while left > 0 {
            let n = Swift.min(left, Zlib.zeroBlockSize)
            try write(UnsafeRawBufferPointer(start: Zlib.zeroMiB, count: n))
            left -= n
        }
    }

    /// The bytes written after `count` more, or an error if the tensor holds fewer.
    private func admit(_ count: Int) throws -> Int {
        let (sum, o) = bytesWritten.addingReportingOverflow(count)
        guard !ended, !o, sum <= expected else {
            throw ModelIOError.invalidTensor(file: file, tensor: entry.name, message: "more than its \(expected) bytes were written")
        }
        return sum
    }

    public func end() throws {
        guard !ended else { return }
        guard bytesWritten == expected else {
            throw ModelIOError.invalidTensor(file: file, tensor: entry.name,
                                             message: "\(bytesWritten) of its \(expected) bytes were written")
        }
        ended = true
        try close()
    }
}

/// Collects every tensor in memory (for callers that want an array).
public struct TensorCollector: TensorSink {
    public private(set) var tensors: [Tensor] = []
    public init() {}
    public mutating func begin(manifest: [TensorManifestEntry]?) throws {
        if let m = manifest { tensors.reserveCapacity(m.count) }
    }
    public mutating func consume(_ tensor: Tensor) throws { tensors.append(tensor) }
    public mutating func finish() throws {}
}
