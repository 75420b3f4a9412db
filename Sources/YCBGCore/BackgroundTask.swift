import Glibc
import Synchronization

/// One background response: its last known state on the server and the
/// calls that move it forward. Polls are serialized per task; a cancel never
/// waits behind them, and reading the state never waits for either.
public final class BackgroundTask: @unchecked Sendable {
    /// Keeps the client (and its connections) alive as long as the task.
    public let client: Client

    private struct State {
        /// nil until the server has answered the create (a submitted task).
        var id: String?
        /// nil until the server has sent a Response object.
        var response: ResponseObject?
        /// The most recent call's error; nil after a call that succeeded.
        var lastCallError: YCError?
        /// The server's hint for the next poll, from its last answer.
        var pollAfterMs: Int?
        /// When the next poll is due, and the interval after that.
        var nextPollAtMs: Int64?
        var intervalMs: Int?
        /// The client drives the task (yc_submit / yc_watch) until its event.
        var driven: DrivenTask?
        var everDriven = false
        /// How the client's driving ended when it ended with an error.
        var driveError: YCError?
        /// The ABI's handle was freed.
        var released = false
    }

    private let state: Locked<State>
    private let polls = Locked(())
    /// Broadcast after every change of the state, for waiters.
    private let changes = Monitor()
    /// The id as a C string, once known (never changes after that).
    private let idCStringBits = Atomic<UInt>(0)

    init(client: Client, first: ResponsesAPI.Answer) {
        self.client = client
        self.state = Locked(State(id: first.object.id, response: first.object, pollAfterMs: first.pollAfterMs))
        setIDCString(first.object.id)
        _ = schedule(after: first.pollAfterMs)
    }

    /// A task whose create the client sends later (yc_submit).
    init(client: Client) {
        self.client = client
        self.state = Locked(State())
    }

    /// A task for a response the server already has, not fetched yet
    /// (Client.prepareWatch): the engine's first poll fills it in.
    init(client: Client, knownID id: String) {
        self.client = client
        self.state = Locked(State(id: id))
        setIDCString(id)
    }

    deinit {
        free(UnsafeMutableRawPointer(bitPattern: idCStringBits.load(ordering: .acquiring)))
    }

    /// The server's response id; nil until the create has been answered.
    public var id: String? { state.withLock { $0.id } }

    /// The id as a C string that lives as long as the task; nil until known.
    public var idCString: UnsafePointer<CChar>? {
        UnsafePointer(bitPattern: idCStringBits.load(ordering: .acquiring))
    }

    /// QUEUED until the server has said otherwise.
    public var status: TaskStatus { state.withLock { $0.response?.status ?? .queued } }

    /// The server's hint for the next poll, from its last answer.
    var pollAfterHint: Int? { state.withLock { $0.pollAfterMs } }

    /// When the task's schedule wants its next poll.
    var nextPollDueMs: Int64? { state.withLock { $0.nextPollAtMs } }

    public var outputText: String { state.withLock { $0.response?.outputText ?? "" } }

    // MARK: - Calls

    /// One refresh from the server (none when the task is already terminal).
    public func poll() -> TaskStatus { pollEx().status }

    /// The same, with this call's error when it returns .error.
    public func pollEx() -> (status: TaskStatus, error: YCError?) {
        polls.withLock { _ in
            if let done = terminalStatus() { return (done, nil) }
            guard let id else { return unansweredCreate() }
            let (polled, error) = refresh(id: id, deadline: .none)
            return polled.map { ($0, nil) } ?? (.error, error)
        }
    }

    /// Polls until terminal or until `timeoutMs` passes (< 0: no limit; 0:
    /// one poll if one is due, without sleeping). The polling schedule lives
    /// in the task, so a caller that waits in short slices polls no more
    /// often than one long wait would. A driven task is polled by its
    /// client: the wait then only waits for that.
    public func wait(timeoutMs: Int) -> TaskStatus { waitEx(timeoutMs: timeoutMs).status }

