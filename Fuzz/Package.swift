// swift-tools-version:5.4
// Fuzz targets of swift-nnr (libFuzzer + AddressSanitizer), kept out of the main package so its
// build never sees sanitizer flags. Build and run them with Tools/fuzz.sh; see Spec/fuzzing.md.
//
//   swift build --package-path Fuzz --scratch-path .build-fuzz -c release \
//     -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
import PackageDescription

// Tools version 5.4 on purpose: from 5.5 on, SwiftPM links an executable target with
// `main=<Target>_main`, which a -parse-as-library target lacks; here libFuzzer's own main()
// drives LLVMFuzzerTestOneInput.
let nnrKit = Target.Dependency.product(name: "NNRKit", package: "swift-nnr")

let package = Package(
    name: "swift-nnr-fuzz",
    platforms: [.macOS("14.0")],
    dependencies: [
        .package(name: "swift-nnr", path: ".."),
    ],
    targets: [
        // The entry functions (FuzzEntries.swift is also compiled into the main package's tests).
        .target(name: "FuzzEntries", dependencies: [nnrKit]),
        // One libFuzzer executable per target; each defines LLVMFuzzerTestOneInput.
        .executableTarget(name: "FuzzParser", dependencies: ["FuzzEntries"]),
        .executableTarget(name: "FuzzPayload", dependencies: ["FuzzEntries"]),
        .executableTarget(name: "FuzzDecode", dependencies: ["FuzzEntries"]),
        .executableTarget(name: "FuzzCheck", dependencies: ["FuzzEntries", nnrKit]),
        .executableTarget(name: "FuzzModel", dependencies: ["FuzzEntries"]),
    ],
    swiftLanguageVersions: [.v5]
)
