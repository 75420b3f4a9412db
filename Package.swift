// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "ycbg",
    products: [
        // The C ABI library: build with `make` (static Swift runtime, yc_* exports only).
        .library(name: "ycbg", type: .dynamic, targets: ["YCBG"]),
        .executable(name: "yc-emulator", targets: ["YCEmulator"]),
        // libFuzzer harness for the boundary parsers (fuzz/run.sh); a corpus replayer otherwise.
        .executable(name: "yc-fuzz", targets: ["YCFuzz"]),
        // The command-line tool (make: build/bin/ycbg): run, submit, status, wait, cancel, result, batch.
        .executable(name: "ycbg-cli", targets: ["YCBGCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // HTTP/2 for the emulator (h2c with prior knowledge, h2 over TLS).
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        // Command-line parsing for the ycbg tool only.
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
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
        // The emulator's TLS (--tls-cert/--tls-key): the system's OpenSSL (libssl-dev) through
        // memory buffers, for a SwiftNIO handler; a few seconds to build, where swift-nio-ssl
        // compiled BoringSSL for minutes.
        .target(name: "CEmulatorTLS", linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),
        // The local Responses API emulator (tests, demo).
        .executableTarget(name: "YCEmulator", dependencies: [
            "CEmulatorTLS",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            .product(name: "NIOHPACK", package: "swift-nio-http2"),
        ]),
        .executableTarget(name: "YCFuzz", dependencies: ["YCBGCore"]),
        // The ycbg command-line tool, over the Swift core (not the C ABI).
        .executableTarget(name: "YCBGCLI", dependencies: [
            "YCBGCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "YCBGCoreTests", dependencies: ["YCBGCore"]),
        // The ycbg tool's pure parts (the progress text).
        .testTarget(name: "YCBGCLITests", dependencies: ["YCBGCLI"]),
    ]
)
