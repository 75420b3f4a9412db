// Request quotas per kind (create, poll = retrieve, cancel), as token buckets: a bucket holds at
// most `burst` tokens, refills at `rps` tokens per second, and each request takes one. A request that
// finds no token gets a 429 with Retry-After, like a real per-cloud quota (docs/emulator.md, "Quotas").

/// One kind's limit. `burst` nil means the default: a fifth of a second's worth, at least 1.
struct QuotaLimit: Sendable, Equatable {
    var rps: Double
    var burst: Int?

    var capacity: Double { Double(burst ?? max(1, Int((rps / 5).rounded(.up)))) }
}

/// The buckets of the kinds that have a limit. Not thread-safe by itself: EmulatorState owns it.
struct QuotaBuckets {
    private struct Bucket {
        var tokens: Double
        var updated: Nanos
    }

    private var buckets: [RouteKind: Bucket] = [:]
    private(set) var refused: [RouteKind: Int] = [:]

    static let limitedKinds: [RouteKind] = [.create, .retrieve, .cancel]

    /// Takes a token for `kind` under `limit` at `now`. Returns nil when the request may go on, else
    /// how long (ms, at least 1) until a token is there.
    mutating func take(_ kind: RouteKind, limit: QuotaLimit, now: Nanos) -> Int? {
        let capacity = limit.capacity
        var bucket = buckets[kind] ?? Bucket(tokens: capacity, updated: now)
        let elapsed = now > bucket.updated ? Double(now - bucket.updated) / 1e9 : 0
        bucket.tokens = min(capacity, bucket.tokens + elapsed * limit.rps)
        bucket.updated = now
        defer { buckets[kind] = bucket }
        if bucket.tokens >= 1 {
            bucket.tokens -= 1
            return nil
        }
        refused[kind, default: 0] += 1
        let waitSeconds = (1 - bucket.tokens) / limit.rps
        return max(1, Int((waitSeconds * 1000).rounded(.up)))
    }

    /// Full buckets again (after a change of limits).
    mutating func refill() { buckets = [:] }
}

extension APIError {
    /// The 429 of a quota: OpenAI's shape and code, with Retry-After (whole seconds, rounded up) and
    /// retry-after-ms.
    static func quotaExceeded(_ kind: RouteKind, rps: Double, retryAfterMs: Int) -> HTTPAnswer {
        let name = kind == .retrieve ? "poll" : kind.rawValue
        let rate = rps == rps.rounded() ? String(Int(rps)) : String(rps)
        var answer = APIError(status: 429,
                              message: "Rate limit exceeded: \(rate) \(name) requests per second. Please retry later.",
                              type: "requests", param: nil, code: "rate_limit_exceeded").answer
        answer.headers.append(("Retry-After", String((retryAfterMs + 999) / 1000)))
        answer.headers.append(("retry-after-ms", String(retryAfterMs)))
        return answer
    }
}
