// libFuzzer entry point of the "parser" target (see FuzzEntries.parser).
import FuzzEntries

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParser(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzTrap.check("parser", FuzzEntries.parser(FuzzTrap.bytes(start, count)))
    return 0
}
