// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "ycbg",
    products: [
        // The C ABI library: build with `make` (static Swift runtime, yc_* exports only).
        .library(name: "ycbg", type: .dynamic, targets: ["YCBG"]),
        .executable(name: "yc-emulator", targets: ["YCEmulator"]),
        // libFuzzer harness for the boundary parsers (fuzz/run.sh); a corpus replayer otherwise.
        .executable(name: "yc-fuzz", targets: ["YCFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // TLS for the emulator only (--tls-cert/--tls-key); the library uses libcurl's TLS.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CJansson", pkgConfig: "jansson",
                       providers: [.apt(["libjansson-dev"])]),
        // Typed wrappers for curl's variadic calls and Jansson's macros.
        // Minimum versions (checked by #error there and at run time by
        // yc_client_new, declared in ycbg.pc): libcurl 7.85.0, Jansson 2.13.
        .target(name: "CYCShim", dependencies: ["CCurl", "CJansson"]),
        // The one exit for text leaving the library: JSON text in the
        // library's own malloc'd memory, credentials masked, fail-closed.
        .target(name: "CYCText", dependencies: ["CJansson"]),
        // The Swift core: configuration, transport, JSON, API calls, tasks. No Foundation.
        .target(name: "YCBGCore", dependencies: ["CYCShim", "CYCText", "CCurl", "CJansson"]),
        // The thin @_cdecl layer that is include/ycbg.h.
        .target(name: "YCBG", dependencies: ["YCBGCore", "CYCShim"], exclude: ["exports.map"]),
        // The local Responses API emulator (tests, demo).
        .executableTarget(name: "YCEmulator", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        .executableTarget(name: "YCFuzz", dependencies: ["YCBGCore"]),
        .testTarget(name: "YCBGCoreTests", dependencies: ["YCBGCore"]),
    ]
)
