import YCBGCore

/// `error_body`: the input is the body of an error answer, read by
/// `ErrorBody.error(from:)` under two statuses and content types picked from
/// the input's checksum.
enum ErrorBodyTarget {
    static let name = "error_body"
    static let statuses = [400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504, 418, 299]
    static let contentTypes = ["application/json", "text/html; charset=utf-8", "text/plain", "application/grpc+json"]
    static let retryAfter: [String?] = [nil, "2", "0", "Wed, 21 Oct 2015 07:28:00 GMT", nil, "1.5", "soon"]
    static let redactor = Redactor(secrets: [Secrets.planted])

    static func run(_ input: [UInt8]) {
        let body = Secrets.plant(input)
        var sum = 0
        for b in input { sum = (sum &* 31 &+ Int(b)) & 0x7fff_ffff }
        for round in 0..<2 {
            let pick = round == 0 ? sum : sum / 7 + 3
            let status = statuses[pick % statuses.count]
            var headers: [(name: String, value: String)] = [("x-request-id", "req-fuzz"),
                                                            ("content-type", contentTypes[pick % contentTypes.count])]
            if let ra = retryAfter[pick % retryAfter.count] { headers.append(("retry-after", ra)) }
            check(HTTPResponse(status: status, headers: headers, body: body))
        }
    }

    static func check(_ response: HTTPResponse) {
        let status = response.status
        let context = "ErrorBody.error(from: HTTP \(status))"
        let e = ErrorBody.error(from: response)
        checkError(e, target: name, allowed: [.api, .http], redactor: redactor, secrets: [Secrets.planted], context: context)
        if e.httpStatus != status || e.requestID != "req-fuzz" {
            violated(name, "\(context): lost the HTTP status or request id")
        }
        if !e.message.hasPrefix("HTTP \(status)") { violated(name, "\(context): message does not start with the status: \(excerpt(e.message))") }
        // A server's text is cut to 2000 characters; a page to a 160-character snippet.
        if e.message.count > 2100 { violated(name, "\(context): message of \(e.message.count) characters") }
        if let ms = e.retryAfterMs, ms < 0 { violated(name, "\(context): retryAfterMs \(ms)") }
        let wantRetryable = status == 408 || status == 409 || status == 429 || status >= 500
        if e.retryable != wantRetryable { violated(name, "\(context): retryable \(e.retryable)") }
        if let code = e.code, !roundTripsThroughJSON(code) { violated(name, "\(context): code does not survive JSON") }
        if e.kind == .http, ErrorBody.recognised(response.body, status: status) != nil {
            violated(name, "\(context): a recognised body was reported as unrecognised")
        }
    }
}
