/// The Responses API calls a background task needs, each sent through the
/// retry policy: create, retrieve and cancel.
public final class ResponsesAPI: Sendable {
    public let config: Configuration
    let transport: any Transport
    let policy: RetryPolicy

    public init(config: Configuration, transport: any Transport) {
        self.config = config
        self.transport = transport
        self.policy = RetryPolicy(maxRetries: config.maxRetries)
    }

    /// How one attempt went.
    enum Attempt {
        case answer(Answer)
        case failed(AttemptFailure)
    }

    /// A Response object and the server's hint for when to ask again.
    public struct Answer: Sendable {
        public let object: ResponseObject
        public let pollAfterMs: Int?
    }

    /// POST /responses with `background: true` and the model name expanded.
    public func create(requestJSON: String, deadline: Deadline = .none) throws(YCError) -> Answer {
        try create(requestJSON: Array(requestJSON.utf8), deadline: deadline)
    }

    /// The same for raw UTF-8 bytes (invalid UTF-8 is an `invalid_json` error).
    public func create(requestJSON: [UInt8], deadline: Deadline = .none) throws(YCError) -> Answer {
        let body = try prepareCreateBody(requestJSON)
        let key = RandomUUID.make() // the same on every retry of this create
        // Retried like a retrieve only when the server is known to honour the key.
        let safety: RetryPolicy.Safety = config.trustIdempotencyKey ? .idempotent : .startsJob
        return try call(.post, path: "/responses", body: Array(body), safety: safety,
                        extraHeaders: [("Idempotency-Key", key)], deadline: deadline)
    }

    /// GET /responses/{id}.
    public func retrieve(id: String, deadline: Deadline = .none) throws(YCError) -> Answer {
        try call(.get, path: "/responses/\(percentEncoded(id))", body: nil, safety: .idempotent, deadline: deadline)
    }

    /// POST /responses/{id}/cancel.
    public func cancel(id: String, deadline: Deadline = .none) throws(YCError) -> Answer {
        try call(.post, path: "/responses/\(percentEncoded(id))/cancel", body: nil, safety: .idempotent, deadline: deadline)
    }

    /// The caller's request object with `background` forced on and a short
    /// model name expanded to gpt://<folder>/<model>.
    func prepareCreateBody(_ requestJSON: String) throws(YCError) -> [UInt8] {
        try prepareCreateBody(Array(requestJSON.utf8))
    }

    func prepareCreateBody(_ requestJSON: [UInt8]) throws(YCError) -> [UInt8] {
        let request = try JSON.parse(requestJSON, what: "request_json")
        guard request.kind == .object else {
            throw YCError(.invalidArgument, "request_json must be a JSON object (a Responses API request)")
        }
        if request["stream"]?.boolValue == true {
            throw YCError(.invalidArgument, "request_json: \"stream\": true is not supported; ycbg polls background responses")
        }
        if let model = request["model"]?.stringValue, !model.contains("://") {
            guard let folder = config.folderID else {
                throw YCError(.config, "config: folder_id is needed to expand the model name '\(model)' to gpt://<folder_id>/\(model); set folder_id (or YC_FOLDER_ID) or give a full model URI")
            }
            request.set("model", .string("gpt://\(folder)/\(model)"))
        }
        request.set("background", .bool(true))
        return Array(request.serialized().utf8)
    }

    private func call(_ method: HTTPRequest.Method, path: String, body: [UInt8]?, safety: RetryPolicy.Safety,
                      extraHeaders: [(String, String)] = [], deadline: Deadline) throws(YCError) -> Answer {
        let createsJob = method == .post && path == "/responses"
        var retries = 0
        while true {
            let request = makeRequest(method, path: path, body: body, extraHeaders: extraHeaders)
            let failure: AttemptFailure
            switch try interpret(transport.perform(request, maxResponseBytes: config.maxResponseBytes)) {
            case .answer(let answer): return answer
            case .failed(let f): failure = f
            }
            guard retries < policy.maxRetries, policy.shouldRetry(failure, safety: safety) else {
                throw finalError(failure, createsJob: createsJob)
            }
            let delay = policy.delayMs(retriesSoFar: retries, headers: failure.headers)
            // The deadline bounds sleeping and starting retries. A started
            // attempt is bounded by timeout_ms, not cut at the deadline, so
            // that short waits still work against a slow server.
            if let left = deadline.remainingMs, delay >= left { throw finalError(failure, createsJob: createsJob) }
            Clock.sleep(ms: delay)
            retries += 1
        }
    }

