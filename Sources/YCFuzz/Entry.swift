import Glibc

// Two builds of one harness:
//  - fuzz/run.sh builds with -DYCBG_FUZZ -sanitize=fuzzer,address: libFuzzer
//    owns main() and calls LLVMFuzzerTestOneInput; the target is chosen with
//    YCBG_FUZZ_TARGET.
//  - a plain `swift build` makes a replayer: `yc-fuzz TARGET FILE|DIR...`
//    (or `yc-fuzz all DIR...`, DIR holding one folder per target) runs each
//    file through the same entry point once, e.g. the corpus or regressions.

enum FuzzTargets {
    static let all: [(name: String, run: @Sendable ([UInt8]) -> Void)] = [
        (ConfigTarget.name, ConfigTarget.run),
        (RequestTarget.name, RequestTarget.run),
        (ResponseTarget.name, ResponseTarget.run),
        (ErrorBodyTarget.name, ErrorBodyTarget.run),
        (RetryAfterTarget.name, RetryAfterTarget.run),
    ]

    static var names: String { all.map(\.name).joined(separator: ", ") }

    static func named(_ name: String) -> (@Sendable ([UInt8]) -> Void)? { all.first { $0.name == name }?.run }
}

#if YCBG_FUZZ

/// The target, read once from YCBG_FUZZ_TARGET.
nonisolated(unsafe) private var selected: (@Sendable ([UInt8]) -> Void)? = nil

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>?,
                           _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    let name = getenv("YCBG_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let run = FuzzTargets.named(name) else {
        printError("yc-fuzz: set YCBG_FUZZ_TARGET to one of: \(FuzzTargets.names) (got '\(name)')\n")
        exit(2)
    }
    selected = run
    return 0
}

/// SwiftPM links an executable with main = YCFuzz_main, so libFuzzer's own
/// main() is never pulled in: this one starts libFuzzer's driver instead.
@_extern(c, "LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

@_cdecl("YCFuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    var argc = argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return withUnsafeMutablePointer(to: &argv) { argvp in
        LLVMFuzzerRunDriver(&argc, argvp, { data, size in fuzzTestOneInput(data, size) })
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    selected?(bytes)
    return 0
}

#else

@main
enum Replay {
    static func main() {
        var args = Array(CommandLine.arguments.dropFirst())
        let envTarget = getenv("YCBG_FUZZ_TARGET").map { String(cString: $0) }
        var target: String
        if let first = args.first, first == "all" || FuzzTargets.named(first) != nil {
            target = first
            args.removeFirst()
        } else if let envTarget {
            target = envTarget
        } else {
            usage()
        }
        if args.isEmpty { usage() }
        var total = 0
        if target == "all" {
            for (name, run) in FuzzTargets.all {
                for dir in args { total += replay(dir + "/" + name, run, name: name, missingOK: true) }
            }
        } else {
            guard let run = FuzzTargets.named(target) else { usage() }
            for path in args { total += replay(path, run, name: target, missingOK: false) }
        }
        target = target == "all" ? "all targets" : target
        print("yc-fuzz: \(total) inputs replayed through \(target), every invariant held")
    }

    static func usage() -> Never {
        printError("usage: yc-fuzz TARGET FILE|DIR...   (TARGET: \(FuzzTargets.names); or YCBG_FUZZ_TARGET)\n"
              + "       yc-fuzz all DIR...          (DIR/<target>/ for every target)\n")
        exit(2)
    }

    /// Runs a file, or every file in a directory (sorted), through `run`.
    static func replay(_ path: String, _ run: ([UInt8]) -> Void, name: String, missingOK: Bool) -> Int {
        var st = stat()
        guard stat(path, &st) == 0 else {
            if missingOK { return 0 }
            printError("yc-fuzz: cannot read \(path)\n")
            exit(2)
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            guard let dir = opendir(path) else { return 0 }
            var entries: [String] = []
            while let e = readdir(dir) {
                let n = withUnsafeBytes(of: e.pointee.d_name) { raw in
                    String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
                }
                if !n.hasPrefix(".") { entries.append(n) }
            }
            closedir(dir)
            return entries.sorted().reduce(0) { $0 + replay(path + "/" + $1, run, name: name, missingOK: missingOK) }
        }
        guard let f = fopen(path, "rb") else {
            printError("yc-fuzz: cannot open \(path)\n")
            exit(2)
        }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        printError("\(name): \(path)\n")
        run(bytes)
        return 1
    }
}

#endif
