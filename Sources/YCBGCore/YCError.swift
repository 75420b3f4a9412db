/// What went wrong, as the C ABI reports it in its error JSON.
public struct YCError: Error, Sendable {
    public enum Kind: String, Sendable {
        case invalidArgument = "invalid_argument"
        case invalidJSON = "invalid_json"
        case config
        case network
        case timeout
        case http
        case api
        case `protocol`
        case generation
    }

    public var kind: Kind
    public var message: String
    public var httpStatus: Int?
    public var code: String?
    public var requestID: String?
    /// The server's hint, from Retry-After / retry-after-ms, in milliseconds.
    public var retryAfterMs: Int?
    /// Set when the failure itself decides, not its kind and status (a
    /// certificate that failed verification is `network` but not retryable).
    private var retryableOverride: Bool?

    public init(_ kind: Kind, _ message: String, httpStatus: Int? = nil, code: String? = nil,
                requestID: String? = nil) {
        self.kind = kind
        self.message = message
        self.httpStatus = httpStatus
        self.code = code
        self.requestID = requestID
    }

    /// Whether trying the same call again later may succeed: from the kind
    /// and status unless set explicitly.
    public var retryable: Bool {
        get {
            if let retryableOverride { return retryableOverride }
            switch kind {
            case .network, .timeout:
                return true
            case .api, .http:
                guard let s = httpStatus else { return false }
                return s == 408 || s == 409 || s == 429 || s >= 500
            default:
                return false
            }
        }
        set { retryableOverride = newValue }
    }

    /// The error document of the contract.
    public func json(redactedBy redactor: Redactor? = nil) -> JSON {
        let redact = { (s: String) in redactor?.redact(s) ?? s }
        let doc = JSON.object()
        doc.set("kind", .string(kind.rawValue))
        doc.set("message", .string(redact(message)))
        if let httpStatus { doc.set("http_status", .integer(httpStatus)) }
        if let code { doc.set("code", .string(redact(code))) }
        if let requestID { doc.set("request_id", .string(redact(requestID))) }
        doc.set("retryable", .bool(retryable))
        return doc
    }
}
