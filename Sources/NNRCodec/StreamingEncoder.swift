// Streaming encode: tensors are read one at a time from a TensorSource, coded on all cores (one
// tensor per core), and their NDUs written in order as they finish. Memory is bounded by the
// tensors in flight (at most `maxInFlight`, counting the one being read), not by the model.

import Foundation
import NNRModelIO

/// Where a streaming encode stands (handed to the progress callback on the calling thread).
public struct StreamingEncodeProgress: Sendable {
    public var tensorsDone: Int
    public var tensorCount: Int
    /// Input bytes (tensor data) of the tensors written so far, and of all tensors.
    public var inputBytesDone: Int
    public var inputBytesTotal: Int
    /// Bitstream bytes written so far.
    public var outputBytes: Int
    /// The tensor just written.
    public var name: String
}

/// What a streaming encode wrote.
public struct StreamingEncodeResult: Sendable {
    public var tensors: [EncodedTensorReport]
    public var inputBytes: Int
    public var outputBytes: Int

    public init(tensors: [EncodedTensorReport], inputBytes: Int, outputBytes: Int) {
        self.tensors = tensors
        self.inputBytes = inputBytes
        self.outputBytes = outputBytes
    }
}

public struct NNRStreamingEncoder: Sendable {
    public var options: EncoderOptions
    /// Most tensors read and not yet coded at once (the one being read included); default: one per
    /// core (with `options.concurrent`), else 1.
    public var maxInFlight: Int

    public init(options: EncoderOptions = EncoderOptions(), maxInFlight: Int? = nil) {
        self.options = options
        self.maxInFlight = max(1, maxInFlight ?? (options.concurrent ? ProcessInfo.processInfo.activeProcessorCount : 1))
    }

    /// Encodes every tensor of `source` into `url`, written to a temporary file renamed at the end
    /// (a failed run leaves nothing).
    public func encode(_ source: any TensorSource, to url: URL,
                       progress: ((StreamingEncodeProgress) -> Void)? = nil) throws -> StreamingEncodeResult {
        var result: StreamingEncodeResult? = nil
        try AtomicFile.withWriter(to: url) { writer in
            result = try encode(source, progress: progress) { try writer.write($0) }
        }
        guard let result else { throw EncoderError(tensor: "-", message: "internal: no result") }
        return result
    }

    /// Encodes every tensor of `source`, handing the bitstream to `write` in order, unit by unit.
    public func encode(_ source: any TensorSource, progress: ((StreamingEncodeProgress) -> Void)? = nil,
                       write: ([UInt8]) throws -> Void) throws -> StreamingEncodeResult {
        let encoder = NNREncoder(options: options)
        let manifest = source.manifest
        let leading = try encoder.leadingUnits(names: manifest.map(\.name))
        try write(leading)
        let inputTotal = source.totalBytes
        var state = StreamingEncodeProgress(tensorsDone: 0, tensorCount: manifest.count, inputBytesDone: 0,
                                            inputBytesTotal: inputTotal, outputBytes: leading.count, name: "")
        var reports: [EncodedTensorReport] = []
        reports.reserveCapacity(manifest.count)

        let queue = DispatchQueue(label: "nnr.encode", attributes: .concurrent)
        let group = DispatchGroup()
        let slots = DispatchSemaphore(value: maxInFlight)
        let box = FinishedUnits()
        let finished = box.condition
        let bound = options.maxError

        // Writes the finished results that are next in order; with `wait`, until `upTo` is written.
        func drain(upTo end: Int, wait: Bool) throws {
            while reports.count < end {
                finished.lock()
                while wait && box.results[reports.count] == nil { finished.wait() }
                let r = box.results.removeValue(forKey: reports.count)
                finished.unlock()
                guard let r else { return }
                let t = try r.get()
                try write(t.unit)
                reports.append(t.report)
                state.tensorsDone += 1
                state.inputBytesDone += manifest[reports.count - 1].byteCount
                state.outputBytes += t.unit.count
                state.name = t.report.name
                progress?(state)
            }
        }

        var stopFailure: Error? = nil  // reading a tensor or writing a unit failed
        var submitted = 0
        for i in manifest.indices {
            slots.wait()
            finished.lock()
            let failed = box.firstFailure != Int.max
            finished.unlock()
            let input: TensorBox
            do {
                if failed { throw CancellationError() }
                try drain(upTo: i, wait: false)
                input = TensorBox(try source.readTensor(at: i))
            } catch {
                if !(error is CancellationError) { stopFailure = error }
                slots.signal()
                break
            }
            submitted += 1
            group.enter()
            queue.async {
                let r = Result<NNREncoder.TensorResult, Error> {
                    var slot: Tensor? = input.take()
                    let unitResult = try encoder.encodeTensor(taking: &slot, parameterId: i)
                    if let bound {
                        try encoder.verifyErrorBound(EncodedBitstream(bytes: leading + unitResult.unit, tensors: [unitResult.report]),
                                                     original: [try source.readTensor(at: i)], bound: bound)
                    }
                    return unitResult
                }
                finished.lock()
                if case .failure = r { box.firstFailure = min(box.firstFailure, i) }
                box.results[i] = r
                finished.broadcast()
                finished.unlock()
                slots.signal()
                group.leave()
            }
        }
        group.wait()
        if let stopFailure { throw stopFailure }
        // Everything coded is written in order; the first failure (in tensor order) is thrown.
        try drain(upTo: min(submitted, box.firstFailure), wait: true)
        if box.firstFailure != Int.max, let r = box.results[box.firstFailure], case let .failure(e) = r { throw e }
        guard reports.count == manifest.count else { throw EncoderError(tensor: "-", message: "internal: \(reports.count) of \(manifest.count) tensors written") }
        return StreamingEncodeResult(tensors: reports, inputBytes: inputTotal, outputBytes: state.outputBytes)
    }
}

/// Hands a tensor to the coding task, which drops it as soon as it has taken it (so the input
/// bytes are released while the tensor is coded, not when the task ends).
private final class TensorBox: @unchecked Sendable {
    private var tensor: Tensor?
    init(_ tensor: Tensor) { self.tensor = tensor }
    func take() -> Tensor {
        defer { tensor = nil }
        return tensor ?? Tensor(name: "", dtype: .float32, shape: [0], storage: [])
    }
}

/// Coded units waiting to be written, shared by the coding tasks and the writer (under `condition`).
private final class FinishedUnits: @unchecked Sendable {
    let condition = NSCondition()
    var results: [Int: Result<NNREncoder.TensorResult, Error>] = [:]
    /// Index of the first tensor whose coding failed (Int.max: none).
    var firstFailure = Int.max
}
