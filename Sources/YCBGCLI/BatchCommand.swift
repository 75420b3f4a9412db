import ArgumentParser
import Glibc
import Synchronization
import YCBGCore

/// `ycbg batch IN.jsonl -o OUT.jsonl`: every line through one client,
/// journaled so that a run after a crash finishes the batch without a second
/// job for any line.
struct BatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Run a JSONL file of requests (OpenAI Batch format); crash-safe and resumable.",
        discussion: """
            Input lines: {"custom_id": "…", "method": "POST", "url": "/v1/responses", "body": {…}}, or the short \
            form {"custom_id": "…", "input": …, …} whose other keys are the request. A request without "model" \
            gets --model. Blank lines are skipped.

            Output lines, in completion order, one per custom_id: {"id": "batch_req_…", "custom_id": "…", \
            "response": {"status_code": 200, "request_id": null, "body": <the final Response object>}, \
            "error": null}, or, for a line that did not run to an end on the server, "response": null and \
            "error": {"code", "message"}. A Response that ended failed, incomplete or cancelled counts as \
            not completed.

            Bad input lines (not JSON, no custom_id, wrong method or url, a request the library refuses) are \
            reported with their line number and written as error lines; a repeated custom_id, or a line \
            without one, has no output line of its own and goes to the errors file only. --strict stops \
            before sending anything instead. The errors file (--errors, default OUT with ".jsonl" replaced \
            by ".errors.jsonl") is rewritten at the end of each run with every error line.

            The journal (--journal, default the output's path + ".journal") records each create's Idempotency-Key before it is \
            sent and the response id once the server answers. Run the same command again after a crash or \
            Ctrl-C: lines already in the output are skipped, journaled jobs are picked up, not created again. \
            A create whose answer was lost is resent with the same key only with --trust-idempotency-key; \
            otherwise that line becomes a "create_unconfirmed" error line (the job may exist), never a \
            second job; a kill can leave up to --max-in-flight such lines.

            The input, the output, the journal and the errors file must be four different files (exit 2 \
            otherwise, before anything is sent). The journal is locked while a run uses it: a second run of \
            the same batch at the same time exits 2 (a killed run leaves no lock behind).

            --shard K/N runs only the lines whose custom_id hashes to K: FNV-1a 64-bit of its UTF-8 bytes, \
            modulo N, K counted from 0 to N-1 (lines without a custom_id belong to shard 0). The N shards \
            of one input are disjoint and cover it; give each its own -o.

            First Ctrl-C: no new creates; the creates already sent are waited for (so their ids are \
            journaled), then ycbg prints the command that resumes and exits 130. Second Ctrl-C: leaves at \
            once (the journal stays usable).

            \(ExitStatus.helpText)
            """)

    @Argument(help: ArgumentHelp("The input JSONL file (\"-\": standard input).", valueName: "IN.jsonl"))
    var input: String

    @Option(name: .shortAndLong, help: ArgumentHelp("The output JSONL file (appended to).", valueName: "OUT.jsonl"))
    var output: String

    @Option(help: ArgumentHelp("The journal (default: the output's path + .journal).", valueName: "path"))
    var journal: String?

    @Option(help: ArgumentHelp("The errors file (default: OUT with .jsonl replaced by .errors.jsonl).", valueName: "path"))
    var errors: String?

    @Option(help: ArgumentHelp("The model for requests without one.", valueName: "model"))
    var model: String = defaultModel

    @Flag(help: "Exit with status 2 before sending anything if any input line is bad.")
    var strict = false

    @Option(help: ArgumentHelp("Lines running at once at most (created, not finished): bounds memory.",
                               valueName: "n"))
    var maxRunning: Int = 2000

    @Option(help: ArgumentHelp("Only the lines whose custom_id hashes to K of N (FNV-1a 64 mod N, K from 0).",
                               valueName: "K/N"))
    var shard: String?

    @OptionGroup var client: ClientOptions

    func validate() throws {
        if maxRunning < 1 { throw ValidationError("--max-running must be at least 1") }
        if let shard, Shard(shard) == nil {
            throw ValidationError("--shard must be K/N with 0 <= K < N, e.g. 0/4")
        }
    }

    func run() throws {
        Interrupts.install()
        let errorsPath = errors ?? BatchCommand.defaultErrorsPath(output)
        let journalPath = journal ?? output + ".journal"
        // One file in two roles would be overwritten or read back as input.
        var files = [("-o", output), ("--journal", journalPath), ("--errors", errorsPath)]
        if input != "-" { files.insert(("the input", input), at: 0) }
        if let (a, b) = sameFile(files) { throw CLIFailure(.usage, "\(a) and \(b) are the same file") }
        let client = try self.client.makeClient()
        var run = try BatchRun(client: client, inputPath: input, outputPath: output,
                               journalPath: journalPath, errorsPath: errorsPath,
                               model: model, shard: shard.flatMap(Shard.init), strict: strict,
                               maxRunning: maxRunning)
        let status = try run.execute()
        Glibc.exit(status.rawValue)
    }

    static func defaultErrorsPath(_ output: String) -> String {
        (output.hasSuffix(".jsonl") ? String(output.dropLast(6)) : output) + ".errors.jsonl"
    }
}

