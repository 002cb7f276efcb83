import ArgumentParser
import Foundation
import NNRKit

/// `nnr decode` of one bitstream through the decoding session: the manifest first (a
/// headers-only pass: names, shapes, dtypes, every verdict before a payload is read), then each
/// tensor handed to a streaming writer as soon as its NDU is decoded, and released. Memory is
/// bounded by the window of NDUs in flight, not by the model.
enum StreamingDecodeRun {
    /// Where and how one bitstream is written.
    struct Target {
        var url: URL
        /// Hugging Face shards + index into the folder `url`.
        var shardSize: Int?
        var dtype: TensorDTypePolicy
        /// `--max-output-size`: the decoded tensors of one bitstream, in bytes as written.
        var maxOutputBytes = Int.max
    }

    /// What was written.
    struct Written {
        var tensors: Int
        var bytes: Int
    }

    /// Decodes `source` (with `session`, whose state carries to the next bitstream) into `target`.
    static func decode(_ source: NNRByteSource, file: String, session: inout DecodingSession, target: Target,
                       sanitizeNames: Bool, quiet: Bool) throws -> Written {
        let manifest: [TensorManifestEntry]
        do {
            manifest = try DecodingSession.manifest(source, options: session.options)
        } catch {
            throw failure("\(file): \(error)", ExitStatus.invalidInput)
        }
        // The name policy per tensor, decided on the manifest: nothing is written before it passes.
        let names = try DecodeNames.apply(manifest.map(\.name), file: file, sanitize: sanitizeNames)
        let renamed = zip(manifest, names).map { e, name in TensorManifestEntry(name: name, shape: e.shape, dtype: e.dtype) }
        let written = renamed.map(target.dtype.apply)
        let total = written.reduce(0) { $0 > Int.max - $1.byteCount ? Int.max : $0 + $1.byteCount }
        if total > target.maxOutputBytes {
            throw failure("\(file): the decoded tensors take \(total) bytes, more than --max-output-size (\(target.maxOutputBytes) bytes); nothing written",
                          ExitStatus.invalidInput)
        }
        let outPath = target.url.path
        var writer: any TensorSink
        do {
            if target.shardSize == nil, ModelFormat(url: target.url) == .npy {
                writer = NPYFileSink(url: target.url, dtype: target.dtype)
            } else {
                writer = try ModelSink.writer(for: target.url, shardSize: target.shardSize, dtype: target.dtype)
            }
            try writer.begin(manifest: renamed)
        } catch {
            throw failure("cannot write \(outPath): \(plainCause(error))")
        }
        var sink = RenamingSink(writer: writer, names: names, manifest: written, progress: ProgressLine(enabled: !quiet))
        do {
            try session.decode(source, sink: &sink)
            sink.progress.clear()
            try sink.writer.finish()
        } catch let e as WriteFailure {
            sink.progress.clear()
            throw failure("cannot write \(outPath): \(plainCause(e.error))")
        } catch let e as ExitCode {
            throw e
        } catch {
            sink.progress.clear()
            // the writer is dropped unfinished: its temporary files are removed
            if error is ModelIOError { throw failure("cannot write \(outPath): \(plainCause(error))") }
            throw failure("\(file): \(error)", ExitStatus.invalidInput)
        }
        return Written(tensors: manifest.count, bytes: total)
    }

    /// A writer's failure, told apart from a decoding failure.
    struct WriteFailure: Error {
        var error: Error
    }

    /// Renames each decoded tensor as the name policy decided and hands it to the writer; the
    /// decoded NDU is dropped as soon as its tensors are written.
    struct RenamingSink: DecodedNDUSink {
        var writer: any TensorSink
        let names: [String]
        let manifest: [TensorManifestEntry]
        var progress: ProgressLine
        var next = 0
        var bytesDone = 0
        lazy var bytesTotal = manifest.reduce(0) { $0 + $1.byteCount }

        mutating func consume(_ ndu: DecodedNDU) throws {
            for d in ndu.tensors where !d.streamed {
                var t = d.tensor
                if next < names.count { t.name = names[next] }
                advance()
                do { try writer.consume(t) } catch { throw WriteFailure(error: error) }
            }
        }

        /// A tensor streamed in pieces (too large to hold decoded) goes to the writer under its
        /// output name; progress counts it once its pieces are opened.
        mutating func beginPieces(_ entry: TensorManifestEntry) throws -> TensorPieceWriter? {
            var e = entry
            if next < names.count { e.name = names[next] }
            let pieces: TensorPieceWriter?
            do { pieces = try writer.beginPieces(e) } catch { throw WriteFailure(error: error) }
            if pieces != nil { advance() }
            return pieces
        }

        private mutating func advance() {
            if next < manifest.count { bytesDone += manifest[next].byteCount }
            next += 1
            progress.update(done: next, count: manifest.count, bytesDone: bytesDone, bytesTotal: bytesTotal)
        }
    }

    /// Times decoding alone (no writing) for `--repeat-count`: the fastest of `count` runs.
    static func fastestDecode(_ source: NNRByteSource, file: String, session: DecodingSession, count: Int) throws -> Double {
        var fastest = Double.infinity
        for _ in 0..<Swift.max(1, count) {
            var s = session
            var sink = DiscardSink()
            let t0 = DispatchTime.now().uptimeNanoseconds
            do { try s.decode(source, sink: &sink) } catch { throw failure("\(file): \(error)", ExitStatus.invalidInput) }
            fastest = Swift.min(fastest, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return fastest
    }

    struct DiscardSink: DecodedNDUSink {
        func consume(_ ndu: DecodedNDU) throws {}
    }
}

/// `.npy` output (one tensor): collected, then written atomically by `ModelFile.write`.
final class NPYFileSink: TensorSink {
    let url: URL
    let dtype: TensorDTypePolicy
    private var tensors: [Tensor] = []

    init(url: URL, dtype: TensorDTypePolicy) {
        self.url = url
        self.dtype = dtype
    }

    func begin(manifest: [TensorManifestEntry]?) throws {}
    func consume(_ tensor: Tensor) throws { tensors.append(dtype.apply(tensor)) }
    func finish() throws { try ModelFile.write(tensors, to: url) }
}
