#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NNRBitIO

/// Whether the system will give a tensor's working memory, asked before it is allocated: Swift's
/// array allocation traps when the system refuses (an address-space limit such as `prlimit --as`,
/// overcommit off), and a tensor's size comes from the bitstream. An anonymous mapping of the size
/// is made and released at once (what a large malloc does).
enum MemoryProbe {
    static func canMap(bytes: Int) -> Bool {
        guard bytes > 0 else { return true }
        guard let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            return false
        }
        munmap(p, bytes)
        return true
    }

    /// Throws a limit error naming the tensor when its levels and values (`bytesPerElement` per
    /// element) cannot be mapped.
    static func require(elements: Int, bytesPerElement: Int, tensor: String, unit: Int, at byteOffset: Int) throws {
        let (bytes, overflow) = elements.multipliedReportingOverflow(by: bytesPerElement)
        guard overflow || !canMap(bytes: bytes) else { return }
        throw NNRError(.limitExceeded("tensor \(tensor) needs \(overflow ? "more than Int.max" : "\(bytes)") bytes of memory to decode (levels and values), which the system refuses"),
                       element: "tensor_dimensions", byteOffset: byteOffset, unitIndex: unit)
    }
}