/// The response ids the I/O thread reports (Client.drive's onCreated), for
/// the batch loop to journal.
private final class CreatedIDs: Sendable {
    private let ids = Mutex<[(tag: UInt64, id: String)]>([])

    func add(_ tag: UInt64, _ id: String) { ids.withLock { $0.append((tag, id)) } }

    func take() -> [(tag: UInt64, id: String)] {
        ids.withLock { ids in
            defer { ids.removeAll(keepingCapacity: true) }
            return ids
        }
    }
}

/// One run of a batch: the loop that feeds creates to the client, journals
/// them, and writes each line's outcome as its event arrives.
struct BatchRun {
    private let client: Client
    private let inputPath: String
    private let outputPath: String
    private let journalPath: String
    private let errorsPath: String
    private let model: String
    private let shard: Shard?
    private let strict: Bool
    private let maxRunning: Int

    /// A line being driven by the client.
    private struct Slot {
        let customID: String
        /// The server has answered its create (or it was journaled so).
        var created: Bool
    }

    /// A line waiting for its create (with the key of an earlier run, if any).
    private struct Pending {
        let line: BatchInput.Line
        let key: String?
    }

    private let progress = ProgressDisplay()
    private let createdIDs = CreatedIDs()
    private var counts = BatchCounts()
    private var slots: [UInt64: Slot] = [:]
    private var nextTag: UInt64 = 1
    private var creating = 0

    init(client: Client, inputPath: String, outputPath: String, journalPath: String, errorsPath: String,
         model: String, shard: Shard?, strict: Bool, maxRunning: Int) throws {
        self.maxRunning = maxRunning
        self.client = client
        self.inputPath = inputPath
        self.outputPath = outputPath
        self.journalPath = journalPath
        self.errorsPath = errorsPath
        self.model = model
        self.shard = shard
        self.strict = strict
    }

