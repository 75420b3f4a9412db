// Stopping: SIGINT/SIGTERM, and (with --exit-on-stdin-eof) the end of stdin, so a harness that
// dies without cleaning up leaves no orphan server behind. There is nothing to flush or save
// (all state is in memory), so stopping is an immediate exit with status 0; the kernel closes
// the sockets.

import Foundation

enum Lifecycle {
    static func installStopHandlers(exitOnStdinEOF: Bool) {
        // _exit is async-signal-safe, unlike anything that would run Swift or Dispatch code here.
        signal(SIGINT) { _ in _exit(0) }
        signal(SIGTERM) { _ in _exit(0) }
        if exitOnStdinEOF {
            Thread.detachNewThread {
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    let n = read(STDIN_FILENO, &buffer, buffer.count)
                    if n == 0 || (n < 0 && errno != EINTR) { _exit(0) }
                }
            }
        }
    }
}
