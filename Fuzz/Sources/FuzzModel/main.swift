// libFuzzer entry point of the "model" target: the .npz, .npy and .safetensors readers on the
// input (see FuzzEntries.model).
import FuzzEntries

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModel(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzTrap.check("model", FuzzEntries.model(FuzzTrap.bytes(start, count)))
    return 0
}
