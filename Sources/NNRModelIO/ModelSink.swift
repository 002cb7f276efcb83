// ModelSink: the streaming writer for an output path, chosen as `nnr decode` needs it.

import Foundation

public enum ModelSink {
    /// A streaming writer for `url`:
    /// - with `shardSize`, `url` is a folder (created if absent) that receives Hugging Face shards
    ///   plus `model.safetensors.index.json` (or one `model.safetensors` if the model fits);
    /// - else by extension (or `format`): `.safetensors` header first then data, `.npz` member by
    ///   member. NPZ cannot record bfloat16 (numpy lacks it): unless `dtype` says otherwise,
    ///   bfloat16 tensors are written to NPZ as float32.
    public static func writer(for url: URL, format: ModelFormat? = nil, shardSize: Int? = nil,
                              dtype: TensorDTypePolicy = .keep, metadata: [String: String] = [:]) throws -> any TensorSink {
        if let shardSize {
            try createDirectory(url)
            return ShardedSafetensorsWriter(directory: url, maxShardBytes: shardSize, metadata: metadata, dtype: dtype)
        }
        switch format ?? ModelFormat(url: url) {
        case .safetensors?:
            return SafetensorsStreamWriter(url: url, metadata: metadata, dtype: dtype)
        case .npz?:
            return NPZStreamWriter(url: url, dtype: dtype.floatingPoint == nil ? NPZStreamWriter.bfloat16AsFloat32 : dtype)
        case .npy?, nil:
            throw ModelIOError.invalidRequest(file: url.path, message: "no streaming writer for this output (use .safetensors, .npz, or a folder with a shard size)")
        }
    }

    private static func createDirectory(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw ModelIOError.invalidRequest(file: url.path, message: "cannot create the folder: \(error.localizedDescription)")
        }
    }
}

extension NPZStreamWriter {
    /// Keeps every dtype numpy has; bfloat16 becomes float32.
    static let bfloat16AsFloat32 = TensorDTypePolicy(bfloat16: .float32)
}
