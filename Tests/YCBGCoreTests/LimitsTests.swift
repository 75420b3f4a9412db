import Testing
@testable import YCBGCore

/// Numbers from outside at the extremes of their types: nothing traps.
@Suite struct SaturatingTests {
    @Test func additionAndSubtractionClampAtTheBounds() {
        #expect(Int64.max.addingSaturated(1) == .max)
        #expect(Int64(5).addingSaturated(.max) == .max)
        #expect(Int64.min.addingSaturated(-1) == .min)
        #expect(Int64(-5).addingSaturated(.min) == .min)
        #expect(Int64.max.addingSaturated(.min) == -1)
        #expect(Int64(2).addingSaturated(3) == 5)
        #expect(Int64.min.subtractingSaturated(1) == .min)
        #expect(Int64.max.subtractingSaturated(-1) == .max)
        #expect(Int64(0).subtractingSaturated(.min) == .max)
        #expect(Int64(7).subtractingSaturated(9) == -2)
        #expect(Int.max.addingSaturated(Int.max) == .max)
    }

    @Test func multiplicationClampsWithTheRightSign() {
        #expect(Int64.max.multipliedSaturated(by: 2) == .max)
        #expect(Int64.min.multipliedSaturated(by: 2) == .min)
        #expect(Int64.max.multipliedSaturated(by: -2) == .min)
        #expect(Int64.min.multipliedSaturated(by: -1) == .max)
        #expect(Int64(-3).multipliedSaturated(by: -4) == 12)
    }

    @Test func doublesRoundUpAndClamp() {
        #expect(Int64(saturatingRoundedUp: .nan) == nil)
        #expect(Int64(saturatingRoundedUp: .infinity) == nil)
        #expect(Int64(saturatingRoundedUp: -.infinity) == nil)
        #expect(Int64(saturatingRoundedUp: 1e300) == .max)
        #expect(Int64(saturatingRoundedUp: -1e300) == .min)
        #expect(Int64(saturatingRoundedUp: Double(Int64.max)) == .max)
        #expect(Int64(saturatingRoundedUp: Double(Int64.min)) == .min)
        #expect(Int64(saturatingRoundedUp: 1.2) == 2)
        #expect(Int64(saturatingRoundedUp: -1.5) == -1)
        #expect(Int64(saturatingRoundedUp: 1e-300) == 1)
        #expect(Int32(saturatingRoundedUp: 1e10) == .max)
        #expect(Int(saturatingRoundedUp: 120_000) == 120_000)
    }

    @Test func deadlinesAtTheExtremes() {
        // LONG_MAX from yc_wait: the latest deadline, not an overflow trap.
        let far = Deadline.after(ms: .max)
        #expect(far.atMs == .max)
        #expect(!far.hasPassed)
        #expect((far.remainingMs ?? 0) > 0)
        let past = Deadline.after(ms: .min)
        #expect(past.hasPassed)
        #expect(past.remainingMs == 0)
        #expect(Deadline.after(ms: 0).remainingMs == 0)
        // Sleeping a negative or zero time returns at once.
        Clock.sleep(ms: .min)
        Clock.sleep(ms: 0)
    }
}

@Suite struct ServerHintTests {
    @Test func pollHintsAreCappedAndJunkIgnored() {
        #expect(RetryPolicy.pollHintMs("0") == 0)
        #expect(RetryPolicy.pollHintMs("250") == 250)
        #expect(RetryPolicy.pollHintMs("1.5") == 2)
        for huge in ["86400000", "9223372036854775807", "99999999999999999999999", "1e300", "1.7976931348623157e308"] {
            #expect(RetryPolicy.pollHintMs(huge) == 120_000, "\(huge)")
        }
        for junk in ["-1", "-1e300", "nan", "inf", "-inf", "", "soon", "1e400"] {
            #expect(RetryPolicy.pollHintMs(junk) == nil, "\(junk)")
        }
    }

