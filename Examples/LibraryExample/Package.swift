// swift-tools-version:6.1
// A separate package that uses swift-nnr as a user's app would. From another checkout, replace
// `path: "../.."` with `url: "<swift-nnr's git URL>", branch: "main"`.
import PackageDescription

let package = Package(
    name: "LibraryExample",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "swift-nnr", path: "../.."),
    ],
    targets: [
        .executableTarget(name: "LibraryExample", dependencies: [
            .product(name: "NNRKit", package: "swift-nnr"),
        ]),
    ]
)
