import Synchronization

/// One background response: its last known state on the server and the
/// calls that move it forward. Calls that talk to the server are serialized
/// per task; reading the state never waits for them.
public final class BackgroundTask: @unchecked Sendable {
    public let id: String
    /// Keeps the client (and its connections) alive as long as the task.
    public let client: Client

    private struct State {
        var response: ResponseObject
        /// The most recent call's error; nil after a call that succeeded.
        var lastCallError: YCError?
        /// The server's hint for the next poll, from its last answer.
        var pollAfterMs: Int?
        /// When `wait` polls next, and the interval after that.
        var nextPollAtMs: Int64?
        var intervalMs: Int?
    }

    private let state: Mutex<State>
    private let calls = Mutex(())

    init(client: Client, first: ResponsesAPI.Answer) {
        self.id = first.object.id
        self.client = client
        self.state = Mutex(State(response: first.object, lastCallError: nil, pollAfterMs: first.pollAfterMs))
        schedule(after: first.pollAfterMs)
    }

    public var status: TaskStatus { state.withLock { $0.response.status } }

    /// One refresh from the server (none when the task is already terminal).
    public func poll() -> TaskStatus {
        calls.withLock { _ in
            if let done = terminalStatus() { return done }
            return refresh(deadline: .none).map { $0 } ?? .error
        }
    }

    /// Polls until terminal or until `timeoutMs` passes (< 0: no limit; 0:
    /// one poll if one is due, without sleeping). The polling schedule lives
    /// in the task, so a caller that waits in short slices polls no more
    /// often than one long wait would.
    public func wait(timeoutMs: Int) -> TaskStatus {
        calls.withLock { _ in
            if let done = terminalStatus() { return done }
            let deadline: Deadline = timeoutMs < 0 ? .none : .after(ms: Int64(timeoutMs))
            while true {
                let due = state.withLock { $0.nextPollAtMs } ?? 0
                let now = Clock.nowMs()
                if due > now {
                    let until = deadline.atMs.map { min($0, due) } ?? due
                    Clock.sleep(ms: until - now)
                    if Clock.nowMs() < due { return status } // the deadline came first
                }
                let polled = refresh(deadline: deadline)
                let error = polled == nil ? state.withLock { $0.lastCallError } : nil
                schedule(after: polled == nil ? error?.retryAfterMs : state.withLock { $0.pollAfterMs })
                if let polled, polled.isTerminal { return polled }
                if let error, !error.retryable { return .error }
                if timeoutMs == 0 || deadline.hasPassed { return status }
            }
        }
    }

    /// Sets when the next poll of `wait` is due: the server's hint, else the
    /// current interval, which then grows by half up to max_poll_interval_ms.
    private func schedule(after hintMs: Int?) {
        let config = client.api.config
        state.withLock { s in
            let interval = s.intervalMs ?? config.pollIntervalMs
            let delay = min(max(hintMs ?? interval, 0), Int(RetryPolicy.maxServerDelayMs))
            s.nextPollAtMs = Clock.nowMs().addingSaturated(Int64(delay))
            s.intervalMs = min(interval.addingSaturated(interval / 2 + 1), config.maxPollIntervalMs)
        }
    }

    /// Asks the server to cancel; returns the status it reports afterwards.
    public func cancel() -> TaskStatus {
        calls.withLock { _ in
            if let done = terminalStatus() { return done }
            return record { () throws(YCError) in try client.api.cancel(id: id) } ?? .error
        }
    }

    /// The contract's result document.
    public func result() -> JSON {
        let (response, callError) = state.withLock { ($0.response, $0.lastCallError) }
        let doc = JSON.object()
        doc.set("id", .string(id))
        doc.set("status", .string(response.status.name))
        doc.set("output_text", .string(response.outputText))
        doc.set("usage", response.usage ?? .null())
        if let error = callError ?? response.generationError {
            doc.set("error", error.json(redactedBy: client.redactor))
        } else {
            doc.set("error", .null())
        }
        doc.set("response", response.json)
        return doc
    }

    public var outputText: String { state.withLock { $0.response.outputText } }

    // MARK: -

    private func terminalStatus() -> TaskStatus? {
        let s = status
        return s.isTerminal ? s : nil
    }

    /// GET the response and record the outcome; nil on failure.
    private func refresh(deadline: Deadline) -> TaskStatus? {
        record { () throws(YCError) in try client.api.retrieve(id: id, deadline: deadline) }
    }

    /// Runs one server call and records its answer or its error.
    private func record(_ call: () throws(YCError) -> ResponsesAPI.Answer) -> TaskStatus? {
        do throws(YCError) {
            let answer = try call()
            guard answer.object.id == id else {
                throw YCError(.protocol, "the server answered for id '\(answer.object.id)' instead of '\(id)'")
            }
            return state.withLock { s in
                s.response = answer.object
                s.lastCallError = nil
                s.pollAfterMs = answer.pollAfterMs
                return answer.object.status
            }
        } catch {
            state.withLock { $0.lastCallError = error }
            return nil
        }
    }
}
