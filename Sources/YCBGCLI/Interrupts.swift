import Glibc
import Synchronization

/// Ctrl-C: the first asks the running command to stop at a safe point (it
/// checks `Interrupts.requested`); the second leaves at once with 130.
/// Whatever was appended to a journal before that stays consistent, since
/// readers ignore a torn last line.
enum Interrupts {
    private static let count = Atomic<Int>(0)
    private static let lineShown = Atomic<Bool>(false)

    static func install() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            if Interrupts.count.add(1, ordering: .relaxed).newValue >= 2 {
                if Interrupts.lineShown.load(ordering: .relaxed) {
                    var newline: UInt8 = 10  // the shell's prompt starts on a line of its own
                    _ = write(STDERR_FILENO, &newline, 1)
                }
                _exit(ExitStatus.interrupted.rawValue)
            }
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGINT, &action, nil)
    }

    /// Kept by the progress display: its live line is on the terminal (a
    /// second Ctrl-C then ends that line before leaving).
    static var liveLineShown: Bool {
        get { lineShown.load(ordering: .relaxed) }
        set { lineShown.store(newValue, ordering: .relaxed) }
    }

    /// True once Ctrl-C was pressed.
    static var requested: Bool { count.load(ordering: .relaxed) > 0 }
}
