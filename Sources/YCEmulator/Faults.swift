// Injected faults: their JSON form, the order they are used in, and the answers they fake.
// How a fault plays out on the wire (resets, hangs, trickles) is the connection handler's job.

/// Which API operation a request is; faults match on it and stats count by it.
enum RouteKind: String, Sendable, CaseIterable {
    case create, retrieve, cancel, delete, other
}

enum FaultKind: String, Sendable, CaseIterable {
    case status, yandex, html, empty, malformed, truncated, reset, hang, delay, trickle, large
    case yandexGateway = "yandex_gateway"
    case acceptThenReset = "accept_then_reset"
    case notObject = "not_object"
    case error200 = "error_200"
    case missingID = "missing_id"
    case unknownStatus = "unknown_status"
    case refusedStream = "refused_stream"

    /// Whether the request takes effect (a create creates its job) before the fault plays out.
    /// The others answer (or reset) in place of the emulator, as a failing proxy would.
    var processesRequest: Bool {
        switch self {
        case .truncated, .acceptThenReset, .hang, .delay, .trickle, .missingID, .unknownStatus, .large: return true
        case .status, .yandex, .yandexGateway, .html, .empty, .malformed, .reset, .notObject, .error200,
             .refusedStream:
            return false
        }
    }
}

struct Fault: Sendable {
    static let maxBytes = 256 << 20

    var match: String = "any"
    var kind: FaultKind
    var remaining = 1
    var probability: Double? = nil
    var status: Int? = nil
    var retryAfter: String? = nil
    var retryAfterMs: String? = nil
    var shouldRetry: String? = nil
    var delayMs: Int? = nil
    var intervalMs = 1000
    var bytes = 0
    var body: String? = nil
    var contentType: String? = nil

    func matches(_ route: RouteKind) -> Bool { match == "any" || match == route.rawValue }

    static let fields: Set<String> = [
        "match", "kind", "count", "probability", "status", "retry_after", "retry_after_ms", "should_retry",
        "delay_ms", "interval_ms", "bytes", "body", "content_type",
    ]

    /// Parses one fault object; every mistake is a 400 naming the field.
    static func parse(_ json: JSON) throws(APIError) -> Fault {
        guard let object = json.objectValue else {
            throw .invalidRequest("A fault must be a JSON object, got \(json.typeName).", param: "fault")
        }
        if let unknown = object.keys.first(where: { !fields.contains($0) }) {
            throw .invalidRequest("Unknown fault field '\(unknown)'.", param: unknown)
        }
        func given(_ key: String) -> JSON? {
            guard let value = object[key], !value.isNull else { return nil }
            return value
        }
        func integer(_ key: String, in range: ClosedRange<Int>) throws(APIError) -> Int? {
            guard let value = given(key) else { return nil }
            guard let n = value.intValue, range.contains(n) else {
                throw .invalidRequest("Fault field '\(key)' must be an integer in \(range.lowerBound)...\(range.upperBound).",
                                      param: key)
            }
            return n
        }
        func text(_ key: String) throws(APIError) -> String? {
            guard let value = given(key) else { return nil }
            guard let s = value.stringValue else {
                throw .invalidRequest("Fault field '\(key)' must be a string.", param: key)
            }
            return s
        }
        // Header values: strings, numbers or booleans, never with control characters (no header injection).
        func headerValue(_ key: String) throws(APIError) -> String? {
            guard let value = given(key) else { return nil }
            let s: String
            switch value {
            case .string(let v): s = v
            case .int, .double, .bool: s = JSONWriter.string(value)
            default: throw .invalidRequest("Fault field '\(key)' must be a string or a number.", param: key)
            }
            // Scalars, not Characters: "\r\n" is one Character and would slip past a Character test.
            guard !s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                throw .invalidRequest("Fault field '\(key)' must not contain control characters.", param: key)
            }
            return s
        }

        guard let kindName = try text("kind") else { throw .invalidRequest("A fault needs a 'kind'.", param: "kind") }
        guard let kind = FaultKind(rawValue: kindName) else {
            let kinds = FaultKind.allCases.map(\.rawValue).joined(separator: ", ")
            throw .invalidRequest("Unknown fault kind '\(kindName)'; known kinds: \(kinds).", param: "kind")
        }
        var fault = Fault(kind: kind)
        if let match = try text("match") {
            guard match == "any" || (RouteKind(rawValue: match) != nil && match != "other") else {
                throw .invalidRequest("Fault field 'match' must be create, retrieve, cancel, delete or any.",
                                      param: "match")
            }
            fault.match = match
        }
        fault.remaining = try integer("count", in: 1...Int(Int32.max)) ?? 1
        if let p = given("probability") {
            guard let value = p.numberValue, (0...1).contains(value) else {
                throw .invalidRequest("Fault field 'probability' must be a number from 0 to 1.", param: "probability")
            }
            fault.probability = value
        }
        fault.status = try integer("status", in: 100...599)
        fault.retryAfter = try headerValue("retry_after")
        fault.retryAfterMs = try headerValue("retry_after_ms")
        fault.shouldRetry = try headerValue("should_retry")
        fault.delayMs = try integer("delay_ms", in: 0...86_400_000)
        fault.intervalMs = try integer("interval_ms", in: 0...600_000) ?? 1000
        fault.bytes = try integer("bytes", in: 0...maxBytes) ?? 0
        fault.body = try text("body")
        fault.contentType = try headerValue("content_type")
        return fault
    }
}

/// The configured faults, in order. Not thread-safe by itself: EmulatorState owns it.
struct FaultList {
    private var faults: [Fault] = []

    var count: Int { faults.count }

