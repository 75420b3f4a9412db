import CYCShim

/// The status of a background response; raw values are the C enum's.
public enum TaskStatus: Int32, Sendable {
    case error = -1
    case queued = 0
    case inProgress = 1
    case completed = 2
    case failed = 3
    case cancelled = 4
    case incomplete = 5

    public var name: String {
        switch self {
        case .error: return "error"
        case .queued: return "queued"
        case .inProgress: return "in_progress"
        case .completed: return "completed"
        case .failed: return "failed"
        case .cancelled: return "cancelled"
        case .incomplete: return "incomplete"
        }
    }

    public var isTerminal: Bool { self == .completed || self == .failed || self == .cancelled || self == .incomplete }

    /// A status the server may report (never `error`).
    public init?(serverName: String) {
        switch serverName {
        case "queued": self = .queued
        case "in_progress": self = .inProgress
        case "completed": self = .completed
        case "failed": self = .failed
        case "cancelled": self = .cancelled
        case "incomplete": self = .incomplete
        default: return nil
        }
    }
}

/// A Response object from the server, checked and with what the library
/// needs read out of it. It keeps the server's answer as text, not as a
/// parsed tree (a Jansson tree of a Response is several times its text, and a
/// client may hold 10,000 of these): `json` parses it again when asked.
public struct ResponseObject: Sendable {
    /// The answer's bytes, as parsed once successfully.
    let body: [UInt8]
    public let id: String
    public let status: TaskStatus
    public let outputText: String
    /// The task's own error when it ended failed or incomplete.
    public let generationError: YCError?

    /// Reads a 2xx answer. A body that is not a Response object is a
    /// `protocol` error; an error body sent with 2xx is an `api` error.
    public static func parse(_ response: HTTPResponse) throws(YCError) -> ResponseObject {
        do throws(YCError) {
            return try parse(body: response.body, httpStatus: response.status)
        } catch var error {
            error.httpStatus = response.status
            error.requestID = response.requestID
            throw error
        }
    }

    static func parse(body: [UInt8], httpStatus: Int) throws(YCError) -> ResponseObject {
        let doc: JSON
        do throws(YCError) {
            doc = try JSON.parse(body, what: "the server's answer")
        } catch {
            throw YCError(.protocol, error.message + " (\(body.count) bytes)")
        }
        guard doc.kind == .object else {
            throw YCError(.protocol, "the server's answer is not a JSON object but \(describe(doc.kind))")
        }
        if doc["id"] == nil, doc["status"] == nil, doc.nonNull("error") != nil || doc["message"] != nil,
           let apiError = ErrorBody.recognised(body, status: httpStatus) {
            throw apiError
        }
        guard let idValue = doc["id"] else { throw YCError(.protocol, "the server's Response object has no \"id\"") }
        guard let id = idValue.stringValue, !id.isEmpty, id.utf8.count <= 1024, isHeaderSafe(id) else {
            throw YCError(.protocol, "the server's Response object has an unusable \"id\"")
        }
        guard let statusName = doc["status"]?.stringValue else {
            throw YCError(.protocol, "the server's Response object has no \"status\" string")
        }
        guard let status = TaskStatus(serverName: statusName) else {
            throw YCError(.protocol, "the server reported an unknown status '\(String(statusName.prefix(64)))'")
        }
        return ResponseObject(body: body, id: id, status: status, outputText: outputText(of: doc),
                              generationError: generationError(of: doc, status: status))
    }

    /// The whole object, parsed again from the answer's text (a new tree on
    /// every call). JSON null only if memory ran out, as the text parsed once.
    public var json: JSON {
        (try? JSON.parse(body, what: "the server's answer")) ?? .null()
    }

    public var usage: JSON? { json.nonNull("usage") }

    /// The server's `output_text` when present, else what the OpenAI SDKs
    /// compute: the text of every output_text part of every message, in order.
    static func outputText(of doc: JSON) -> String {
        if let text = doc.nonNull("output_text")?.stringValue { return text }
        var text = ""
        for item in doc["output"]?.elements ?? [] where item["type"]?.stringValue == "message" {
            for part in item["content"]?.elements ?? [] where part["type"]?.stringValue == "output_text" {
                text += part["text"]?.stringValue ?? ""
            }
        }
        return text
    }

    static func generationError(of doc: JSON, status: TaskStatus) -> YCError? {
        switch status {
        case .failed:
            let err = doc.nonNull("error")
            let message = err?["message"]?.stringValue ?? "the response failed without an error message"
            let code = err?["code"].flatMap { $0.stringValue ?? $0.intValue.map { String($0) } }
            return YCError(.generation, "the response failed: \(message)", code: code)
        case .incomplete:
            let reason = doc.nonNull("incomplete_details")?["reason"]?.stringValue
            return YCError(.generation, "the response is incomplete: \(reason ?? "no reason given")", code: reason)
        default:
            return nil
        }
    }

    private static func describe(_ kind: JSON.Kind) -> String {
        switch kind {
        case .array: return "an array"
        case .string: return "a string"
        case .integer, .real: return "a number"
        case .true, .false: return "a boolean"
        case .null: return "null"
        case .object: return "an object"
        }
    }
}
