import CCurl
import CYCShim

/// A configured connection to the Responses API, shared by every task made
/// from it and by any number of threads.
public final class Client: Sendable {
    public let api: ResponsesAPI
    public let redactor: Redactor
    /// The I/O engine (nil for a client over a scripted transport).
    let host: EngineHost?

    public convenience init(configJSON: String?, environment: @escaping Configuration.Environment = Configuration.processEnvironment) throws(YCError) {
        try self.init(configJSON: configJSON.map { Array($0.utf8) }, environment: environment)
    }

    /// From raw UTF-8 config bytes (invalid UTF-8 is an `invalid_json` error).
    /// The loaded libcurl and Jansson are checked first (`Dependencies`).
    public convenience init(configJSON: [UInt8]?, environment: @escaping Configuration.Environment = Configuration.processEnvironment) throws(YCError) {
        try Dependencies.check()
        let config = try Configuration.parse(configJSON, environment: environment)
        guard ycs_curl_global_init() == CURLE_OK else {
            throw YCError(.network, "libcurl could not be initialised")
        }
        // Every request, the blocking calls' too, goes through the engine.
        let host = EngineHost(config: config)
        self.init(config: config, transport: EngineTransport(host: host), host: host)
    }

    /// A client over any transport (tests use a scripted one).
    public convenience init(config: Configuration, transport: any Transport) {
        self.init(config: config, transport: transport, host: nil)
    }

    init(config: Configuration, transport: any Transport, host: EngineHost?) {
        self.api = ResponsesAPI(config: config, transport: transport)
        self.redactor = config.redactor
        self.host = host
    }

    /// Starts a background response; the task holds the server's first answer.
    public func createBackground(requestJSON: String) throws(YCError) -> BackgroundTask {
        try createBackground(requestJSON: Array(requestJSON.utf8))
    }

    public func createBackground(requestJSON: [UInt8]) throws(YCError) -> BackgroundTask {
        let answer = try api.create(requestJSON: requestJSON)
        return BackgroundTask(client: self, first: answer)
    }

    /// A task for an existing response id, with its current state fetched.
    public func attach(responseID id: String) throws(YCError) -> BackgroundTask {
        try checkResponseID(id)
        let answer = try api.retrieve(id: id)
        guard answer.object.id == id else {
            throw YCError(.protocol, "the server answered for id '\(answer.object.id)' when asked for '\(id)'")
        }
        return BackgroundTask(client: self, first: answer)
    }

    /// A task for an existing response id, with nothing fetched yet (QUEUED
    /// until its first poll): for `drive`, which polls it like a created
    /// one. Nothing is sent here.
    public func prepareWatch(responseID id: String) throws(YCError) -> BackgroundTask {
        try checkResponseID(id)
        guard host != nil else { throw YCError(.invalidArgument, "this client has no I/O engine") }
        return BackgroundTask(client: self, knownID: id)
    }

    private func checkResponseID(_ id: String) throws(YCError) {
        guard !id.isEmpty, id.utf8.count <= 1024, isHeaderSafe(id) else {
            throw YCError(.invalidArgument, "response_id must be a non-empty id without control characters")
        }
    }

    // MARK: - Many tasks

    /// A create checked now (JSON, object, model, stream) and sent later by
    /// the engine: the task and its body, for `drive`. Nothing is sent here.
    public func prepareSubmit(requestJSON: [UInt8]) throws(YCError) -> (task: BackgroundTask, body: [UInt8]) {
        guard host != nil else { throw YCError(.invalidArgument, "this client has no I/O engine") }
        let body = try api.prepareCreateBody(requestJSON)
        return (BackgroundTask(client: self), body)
    }

    /// Has the engine drive `task` until its event (`createBody`: send that
    /// create first, with `idempotencyKey` on it and on every resend, or a
    /// new key when nil). `onCreated` runs on the I/O thread when the server
    /// first answers the create, with the tag and the response id; it must
    /// be cheap (enqueue and return). False if the task was driven before,
    /// belongs to another client, or the engine cannot start.
    public func drive(_ task: BackgroundTask, tag: UInt64, token: UInt, createBody: [UInt8]? = nil,
                      idempotencyKey: String? = nil,
                      onCreated: (@Sendable (_ tag: UInt64, _ id: String) -> Void)? = nil) -> Bool {
        guard task.client === self, let engine = host?.engine() else { return false }
        let driven = DrivenTask(task: task, tag: tag, token: token, createBody: createBody,
                                timeoutMs: api.config.taskTimeoutMs, idempotencyKey: idempotencyKey,
                                onCreated: onCreated)
        guard task.beginDriving(driven) else { return false }
        guard engine.drive(driven) else {
            task.endDriving(error: YCError(.network, "the client's I/O thread could not be started"))
            return false
        }
        return true
    }

    /// Up to `max` events, waiting up to `timeoutMs` (< 0: no limit) for one;
    /// empty when none came in time or the client's events are stopped.
    public func nextEvents(max: Int, timeoutMs: Int) -> [TaskEvent] {
        guard let host, host.eventsOn, let engine = host.engine() else { return [] }
        let until: Int64? = timeoutMs < 0 ? nil : Clock.nowMs().addingSaturated(Int64(timeoutMs))
        return engine.events.take(max: max, untilMs: until)
    }

    /// The fd readable while events are pending; -1 without an engine.
    public var eventFD: Int32 { host?.engine()?.events.fd ?? -1 }

    /// The client's handle was freed: events stop being delivered; driven
    /// tasks go on being polled for their yc_wait callers.
    public func stopEvents() { host?.stopEvents() }
}
