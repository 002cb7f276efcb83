// ModelFile: one entry point for reading and writing tensors in any supported container.

import Foundation

/// Container formats understood by ``ModelFile``.
public enum ModelFormat: String, Sendable, CaseIterable {
    case safetensors, npz, npy

    /// The usual file extension (without the dot).
    public var fileExtension: String { rawValue }

    /// The format implied by `url`'s extension, if any.
    public init?(url: URL) {
        switch url.pathExtension.lowercased() {
        case "safetensors": self = .safetensors
        case "npz": self = .npz
        case "npy": self = .npy
        default: return nil
        }
    }
}

public enum ModelFile {
    /// The format of `url`: from its extension, else from its first bytes.
    public static func detectFormat(_ url: URL) throws -> ModelFormat {
        if let f = ModelFormat(url: url) { return f }
        let data = try readFileData(url)
        if let f = detectFormat(magic: data.prefix(16)) { return f }
        throw ModelIOError.unknownFormat(file: url.path)
    }

    /// Recognises a format from the first bytes of a file: `\x93NUMPY`, `PK\x03\x04`/`PK\x05\x06`,
    /// or a safetensors length prefix followed by `{`.
    public static func detectFormat<D: Collection>(magic: D) -> ModelFormat? where D.Element == UInt8 {
        let b = Array(magic.prefix(16))
        if b.starts(with: NPY.magic) { return .npy }
        if b.count >= 4, b[0] == 0x50, b[1] == 0x4B, (b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6) { return .npz }
        if b.count >= 9, b[8] == UInt8(ascii: "{") { return .safetensors }
        return nil
    }

    /// Reads all tensors of a model file in file order. A `.npy` file yields one tensor named
    /// after the file (without extension).
    public static func read(_ url: URL, limits: ModelIOLimits = .default) throws -> [Tensor] {
        switch try detectFormat(url) {
        case .safetensors: return try Safetensors.read(url, limits: limits)
        case .npz: return try NPZ.read(url, limits: limits)
        case .npy: return [try NPY.read(url, limits: limits)]
        }
    }

    /// Reads a model file into a dictionary keyed by tensor name.
    public static func readDictionary(_ url: URL, limits: ModelIOLimits = .default) throws -> [String: Tensor] {
        NPZ.dictionary(try read(url, limits: limits))
    }

    /// Writes `tensors` to `url` atomically. `format` defaults to the one implied by the extension.
    /// `.npy` takes exactly one tensor; bfloat16 cannot be written to `.npy`/`.npz` (numpy lacks it).
    public static func write(_ tensors: [Tensor], to url: URL, format: ModelFormat? = nil,
                             npzCompression: NPZCompression = .stored, metadata: [String: String] = [:]) throws {
        guard let chosen = format ?? ModelFormat(url: url) else {
            throw ModelIOError.unknownFormat(file: url.path)
        }
        switch chosen {
        case .safetensors:
            try Safetensors.write(tensors, to: url, metadata: metadata)
        case .npz:
            try NPZ.write(tensors, to: url, compression: npzCompression)
        case .npy:
            guard tensors.count == 1, let only = tensors.first else {
                throw ModelIOError.invalidRequest(file: url.path, message: "a .npy file holds exactly one tensor, \(tensors.count) given")
            }
            try NPY.write(only, to: url)
        }
    }
}
