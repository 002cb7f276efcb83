#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether the system will give `bytes` of memory, asked before a size taken from a file is
/// allocated: Swift's array allocation traps when the system refuses (an address-space limit such
/// as `prlimit --as`, overcommit off). An anonymous mapping of the size is made and released at
/// once (what a large malloc does; a malloc/free pair would be optimised away).
public enum MemoryProbe {
    public static func canMap(bytes: Int) -> Bool {
        guard bytes >= 0 else { return false }
        let size = Swift.max(bytes, 1)
        guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            return false
        }
        munmap(p, size)
        return true
    }
}
