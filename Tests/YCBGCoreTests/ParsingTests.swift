import Testing
@testable import YCBGCore

@Suite struct ErrorBodyTests {
    func error(_ status: Int, _ body: String, headers: [(String, String)] = []) -> YCError {
        ErrorBody.error(from: HTTPResponse(status: status, headers: headers, body: Array(body.utf8)))
    }

    @Test func openAIShape() {
        let e = error(429, #"{"error": {"message": "Slow down", "type": "requests", "param": null, "code": "rate_limit_exceeded"}}"#,
                      headers: [("x-request-id", "req-1"), ("retry-after", "2")])
        #expect(e.kind == .api)
        #expect(e.code == "rate_limit_exceeded")
        #expect(e.message.contains("Slow down"))
        #expect(e.httpStatus == 429)
        #expect(e.requestID == "req-1")
        #expect(e.retryAfterMs == 2000)
        #expect(e.retryable)
    }

    @Test func yandexShapes() {
        let grpc = error(401, #"{"code": 16, "message": "Unknown api key", "details": []}"#)
        #expect(grpc.kind == .api && grpc.code == "UNAUTHENTICATED" && grpc.message.contains("Unknown api key"))
        #expect(!grpc.retryable)
        let gateway = error(503, #"{"error": {"grpcCode": 14, "httpCode": 503, "message": "Try later", "httpStatus": "Service Unavailable", "details": []}}"#)
        #expect(gateway.kind == .api && gateway.code == "UNAVAILABLE" && gateway.message.contains("Try later"))
        #expect(gateway.retryable)
    }

    @Test func proxyPagesAreHTTPErrors() {
        let html = error(502, "<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>",
                         headers: [("content-type", "text/html")])
        #expect(html.kind == .http)
        #expect(html.message.contains("502 Bad Gateway"))
        #expect(html.message.contains("text/html"))
        let empty = error(504, "")
        #expect(empty.kind == .http && empty.message.contains("empty body") && empty.retryable)
        let text = error(500, "<p>oops   something\n broke</p>")
        #expect(text.message.contains("oops something broke"))
        #expect(error(400, "[1]").kind == .http)
        #expect(!error(400, "{}").retryable)
    }
}

@Suite struct ResponseObjectTests {
    func parse(_ body: String, status: Int = 200) -> Result<ResponseObject, YCError> {
        Result { () throws(YCError) in try ResponseObject.parse(HTTPResponse(status: status, headers: [("x-request-id", "rq")], body: Array(body.utf8))) }
    }

    func failure(_ body: String) -> YCError? {
        if case .failure(let e) = parse(body) { return e }
        return nil
    }

    @Test func readsAResponse() throws {
        let r = try parse(responseBody(status: "in_progress")).get()
        #expect(r.id == "r-1" && r.status == .inProgress && r.outputText == "hello" && r.generationError == nil)
    }

    @Test func computesOutputTextLikeTheSDKs() throws {
        let body = #"""
        {"id": "r", "status": "completed", "output_text": null, "output": [
          {"type": "reasoning", "id": "rs", "summary": [{"type": "summary_text", "text": "no"}]},
          {"type": "message", "role": "assistant", "content": [
            {"type": "output_text", "text": "Привет, ", "annotations": []},
            {"type": "refusal", "refusal": "no"},
            {"type": "output_text", "text": "мир", "annotations": []}]},
          {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
          {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "!"}]}]}
        """#
        #expect(try parse(body).get().outputText == "Привет, мир!")
        #expect(try parse(#"{"id": "r", "status": "queued"}"#).get().outputText == "")
    }

    @Test func rejectsWhatIsNotAResponse() {
        #expect(failure("{\"id\": ")?.kind == .protocol)
        #expect(failure("{\"id\": ")?.message.contains("line 1") == true)
        #expect(failure("[1, 2]")?.kind == .protocol)
        #expect(failure(#"{"status": "queued"}"#)?.kind == .protocol)
        #expect(failure(#"{"id": 5, "status": "queued"}"#)?.kind == .protocol)
        #expect(failure(#"{"id": "r"}"#)?.kind == .protocol)
        let unknown = failure(#"{"id": "r", "status": "paused"}"#)
        #expect(unknown?.kind == .protocol && unknown?.message.contains("paused") == true)
        #expect(unknown?.requestID == "rq" && unknown?.httpStatus == 200)
        let errorBody = failure(#"{"error": {"message": "boom", "code": "server_error"}}"#)
        #expect(errorBody?.kind == .api && errorBody?.code == "server_error" && errorBody?.httpStatus == 200)
    }

    @Test func generationErrors() throws {
        let failed = try parse(#"{"id": "r", "status": "failed", "error": {"code": "server_error", "message": "model crashed"}}"#).get()
        #expect(failed.generationError?.kind == .generation)
        #expect(failed.generationError?.code == "server_error")
        #expect(failed.generationError?.message.contains("model crashed") == true)
        let incomplete = try parse(#"{"id": "r", "status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}}"#).get()
        #expect(incomplete.generationError?.code == "max_output_tokens")
        #expect(incomplete.generationError?.retryable == false)
    }
}

@Suite struct TextTests {
    @Test func redactsEveryOccurrence() {
        let r = Redactor(secrets: ["abc123", nil, ""])
        #expect(r.redact("key abc123 and abc123!") == "key [REDACTED] and [REDACTED]!")
        #expect(r.redact("nothing") == "nothing")
        #expect(Redactor(secrets: []).redact("abc123") == "abc123")
        #expect(Redactor(secrets: ["k"]).redact("keep kind words") == "keep kind words")
    }

    @Test func headerBlocks() {
        let h = HTTPResponse.parseHeaderBlock("HTTP/1.1 200 OK\r\nX-Request-Id:  abc \r\nRetry-After: 1\r\n\r\n")
        #expect(h.count == 2)
        #expect(h[0].name == "x-request-id" && h[0].value == "abc")
    }

    @Test func jsonErrorsNameLineAndColumn() {
        do throws(YCError) {
            _ = try JSON.parse("{\n  \"a\": 1,\n  oops\n}", what: "request_json")
            Issue.record("parsed")
        } catch {
            #expect(error.kind == .invalidJSON)
            #expect(error.message.contains("line 3"))
            #expect(error.message.contains("column"))
        }
    }
}

/// The byte-level reading of all-ASCII header blocks gives what the String
/// reading gives, and leaves other blocks to it.
@Suite struct HeaderBlockTests {
    @Test func asciiHeaderBlocksAsBefore() {
        let blocks = [
            "HTTP/1.1 200 OK\r\nX-Request-Id:  abc \r\nRetry-After: 1\r\n\r\n",
            "HTTP/2 429\nretry-after-ms:\t250\t\rOpenAI-Poll-After-MS: 100\r\n: empty name\r\nno colon\r\nA:b:c\r\nEmpty:\r\n",
            "",
        ]
        for raw in blocks {
            var copy = raw
            let quick = copy.withUTF8 { HTTPResponse.parseASCIIHeaderBlock($0) }
            let slow = HTTPResponse.parseHeaderBlockSlowly(raw)
            #expect(quick?.map { "\($0.name)=\($0.value)" } == slow.map { "\($0.name)=\($0.value)" }, "\(raw)")
        }
        var accented = "HTTP/1.1 200 OK\r\nX-Caf\u{e9}: 1\r\n"
        #expect(accented.withUTF8 { HTTPResponse.parseASCIIHeaderBlock($0) } == nil)
        #expect(HTTPResponse.parseHeaderBlock(accented).first?.name == "x-caf\u{e9}")
    }
}