    mutating func add(_ new: [Fault]) { faults.append(contentsOf: new) }
    mutating func removeAll() { faults = [] }

    /// The fault to apply to a request of `route`, if any. Counted faults come first and are used
    /// up (then dropped); faults with a probability are never used up and roll `chance()` each time.
    mutating func take(for route: RouteKind, chance: () -> Double) -> Fault? {
        if let i = faults.firstIndex(where: { $0.probability == nil && $0.remaining > 0 && $0.matches(route) }) {
            let fault = faults[i]
            faults[i].remaining -= 1
            if faults[i].remaining == 0 { faults.remove(at: i) }
            return fault
        }
        for fault in faults where fault.matches(route) {
            if let p = fault.probability, chance() < p { return fault }
        }
        return nil
    }
}

/// The answers faults send in place of (or derived from) the emulator's own.
enum FaultAnswers {
    /// The answer of a fault that does not process the request, or nil for kinds that answer nothing
    /// of their own (`reset`) or depend on the real answer.
    static func standalone(_ fault: Fault) -> HTTPAnswer? {
        var answer: HTTPAnswer
        switch fault.kind {
        case .status:
            answer = APIError.forStatus(fault.status ?? 500).answer
        case .yandex:
            let status = fault.status ?? 503
            answer = HTTPAnswer(status: status, json: [
                "code": JSON(grpcCode(status)), "message": .string(yandexMessage(status)), "details": [],
            ])
        case .yandexGateway:
            let status = fault.status ?? 503
            answer = HTTPAnswer(status: status, json: [
                "error": ["grpcCode": JSON(grpcCode(status)), "httpCode": JSON(status),
                          "message": .string(yandexMessage(status)),
                          "httpStatus": .string(reason(status)), "details": []],
            ])
        case .html:
            let status = fault.status ?? 502
            let title = "\(status) \(reason(status))"
            let page = "<html>\r\n<head><title>\(title)</title></head>\r\n<body>\r\n<center><h1>\(title)</h1></center>\r\n"
                + "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
            answer = HTTPAnswer(status: status, body: Array(page.utf8), contentType: "text/html")
        case .empty:
            answer = HTTPAnswer(status: fault.status ?? 504, body: [], contentType: nil)
        case .malformed:
            // Starts like a Response and stops mid-value: not JSON, yet Content-Length is right.
            answer = HTTPAnswer(status: 200, body: Array(#"{"id": "resp_malformed", "object": "response", "status": "#.utf8),
                                contentType: "application/json")
        case .notObject:
            answer = HTTPAnswer(status: 200, body: Array("[1, 2, 3]".utf8), contentType: "application/json")
        case .error200:
            answer = HTTPAnswer(status: 200, json: APIError(
                status: 200, message: "Emulated error delivered with HTTP 200.", type: "server_error",
                param: nil, code: "server_error").json)
        default:
            return nil
        }
        if let body = fault.body {
            answer.body = Array(body.utf8)
            answer.json = nil
            answer.contentType = fault.contentType ?? answer.contentType ?? "application/json"
        } else if let contentType = fault.contentType {
            answer.contentType = contentType
        }
        addRetryHeaders(fault, to: &answer)
        return answer
    }

    /// Rewrites the emulator's real answer for the kinds that alter a Response object. Answers that
    /// are not a successful Response (errors, deletes) pass unchanged.
    static func transform(_ answer: HTTPAnswer, by fault: Fault) -> HTTPAnswer {
        guard (200..<300).contains(answer.status), var object = answer.json?.objectValue,
              object["object"]?.stringValue == "response", object["status"] != nil
        else { return answer }
        var result = answer
        switch fault.kind {
        case .missingID:
            object["id"] = nil
        case .unknownStatus:
            object["status"] = "paused"
        case .large:
            let target = fault.bytes > 0 ? fault.bytes : 1 << 20
            let current = answer.body.count + #","emulator_padding":"""#.utf8.count
            object["emulator_padding"] = .string(String(repeating: " ", count: max(0, target - current)))
        default:
            return answer
        }
        result.setJSON(.object(object))
        return result
    }

    static func addRetryHeaders(_ fault: Fault, to answer: inout HTTPAnswer) {
        if let v = fault.retryAfter { answer.headers.append(("Retry-After", v)) }
        if let v = fault.retryAfterMs { answer.headers.append(("retry-after-ms", v)) }
        if let v = fault.shouldRetry { answer.headers.append(("x-should-retry", v)) }
    }

    /// The gRPC status code Yandex pairs with an HTTP status.
    static func grpcCode(_ status: Int) -> Int {
        switch status {
        case 400: return 3   // INVALID_ARGUMENT
        case 401: return 16  // UNAUTHENTICATED
        case 403: return 7   // PERMISSION_DENIED
        case 404: return 5   // NOT_FOUND
        case 409: return 6   // ALREADY_EXISTS
        case 429: return 8   // RESOURCE_EXHAUSTED
        case 499: return 1   // CANCELLED
        case 500: return 13  // INTERNAL
        case 501: return 12  // UNIMPLEMENTED
        case 503: return 14  // UNAVAILABLE
        case 504: return 4   // DEADLINE_EXCEEDED
        default: return 2    // UNKNOWN
        }
    }

    private static func yandexMessage(_ status: Int) -> String {
        switch status {
        case 429: return "Emulated: quota exceeded, retry later"
        case 503: return "Emulated: service unavailable, try again"
        case 504: return "Emulated: deadline exceeded"
        default: return "Emulated error \(status)"
        }
    }

    private static func reason(_ status: Int) -> String { HTTPAnswer.reasonPhrase(status) }
}
