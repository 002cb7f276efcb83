import Foundation
import NNRModelIO

/// The generated part of the conformance suite: Conformance/negative/*.nnc and
/// Conformance/manifest.json.
public struct ConformanceSuite: Sendable {
    /// Conformance/-relative path → bytes (the negative vectors).
    public var files: [(path: String, bytes: [UInt8])]
    /// Conformance/manifest.json.
    public var manifest: String

    static let negativeFolder = "negative"
    static let manifestName = "manifest.json"

    /// Writes the suite under `root` (each file through a temporary file and a rename); negative
    /// vectors the suite no longer builds are removed.
    public func write(to root: URL) throws {
        let fm = FileManager.default
        let negativeDir = root.appendingPathComponent(Self.negativeFolder, isDirectory: true)
        try fm.createDirectory(at: negativeDir, withIntermediateDirectories: true)
        let built = Set(files.map(\.path))
        for name in (try? fm.contentsOfDirectory(atPath: negativeDir.path)) ?? []
        where name.hasSuffix(".nnc") && !built.contains(Self.negativeFolder + "/" + name) {
            try fm.removeItem(at: negativeDir.appendingPathComponent(name))
        }
        for (path, bytes) in files {
            try AtomicFile.write(bytes, to: root.appendingPathComponent(path))
        }
        try AtomicFile.write(Array(manifest.utf8), to: root.appendingPathComponent(Self.manifestName))
    }

    /// How the files stored under `root` differ from the suite, one line per file (empty when
    /// they are up to date): negative vectors missing, different or not built, a stale manifest.
    public func differences(from root: URL) -> [String] {
        var out: [String] = []
        for (path, bytes) in files {
            guard let stored = try? Array(Data(contentsOf: root.appendingPathComponent(path))) else {
                out.append("\(path): missing")
                continue
            }
            if stored != bytes { out.append("\(path): differs from the generator's output") }
        }
        let negativeDir = root.appendingPathComponent(Self.negativeFolder, isDirectory: true)
        let built = Set(files.map(\.path))
        let stored = ((try? FileManager.default.contentsOfDirectory(atPath: negativeDir.path)) ?? []).filter { $0.hasSuffix(".nnc") }
        for name in stored.sorted() where !built.contains(Self.negativeFolder + "/" + name) {
            out.append("\(Self.negativeFolder)/\(name): not built by the generator")
        }
        let manifest = try? String(contentsOf: root.appendingPathComponent(Self.manifestName), encoding: .utf8)
        if manifest == nil {
            out.append("\(Self.manifestName): missing")
        } else if manifest != self.manifest {
            out.append("\(Self.manifestName): stale")
        }
        return out
    }
}

/// Builds every negative vector from the bundled positive vectors (Conformance/vectors), each
/// breaking one rule of a small valid vector, and the manifest of the whole suite.
public struct ConformanceSuiteBuilder: Sendable {
    /// The Conformance/ folder (holding vectors/, negative/ and manifest.json).
    public let root: URL

    public init(root: URL) {
        self.root = root
    }

    public enum BuildError: Error, CustomStringConvertible {
        case missing(String)
        case unexpected(String)
        public var description: String {
            switch self {
            case let .missing(s): return "missing: \(s)"
            case let .unexpected(s): return s
            }
        }
    }

    public func build() throws -> ConformanceSuite {
        let negatives = try negativeVectors()
        let manifest = try manifestJSON(negatives: negatives)
        return ConformanceSuite(files: negatives.map { (ConformanceSuite.negativeFolder + "/" + $0.fileName, $0.bytes) },
                                manifest: manifest)
    }

    /// The bundled bitstream at `relativePath`, parsed for surgery.
    func stream(_ relativePath: String) throws -> Stream {
        try Stream(root: root, relativePath)
    }
}
