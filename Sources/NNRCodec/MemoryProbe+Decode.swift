import NNRBitIO
import NNRModelIO

extension MemoryProbe {
    /// Throws a limit error naming the tensor when its levels and values (`bytesPerElement` per
    /// element) cannot be mapped: a tensor's size comes from the bitstream.
    static func require(elements: Int, bytesPerElement: Int, tensor: String, unit: Int, at byteOffset: Int) throws {
        let (bytes, overflow) = elements.multipliedReportingOverflow(by: bytesPerElement)
        guard overflow || !canMap(bytes: bytes) else { return }
        throw NNRError(.limitExceeded("tensor \(tensor) needs \(overflow ? "more than Int.max" : "\(bytes)") bytes of memory to decode (levels and values), which the system refuses"),
                       element: "tensor_dimensions", byteOffset: byteOffset, unitIndex: unit)
    }
}
