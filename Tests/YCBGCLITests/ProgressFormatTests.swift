import Testing
@testable import YCBGCLI

/// The text of `ycbg batch`'s progress, without a terminal
/// (Tests/cli/test_progress.py checks what a terminal shows).
@Suite struct ProgressFormatTests {
    func counts(total: Int = 500, completed: Int = 117, failed: Int = 3, running: Int = 16, queued: Int = 364,
                tokens: Int = 45_612) -> BatchCounts {
        var c = BatchCounts()
        c.total = total
        c.completed = completed
        c.failed = failed
        c.running = running
        c.queued = queued
        c.tokens = tokens
        return c
    }

    @Test func theLine() {
        #expect(ProgressFormat.line(counts(), perSecond: 12.46)
                == "120/500 done, 3 failed, 16 running, 364 queued, 12.5 lines/s, ETA 31s, 45.6k tokens")
        #expect(ProgressFormat.line(counts(), perSecond: nil, exactTokens: true)
                == "120/500 done, 3 failed, 16 running, 364 queued, -- lines/s, ETA --, 45612 tokens")
        #expect(ProgressFormat.line(counts(), perSecond: 2, stopping: true).hasSuffix(", 2.0 lines/s, stopping, 45.6k tokens"))
    }

    @Test func rate() {
        #expect(ProgressFormat.rate(nil) == "-- lines/s")
        #expect(ProgressFormat.rate(.nan) == "-- lines/s")
        #expect(ProgressFormat.rate(0) == "0.0 lines/s")
        #expect(ProgressFormat.rate(0.04) == "0.0 lines/s")
        #expect(ProgressFormat.rate(9.96) == "10.0 lines/s")
        #expect(ProgressFormat.rate(99.94) == "99.9 lines/s")
        #expect(ProgressFormat.rate(240.4) == "240 lines/s")
    }

    @Test func eta() {
        #expect(ProgressFormat.eta(remaining: 65, perSecond: 1) == "ETA 1m05s")
        #expect(ProgressFormat.eta(remaining: 10, perSecond: 3) == "ETA 4s")  // rounded up: 3.3 s
        #expect(ProgressFormat.eta(remaining: 0, perSecond: nil) == "ETA 0s")
        #expect(ProgressFormat.eta(remaining: 5, perSecond: nil) == "ETA --")
        #expect(ProgressFormat.eta(remaining: 5, perSecond: 0) == "ETA --")
        #expect(ProgressFormat.eta(remaining: 7_380, perSecond: 1) == "ETA 2h03m")
        #expect(ProgressFormat.eta(remaining: 10_000_000, perSecond: 0.01) == "ETA >99h")
    }

    @Test func durations() {
        let cases: [(Int, String)] = [(-3, "0s"), (0, "0s"), (59, "59s"), (60, "1m00s"), (65, "1m05s"),
                                      (3599, "59m59s"), (3600, "1h00m"), (7380, "2h03m"), (360_000, "100h00m")]
        for (seconds, text) in cases { #expect(ProgressFormat.duration(seconds: seconds) == text) }
        #expect(ProgressFormat.wallTime(ms: 4_249) == "4.2s")
        #expect(ProgressFormat.wallTime(ms: 59_999) == "59.9s")
        #expect(ProgressFormat.wallTime(ms: 65_432) == "1m05s")
    }

    @Test func compactNumbers() {
        #expect(ProgressFormat.compact(0) == "0")
        #expect(ProgressFormat.compact(999) == "999")
        #expect(ProgressFormat.compact(1000) == "1.0k")
        #expect(ProgressFormat.compact(12_345) == "12.3k")
        #expect(ProgressFormat.compact(999_949) == "999.9k")
        #expect(ProgressFormat.compact(999_960) == "1.0M")
        #expect(ProgressFormat.compact(4_560_000) == "4.6M")
    }

    @Test func fittingLeavesTheLastColumnFree() {
        let line = "ycbg: " + ProgressFormat.line(counts(), perSecond: 250)
        #expect(ProgressFormat.fitted(line, columns: 40) == "ycbg: 120/500 done, 3 failed, 16 runnin")
        #expect(ProgressFormat.fitted(line, columns: 200) == line)
        #expect(ProgressFormat.fitted(line, columns: line.count + 1) == line)
        #expect(ProgressFormat.fitted(line, columns: line.count) == String(line.dropLast()))
        #expect(ProgressFormat.fitted(line, columns: 1) == "")
        #expect(ProgressFormat.fitted(line, columns: 0) == "")
    }

    @Test func controlCharactersAreShownAsQuestionMarks() {
        #expect(ProgressFormat.printable("a\u{1B}[2Jb\nc\u{9B}d\u{7F} é") == "a?[2Jb?c?d? é")
    }

    @Test func summary() {
        var summary = BatchSummary(counts: counts(completed: 480, failed: 20, running: 0, queued: 0, tokens: 123_456),
                                   wallMs: 65_432, errorsPath: "out.errors.jsonl")
        summary.counts.skipped = 12
        #expect(ProgressFormat.summary(summary) == [
            "finished: 480 completed, 20 failed, 12 already done; wall time 1m05s, 123456 tokens",
            "error lines: out.errors.jsonl",
        ])
        summary = BatchSummary(counts: counts(), wallMs: 4_200, errorsPath: nil, interrupted: true,
                               resumeHint: "to resume, run: ycbg batch in.jsonl -o out.jsonl")
        #expect(ProgressFormat.summary(summary) == [
            "interrupted: 117 completed, 3 failed, 0 already done, 380 not done; wall time 4.2s, 45612 tokens",
            "to resume, run: ycbg batch in.jsonl -o out.jsonl",
        ])
    }

    @Test func rateOverTheRecentWindow() {
        var window = RateWindow(windowMs: 10_000)
        #expect(window.perSecond == nil)
        window.add(ms: 0, finished: 0)
        window.add(ms: 400, finished: 4)
        #expect(window.perSecond == nil)  // under half a second
        window.add(ms: 1_000, finished: 10)
        #expect(window.perSecond == 10)
        // 10 lines/s for 20 s, then 30 lines/s for 5 s: the last 10 s, not the whole run.
        var finished = 10
        for ms in stride(from: Int64(1_100), through: 20_000, by: 100) {
            finished += 1
            window.add(ms: ms, finished: finished)
        }
        for ms in stride(from: Int64(20_100), through: 25_000, by: 100) {
            finished += 3
            window.add(ms: ms, finished: finished)
        }
        let rate = try! #require(window.perSecond)
        #expect(abs(rate - 20) < 0.5, "\(rate)")
        // Updates more often than the spacing keep the newest count.
        window.add(ms: 25_050, finished: finished + 5)
        #expect(window.perSecond! > rate)
    }
}
