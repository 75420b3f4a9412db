import CCurl
import CYCShim
import Glibc
import Synchronization

/// One HTTP request handed to the engine, and what to do with its outcome
/// (called on the engine's I/O thread; it must not block).
struct EngineRequest: @unchecked Sendable { // `done` runs on the I/O thread only
    let http: HTTPRequest
    let kind: RequestKind
    let done: (Result<HTTPResponse, TransportFailure>) -> Void

    init(_ http: HTTPRequest, done: @escaping (Result<HTTPResponse, TransportFailure>) -> Void) {
        self.http = http
        self.kind = http.startsJob ? .create : (http.method == .get ? .poll : .cancel)
        self.done = done
    }
}

/// A client's HTTP engine: one I/O thread (started on first use) running
/// libcurl's multi interface. Every request of the client goes through it:
/// the blocking calls hand it a request and wait for the answer, and it
/// drives submitted and watched tasks itself (create, then polls on each
/// task's schedule) and posts their events. It runs at most max_in_flight
/// transfers at once, over a small pool of easy handles, paced per kind.
final class Engine: @unchecked Sendable {
    let events = EventQueue()
    private let config: Configuration
    private let policy: RetryPolicy
    /// CURLM*; used by the I/O thread, and by others only for curl_multi_wakeup.
    private let multi: UnsafeMutableRawPointer

    /// What other threads hand the I/O thread.
    private enum Command: Sendable {
        case request(EngineRequest)
        case drive(DrivenTask)
        case forget(DrivenTask)
        case poke(DrivenTask)
    }
    private struct Inbox {
        var commands: [Command] = []
        var stopping = false
        var thread: pthread_t?
        var threadFailed = false
    }
    private let inbox = Locked(Inbox())

    // The I/O thread's own state.
    private var blocking: [EngineRequest] = []
    private var blockingHead = 0
    private var creates = TimerHeap<DrivenTask>()
    private var polls = TimerHeap<DrivenTask>()
    private var running: [UInt: (easy: EasyHandle, request: EngineRequest)] = [:]
    private var idle: [EasyHandle] = []
    private var pacer: Pacer
    private let transferSettings: TransferSettings
    private var cleanedUp = false
    /// Events of this pass of the loop, posted together at its end: the
    /// caller wakes once for a batch of finished tasks, not once per task.
    private var finishedEvents: [TaskEvent] = []

    /// Easy handles kept for reuse (connections live in the multi handle).
    private static let idleHandles = 16