    public func waitEx(timeoutMs: Int) -> (status: TaskStatus, error: YCError?) {
        let deadline: Deadline = timeoutMs < 0 ? .none : .after(ms: Int64(timeoutMs))
        if activeDriver() != nil { return waitForDriver(deadline: deadline) }
        while true {
            if let done = terminalStatus() { return (done, nil) }
            guard let id else { return unansweredCreate() }
            let due = state.withLock { $0.nextPollAtMs } ?? 0
            if due > Clock.nowMs() {
                let until = deadline.atMs.map { min($0, due) } ?? due
                // Sleep, but wake for a change (a cancel from another thread).
                changes.withLock {
                    while terminalStatus() == nil && Clock.nowMs() < until { changes.wait(untilMs: until) }
                }
                if let done = terminalStatus() { return (done, nil) }
                if Clock.nowMs() < due { return (status, nil) } // the deadline came first
            }
            let (polled, error) = polls.withLock { _ -> (TaskStatus?, YCError?) in
                if let done = terminalStatus() { return (done, nil) }
                return refresh(id: id, deadline: deadline)
            }
            _ = schedule(after: polled == nil ? error?.retryAfterMs : state.withLock { $0.pollAfterMs })
            if let polled, polled.isTerminal { return (polled, nil) }
            if let error, !error.retryable { return (.error, error) }
            if timeoutMs == 0 || deadline.hasPassed { return (status, nil) }
        }
    }

    /// Asks the server to cancel; returns the status it reports afterwards.
    /// Never waits behind a poll or wait in another thread.
    public func cancel() -> TaskStatus { cancelEx().status }

    public func cancelEx() -> (status: TaskStatus, error: YCError?) {
        if let done = terminalStatus() { return (done, nil) }
        guard let id else {
            let error = YCError(.invalidArgument, "cancel: the server has not answered the create yet, so the task has no id to cancel")
            recordFailure(error)
            return (.error, error)
        }
        let (status, error) = record { () throws(YCError) in try client.api.cancel(id: id) }
        return status.map { ($0, nil) } ?? (.error, error)
    }

    /// The contract's result document.
    public func result() -> JSON {
        let (id, response, callError) = state.withLock { ($0.id, $0.response, $0.lastCallError) }
        let doc = JSON.object()
        doc.set("id", id.map { .string($0) } ?? .null())
        doc.set("status", .string((response?.status ?? .queued).name))
        doc.set("output_text", .string(response?.outputText ?? ""))
        let object = response?.json
        doc.set("usage", object?.nonNull("usage") ?? .null())
        if let error = callError ?? response?.generationError {
            doc.set("error", error.json(redactedBy: client.redactor))
        } else {
            doc.set("error", .null())
        }
        doc.set("response", object ?? .null())
        return doc
    }

    // MARK: - Driving (yc_submit / yc_watch)

    /// Marks the task as driven by `driver`; false if it was driven before.
    func beginDriving(_ driver: DrivenTask) -> Bool {
        state.withLock { s in
            guard !s.everDriven, !s.released else { return false }
            s.everDriven = true
            s.driven = driver
            return true
        }
    }

    /// The client stopped driving the task (its event was posted, or its
    /// handle was freed); `error` when it ended with one.
    func endDriving(error: YCError?) {
        state.withLock { s in
            s.driven = nil
            s.driveError = error
        }
        notify()
    }

    /// The ABI's handle was freed: the client stops driving the task and
    /// drops its pending events.
    public func handleReleased() {
        let driver = state.withLock { s -> DrivenTask? in
            s.released = true
            return s.driven
        }
        if let driver, driver.pid == getpid() { driver.engine?.forget(driver) }
    }

    /// The driver of this process, if the task is driven.
    private func activeDriver() -> DrivenTask? {
        state.withLock { $0.driven }.flatMap { $0.pid == getpid() ? $0 : nil }
    }

