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

/// The batch's progress on stderr: updated as often as the loop likes, it
/// writes a plain line every few seconds.
final class ProgressDisplay {
    private let startedMs = Clock.nowMs()
    private var lastShownMs: Int64 = 0
    private let intervalMs: Int64

    init(intervalMs: Int64 = 5_000) {
        self.intervalMs = intervalMs
    }

    func update(_ counts: BatchCounts) {
        let now = Clock.nowMs()
        guard now - lastShownMs >= intervalMs else { return }
        lastShownMs = now
        writeStderr("ycbg: \(counts.finished)/\(counts.total) done (\(counts.completed) completed, \(counts.failed) failed), "
                    + "\(counts.running) running, \(counts.queued) queued, \(counts.tokens) tokens\n")
    }

    /// A line that must be seen (a bad input line, the Ctrl-C notice).
    func message(_ line: String) {
        writeStderr("ycbg: \(line)\n")
    }

    func finish(_ summary: BatchSummary) {
        let c = summary.counts
        var text = "ycbg: \(summary.interrupted ? "interrupted" : "finished"): \(c.completed) completed, \(c.failed) failed"
        if c.skipped > 0 { text += ", \(c.skipped) already done" }
        text += " in \(summary.wallMs / 1000).\(summary.wallMs % 1000 / 100) s, \(c.tokens) tokens\n"
        if let errorsPath = summary.errorsPath { text += "ycbg: error lines: \(errorsPath)\n" }
        if let resumeHint = summary.resumeHint { text += "ycbg: \(resumeHint)\n" }
        writeStderr(text)
    }
}
