// Shared helpers for every test target: where the reference vectors live, and NPZ loading.

import Foundation
import NNRModelIO

/// Locations of the conformance vectors.
public enum Vectors {
    /// The package root (this file is <root>/Sources/NNRTestSupport/Vectors.swift).
    public static var repoRoot: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // NNRTestSupport
            .deletingLastPathComponent()  // Sources
            .deletingLastPathComponent()  // root
    }

    /// `../shared/conformance` beside the repository root (reference vectors generated with
    /// NNCodec; not part of a fresh clone), or nil when it does not exist.
    public static var sharedConformance: URL? {
        let url = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/conformance", isDirectory: true)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return nil
        }
        return url.standardizedFileURL
    }

    /// `../shared/hostile/NAME` (crafted attack files of issue 18), or nil when it does not exist.
    public static func sharedHostile(_ name: String) -> URL? {
        let url = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/hostile/" + name)
        return FileManager.default.fileExists(atPath: url.path) ? url.standardizedFileURL : nil
    }

    /// `<repo>/Conformance/vectors`: the vectors shipped with the repository.
    public static var bundledConformance: URL {
        repoRoot.appendingPathComponent("Conformance/vectors", isDirectory: true)
    }

    /// Case folders under ``sharedConformance`` (those holding a `case.json`), sorted by name;
    /// empty when the shared vectors are absent.
    public static func allSharedCases() -> [URL] {
        guard let root = sharedConformance,
              let names = try? FileManager.default.contentsOfDirectory(atPath: root.path) else { return [] }
        return names.sorted().compactMap { name -> URL? in
            let folder = root.appendingPathComponent(name, isDirectory: true)
            let marker = folder.appendingPathComponent("case.json")
            return FileManager.default.fileExists(atPath: marker.path) ? folder : nil
        }
    }

    /// The shared case folder `name`, or nil when the shared vectors (or that case) are absent.
    public static func sharedCase(_ name: String) -> URL? {
        guard let root = sharedConformance else { return nil }
        let folder = root.appendingPathComponent(name, isDirectory: true)
        return FileManager.default.fileExists(atPath: folder.path) ? folder : nil
    }

    /// The message tests pass to `XCTSkip` when ``sharedConformance`` is nil.
    public static func skipReasonNoShared() -> String {
        "../shared/conformance not found: reference vectors are not in a fresh clone; these tests are skipped"
    }
}

/// Loads a `.npz` file into a dictionary keyed by tensor name.
public func loadNPZ(_ url: URL) throws -> [String: Tensor] {
    try NPZ.readDictionary(url)
}

/// Loads a `.npz` file's tensors in archive order.
public func loadNPZOrdered(_ url: URL) throws -> [Tensor] {
    try NPZ.read(url)
}