    private func waitForDriver(deadline: Deadline) -> (status: TaskStatus, error: YCError?) {
        changes.withLock {
            while true {
                if let done = terminalStatus() { return (done, nil) }
                if activeDriver() == nil {
                    let error = state.withLock { $0.driveError }
                    return error.map { (.error, $0) } ?? (status, nil)
                }
                if deadline.hasPassed { return (status, nil) }
                changes.wait(untilMs: deadline.atMs)
            }
        }
    }

    // MARK: - Recording answers

    /// Sets when the next poll is due: the server's hint, else the current
    /// interval, which then grows by half up to max_poll_interval_ms.
    /// Returns that time.
    func schedule(after hintMs: Int?) -> Int64 {
        let config = client.api.config
        return state.withLock { s in
            let interval = s.intervalMs ?? config.pollIntervalMs
            let delay = min(max(hintMs ?? interval, 0), Int(RetryPolicy.maxServerDelayMs))
            let at = Clock.nowMs().addingSaturated(Int64(delay))
            s.nextPollAtMs = at
            s.intervalMs = min(interval.addingSaturated(interval / 2 + 1), config.maxPollIntervalMs)
            return at
        }
    }

    /// Runs one server call and records its answer or its error.
    func record(_ call: () throws(YCError) -> ResponsesAPI.Answer) -> (TaskStatus?, YCError?) {
        do throws(YCError) {
            return (try apply(call()), nil)
        } catch {
            recordFailure(error)
            return (nil, error)
        }
    }

    /// Records an answer from the server (the first one adopts its id). A
    /// terminal status is never replaced by a non-terminal one (a poll
    /// answered before a cancel may arrive after it).
    func apply(_ answer: ResponsesAPI.Answer) throws(YCError) -> TaskStatus {
        let result: Result<(TaskStatus, String?), YCError> = state.withLock { s in
            var adopted: String?
            if let id = s.id {
                guard answer.object.id == id else {
                    return .failure(YCError(.protocol, "the server answered for id '\(answer.object.id)' instead of '\(id)'"))
                }
            } else {
                s.id = answer.object.id
                adopted = answer.object.id
            }
            s.lastCallError = nil
            if let old = s.response, old.status.isTerminal, !answer.object.status.isTerminal {
                return .success((old.status, adopted))
            }
            s.response = answer.object
            s.pollAfterMs = answer.pollAfterMs
            return .success((answer.object.status, adopted))
        }
        switch result {
        case .success(let (status, adopted)):
            if let adopted { setIDCString(adopted) }
            notify()
            if status.isTerminal, let driver = activeDriver() { driver.engine?.poke(driver) }
            return status
        case .failure(let error):
            throw error
        }
    }

    func recordFailure(_ error: YCError) {
        state.withLock { $0.lastCallError = error }
        notify()
    }

    // MARK: -

    private func terminalStatus() -> TaskStatus? {
        let s = status
        return s.isTerminal ? s : nil
    }

    /// A submitted task whose create has no answer: QUEUED while the client
    /// works on it, else the error that ended it.
    private func unansweredCreate() -> (status: TaskStatus, error: YCError?) {
        let (driving, error) = state.withLock { ($0.driven != nil, $0.driveError ?? $0.lastCallError) }
        if driving || error == nil { return (.queued, nil) }
        return (.error, error)
    }

    /// GET the response and record the outcome.
    private func refresh(id: String, deadline: Deadline) -> (TaskStatus?, YCError?) {
        record { () throws(YCError) in try client.api.retrieve(id: id, deadline: deadline) }
    }

    private func notify() {
        changes.withLock {}
        changes.broadcast()
    }

    private func setIDCString(_ id: String) {
        guard let c = strdup(id) else { return }
        let (exchanged, _) = idCStringBits.compareExchange(expected: 0, desired: UInt(bitPattern: c), ordering: .acquiringAndReleasing)
        if !exchanged { free(c) }
    }
}
