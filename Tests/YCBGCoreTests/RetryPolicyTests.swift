import Testing
@testable import YCBGCore

@Suite struct RetryPolicyTests {
    let policy = RetryPolicy(maxRetries: 2)

    func http(_ status: Int, _ headers: [(String, String)] = []) -> AttemptFailure {
        .http(HTTPResponse(status: status, headers: headers, body: []), YCError(.http, "x", httpStatus: status))
    }

    @Test func idempotentCallsRetryOnTheOpenAIStatuses() {
        for s in [408, 409, 429, 500, 502, 503, 504, 599] { #expect(policy.shouldRetry(http(s), safety: .idempotent), "\(s)") }
        for s in [400, 401, 403, 404, 422] { #expect(!policy.shouldRetry(http(s), safety: .idempotent), "\(s)") }
        #expect(policy.shouldRetry(http(400, [("x-should-retry", "true")]), safety: .idempotent))
        #expect(!policy.shouldRetry(http(503, [("x-should-retry", "false")]), safety: .idempotent))
        #expect(policy.shouldRetry(.transport(TransportFailure(YCError(.network, "x"), requestNotSent: false)), safety: .idempotent))
        #expect(policy.shouldRetry(.transport(TransportFailure(YCError(.timeout, "x"), requestNotSent: false)), safety: .idempotent))
        #expect(!policy.shouldRetry(.transport(TransportFailure(YCError(.protocol, "x"), requestNotSent: false)), safety: .idempotent))
    }

    @Test func createsRetryOnlyWhenNoJobCanHaveStarted() {
        for s in [429, 503] { #expect(policy.shouldRetry(http(s), safety: .startsJob), "\(s)") }
        // A gateway's 502 or 504 may come after it passed the create on.
        for s in [408, 409, 500, 501, 502, 504, 400] { #expect(!policy.shouldRetry(http(s), safety: .startsJob), "\(s)") }
        // Retried like a retrieve when the server is trusted to honour Idempotency-Key.
        for s in [502, 504] { #expect(policy.shouldRetry(http(s), safety: .idempotent), "\(s)") }
        #expect(!policy.shouldRetry(http(503, [("x-should-retry", "false")]), safety: .startsJob))
        #expect(policy.shouldRetry(.transport(TransportFailure(YCError(.network, "x"), requestNotSent: true)), safety: .startsJob))
        #expect(!policy.shouldRetry(.transport(TransportFailure(YCError(.network, "x"), requestNotSent: false)), safety: .startsJob))
        #expect(!policy.shouldRetry(.transport(TransportFailure(YCError(.timeout, "x"), requestNotSent: false)), safety: .startsJob))
    }

    @Test func whatMayHaveStartedAJob() {
        for s in [502, 504] { #expect(RetryPolicy.mayHaveStartedJob(http(s)), "\(s)") }
        for s in [400, 429, 503] { #expect(!RetryPolicy.mayHaveStartedJob(http(s)), "\(s)") }
        #expect(RetryPolicy.mayHaveStartedJob(.transport(TransportFailure(YCError(.network, "x"), requestNotSent: false))))
        #expect(RetryPolicy.mayHaveStartedJob(.transport(TransportFailure(YCError(.timeout, "x"), requestNotSent: false))))
        #expect(!RetryPolicy.mayHaveStartedJob(.transport(TransportFailure(YCError(.network, "x"), requestNotSent: true))))
    }

    @Test func aFailureMarkedFinalIsNeverRetried() {
        var final = YCError(.network, "TLS certificate verification failed")
        final.retryable = false
        #expect(!final.retryable)
        #expect(final.json()["retryable"]?.boolValue == false)
        #expect(final.json()["kind"]?.stringValue == "network")
        for notSent in [true, false] {
            let f = AttemptFailure.transport(TransportFailure(final, requestNotSent: notSent))
            #expect(!policy.shouldRetry(f, safety: .idempotent))
            #expect(!policy.shouldRetry(f, safety: .startsJob))
        }
        // Unmarked, the same kind is retryable as before.
        #expect(YCError(.network, "x").retryable)
        var forced = YCError(.api, "x", httpStatus: 400)
        forced.retryable = true
        #expect(forced.retryable)
    }

    @Test func serverDelaysWinWithinTheirBounds() {
        #expect(policy.delayMs(retriesSoFar: 0, headers: [("retry-after-ms", "250")]) == 250)
        #expect(policy.delayMs(retriesSoFar: 0, headers: [("retry-after", "3")]) == 3000)
        #expect(policy.delayMs(retriesSoFar: 0, headers: [("retry-after", "1.5")]) == 1500)
        // Out of bounds (0, negative, > 120 s, junk): the exponential backoff instead.
        for value in ["0", "-1", "121", "soon"] {
            let d = policy.delayMs(retriesSoFar: 0, headers: [("retry-after", value)], random: 0)
            #expect(d == 500, "\(value)")
        }
        // Absurd values never trap, and give no server delay.
        for value in ["211111111211121111", "1e306", "inf", "nan"] {
            let e = ErrorBody.error(from: HTTPResponse(status: 503, headers: [("retry-after", value)], body: []))
            #expect(e.retryAfterMs == nil || e.retryAfterMs! <= 120_000, "\(value)")
            #expect(policy.delayMs(retriesSoFar: 0, headers: [("retry-after", value)], random: 0) <= 120_000)
        }
        let huge = ErrorBody.error(from: HTTPResponse(status: 503, headers: [("retry-after-ms", "1e300")], body: []))
        #expect(huge.retryAfterMs == 120_000)
        let now = 1_000_000_000.0
        #expect(RetryPolicy.serverDelayMs([("retry-after", "Sun, 09 Sep 2001 01:46:50 GMT")], nowSeconds: now) == 10_000)
    }

    @Test func exponentialBackoffWithJitter() {
        #expect(policy.delayMs(retriesSoFar: 0, headers: [], random: 0) == 500)
        #expect(policy.delayMs(retriesSoFar: 1, headers: [], random: 0) == 1000)
        #expect(policy.delayMs(retriesSoFar: 3, headers: [], random: 0) == 4000)
        #expect(policy.delayMs(retriesSoFar: 10, headers: [], random: 0) == 8000)
        #expect(policy.delayMs(retriesSoFar: 10, headers: [], random: 0.999) == 6002)
        for _ in 0..<100 {
            let d = policy.delayMs(retriesSoFar: 2, headers: [])
            #expect(d >= 1500 && d <= 2000)
        }
    }

    @Test func httpDates() {
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == 784_111_777)
        #expect(HTTPDate.parse("Sun Nov  6 08:49:37 1994") == 784_111_777)
        #expect(HTTPDate.parse("tomorrow") == nil)
        #expect(HTTPDate.parse("Sun, 32 Nov 1994 08:49:37 GMT") == nil)
        #expect(HTTPDate.parse("") == nil)
    }
}
