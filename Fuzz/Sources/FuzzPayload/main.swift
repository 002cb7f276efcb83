// libFuzzer entry point of the "payload" target (see FuzzEntries.payload).
import FuzzEntries

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPayload(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzTrap.check("payload", FuzzEntries.payload(FuzzTrap.bytes(start, count)))
    return 0
}
