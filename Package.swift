// swift-tools-version:6.1
import PackageDescription
import Foundation

// Layers, one direction of dependency (each target below lists exactly the modules it imports):
//
//   NNRBitIO ─┬─ NNRContainer ──┬── NNRSyntax ─────────┐
//             └─ NNRCoding ─────┴── NNRQuantization ───┼── NNRCodec ── NNRTools ── NNRKit ── nnr
//   CZlib, CSHA256 ─ NNRModelIO ───────────────────────┘
//
// The coder (NNRCoding: DeepCABAC, payload syntax) depends on NNRBitIO only; NNRSyntax uses it for
// the one codebook type and the block-row count of entry-point lists. NNRModelIO
// (npy/npz/safetensors) depends on nothing of NNR. NNRCodec joins them (the decoding session, the
// encoder); NNRTools (check, dump) uses the codec and the syntax below it, NNRQuantization only
// through NNRCodec.
// System libraries: zlib (CZlib) under NNRModelIO, libxml2 (CLibXML2) under NNRTools. CSHA256 (C):
// SHA-256 block compression with the x86 SHA extensions, under NNRModelIO's SHA256.
// Tools/ConformanceGenerator (NNRConformanceGenerator, nnr-conformance-generator) sits beside NNRKit:
// it uses NNRTools (the checker) and the layers below; nothing in Sources/ depends on it.
let package = Package(
    name: "swift-nnr",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "NNRKit", targets: ["NNRKit"]),
        .executable(name: "nnr", targets: ["nnr"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        .target(name: "NNRBitIO"),
        .target(name: "NNRContainer", dependencies: ["NNRBitIO"]),
        .target(name: "NNRSyntax", dependencies: ["NNRBitIO", "NNRContainer", "NNRCoding"]),
        .target(name: "CDecoderTables"),
        .target(name: "NNRCoding", dependencies: ["NNRBitIO", "CDecoderTables"]),
        .target(name: "NNRQuantization", dependencies: ["NNRBitIO", "NNRCoding"]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "CSHA256"),
        .target(name: "NNRModelIO", dependencies: ["NNRBitIO", "CZlib", "CSHA256"]),
        .target(name: "NNRCodec", dependencies: ["NNRBitIO", "NNRContainer", "NNRSyntax", "NNRCoding", "NNRQuantization", "NNRModelIO"]),
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .target(name: "NNRTools", dependencies: ["NNRBitIO", "NNRContainer", "NNRSyntax", "NNRCoding", "NNRModelIO", "NNRCodec", "CLibXML2"]),
        .target(name: "NNRKit", dependencies: ["NNRBitIO", "NNRContainer", "NNRSyntax", "NNRCoding", "NNRQuantization", "NNRModelIO", "NNRCodec", "NNRTools"]),
        // CMallocTuning (C): glibc's mallopt, which the Swift Glibc module lacks; used by the CLI only.
        .target(name: "CMallocTuning"),
        .executableTarget(name: "nnr", dependencies: ["NNRKit", "CMallocTuning", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // The README's library example (Examples/LibraryExample is the same source as its own
        // package); built here so that `swift test` runs it (CommandLineTests).
        .executableTarget(name: "NNRLibraryExample", dependencies: ["NNRKit"], path: "Examples/LibraryExample/Sources/LibraryExample"),
        .target(name: "NNRTestSupport", dependencies: ["NNRModelIO"], path: "Sources/NNRTestSupport"),
        .testTarget(name: "NNRBitIOTests", dependencies: ["NNRBitIO"]),
        .testTarget(name: "NNRContainerTests", dependencies: ["NNRContainer", "NNRTestSupport"]),
        .testTarget(name: "NNRSyntaxTests", dependencies: ["NNRSyntax", "NNRCoding", "NNRTestSupport"]),
        .testTarget(name: "NNRCodingTests", dependencies: ["NNRCoding", "CDecoderTables", "NNRSyntax", "NNRTestSupport"]),
        .testTarget(name: "NNRQuantizationTests", dependencies: ["NNRQuantization", "NNRTestSupport"]),
        .testTarget(name: "NNRModelIOTests", dependencies: ["NNRModelIO", "NNRTestSupport"]),
        .testTarget(name: "NNRCodecTests", dependencies: ["NNRCodec", "NNRTestSupport"]),
        .testTarget(name: "NNRToolsTests", dependencies: ["NNRTools", "NNRTestSupport"]),
        // Tools/ConformanceGenerator: builds Conformance/negative/*.nnc and Conformance/manifest.json
        // (Tools/make-conformance-vectors.sh --negative runs the executable; the test checks the
        // stored files are up to date).
        .target(name: "NNRConformanceGenerator",
                dependencies: ["NNRBitIO", "NNRContainer", "NNRSyntax", "NNRCoding", "NNRModelIO", "NNRTools"],
                path: "Tools/ConformanceGenerator/Sources/NNRConformanceGenerator"),
        .executableTarget(name: "nnr-conformance-generator", dependencies: ["NNRConformanceGenerator"],
                          path: "Tools/ConformanceGenerator/Sources/nnr-conformance-generator"),
        .testTarget(name: "NNRConformanceGeneratorTests", dependencies: ["NNRConformanceGenerator", "NNRTestSupport"],
                    path: "Tools/ConformanceGenerator/Tests/NNRConformanceGeneratorTests"),
    ],
    swiftLanguageModes: [.v5]
)

// The benchmark target (ordo-one/benchmark) is added only on request, so plain builds stay fast:
//   ENABLE_BENCHMARKS=1 swift package benchmark
if ProcessInfo.processInfo.environment["ENABLE_BENCHMARKS"] != nil {
    package.dependencies.append(
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]))
    package.targets.append(
        .executableTarget(
            name: "NNRBenchmarks",
            dependencies: ["NNRKit", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/NNRBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]))
}
