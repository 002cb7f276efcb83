// swift-tools-version:6.1
// Fuzz targets of swift-nnr (libFuzzer + AddressSanitizer), kept out of the main package so its
// build never sees sanitizer flags. Build and run them with Tools/fuzz.sh; see Spec/fuzzing.md.
//
//   swift build --package-path Fuzz --scratch-path .build-fuzz -c release \
//     -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
import PackageDescription
import Foundation

// A path dependency's identity is the last component of its path: the name of the directory the
// main package was cloned into ("main", "swift-nnr", ...).
let parentIdentity = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .standardizedFileURL.lastPathComponent.lowercased()
let nnrKit = Target.Dependency.product(name: "NNRKit", package: parentIdentity)

let package = Package(
    name: "swift-nnr-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
    ],
    targets: [
        // The entry functions (FuzzEntries.swift is also compiled into the main package's tests).
        .target(name: "FuzzEntries", dependencies: [nnrKit]),
        // One libFuzzer executable per target; each defines LLVMFuzzerTestOneInput.
        .executableTarget(name: "FuzzParser", dependencies: ["FuzzEntries"]),
        .executableTarget(name: "FuzzPayload", dependencies: ["FuzzEntries"]),
        .executableTarget(name: "FuzzDecode", dependencies: ["FuzzEntries"]),
        .executableTarget(name: "FuzzCheck", dependencies: ["FuzzEntries", nnrKit]),
    ],
    swiftLanguageModes: [.v5]
)