    mutating func execute() throws -> ExitStatus {
        let startedMs = Clock.nowMs()
        let input = BatchInput(try readFile(inputPath, what: "input"), defaultModel: model, shard: shard, client: client)
        for bad in input.bad { progress.message(bad.message) }
        if strict && !input.bad.isEmpty {
            throw CLIFailure(.usage, "--strict: \(input.bad.count) bad input line(s); nothing was sent")
        }

        // The lock first: reading the output and the journal repairs torn
        // last lines, which must not happen under a run still writing them.
        let journal = try Journal(path: journalPath)
        let done = try BatchOutput.done(outputPath)
        let journaled = try Journal.load(journalPath)
        let output = try BatchOutput(path: outputPath)
        let trust = client.api.config.trustIdempotencyKey

        // What is left, and how each line resumes.
        var queue: [Pending] = []
        var attach: [(customID: String, id: String)] = []
        for bad in input.bad where bad.hasOutputLine {
            if done.contains(bad.customID!) { counts.skipped += 1; continue }
            counts.total += 1
            counts.failed += 1
            try output.write(BatchOutput.failed(bad.customID, code: bad.code, message: bad.message))
        }
        let extraErrors = input.bad.filter { !$0.hasOutputLine }.map {
            BatchOutput.failed($0.customID, code: $0.code, message: $0.message)
        }
        counts.total += extraErrors.count
        counts.failed += extraErrors.count
        for line in input.lines {
            if done.contains(line.customID) { counts.skipped += 1; continue }
            counts.total += 1
            let entry = journaled[line.customID]
            if let id = entry?.id {
                attach.append((line.customID, id))
            } else if let key = entry?.key {
                if trust {
                    queue.append(Pending(line: line, key: key))
                } else {
                    counts.failed += 1
                    try output.write(BatchOutput.failed(line.customID, code: "create_unconfirmed", message: """
                        line \(line.number): an earlier run sent this create (Idempotency-Key \(key)) and stopped \
                        before its answer came: a job may exist on the server, so it was not sent again. If the \
                        server honours Idempotency-Key, run again with --trust-idempotency-key to resend it with \
                        the same key; otherwise find the job, or accept a possible second one by removing this \
                        line from \(outputPath) and its records from \(journalPath), and run again.
                        """))
                }
            } else {
                queue.append(Pending(line: line, key: nil))
            }
        }
        try output.sync()

        // The loop: keep up to max_in_flight creates waiting for their
        // answer, write each event's line, journal each id.
        let window = max(1, client.api.config.maxInFlight)
        var pace = CreatePace(perSecond: client.api.config.maxCreatesPerSecond)
        var head = 0
        var attachHead = 0
        var stopping = false
        var lastSyncMs = Clock.nowMs()
        while true {
            if Interrupts.requested && !stopping {
                stopping = true
                progress.message("interrupted: no new creates; waiting for the answers to the \(creating) creates "
                                 + "already handed to the client (Ctrl-C again leaves at once)")
            }
            // Jobs of earlier runs first; then new creates.
            while !stopping && attachHead < attach.count && slots.count < maxRunning {
                try watch(attach[attachHead].customID, attach[attachHead].id, output: output)
                attachHead += 1
            }
            let canCreate = !stopping && attachHead == attach.count && head < queue.count && creating < window
                && slots.count < maxRunning
            if canCreate, case let allowed = pace.take(min(window - creating, maxRunning - slots.count)), allowed > 0 {
                let group = queue[head..<min(queue.count, head + allowed)]
                head += group.count
                try submit(Array(group), journal: journal, output: output)
                if head == queue.count { queue = []; head = 0 }
            }
            counts.queued = queue.count - head + attach.count - attachHead
            counts.running = slots.count
            progress.update(counts)
            if slots.isEmpty && ((queue.count == head && attachHead == attach.count) || stopping) { break }
            if stopping && creating == 0 { break }

            let waitMs = canCreate ? pace.msToNext : 100
            let events = client.nextEvents(max: 512, timeoutMs: min(100, waitMs))
            try journalCreated(journal)
            for event in events {
                guard let slot = slots.removeValue(forKey: event.tag) else { continue }
                if !slot.created { creating -= 1 }
                try finish(slot.customID, event, output: output)
            }
            let now = Clock.nowMs()
            if now - lastSyncMs >= 200 {
                try journal.sync()
                try output.sync()
                lastSyncMs = now
            }
        }
        try journalCreated(journal)
        try journal.sync()
        try output.sync()

        counts.queued = queue.count - head + attach.count - attachHead
        counts.running = slots.count
        let errorLines = try BatchOutput.writeErrors(errorsPath, from: outputPath, extra: extraErrors)
        var summary = BatchSummary(counts: counts, wallMs: Clock.nowMs() - startedMs,
                                   errorsPath: errorLines > 0 ? errorsPath : nil)
        if stopping {
            summary.interrupted = true
            summary.resumeHint = "to resume, run: " + CommandLine.arguments.map(shellQuoted).joined(separator: " ")
        }
        progress.finish(summary)
        if stopping { return .interrupted }
        return counts.failed > 0 || counts.completed < counts.total ? .failedOrIncomplete : .completed
    }

    /// Has the client poll a job an earlier run created.
    private mutating func watch(_ customID: String, _ id: String, output: BatchOutput) throws {
        let tag = nextTag
        nextTag += 1
        do throws(YCError) {
            let task = try client.prepareWatch(responseID: id)
            guard client.drive(task, tag: tag, token: 0) else {
                throw YCError(.network, "the client's I/O thread could not be started")
            }
            slots[tag] = Slot(customID: customID, created: true)
        } catch {
            try fail(customID, error, output: output)
        }
    }