    init?(config: Configuration) {
        guard ycs_curl_global_init() == CURLE_OK, let multi = curl_multi_init() else { return nil }
        self.multi = multi
        self.config = config
        self.transferSettings = TransferSettings(maxResponseBytes: config.maxResponseBytes, caFile: config.caFile,
                                                 userAgent: config.userAgent,
                                                 protocolOptions: ProtocolOptions(config.httpVersion))
        self.policy = RetryPolicy(maxRetries: config.maxRetries)
        self.pacer = Pacer(createsPerSecond: config.maxCreatesPerSecond, pollsPerSecond: config.maxPollsPerSecond)
        // Idle connections kept: enough for every transfer that may run at once.
        _ = ycs_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, max(4, config.maxInFlight))
        // HTTP/2: as many streams on one connection as transfers may run
        // (libcurl's default, 100, opens a new connection per 100 beyond it).
        _ = ycs_multi_setopt_long(multi, CURLMOPT_MAX_CONCURRENT_STREAMS, config.maxInFlight)
    }

    deinit {
        if !cleanedUp { cleanUp() }
    }

    // MARK: - From any thread

    /// Sends one request and waits for its outcome (the blocking calls).
    func perform(_ request: HTTPRequest) -> Result<HTTPResponse, TransportFailure> {
        let notStarted = TransportFailure(YCError(.network, "the client's I/O thread could not be started"), requestNotSent: true)
        let monitor = Monitor()
        // Always a whole value and a flag, never an Optional of this enum:
        // a nil one leaves payload bits unwritten that valgrind reports as
        // uninitialised when the tag is read.
        var outcome: Result<HTTPResponse, TransportFailure> = .failure(notStarted)
        var answered = false
        let accepted = send(.request(EngineRequest(request) { result in
            monitor.withLock {
                outcome = result
                answered = true
            }
            monitor.broadcast()
        }))
        guard accepted else { return .failure(notStarted) }
        return monitor.withLock {
            while !answered { monitor.wait(untilMs: nil) }
            return outcome
        }
    }

    /// Starts driving `driven` (its task must have accepted it).
    func drive(_ driven: DrivenTask) -> Bool {
        driven.engine = self
        return send(.drive(driven))
    }

    /// Stops driving (the task's handle was freed); drops its event if one
    /// was posted meanwhile. O(1) for the caller: the I/O thread does it.
    func forget(_ driven: DrivenTask) {
        _ = send(.forget(driven))
    }

    /// The task changed outside the engine (a yc_poll made it terminal, say):
    /// look at it now.
    func poke(_ driven: DrivenTask) { _ = send(.poke(driven)) }

    /// Stops the I/O thread and releases connections; waits for the thread
    /// unless called on it.
    func shutdown() {
        let thread: pthread_t? = inbox.withLock { s in
            s.stopping = true
            return s.thread
        }
        guard let thread else { return }
        _ = curl_multi_wakeup(multi)
        if pthread_equal(thread, pthread_self()) != 0 {
            pthread_detach(thread)
        } else {
            pthread_join(thread, nil)
        }
    }

    private func send(_ command: Command) -> Bool {
        let (ok, wake) = inbox.withLock { s -> (Bool, Bool) in
            guard !s.stopping, !s.threadFailed else { return (false, false) }
            if s.thread == nil && !startThread(&s) { return (false, false) }
            s.commands.append(command)
            // Only the command that makes the inbox non-empty wakes the
            // thread: the ones after it are taken with it (10,000 yc_submit
            // calls in a row are not 10,000 wakeups and context switches).
            return (true, s.commands.count == 1)
        }
        if wake { _ = curl_multi_wakeup(multi) }
        return ok
    }

    private func startThread(_ s: inout Inbox) -> Bool {
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        // The thread blocks every signal, so that signals sent to the process
        // go to the application's threads, as if the library had none.
        var all = sigset_t(), previous = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_SETMASK, &all, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        let rc = pthread_create(&thread, nil, { argument in
            guard let argument else { return nil }
            let engine = Unmanaged<Engine>.fromOpaque(argument).takeRetainedValue()
            engine.run()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<Engine>.fromOpaque(context).release()
            s.threadFailed = true
            return false
        }
        s.thread = thread
        return true
    }

    // MARK: - The I/O thread

    private func run() {
        while true {
            let (commands, stopping) = inbox.withLock { s in
                defer { s.commands.removeAll(keepingCapacity: true) }
                return (s.commands, s.stopping)
            }
            let now = Clock.nowMs()
            for command in commands { apply(command, nowMs: now) }
            if stopping { break }
            publishEvents()  // tasks that were terminal when handed over
            startDueWork(nowMs: Clock.nowMs())
            var stillRunning: Int32 = 0
            _ = curl_multi_perform(multi, &stillRunning)
            collectFinished()
            startDueWork(nowMs: Clock.nowMs())
            publishEvents()
            var waitMs = nextWakeMs(nowMs: Clock.nowMs())
            var curlTimeout = -1
            if curl_multi_timeout(multi, &curlTimeout) == CURLM_OK, curlTimeout >= 0 {
                waitMs = min(waitMs, curlTimeout)
            }
            if waitMs > 0 { _ = curl_multi_poll(multi, nil, 0, Int32(waitMs), nil) }
        }
        cleanUp()
    }

    private func apply(_ command: Command, nowMs: Int64) {
        switch command {
        case .request(let request):
            blocking.append(request)
        case .drive(let d):
            guard !d.finished else { return }
            if d.createBody != nil {
                d.due(at: nowMs)
                creates.insert(d)
            } else {
                d.due(at: d.task.nextPollDueMs ?? nowMs)
                polls.insert(d)
                if d.task.status.isTerminal { finish(d, d.task.status, error: nil) }
            }
        case .forget(let d):
            // Finished: its event was posted (the handle is gone, so it goes
            // too). Not finished: it has none, and now never will.
            guard !d.finished else {
                finishedEvents.removeAll { $0.task === d.task }
                events.drop(d.task)
                return
            }
            d.finished = true
            creates.remove(d)
            polls.remove(d)
            d.task.endDriving(error: nil)
        case .poke(let d):
            guard !d.finished, polls.contains(d) else { return }
            d.dueMs = nowMs
            polls.update(d)
        }
    }

    /// Starts what is due while transfers and tokens allow: the blocking
    /// calls first (a caller waits), then creates, then polls.
    private func startDueWork(nowMs: Int64) {
        while blockingHead < blocking.count, running.count < config.maxInFlight {
            let request = blocking[blockingHead]
            guard pacer.take(request.kind, nowMs: nowMs, adaptive: false) else { break }
            blockingHead += 1
            start(request)
        }
        if blockingHead == blocking.count {
            blocking.removeAll(keepingCapacity: blocking.count < 1024)
            blockingHead = 0
        }
        while let d = creates.first, d.dueMs <= nowMs {
            if d.deadlinePassed(nowMs: nowMs) { timeOut(d); continue }
            guard running.count < config.maxInFlight, pacer.take(.create, nowMs: nowMs) else { break }
            creates.remove(d)
            sendCreate(d)
        }
        while let d = polls.first, d.dueMs <= nowMs {
            let status = d.task.status
            if status.isTerminal { finish(d, status, error: nil); continue }
            if d.deadlinePassed(nowMs: nowMs) { timeOut(d); continue }
            guard running.count < config.maxInFlight, pacer.take(.poll, nowMs: nowMs) else { break }
            polls.remove(d)
            sendPoll(d)
        }
    }

    /// How long the loop may sleep before something of its own is due
    /// (libcurl's sockets and timers wake it anyway).
    private func nextWakeMs(nowMs: Int64) -> Int {
        var at = nowMs + 1000
        let free = running.count < config.maxInFlight
        func consider(_ due: Int64, _ kind: RequestKind, adaptive: Bool = true) {
            if due > nowMs {
                at = min(at, due)
            } else if free {
                // Due, and waiting for a token of its kind.
                at = min(at, max(nowMs + 1, pacer.nextTokenMs(kind, nowMs: nowMs, adaptive: adaptive)))
            }
            // Due with every transfer busy: a finishing transfer wakes the loop.
        }
        if blockingHead < blocking.count { consider(nowMs, blocking[blockingHead].kind, adaptive: false) }
        if let d = creates.first { consider(d.dueMs, .create) }
        if let d = polls.first { consider(d.dueMs, .poll) }
        return Int(max(0, at - nowMs))
    }

    private func start(_ request: EngineRequest) {
        guard let easy = idle.popLast() ?? EasyHandle(transferSettings) else {
            request.done(.failure(TransportFailure(YCError(.network, "out of memory creating a connection handle"), requestNotSent: true)))
            return
        }
        if let failure = easy.prepare(request.http) {
            recycle(easy)
            request.done(.failure(failure))
            return
        }
        guard curl_multi_add_handle(multi, easy.raw) == CURLM_OK else {
            recycle(easy)
            request.done(.failure(TransportFailure(YCError(.network, "libcurl refused the transfer"), requestNotSent: true)))
            return
        }
        running[UInt(bitPattern: easy.raw)] = (easy, request)
    }

    private func collectFinished() {
        var handle: UnsafeMutableRawPointer?
        var rc = CURLE_OK
        while ycs_multi_next_done(multi, &handle, &rc) != 0 {
            guard let handle, let (easy, request) = running.removeValue(forKey: UInt(bitPattern: handle)) else { continue }
            _ = curl_multi_remove_handle(multi, handle)
            let outcome = easy.finish(rc)
            recycle(easy)
            if case .success(let response) = outcome {
                let delay = RetryPolicy.serverDelayMs(response.headers).flatMap(RetryPolicy.clampedDelayMs)
                pacer.record(request.kind, tooManyRequests: response.status == 429, retryAfterMs: delay, nowMs: Clock.nowMs())
            }
            request.done(outcome)
        }
    }

    private func recycle(_ easy: EasyHandle) {
        if idle.count < Engine.idleHandles { idle.append(easy) }
    }

    // MARK: - Driven tasks

    private func sendCreate(_ d: DrivenTask) {
        guard let body = d.createBody else { return }
        d.inFlight = true
        let api = d.task.client.api
        start(EngineRequest(api.createRequest(body: body, idempotencyKey: d.idempotencyKey)) { [self] outcome in
            createAnswered(d, outcome, api: api)
        })
    }

    private func sendPoll(_ d: DrivenTask) {
        guard let id = d.task.id else { return }
        d.inFlight = true
        let api = d.task.client.api
        start(EngineRequest(api.retrieveRequest(id: id)) { [self] outcome in
            pollAnswered(d, outcome, api: api)
        })
    }

    private func createAnswered(_ d: DrivenTask, _ outcome: Result<HTTPResponse, TransportFailure>, api: ResponsesAPI) {
        d.inFlight = false
        guard !d.finished else { return }
        let now = Clock.nowMs()
        do throws(YCError) {
            switch try api.interpret(outcome) {
            case .answer(let answer):
                let status = try d.task.apply(answer)
                d.createBody = nil
                d.onCreated?(d.tag, answer.object.id)
                if status.isTerminal { finish(d, status, error: nil); return }
                d.due(at: d.task.schedule(after: answer.pollAfterMs))
                polls.insert(d)
            case .failed(let failure):
                let error = api.finalError(failure, createsJob: true)
                d.task.recordFailure(error)
                let safety: RetryPolicy.Safety = config.trustIdempotencyKey ? .idempotent : .startsJob
                var throttled = false
                if case .http(let response, _) = failure, response.status == 429 { throttled = true }
                // A 429 is the quota speaking: wait and resend, without limit
                // (task_timeout_ms bounds it); other safe resends count.
                guard policy.shouldRetry(failure, safety: safety), throttled || d.createRetries < policy.maxRetries else {
                    finish(d, .error, error: error)
                    return
                }
                let delay = policy.delayMs(retriesSoFar: throttled ? min(d.createThrottled, 4) : d.createRetries,
                                           headers: failure.headers)
                if throttled { d.createThrottled += 1 } else { d.createRetries += 1 }
                d.due(at: now.addingSaturated(delay))
                creates.insert(d)
            }
        } catch {
            d.task.recordFailure(error)
            finish(d, .error, error: error)
        }
    }

    private func pollAnswered(_ d: DrivenTask, _ outcome: Result<HTTPResponse, TransportFailure>, api: ResponsesAPI) {
        d.inFlight = false
        guard !d.finished else { return }
        let (status, error) = d.task.record { () throws(YCError) in
            switch try api.interpret(outcome) {
            case .answer(let answer): return answer
            case .failed(let failure): throw failure.error
            }
        }
        if let status {
            d.pollFailures = 0
            if status.isTerminal { finish(d, status, error: nil); return }
            d.due(at: d.task.schedule(after: d.task.pollAfterHint))
        } else if let error, error.retryable {
            // The job goes on on the server: back off and poll again.
            let delay = error.retryAfterMs.map(Int64.init)
                ?? policy.delayMs(retriesSoFar: min(d.pollFailures, 4), headers: [])
            d.pollFailures += 1
            d.due(at: Clock.nowMs().addingSaturated(delay))
        } else {
            finish(d, .error, error: error ?? YCError(.protocol, "the poll failed"))
            return
        }
        polls.insert(d)
    }

    private func timeOut(_ d: DrivenTask) {
        let error = YCError(.timeout, "task_timeout_ms (\(config.taskTimeoutMs) ms) passed before the task ended")
        d.task.recordFailure(error)
        finish(d, .error, error: error)
    }

    /// Ends the driving of `d` with its one event.
    private func finish(_ d: DrivenTask, _ status: TaskStatus, error: YCError?) {
        guard !d.finished else { return }
        d.finished = true
        creates.remove(d)
        polls.remove(d)
        d.task.endDriving(error: status == .error ? error : nil)
        finishedEvents.append(TaskEvent(task: d.task, token: d.token, tag: d.tag, status: status,
                                        error: status == .error ? error : nil))
    }

    /// Hands this pass's events to the queue (whose fd then becomes readable).
    private func publishEvents() {
        guard !finishedEvents.isEmpty else { return }
        events.post(finishedEvents)
        finishedEvents.removeAll(keepingCapacity: finishedEvents.count <= 1024)
    }

    /// Ends every transfer and releases libcurl's handles (on the I/O thread
    /// at its end, or in deinit if it never started).
    private func cleanUp() {
        cleanedUp = true
        let closed = TransportFailure(YCError(.network, "the client was closed while the request ran"), requestNotSent: false)
        for (_, transfer) in running {
            _ = curl_multi_remove_handle(multi, transfer.easy.raw)
            transfer.request.done(.failure(closed))
        }
        running = [:]
        for request in blocking[blockingHead...] {
            request.done(.failure(TransportFailure(YCError(.network, "the client was closed"), requestNotSent: true)))
        }
        blocking = []
        for d in creates.removeAll() + polls.removeAll() {
            d.finished = true
            d.task.endDriving(error: nil)
        }
        idle = []
        _ = curl_multi_cleanup(multi)
    }
}
