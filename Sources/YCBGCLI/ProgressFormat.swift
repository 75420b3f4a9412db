/// The text of the batch progress display, apart from any I/O: every
/// function here is pure (time comes in as a parameter), so what a person
/// reads is decided in one place and can be checked without a terminal.
enum ProgressFormat {
    /// The progress line without any prefix:
    /// "120/500 done, 3 failed, 16 running, 364 queued, 12.5 lines/s, ETA 30s, 45.6k tokens".
    /// `exactTokens`: the token count in full (logs) rather than compact (a terminal line).
    /// `stopping` (after Ctrl-C): "stopping" in place of the ETA, since the batch will not finish.
    static func line(_ counts: BatchCounts, perSecond: Double?, exactTokens: Bool = false, stopping: Bool = false) -> String {
        let tokens = exactTokens ? String(counts.tokens) : compact(counts.tokens)
        let etaText = stopping ? "stopping" : eta(remaining: counts.total - counts.finished, perSecond: perSecond)
        return "\(counts.finished)/\(counts.total) done, \(counts.failed) failed, "
            + "\(counts.running) running, \(counts.queued) queued, \(rate(perSecond)), \(etaText), \(tokens) tokens"
    }

    /// "12.5 lines/s", "240 lines/s"; "-- lines/s" while unknown.
    static func rate(_ perSecond: Double?) -> String {
        guard let perSecond, perSecond.isFinite, perSecond >= 0 else { return "-- lines/s" }
        return (perSecond >= 100 ? String(Int(perSecond.rounded())) : oneDecimal(perSecond)) + " lines/s"
    }

    /// "ETA 1m05s"; "ETA 0s" when nothing remains; "ETA --" while the rate
    /// is unknown or zero; "ETA >99h" beyond that.
    static func eta(remaining: Int, perSecond: Double?) -> String {
        if remaining <= 0 { return "ETA 0s" }
        guard let perSecond, perSecond.isFinite, perSecond > 0 else { return "ETA --" }
        let seconds = Double(remaining) / perSecond
        if seconds >= 99 * 3600 { return "ETA >99h" }
        return "ETA " + duration(seconds: Int(seconds.rounded(.up)))
    }

    /// "45s", "1m05s", "2h03m".
    static func duration(seconds: Int) -> String {
        let s = max(0, seconds)
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m" + twoDigits(s % 60) + "s" }
        return "\(s / 3600)h" + twoDigits(s % 3600 / 60) + "m"
    }

    /// A wall time for the summary: "4.2s" below a minute, else as `duration`.
    static func wallTime(ms: Int64) -> String {
        let ms = max(0, ms)
        if ms < 60_000 { return "\(ms / 1000).\(ms % 1000 / 100)s" }
        return duration(seconds: Int(ms / 1000))
    }

    /// "999", "12.3k", "4.6M".
    static func compact(_ n: Int) -> String {
        if n < 1000 { return String(n) }
        if n < 999_950 { return oneDecimal(Double(n) / 1000) + "k" }
        return oneDecimal(Double(n) / 1_000_000) + "M"
    }

    /// `line` cut so that it takes at most `columns - 1` columns: the last
    /// column stays free, so a terminal never wraps it (wrapping would leave
    /// a line behind at every redraw). The display's text is ASCII, one
    /// column per character.
    static func fitted(_ line: String, columns: Int) -> String {
        let room = max(0, columns - 1)
        return line.count <= room ? line : String(line.prefix(room))
    }

    /// `text` with every control character (C0, DEL, C1) as "?", so that a
    /// message quoting input cannot move the cursor or change the terminal.
    static func printable(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            out.append(scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) ? "?" : scalar)
        }
        return String(out)
    }

    /// The summary's lines, without prefix:
    /// "finished: 480 completed, 20 failed, 12 already done; wall time 4.2s, 123456 tokens"
    /// (interrupted: "interrupted: …, 377 not done; …"),
    /// "error lines: PATH", and the resume hint when there is one.
    static func summary(_ summary: BatchSummary) -> [String] {
        let c = summary.counts
        var outcome = "\(c.completed) completed, \(c.failed) failed, \(c.skipped) already done"
        let notDone = c.total - c.finished
        if summary.interrupted && notDone > 0 { outcome += ", \(notDone) not done" }
        let how = summary.interrupted ? "interrupted" : "finished"
        var lines = ["\(how): \(outcome); wall time \(wallTime(ms: summary.wallMs)), \(c.tokens) tokens"]
        if let errorsPath = summary.errorsPath { lines.append("error lines: \(errorsPath)") }
        if let resumeHint = summary.resumeHint { lines.append(resumeHint) }
        return lines
    }

    private static func oneDecimal(_ x: Double) -> String {
        let tenths = Int((x * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    private static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : String(n) }
}

/// Lines finished per second over the last `windowMs`: the rate now, not
/// since the start, so the ETA follows a batch that speeds up or slows down.
struct RateWindow {
    let windowMs: Int64
    /// Points at least `spacingMs` apart, oldest first; the first one is at
    /// or before the start of the window once the window is full.
    private var points: [(ms: Int64, finished: Int)] = []
    private var latest: (ms: Int64, finished: Int)?
    private let spacingMs: Int64

    init(windowMs: Int64 = 10_000, spacingMs: Int64 = 250) {
        self.windowMs = windowMs
        self.spacingMs = spacingMs
    }

    mutating func add(ms: Int64, finished: Int) {
        latest = (ms, finished)
        if let last = points.last, ms - last.ms < spacingMs { return }
        points.append((ms, finished))
        while points.count > 1 && points[1].ms <= ms - windowMs { points.removeFirst() }
    }

    /// nil until the points span half a second.
    var perSecond: Double? {
        guard let first = points.first, let latest, latest.ms - first.ms >= 500 else { return nil }
        return Double(latest.finished - first.finished) * 1000 / Double(latest.ms - first.ms)
    }
}
