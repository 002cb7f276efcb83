import Foundation
import NNRKit

// Usage: LibraryExample MODEL.{npz,safetensors,npy} OUTDIR
let arguments = CommandLine.arguments
let model = URL(fileURLWithPath: arguments.count > 1 ? arguments[1] : "Examples/small_cnn.npz")
let outDir = URL(fileURLWithPath: arguments.count > 2 ? arguments[2] : NSTemporaryDirectory())
let bitstream = outDir.appendingPathComponent("model.nnr")

// Encode
var options = EncoderOptions()
options.qp = -32                      // step 2^(qp/4) at the default qp density 2
options.dependentQuantization = true
let tensors = try ModelFile.read(model)
let encoded = try NNREncoder(options: options).encode(tensors)
try AtomicFile.write(encoded.bytes, to: bitstream)
print("encoded \(tensors.count) tensors into \(encoded.bytes.count) bytes")

// Decode
var decoder = NNRDecoder()
let decoded = try decoder.decode(url: bitstream)
for t in decoded.tensors {
    print(t.name, t.tensor.shape, t.tensor.dtype, t.qp ?? 0)
}
try ModelFile.write(decoded.tensors.map(\.tensor), to: outDir.appendingPathComponent("model.safetensors"))

// Headers only (no payload read)
let source = try NNRByteSource(contentsOf: bitstream)
let (units, error) = NNRUnitParser.parseAll(source)
print("\(units.count) units", error.map { "error: \($0)" } ?? "no error")
