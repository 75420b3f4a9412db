import Glibc
import YCBGCore

/// One job's status on stderr: on a terminal a single line redrawn as the
/// status and the elapsed time change; otherwise a line per status change.
final class StatusLine {
    private let id: String
    private let startedMs: Int64
    private let live = isatty(STDERR_FILENO) == 1
    private let quiet: Bool
    private var shownStatus: TaskStatus?
    private var shownText = ""

    /// `startedMs`: when the elapsed time starts (default: now).
    init(id: String, quiet: Bool, startedMs: Int64 = Clock.nowMs()) {
        self.id = id
        self.startedMs = startedMs
        self.quiet = quiet
    }

    var elapsedMs: Int64 { Clock.nowMs() - startedMs }

    func show(_ status: TaskStatus) {
        guard !quiet else { return }
        let text = "ycbg: \(id): \(status.name) (\(seconds(elapsedMs)))"
        if live {
            guard text != shownText else { return }
            writeStderr("\r\u{1B}[K" + text)
        } else {
            guard status != shownStatus else { return }
            writeStderr(text + "\n")
        }
        shownStatus = status
        shownText = text
    }

    /// Ends a live line, so that what follows starts on a line of its own.
    func end() {
        if live && !shownText.isEmpty { writeStderr("\n") }
        shownText = ""
    }
}

/// How waiting for a job ended.
enum WaitEnd {
    /// The job reached this terminal status.
    case finished(TaskStatus)
    case timedOut(TaskStatus)
    case interrupted
    /// A call failed for good (the job may still be running on the server).
    case failed(YCError)
}

/// Waits for `task` until it ends, `timeoutSeconds` pass or Ctrl-C, showing
/// its status on `line`. Waits in short slices to notice Ctrl-C; the task
/// keeps its own polling schedule, so slicing adds no requests.
func waitForJob(_ task: BackgroundTask, timeoutSeconds: Double?, line: StatusLine) -> WaitEnd {
    let deadline = timeoutSeconds.map { Clock.nowMs().addingSaturated(Int64(min($0 * 1000, 1e15))) }
    while true {
        let status = task.status
        line.show(status)
        if status.isTerminal { return .finished(status) }
        if Interrupts.requested { return .interrupted }
        var sliceMs: Int64 = 100
        if let deadline {
            let left = deadline - Clock.nowMs()
            if left <= 0 { return .timedOut(status) }
            sliceMs = min(sliceMs, left)
        }
        let (polled, error) = task.waitEx(timeoutMs: Int(sliceMs))
        if polled == .error, let error { return .failed(error) }
    }
}

/// "1.2 s".
func seconds(_ ms: Int64) -> String { "\(ms / 1000).\(ms % 1000 / 100) s" }

/// The advice for picking a job up later.
func pickUpHint(_ id: String) -> String { "`ycbg wait \(id)` picks it up" }

/// The terminal status a wait ended with; any other end of it becomes the
/// failure to report, with the advice for picking the job up.
func conclude(_ end: WaitEnd, id: String, line: StatusLine, redactor: Redactor) throws -> TaskStatus {
    line.end()
    switch end {
    case .finished(let status):
        return status
    case .timedOut(let status):
        throw CLIFailure(.timedOut, "timed out after \(seconds(line.elapsedMs)): \(id) is still \(status.name) on the server; "
                         + pickUpHint(id))
    case .interrupted:
        throw CLIFailure(.interrupted, "interrupted: \(id) goes on running on the server; \(pickUpHint(id)), `ycbg cancel \(id)` stops it")
    case .failed(let error):
        let failure = CLIFailure(error, redactor: redactor)
        throw CLIFailure(failure.status, failure.message + "; the job \(id) may still be running: " + pickUpHint(id))
    }
}

/// Why a job that ended did not complete, for stderr (credentials masked).
func endMessage(_ task: BackgroundTask, id: String) -> String {
    let status = task.status
    if status == .cancelled { return "\(id) was cancelled" }
    let message = task.result()["error"]?["message"]?.stringValue ?? "no reason given"
    return "\(id) ended \(status.name): \(message)"
}

/// Writes a job's text or document to stdout, credentials masked; a newline
/// is added only for a terminal, so that piped output is exactly the text.
func writeOutput(_ text: String, redactor: Redactor) {
    var text = redactor.redact(text)
    if isatty(STDOUT_FILENO) == 1 && !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
    writeStdout(text)
}

/// A JSON document on its own line of stdout, credentials masked.
func writeJSON(_ doc: JSON, redactor: Redactor) {
    writeStdout(redactor.redact(doc.serialized()) + "\n")
}
