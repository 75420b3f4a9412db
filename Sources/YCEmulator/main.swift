// yc-emulator: a local stand-in for Yandex AI Studio's Responses API (docs/emulator.md).

import Foundation
import NIOCore
import NIOPosix

let options: Options
do {
    options = try Options.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    let message = error.message.isEmpty ? Options.usage : "yc-emulator: \(error.message)\n\(Options.usage)"
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(error.message.isEmpty ? 0 : 2)
}

// A dead client must not kill the server through a write to a closed stdout or socket.
signal(SIGPIPE, SIG_IGN)
// Before the "listening" line: a harness may signal us as soon as it has read it.
Lifecycle.installStopHandlers(exitOnStdinEOF: options.exitOnStdinEOF)

let tls: TLSSupport?
do {
    tls = try TLSSupport.load(options: options)
} catch {
    let files = "\(options.tlsCert ?? "") / \(options.tlsKey ?? "")"
    FileHandle.standardError.write(Data("yc-emulator: cannot use the TLS certificate and key \(files): \(error)\n".utf8))
    exit(1)
}

let state = EmulatorState(settings: options.settings, credentials: [options.apiKey, options.iamToken])
let group = MultiThreadedEventLoopGroup(numberOfThreads: max(2, System.coreCount))
let serverChannel: Channel
do {
    serverChannel = try Server.start(options: options, tls: tls, state: state, group: group)
} catch {
    FileHandle.standardError.write(Data("yc-emulator: cannot listen on \(options.host):\(options.port): \(error)\n".utf8))
    exit(1)
}

let port = serverChannel.localAddress?.port ?? options.port
if let portFile = options.portFile {
    // Written to a temporary name and renamed, so a reader never sees a partial file.
    let temporary = portFile + ".tmp\(getpid())"
    do {
        try Data("\(port)\n".utf8).write(to: URL(fileURLWithPath: temporary))
        _ = rename(temporary, portFile)
    } catch {
        FileHandle.standardError.write(Data("yc-emulator: cannot write \(portFile): \(error)\n".utf8))
        exit(1)
    }
}
let shownHost = options.host.contains(":") ? "[\(options.host)]" : options.host
// Unbuffered, so a harness reading our stdout through a pipe sees the line at once.
FileHandle.standardOutput.write(Data("yc-emulator listening on \(options.scheme)://\(shownHost):\(port)/v1\n".utf8))

try? serverChannel.closeFuture.wait()
exit(0)
