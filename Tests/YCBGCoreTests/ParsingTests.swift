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

/// The quick reading of poll answers (ycs_scan_response) must give exactly
/// what the Jansson reading gives wherever it answers, and leave everything
/// else to Jansson.
@Suite struct QuickParseTests {
    func full(_ body: [UInt8]) -> Result<ResponseObject, YCError> {
        Result { () throws(YCError) in try ResponseObject.fullParse(body: body, httpStatus: 200) }
    }

    func both(_ body: [UInt8]) -> Result<ResponseObject, YCError> {
        Result { () throws(YCError) in try ResponseObject.parse(body: body, httpStatus: 200) }
    }

    func expectSame(_ body: String, sourceLocation: SourceLocation = #_sourceLocation) {
        expectSame(Array(body.utf8), sourceLocation: sourceLocation)
    }

    func expectSame(_ body: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        switch (both(body), full(body)) {
        case (.success(let a), .success(let b)):
            #expect(a.id == b.id && a.status == b.status && a.outputText == b.outputText, sourceLocation: sourceLocation)
            #expect((a.generationError == nil) == (b.generationError == nil), sourceLocation: sourceLocation)
            #expect(a.json.serialized() == b.json.serialized(), sourceLocation: sourceLocation)
            #expect(a.usage?.serialized() == b.usage?.serialized(), sourceLocation: sourceLocation)
        case (.failure(let a), .failure(let b)):
            #expect(a.kind == b.kind && a.message == b.message, sourceLocation: sourceLocation)
        default:
            Issue.record("one reading failed and the other did not: \(body)", sourceLocation: sourceLocation)
        }
    }

    @Test func readsPollAnswersWithoutATree() {
        let answers = [
            #"{"id":"5864f1ae-92c2","object":"response","created_at":1796042659,"status":"queued","background":true,"completed_at":null,"error":null,"model":"gpt://x/y","output":[],"output_text":"","parallel_tool_calls":true,"temperature":1.0,"text":{"format":{"type":"text"}},"tools":[],"top_p":-0.5,"metadata":{},"usage":{"input_tokens":3}}"#,
            " {\n\t\"id\" : \"r-x\" , \"q\": \"r\\\"x\", \"id2\": \"a\\/b\\n\", \"status\": \"in_progress\", \"\": [[], {}, [1, 2.25, -0, true, false, null]] }\r\n",
            #"{"status": "in_progress", "id": "r-2", "output_text": "partial text so far"}"#,
            #"{"status": "queued", "id": "r-3", "output": null}"#,
            #"{"status": "queued", "id": "r-4", "output_text": [], "output": []}"#,
            #"{"id": "r", "status": "completed", "output_text": "done", "output": [{"type": "message", "content": [{"type": "output_text", "text": "done"}]}], "usage": {"total_tokens": 5}}"#,
            #"{"id": "r", "status": "cancelled", "output_text": null}"#,
            #"{"id": "r", "status": "queued", "note": "Привет, 𝄞 €"}"#,                   // UTF-8 of 2, 3 and 4 bytes
            #"{"id": "r\"\/", "status": "queued"}"#,                                      // an id with escapes
            #"{"id": "r", "status": "completed", "output_text": "Привет\n\"мир\"\\\/\b\f\r\t!"}"#,
            #"{"id": "r", "status": "queued", "output_text": 5}"#,                        // not a string: no output items
        ]
        for body in answers {
            #expect(ResponseObject.quickParse(Array(body.utf8)) != nil, "\(body)")
            expectSame(body)
        }
        #expect(ResponseObject.quickParse(Array(answers[2].utf8))?.outputText == "partial text so far")
        #expect(ResponseObject.quickParse(Array(answers[9].utf8))?.outputText == "Привет\n\"мир\"\\/\u{8}\u{c}\r\t!")
        #expect(ResponseObject.quickParse(Array(answers[8].utf8))?.id == "r\"/")
    }

    @Test func leavesEverythingElseToJansson() {
        let others = [
            #"{"id": "r", "status": "failed", "error": {"message": "m"}}"#,             // an error to read
            #"{"id": "r", "status": "incomplete", "output_text": ""}"#,
            #"{"id": "\u0072", "status": "queued"}"#,                                     // \u escape
            #"{"id": "r", "id": "s", "status": "queued"}"#,                               // repeated member
            #"{"id": "r", "status": "queued", "status": "completed"}"#,
            #"{"id": "r", "status": "queued", "n": 1e400}"#,                              // exponent
            #"{"id": "r", "status": "queued", "n": 123456789012345678901234567890}"#,     // too big integer
            #"{"id": "r\u0000", "status": "queued"}"#,
            #"{"id": "r", "status": "in_progress", "output": [{"type": "message", "content": [{"type": "output_text", "text": "hi"}]}]}"#,
            #"{"id": "", "status": "queued"}"#,                                            // unusable id
            #"{"id": "r", "status": "paused"}"#,                                          // unknown status
            #"{"status": "queued"}"#,
            #"{"error": {"message": "boom", "code": "server_error"}}"#,
            String(repeating: "[", count: 70) + String(repeating: "]", count: 70),
            #"{"id": "r", "status": "queued", "deep": "# + String(repeating: "[", count: 70) + String(repeating: "]", count: 70) + "}",
            #"{"id": "r", "status": "queued",}"#,                                         // invalid from here
            #"{"id": "r", "status": "queued", "n": 01}"#,
            #"{"id": "r", "status": "queued"} x"#,
            "{\"id\": \"r\", \"status\": \"queued\", \"c\": \"a\u{1}b\"}",
            #"{"id": "r", "status": "queued", "n": -}"#,
            #"{"id": "r", "status": "queued", "t": tru}"#,
            #"{"id": "r", "status": "queued", "e": "\x"}"#,
            "",
        ]
        for body in others {
            #expect(ResponseObject.quickParse(Array(body.utf8)) == nil, "\(body)")
            expectSame(body)
        }
        // Bytes that are not UTF-8: an overlong form, a surrogate, beyond U+10FFFF, a lone continuation, a cut sequence.
        for bad: [UInt8] in [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0x80], [0xe2, 0x82]] {
            let body = Array(#"{"id": "r", "status": "queued", "x": ""#.utf8) + bad + Array(#""}"#.utf8)
            #expect(ResponseObject.quickParse(body) == nil)
            expectSame(body)
            if case .success = full(body) { Issue.record("Jansson took bytes that are not UTF-8: \(bad)") }
        }
    }

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
