// OpenAI-shaped error answers: {"error": {"message", "type", "param", "code"}}.

struct APIError: Error, Sendable {
    var status: Int
    var message: String
    var type: String
    var param: String?
    var code: String?

    var json: JSON {
        ["error": ["message": .string(message), "type": .string(type), "param": JSON(param), "code": JSON(code)]]
    }

    var answer: HTTPAnswer { HTTPAnswer(status: status, json: json) }

    static func invalidRequest(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: 400, message: message, type: "invalid_request_error", param: param, code: code)
    }

    static func invalidType(_ param: String, expected: String, got value: JSON) -> APIError {
        .invalidRequest("Invalid type for '\(param)': expected \(expected), but got \(value.typeName) instead.",
                        param: param, code: "invalid_type")
    }

    static func missing(_ param: String) -> APIError {
        .invalidRequest("Missing required parameter: '\(param)'.", param: param, code: "missing_required_parameter")
    }

    /// Never includes the credential that was sent.
    static func unauthorized(missing: Bool) -> APIError {
        APIError(status: 401,
                 message: missing
                    ? "You didn't provide an API key. Send 'Authorization: Api-Key <key>' or 'Authorization: Bearer <token>'."
                    : "Incorrect API key provided.",
                 type: "invalid_request_error", param: nil, code: "invalid_api_key")
    }

    static func responseNotFound(_ id: String) -> APIError {
        APIError(status: 404, message: "Response with id '\(id)' not found.",
                 type: "invalid_request_error", param: nil, code: "not_found")
    }

    static func unknownURL(_ request: HTTPRequest) -> APIError {
        APIError(status: 404, message: "Invalid URL (\(request.method.rawValue) \(request.path))",
                 type: "invalid_request_error", param: nil, code: "unknown_url")
    }

    static func methodNotAllowed(_ request: HTTPRequest) -> APIError {
        APIError(status: 405, message: "Method \(request.method.rawValue) is not allowed for \(request.path).",
                 type: "invalid_request_error", param: nil, code: "method_not_allowed")
    }

    static func tooLarge(limit: Int) -> APIError {
        APIError(status: 413, message: "Request body is larger than \(limit) bytes.",
                 type: "invalid_request_error", param: nil, code: "request_too_large")
    }

    static func badRequestSyntax(_ detail: String) -> APIError {
        .invalidRequest("Malformed HTTP request: \(detail)", code: "bad_request")
    }

    /// The error a `status` fault sends, typed and coded by its status.
    static func forStatus(_ status: Int) -> APIError {
        switch status {
        case 400: return .invalidRequest("Emulated bad request.", code: "invalid_request")
        case 401: return unauthorized(missing: false)
        case 403: return APIError(status: 403, message: "Emulated permission denied.",
                                  type: "invalid_request_error", param: nil, code: "permission_denied")
        case 404: return APIError(status: 404, message: "Emulated not found.",
                                  type: "invalid_request_error", param: nil, code: "not_found")
        case 408: return APIError(status: 408, message: "Emulated request timeout.",
                                  type: "server_error", param: nil, code: "timeout")
        case 409: return APIError(status: 409, message: "Emulated conflict.",
                                  type: "invalid_request_error", param: nil, code: "conflict")
        case 429: return APIError(status: 429, message: "Emulated rate limit exceeded. Please retry later.",
                                  type: "requests", param: nil, code: "rate_limit_exceeded")
        case 500...599: return APIError(status: status, message: "Emulated server error.",
                                        type: "server_error", param: nil, code: "server_error")
        default: return APIError(status: status, message: "Emulated error.",
                                 type: "invalid_request_error", param: nil, code: nil)
        }
    }
}