    @Test func absurdRetryAfterNeverTrapsAndStaysInBounds() {
        let policy = RetryPolicy(maxRetries: 2)
        let values = ["9223372036854775807", "-9223372036854775808", "18446744073709551616", "1e308", "-1e308",
                      "1e400", "nan", "-inf", "1e-300", "Fri, 31 Dec 9999 23:59:59 GMT", "Thu, 01 Jan 1970 00:00:00 GMT"]
        for header in ["retry-after", "retry-after-ms"] {
            for value in values {
                let d = policy.delayMs(retriesSoFar: Int.max, headers: [(header, value)], random: 1)
                #expect(d >= 0 && Double(d) <= RetryPolicy.maxServerDelayMs, "\(header): \(value) → \(d)")
                let e = ErrorBody.error(from: HTTPResponse(status: 503, headers: [(header, value)], body: []))
                if let ms = e.retryAfterMs { #expect(ms > 0 && ms <= 120_000, "\(header): \(value) → \(ms)") }
            }
        }
        // Retries so far at the extremes of Int.
        #expect(policy.delayMs(retriesSoFar: .min, headers: [], random: 0) == 500)
        #expect(policy.delayMs(retriesSoFar: .max, headers: [], random: 0) == 8000)
    }

    @Test func aTaskWaitsWithTheExtremesOfInt() throws {
        let config = try makeConfig(#"{"api_key": "secret-key-123", "folder_id": "b1g", "base_url": "http://127.0.0.1:1/v1", "poll_interval_ms": 1}"#)
        // An unfinished task whose next retrieve says completed: a wait with
        // Int.max (LONG_MAX) trapped in the deadline arithmetic before.
        for timeout in [Int.max, Int.max - 1, Int.min, -1] {
            let transport = ScriptedTransport([
                .answer(200, headers: [("openai-poll-after-ms", "0")], body: responseBody(status: "queued")),
                .answer(200, body: responseBody(status: "completed")),
            ])
            let task = try Client(config: config, transport: transport)
                .createBackground(requestJSON: #"{"model": "yandexgpt", "input": "x"}"#)
            #expect(task.wait(timeoutMs: timeout) == .completed, "\(timeout)")
            #expect(transport.sent.count == 2)
        }
        // A poll hint of ~10^20 ms is capped at 120 s, not wrapped into the
        // past: a wait of 0 makes no request.
        let transport = ScriptedTransport([
            .answer(200, headers: [("openai-poll-after-ms", "99999999999999999999")], body: responseBody(status: "queued")),
        ])
        let task = try Client(config: config, transport: transport)
            .createBackground(requestJSON: #"{"model": "yandexgpt", "input": "x"}"#)
        #expect(task.wait(timeoutMs: 0) == .queued)
        #expect(task.wait(timeoutMs: 20) == .queued)
        #expect(transport.sent.count == 1)
    }
}

@Suite struct ConfigRangeTests {
    func configError(_ json: String) -> YCError? {
        do throws(YCError) { _ = try Configuration.parse(json, environment: { _ in nil }); return nil } catch { return error }
    }

    @Test func everyIntegerKeyAtTheExtremes() throws {
        let keys: [Configuration.IntegerKey] = [.timeoutMs, .connectTimeoutMs, .maxRetries, .pollIntervalMs,
                                                .maxPollIntervalMs, .maxResponseBytes]
        for key in keys {
            let range = "from \(key.range.lowerBound) to \(key.range.upperBound)"
            // poll_interval_ms may not exceed max_poll_interval_ms.
            let extra = key.name == "poll_interval_ms" ? #", "max_poll_interval_ms": 3600000"#
                : key.name == "max_poll_interval_ms" ? #", "poll_interval_ms": 1"# : ""
            for literal in ["9223372036854775807", "-9223372036854775808", "-1", "1e300", "-1e300", "1.5", "\"5\"", "true",
                            "[]", "{}", String(key.range.upperBound + 1)] + (key.range.lowerBound > 0 ? ["0"] : []) {
                let e = configError("{\"api_key\": \"k\", \"\(key.name)\": \(literal)\(extra)}")
                #expect(e?.kind == .config, "\(key.name): \(literal)")
                #expect(e?.message.contains(key.name) == true && e?.message.contains(range) == true,
                        "\(key.name): \(literal): \(e?.message ?? "accepted")")
            }
            let beyond = configError("{\"api_key\": \"k\", \"\(key.name)\": 99999999999999999999999}")
            #expect(beyond?.kind == .invalidJSON, "\(key.name)")
            for ok in [key.range.lowerBound, key.range.upperBound] {
                let c = try Configuration.parse("{\"api_key\": \"k\", \"\(key.name)\": \(ok)\(extra)}", environment: { _ in nil })
                _ = c
            }
        }
    }

    @Test func aNewKeyReusesTheRangeCheck() {
        let key = Configuration.IntegerKey("max_in_flight", 1...1024)
        do throws(YCError) {
            _ = try key.value(of: try JSON.parse("2048", what: "test"))
            Issue.record("2048 accepted")
        } catch {
            #expect(error.kind == .config)
            #expect(error.message == "config: max_in_flight must be an integer from 1 to 1024, got 2048")
        }
        #expect((try? key.value(of: try JSON.parse("64", what: "test"))) == 64)
    }
}