    /// The error the caller gets for the last failed attempt. A create that
    /// may have started a job says so: the caller must not resend it blindly.
    func finalError(_ failure: AttemptFailure, createsJob: Bool) -> YCError {
        var error = failure.error
        if createsJob, RetryPolicy.mayHaveStartedJob(failure) {
            error.message += " (the job may exist on the server: the create may have reached it before this failure, so sending it again may start a second job)"
        }
        return error
    }

    /// One attempt of a call: the HTTP request, with a fresh x-client-request-id.
    func makeRequest(_ method: HTTPRequest.Method, path: String, body: [UInt8]?,
                     extraHeaders: [(String, String)] = []) -> HTTPRequest {
        var headers = commonHeaders()
        headers.append(("x-client-request-id", RandomUUID.make())) // new on every attempt
        headers += extraHeaders
        var request = HTTPRequest(method: method, url: config.baseURL + path, headers: headers, body: body,
                                  timeoutMs: config.timeoutMs, connectTimeoutMs: config.connectTimeoutMs)
        // libcurl resends a request once when a reused connection turns out
        // dead, even if the server had read it: never for a create.
        request.startsJob = method == .post && path == "/responses"
        return request
    }

    /// One attempt of a create whose body is ready (prepareCreateBody).
    func createRequest(body: [UInt8], idempotencyKey: String) -> HTTPRequest {
        makeRequest(.post, path: "/responses", body: body, extraHeaders: [("Idempotency-Key", idempotencyKey)])
    }

    /// One attempt of a retrieve.
    func retrieveRequest(id: String) -> HTTPRequest {
        makeRequest(.get, path: "/responses/\(percentEncoded(id))", body: nil)
    }

    /// What one attempt's outcome means: an answer, a failure the retry
    /// policy judges, or (thrown) a 2xx that is not a Response, which is
    /// never retried since the job may exist.
    func interpret(_ outcome: Result<HTTPResponse, TransportFailure>) throws(YCError) -> Attempt {
        switch outcome {
        case .success(let response) where (200..<300).contains(response.status):
            let object = try ResponseObject.parse(response)
            return .answer(Answer(object: object, pollAfterMs: pollAfterMs(response.headers)))
        case .success(let response):
            return .failed(.http(response, ErrorBody.error(from: response)))
        case .failure(let transportFailure):
            return .failed(.transport(transportFailure))
        }
    }

    private func commonHeaders() -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [("Authorization", config.credential.authorizationHeader)]
        if let folder = config.folderID { headers.append(("OpenAI-Project", folder)) }
        if let logging = config.dataLogging { headers.append(("x-data-logging-enabled", logging ? "true" : "false")) }
        headers += config.headers
        return headers
    }

    private func pollAfterMs(_ headers: [(name: String, value: String)]) -> Int? {
        if let v = headers.first(where: { $0.name == "openai-poll-after-ms" }).flatMap({ RetryPolicy.pollHintMs($0.value) }) {
            return v
        }
        return RetryPolicy.serverDelayMs(headers).flatMap(RetryPolicy.clampedDelayMs)
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters.
    func percentEncoded(_ s: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in s.utf8 {
            let unreserved = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)
                || b == 0x2d || b == 0x2e || b == 0x5f || b == 0x7e
            if unreserved { out.append(b) } else { out += [0x25, hex[Int(b >> 4)], hex[Int(b & 15)]] }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
