import Glibc
import YCBGCore

/// Where a batch stands, as its loop counts it.
struct BatchCounts {
    /// Lines this run has to process (after skipping those already done).
    var total = 0
    var completed = 0
    /// Ended failed, incomplete, cancelled or with an error.
    var failed = 0
    /// Created on the server (or being created), not finished.
    var running = 0
    /// Not yet submitted.
    var queued = 0
    /// Lines found already in the output (an earlier run did them).
    var skipped = 0
    /// Total tokens used by the finished responses (usage.total_tokens).
    var tokens = 0

    var finished: Int { completed + failed }
}

/// The end of a batch, for its summary.
struct BatchSummary {
    var counts: BatchCounts
    var wallMs: Int64
    /// Where the error lines went (nil: there were none).
    var errorsPath: String?
    /// Stopped by Ctrl-C; `resumeHint` says how to go on.
    var interrupted = false
    var resumeHint: String?
}

/// The batch's progress on stderr.
///
/// On a terminal (stderr is a tty, `NO_COLOR` unset or empty, `TERM` set and
/// not "dumb"): one live line, redrawn in place at most every `redrawMs`,
/// never wider than the terminal. Otherwise: a plain line every
/// `intervalMs`, with no escape codes. `message` lines and the summary are
/// plain lines in both cases (on a terminal the live line is cleared first).
/// Not thread-safe: one loop drives it.
final class ProgressDisplay {
    /// On a terminal: the live line; otherwise: plain lines.
    let live: Bool
    private let startedMs = Clock.nowMs()
    private let intervalMs: Int64
    private let redrawMs: Int64
    private var lastShownMs: Int64?
    private var counts = BatchCounts()
    private var rate = RateWindow()
    /// The live line is on the screen (the cursor is at its end).
    private var lineShown = false
    private var finished = false

    init(intervalMs: Int64 = 5_000, redrawMs: Int64 = 200, live: Bool = ProgressDisplay.stderrIsLiveTerminal()) {
        self.intervalMs = intervalMs
        self.redrawMs = redrawMs
        self.live = live
        rate.add(ms: startedMs, finished: 0)
    }

    /// A display dropped without `finish` (a failure on the way out) leaves
    /// no half line for the next text to run into.
    deinit { clearLine() }

    /// The new counts; shown now if the last showing is old enough.
    func update(_ counts: BatchCounts) {
        guard !finished else { return }
        let now = Clock.nowMs()
        self.counts = counts
        rate.add(ms: now, finished: counts.finished)
        if let last = lastShownMs, now - last < (live ? redrawMs : intervalMs) { return }
        lastShownMs = now
        if live {
            writeStderr("\r" + liveLine() + "\u{1B}[K")
            setLineShown(true)
        } else {
            let elapsed = ProgressFormat.duration(seconds: Int((now - startedMs) / 1000))
            writeStderr("ycbg: [\(elapsed)] "
                        + ProgressFormat.line(counts, perSecond: rate.perSecond, exactTokens: true,
                                              stopping: Interrupts.requested) + "\n")
        }
    }

    /// A line that must be seen (a bad input line, the Ctrl-C notice), on
    /// a line of its own; the live line comes back under it. Control
    /// characters in `line` are shown as "?".
    func message(_ line: String) {
        let text = "ycbg: " + ProgressFormat.printable(line) + "\n"
        if lineShown {
            writeStderr("\r\u{1B}[K" + text + "\r" + liveLine() + "\u{1B}[K")
        } else {
            writeStderr(text)
        }
    }

    /// Clears the live line and writes the summary; later updates are ignored.
    func finish(_ summary: BatchSummary) {
        clearLine()
        finished = true
        writeStderr(ProgressFormat.summary(summary).map { "ycbg: " + ProgressFormat.printable($0) + "\n" }.joined())
    }

    private func liveLine() -> String {
        ProgressFormat.fitted("ycbg: " + ProgressFormat.line(counts, perSecond: rate.perSecond, stopping: Interrupts.requested),
                              columns: ProgressDisplay.terminalColumns())
    }

    private func clearLine() {
        guard lineShown else { return }
        writeStderr("\r\u{1B}[K")
        setLineShown(false)
    }

    private func setLineShown(_ shown: Bool) {
        lineShown = shown
        Interrupts.liveLineShown = shown
    }

    /// Whether stderr gets the live line: a terminal that is not "dumb",
    /// without `NO_COLOR` (https://no-color.org: set and not empty).
    static func stderrIsLiveTerminal() -> Bool {
        guard isatty(STDERR_FILENO) == 1 else { return false }
        if let noColor = getenv("NO_COLOR"), noColor.pointee != 0 { return false }
        guard let term = getenv("TERM"), term.pointee != 0 else { return false }
        return String(cString: term) != "dumb"
    }

    /// The terminal's width: TIOCGWINSZ on stderr (asked at every redraw, so
    /// a resized window is followed), else `COLUMNS`, else 80.
    static func terminalColumns() -> Int {
        var size = winsize()
        if ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 { return Int(size.ws_col) }
        if let columns = getenv("COLUMNS"), let n = Int(String(cString: columns)), n > 0 { return n }
        return 80
    }
}
