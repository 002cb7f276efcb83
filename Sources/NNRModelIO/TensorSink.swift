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
    mutating func finish() throws
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
