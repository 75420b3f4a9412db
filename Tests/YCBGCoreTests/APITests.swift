import Testing
@testable import YCBGCore

@Suite struct RequestTests {
    func api(_ json: String = #"{"api_key": "k", "folder_id": "b1g"}"#) throws -> ResponsesAPI {
        ResponsesAPI(config: try makeConfig(json), transport: ScriptedTransport([]))
    }

    @Test func rewritesTheRequest() throws {
        let body = try api().prepareCreateBody(#"{"model": "yandexgpt/latest", "input": "hi", "background": false, "temperature": 0.3}"#)
        let doc = try JSON.parse(body, what: "body")
        #expect(doc["model"]?.stringValue == "gpt://b1g/yandexgpt/latest")
        #expect(doc["background"]?.boolValue == true)
        #expect(doc["input"]?.stringValue == "hi")
        let full = try JSON.parse(try api().prepareCreateBody(#"{"model": "gpt://other/m", "input": "x"}"#), what: "b")
        #expect(full["model"]?.stringValue == "gpt://other/m")
    }

    @Test func rejectsBadRequests() throws {
        func kind(_ json: String, _ api: ResponsesAPI) -> YCError.Kind? {
            do throws(YCError) { _ = try api.prepareCreateBody(json); return nil } catch { return error.kind }
        }
        let a = try api()
        #expect(kind("[]", a) == .invalidArgument)
        #expect(kind("{\"model\": ", a) == .invalidJSON)
        #expect(kind(#"{"model": "m", "stream": true}"#, a) == .invalidArgument)
        #expect(kind(#"{"model": "yandexgpt"}"#, try api(#"{"api_key": "k"}"#)) == .config)
    }
}

@Suite struct RetryLoopTests {
    @Test func createKeepsItsIdempotencyKeyAcrossRetries() throws {
        let transport = ScriptedTransport([
            .answer(503, headers: [("retry-after-ms", "1")], body: "{}"),
            .fail(.network, notSent: true),
            .answer(200, body: responseBody(status: "queued")),
        ])
        let api = ResponsesAPI(config: try makeConfig(), transport: transport)
        let answer = try api.create(requestJSON: #"{"model": "m", "input": "x"}"#)
        #expect(answer.object.status == .queued)
        let sent = transport.sent
        #expect(sent.count == 3)
        let keys = Set(sent.compactMap { $0.header("Idempotency-Key") })
        #expect(keys.count == 1)
        let ids = Set(sent.compactMap { $0.header("x-client-request-id") })
        #expect(ids.count == 3)
        #expect(sent[0].header("Authorization") == "Api-Key secret-key-123")
        #expect(sent[0].header("OpenAI-Project") == "b1g")
        #expect(sent[0].url == "http://127.0.0.1:1/v1/responses")
    }

    @Test func createIsNotRetriedWhenAJobMayHaveStarted() throws {
        for step in [ScriptedTransport.Step.answer(500, body: "{}"), .fail(.network, notSent: false), .fail(.timeout, notSent: false)] {
            let transport = ScriptedTransport([step, .answer(200, body: responseBody(status: "queued"))])
            let api = ResponsesAPI(config: try makeConfig(), transport: transport)
            #expect(throws: YCError.self) { try api.create(requestJSON: #"{"model": "m"}"#) }
            #expect(transport.sent.count == 1)
        }
    }

    @Test func a502Or504OnCreateGoesToTheCallerSayingTheJobMayExist() throws {
        for status in [502, 504] {
            let transport = ScriptedTransport([.answer(status, headers: [("retry-after-ms", "1")], body: "{}"),
                                               .answer(200, body: responseBody(status: "queued"))])
            let api = ResponsesAPI(config: try makeConfig(), transport: transport)
            do throws(YCError) {
                _ = try api.create(requestJSON: #"{"model": "m"}"#)
                Issue.record("\(status): no error")
            } catch {
                #expect(error.httpStatus == status)
                #expect(error.retryable)
                #expect(error.message.contains("may exist"), "\(error.message)")
            }
            #expect(transport.sent.count == 1)
        }
        // 429 and 503 say no job was started: retried, and a final one says nothing about a job.
        for status in [429, 503] {
            let transport = ScriptedTransport(Array(repeating: .answer(status, headers: [("retry-after-ms", "1")], body: "{}"), count: 3))
            let api = ResponsesAPI(config: try makeConfig(), transport: transport)
            do throws(YCError) {
                _ = try api.create(requestJSON: #"{"model": "m"}"#)
                Issue.record("\(status): no error")
            } catch {
                #expect(error.httpStatus == status)
                #expect(!error.message.contains("may exist"), "\(error.message)")
            }
            #expect(transport.sent.count == 3)
        }
        // A lost answer says so too; a retrieve's error never does.
        let lost = ScriptedTransport([.fail(.network, notSent: false)])
        let lostAPI = ResponsesAPI(config: try makeConfig(), transport: lost)
        do throws(YCError) {
            _ = try lostAPI.create(requestJSON: #"{"model": "m"}"#)
            Issue.record("a lost answer gave no error")
        } catch {
            #expect(error.message.contains("may exist"), "\(error.message)")
        }
        let retrieve = ScriptedTransport([.answer(502, body: "{}")])
        let config = try makeConfig(#"{"api_key": "k", "base_url": "http://127.0.0.1:1/v1", "max_retries": 0}"#)
        let retrieveAPI = ResponsesAPI(config: config, transport: retrieve)
        do throws(YCError) {
            _ = try retrieveAPI.retrieve(id: "r-1")
            Issue.record("a 502 gave no error")
        } catch {
            #expect(!error.message.contains("may exist"), "\(error.message)")
        }
    }

    @Test func aTrustedIdempotencyKeyRetriesA502Or504() throws {
        let transport = ScriptedTransport([
            .answer(502, headers: [("retry-after-ms", "1")], body: "{}"),
            .answer(504, headers: [("retry-after-ms", "1")], body: "{}"),
            .answer(200, body: responseBody(status: "queued")),
        ])
        let config = try makeConfig(#"{"api_key": "k", "base_url": "http://127.0.0.1:1/v1", "trust_idempotency_key": true}"#)
        let answer = try ResponsesAPI(config: config, transport: transport).create(requestJSON: #"{"model": "gpt://f/m"}"#)
        #expect(answer.object.id == "r-1")
        #expect(transport.sent.count == 3)
        #expect(Set(transport.sent.compactMap { $0.header("Idempotency-Key") }).count == 1)
    }

    @Test func aFinalTransportFailureIsNotRetried() throws {
        var final = YCError(.network, "TLS certificate verification failed (certificate not trusted)")
        final.retryable = false
        for trusted in [false, true] {
            let transport = ScriptedTransport([.failWith(final, notSent: true), .answer(200, body: responseBody(status: "queued"))])
            let config = try makeConfig(#"{"api_key": "k", "base_url": "http://127.0.0.1:1/v1", "trust_idempotency_key": \#(trusted)}"#)
            let api = ResponsesAPI(config: config, transport: transport)
            #expect(throws: YCError.self) { try api.create(requestJSON: #"{"model": "gpt://f/m"}"#) }
            #expect(transport.sent.count == 1)
        }
        let transport = ScriptedTransport([.failWith(final, notSent: true), .answer(200, body: responseBody(status: "queued"))])
        let api = ResponsesAPI(config: try makeConfig(), transport: transport)
        do throws(YCError) {
            _ = try api.retrieve(id: "r-1")
            Issue.record("no error")
        } catch {
            #expect(error.kind == .network && !error.retryable)
        }
        #expect(transport.sent.count == 1)
    }

    @Test func aTrustedIdempotencyKeyLetsALostCreateBeRetried() throws {
        let transport = ScriptedTransport([
            .fail(.network, notSent: false),
            .answer(500, headers: [("retry-after-ms", "1")], body: "{}"),
            .answer(200, body: responseBody(status: "queued")),
        ])
        let config = try makeConfig(#"{"api_key": "k", "base_url": "http://127.0.0.1:1/v1", "trust_idempotency_key": true}"#)
        let answer = try ResponsesAPI(config: config, transport: transport).create(requestJSON: #"{"model": "gpt://f/m"}"#)
        #expect(answer.object.id == "r-1")
        #expect(transport.sent.count == 3)
        #expect(Set(transport.sent.compactMap { $0.header("Idempotency-Key") }).count == 1)
        #expect(transport.sent.allSatisfy { $0.startsJob })
    }

    @Test func retrieveRetriesUpToMaxRetries() throws {
        let transport = ScriptedTransport(Array(repeating: .answer(500, headers: [("retry-after-ms", "1")], body: "{}"), count: 5))
        let api = ResponsesAPI(config: try makeConfig(), transport: transport)
        do throws(YCError) {
            _ = try api.retrieve(id: "r-1")
            Issue.record("no error")
        } catch {
            #expect(error.kind == .http && error.httpStatus == 500)
        }
        #expect(transport.sent.count == 3) // 1 + max_retries
        #expect(transport.sent[0].url == "http://127.0.0.1:1/v1/responses/r-1")
    }

    @Test func idsArePercentEncoded() throws {
        let api = ResponsesAPI(config: try makeConfig(), transport: ScriptedTransport([]))
        #expect(api.percentEncoded("a/b c?d") == "a%2Fb%20c%3Fd")
        #expect(api.percentEncoded("1e5ee267-2d01_x.~") == "1e5ee267-2d01_x.~")
    }

    @Test func deadlineStopsRetries() throws {
        let transport = ScriptedTransport(Array(repeating: .answer(503, headers: [("retry-after", "5")], body: "{}"), count: 5))
        let api = ResponsesAPI(config: try makeConfig(), transport: transport)
        let start = Clock.nowMs()
        #expect(throws: YCError.self) { try api.retrieve(id: "r-1", deadline: .after(ms: 300)) }
        #expect(Clock.nowMs() - start < 2000)
        #expect(transport.sent.count == 1)
        // A started attempt keeps its own timeout; only retries stop at the deadline.
        #expect(transport.sent[0].timeoutMs == 600_000)
    }
}

@Suite struct TaskTests {
    func client(_ steps: [ScriptedTransport.Step]) throws -> (Client, ScriptedTransport) {
        let t = ScriptedTransport(steps)
        let config = try makeConfig(#"{"api_key": "secret-key-123", "base_url": "http://127.0.0.1:1/v1", "poll_interval_ms": 1, "max_poll_interval_ms": 2}"#)
        return (Client(config: config, transport: t), t)
    }

    @Test func waitPollsToTheEndAndTerminalTasksMakeNoRequests() throws {
        let (c, t) = try client([
            .answer(200, body: responseBody(status: "queued")),
            .answer(200, body: responseBody(status: "in_progress")),
            .answer(503, headers: [("retry-after-ms", "1")], body: "{}"),
            .answer(200, body: responseBody(status: "completed", outputText: "done")),
        ])
        let task = try c.createBackground(requestJSON: #"{"model": "gpt://f/m"}"#)
        #expect(task.status == .queued)
        #expect(task.wait(timeoutMs: 5000) == .completed)
        #expect(task.outputText == "done")
        let before = t.sent.count
        #expect(task.poll() == .completed)
        #expect(task.wait(timeoutMs: -1) == .completed)
        #expect(task.cancel() == .completed)
        #expect(t.sent.count == before)
    }

    @Test func waitReturnsErrorOnANonRetryableFailure() throws {
        let (c, _) = try client([
            .answer(200, body: responseBody(status: "queued")),
            .answer(404, body: #"{"error": {"message": "gone", "code": "not_found"}}"#),
        ])
        let task = try c.createBackground(requestJSON: "{}")
        #expect(task.wait(timeoutMs: 5000) == .error)
        let result = task.result()
        #expect(result["status"]?.stringValue == "queued")
        #expect(result["error"]?["kind"]?.stringValue == "api")
        #expect(result["error"]?["http_status"]?.intValue == 404)
    }

    @Test func aFailedPollKeepsTheStatusAndALaterPollClearsTheError() throws {
        let (c, _) = try client([
            .answer(200, body: responseBody(status: "queued")),
            .answer(400, body: "<html>bad</html>"),
            .answer(200, body: responseBody(status: "in_progress")),
        ])
        let task = try c.createBackground(requestJSON: "{}")
        #expect(task.poll() == .error)
        #expect(task.status == .queued)
        #expect(task.result()["error"]?["kind"]?.stringValue == "http")
        #expect(task.poll() == .inProgress)
        #expect(task.result()["error"]?.isNull == true)
    }

    @Test func shortWaitsFollowOneSchedule() throws {
        let t = ScriptedTransport([.answer(200, body: responseBody(status: "queued"))]
                                  + Array(repeating: .answer(200, body: responseBody(status: "in_progress")), count: 100))
        let config = try makeConfig(#"{"api_key": "k", "base_url": "http://127.0.0.1:1/v1", "poll_interval_ms": 200, "max_poll_interval_ms": 200}"#)
        let task = try Client(config: config, transport: t).createBackground(requestJSON: "{}")
        let start = Clock.nowMs()
        while Clock.nowMs() - start < 1000 { _ = task.wait(timeoutMs: 10) }
        // About 1000 / 200 polls, not 1000 / 10.
        #expect(t.sent.count >= 3 && t.sent.count <= 8, "\(t.sent.count) requests")
        #expect(task.wait(timeoutMs: 0) == .inProgress)
    }

    @Test func waitTimesOutWithTheLastStatus() throws {
        let (c, _) = try client([.answer(200, body: responseBody(status: "queued"))]
                                + Array(repeating: .answer(200, body: responseBody(status: "in_progress")), count: 10_000))
        let task = try c.createBackground(requestJSON: "{}")
        let start = Clock.nowMs()
        #expect(task.wait(timeoutMs: 100) == .inProgress)
        #expect(Clock.nowMs() - start < 1500)
    }

    @Test func resultCarriesGenerationErrorsAndIsRedacted() throws {
        let (c, _) = try client([
            .answer(200, body: #"{"id": "r-1", "status": "failed", "error": {"code": "bad", "message": "key secret-key-123 refused"}}"#),
        ])
        let task = try c.createBackground(requestJSON: "{}")
        let err = task.result()["error"]
        #expect(err?["kind"]?.stringValue == "generation")
        #expect(err?["code"]?.stringValue == "bad")
        #expect(err?["message"]?.stringValue?.contains("secret-key-123") == false)
    }
}

@Suite struct PrepareWatchTests {
    @Test func aKnownIDGivesAnUnfetchedTaskAndABadOneIsRefused() throws {
        let client = try Client(configJSON: #"{"api_key": "k", "base_url": "http://127.0.0.1:1/v1"}"#)
        let task = try client.prepareWatch(responseID: "resp-42")
        #expect(task.id == "resp-42")
        #expect(task.idCString.map { String(cString: $0) } == "resp-42")
        #expect(task.status == .queued)
        for bad in ["", "a\nb", String(repeating: "x", count: 1025)] {
            #expect(throws: YCError.self) { try client.prepareWatch(responseID: bad) }
        }
        let scripted = Client(config: try makeConfig(), transport: ScriptedTransport([]))
        #expect(throws: YCError.self) { try scripted.prepareWatch(responseID: "resp-42") }
    }
}