    /// Journals the keys of `group` (one fsync), then hands their creates
    /// to the client.
    private mutating func submit(_ group: [Pending], journal: Journal, output: BatchOutput) throws {
        let keyed = group.map { ($0.line, $0.key ?? RandomUUID.make(), $0.key == nil) }
        try journal.recordKeys(keyed.filter { $0.2 }.map { ($0.0.customID, $0.1) })
        let ids = createdIDs
        for (line, key, _) in keyed {
            let tag = nextTag
            nextTag += 1
            do throws(YCError) {
                let (task, body) = try client.prepareSubmit(requestJSON: line.request)
                guard client.drive(task, tag: tag, token: 0, createBody: body, idempotencyKey: key,
                                   onCreated: { tag, id in ids.add(tag, id) }) else {
                    throw YCError(.network, "the client's I/O thread could not be started")
                }
                slots[tag] = Slot(customID: line.customID, created: false)
                creating += 1
            } catch {
                try fail(line.customID, error, output: output)
            }
        }
    }

    /// Journals the ids the server gave since the last call.
    private mutating func journalCreated(_ journal: Journal) throws {
        var records: [(customID: String, id: String)] = []
        for (tag, id) in createdIDs.take() {
            guard var slot = slots[tag], !slot.created else { continue }
            slot.created = true
            slots[tag] = slot
            creating -= 1
            records.append((slot.customID, id))
        }
        try journal.recordIDs(records)
    }

    /// Writes the line of a task that ended.
    private mutating func finish(_ customID: String, _ event: TaskEvent, output: BatchOutput) throws {
        guard event.status.isTerminal, let body = event.task.result()["response"], !body.isNull else {
            var error = event.error ?? YCError(.protocol, "the task ended without a response")
            if let id = event.task.id { error.message += " (response id \(id))" }
            try fail(customID, error, output: output)
            return
        }
        if event.status == .completed { counts.completed += 1 } else { counts.failed += 1 }
        counts.tokens += body["usage"]?["total_tokens"]?.intValue ?? 0
        try output.write(BatchOutput.answered(customID, body: body))
    }

    private mutating func fail(_ customID: String, _ error: YCError, output: BatchOutput) throws {
        counts.failed += 1
        try output.write(BatchOutput.failed(customID, code: error.code.map { client.redactor.redact($0) } ?? error.kind.rawValue,
                                            message: client.redactor.redact(error.message)))
    }
}

/// With --creates-per-second, creates are handed to the client at about
/// that rate rather than all at once: the engine paces them anyway, and a
/// create that waits there with its key journaled becomes, without
/// --trust-idempotency-key, an unconfirmed line if the process is killed.
/// A token bucket of two (the engine's holds one).
struct CreatePace {
    private let perSecond: Double
    private var tokens = 2.0
    private var refilledMs = Clock.nowMs()

    init(perSecond: Double) { self.perSecond = perSecond }

    /// How many creates may go now, at most `wanted`; takes them.
    mutating func take(_ wanted: Int) -> Int {
        guard perSecond > 0 else { return wanted }
        let now = Clock.nowMs()
        tokens = min(2, tokens + Double(now - refilledMs) * perSecond / 1000)
        refilledMs = now
        let n = min(wanted, Int(tokens))
        tokens -= Double(n)
        return n
    }

    /// Milliseconds until the next token (0: one is there, or no pacing).
    var msToNext: Int {
        guard perSecond > 0, tokens < 1 else { return 0 }
        let elapsed = Double(Clock.nowMs() - refilledMs)
        return max(1, Int(((1 - tokens) * 1000 / perSecond - elapsed).rounded(.up)))
    }
}

/// `text` as one shell word.
func shellQuoted(_ text: String) -> String {
    let plain = text.utf8.allSatisfy { c in
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
            || "-_./=:,+@%".utf8.contains(c)
    }
    if plain && !text.isEmpty { return text }
    var quoted = "'"
    for c in text { quoted += c == "'" ? "'\\''" : String(c) }
    return quoted + "'"
}
