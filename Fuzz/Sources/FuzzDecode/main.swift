// libFuzzer entry point of the "decode" target (see FuzzEntries.decode).
import FuzzEntries

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDecode(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzTrap.check("decode", FuzzEntries.decode(FuzzTrap.bytes(start, count)))
    return 0
}
