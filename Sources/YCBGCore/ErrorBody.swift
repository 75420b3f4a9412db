/// Turns an HTTP error answer into a `YCError`, whatever shape its body has:
/// OpenAI `{"error": {...}}`, Yandex `{"code": 16, "message": ...}`, the
/// gateway's `{"error": {"grpcCode", "httpCode", ...}}`, or a proxy's HTML.
public enum ErrorBody {
    /// gRPC status names, indexed by code.
    static let grpcNames = ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
                            "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
                            "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
                            "UNAUTHENTICATED"]

    public static func error(from response: HTTPResponse) -> YCError {
        var error = recognised(response.body, status: response.status)
            ?? unrecognised(response)
        error.httpStatus = response.status
        error.requestID = response.requestID
        error.retryAfterMs = RetryPolicy.serverDelayMs(response.headers).flatMap(RetryPolicy.clampedDelayMs)
        return error
    }

    /// The `api` error in a body of a known shape, or nil.
    public static func recognised(_ body: [UInt8], status: Int) -> YCError? {
        guard let doc = try? JSON.parse(body, what: "error body"),
              doc.kind == .object else { return nil }
        if let inner = doc["error"], inner.kind == .object {
            let message = inner.nonNull("message")?.stringValue
            if let grpc = inner["grpcCode"]?.intValue {
                return YCError(.api, describe(message, status: status), code: grpcName(grpc))
            }
            let code = inner.nonNull("code").flatMap(codeText) ?? inner.nonNull("type")?.stringValue
            guard message != nil || code != nil else { return nil }
            return YCError(.api, describe(message, status: status), code: code)
        }
        if let message = doc["error"]?.stringValue {
            return YCError(.api, describe(message, status: status), code: nil)
        }
        if let grpc = doc["code"]?.intValue, let message = doc["message"]?.stringValue {
            return YCError(.api, describe(message, status: status), code: grpcName(grpc))
        }
        if let message = doc["message"]?.stringValue {
            return YCError(.api, describe(message, status: status), code: doc.nonNull("code").flatMap(codeText))
        }
        return nil
    }

    private static func codeText(_ j: JSON) -> String? {
        j.stringValue ?? j.intValue.map { String($0) }
    }

    private static func grpcName(_ code: Int) -> String {
        grpcNames.indices.contains(code) ? grpcNames[code] : String(code)
    }

    private static func describe(_ message: String?, status: Int) -> String {
        let text = message.map { String($0.prefix(2000)) } ?? "no message"
        return "\(statusLine(status)): \(text)"
    }

    /// An `http` error for a body the library does not recognise: says what
    /// came back, with the page title or the start of the text.
    static func unrecognised(_ response: HTTPResponse) -> YCError {
        let status = response.status
        var message = statusLine(status)
        if response.body.isEmpty {
            message += " with an empty body"
        } else {
            let type = response.header("content-type").map { " (\($0))" } ?? ""
            message += " with an unrecognised body\(type), \(response.body.count) bytes"
            let snippet = textSnippet(response.body)
            if !snippet.isEmpty { message += ": \(snippet)" }
        }
        if status == 502 || status == 503 || status == 504 {
            message += "; probably from a proxy or gateway in front of the API"
        }
        return YCError(.http, message)
    }

    /// The HTML <title> when there is one, else the first 160 characters of
    /// text with tags and runs of white space removed.
    static func textSnippet(_ body: [UInt8]) -> String {
        let head = Array(body.prefix(64 * 1024))
        // ASCII-only lower-casing keeps byte offsets valid.
        let lower = head.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }
        if let open = lower.firstRange(of: Array("<title>".utf8)),
           let close = lower[open.upperBound...].firstRange(of: Array("</title>".utf8)) {
            return String(collapse(String(decoding: head[open.upperBound..<close.lowerBound], as: UTF8.self)).prefix(160))
        }
        let text = String(decoding: head, as: UTF8.self)
        var plain = ""
        var inTag = false
        for ch in text {
            if ch == "<" { inTag = true; plain.append(" ") } else if ch == ">" { inTag = false } else if !inTag { plain.append(ch) }
        }
        return String(collapse(plain).prefix(160))
    }

    private static func collapse(_ s: String) -> String {
        s.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    /// "HTTP 429 Too Many Requests", or "HTTP 418" when the phrase is unknown.
    static func statusLine(_ status: Int) -> String {
        let phrase = reasonPhrase(status)
        return phrase.isEmpty ? "HTTP \(status)" : "HTTP \(status) \(phrase)"
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 413: return "Payload Too Large"
        case 422: return "Unprocessable Entity"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        default: return ""
        }
    }
}
