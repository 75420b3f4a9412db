/// The kinds of request a client paces separately.
enum RequestKind: Int, CaseIterable {
    case create, poll, cancel
}

/// Client-wide pacing per request kind: a fixed token bucket (the config's
/// max_*_per_second), and an adaptive rate for an unknown quota (AIMD:
/// halved on a 429, which also pauses the kind for its Retry-After; raised
/// by about one request per second each second while answers are good).
/// Used by the engine's I/O thread only.
struct Pacer {
    private struct Bucket {
        var fixedRate: Double          // 0: none
        var adaptiveRate: Double?      // nil: no 429 seen yet
        var tokens = 1.0
        var refilledAtMs: Int64 = 0
        var pausedUntilMs: Int64 = 0
        var lastCutMs: Int64 = -1_000_000
        /// Requests started in the current and the previous second.
        var windowStartMs: Int64 = 0
        var inWindow = 0
        var lastWindowRate = 0.0

        var rate: Double? { rate(adaptive: true) }

        func rate(adaptive: Bool) -> Double? {
            let fixed = fixedRate > 0 ? fixedRate : nil
            switch (fixed, adaptive ? adaptiveRate : nil) {
            case let (f?, a?): return min(f, a)
            case let (f?, nil): return f
            case let (nil, a?): return a
            default: return nil
            }
        }
    }

    /// The highest adaptive rate before it is dropped (no limit again).
    static let adaptiveCeiling = 10_000.0

    private var buckets: [Bucket]

    init(createsPerSecond: Double, pollsPerSecond: Double) {
        buckets = RequestKind.allCases.map { kind in
            switch kind {
            case .create: return Bucket(fixedRate: createsPerSecond)
            case .poll: return Bucket(fixedRate: pollsPerSecond)
            case .cancel: return Bucket(fixedRate: 0)
            }
        }
    }

    /// Takes a token for one request of `kind` now, if there is one. A
    /// blocking call (`adaptive` false) keeps its own retry schedule: it
    /// honours the fixed rate and a 429's pause, not the adaptive rate.
    mutating func take(_ kind: RequestKind, nowMs: Int64, adaptive: Bool = true) -> Bool {
        var b = buckets[kind.rawValue]
        defer { buckets[kind.rawValue] = b }
        guard nowMs >= b.pausedUntilMs else { return false }
        if let rate = b.rate(adaptive: adaptive) {
            b.tokens = min(1, b.tokens + Double(nowMs - b.refilledAtMs) * rate / 1000)
            b.refilledAtMs = nowMs
            guard b.tokens >= 1 else { return false }
            b.tokens -= 1
        }
        if nowMs - b.windowStartMs >= 1000 {
            b.lastWindowRate = Double(b.inWindow) * 1000 / Double(max(1000, nowMs - b.windowStartMs))
            b.windowStartMs = nowMs
            b.inWindow = 0
        }
        b.inWindow += 1
        return true
    }

    /// When the next token of `kind` will be there (monotonic ms).
    func nextTokenMs(_ kind: RequestKind, nowMs: Int64, adaptive: Bool = true) -> Int64 {
        let b = buckets[kind.rawValue]
        var at = max(nowMs, b.pausedUntilMs)
        if let rate = b.rate(adaptive: adaptive), b.tokens < 1 {
            let refill = b.refilledAtMs + Int64(((1 - b.tokens) * 1000 / rate).rounded(.up))
            at = max(at, refill)
        }
        return at
    }

    /// Learns from an answer: a 429 slows `kind` down for the whole client
    /// (and pauses it for `retryAfterMs` when the server said so); a good
    /// answer speeds it up again.
    mutating func record(_ kind: RequestKind, tooManyRequests: Bool, retryAfterMs: Int?, nowMs: Int64) {
        var b = buckets[kind.rawValue]
        defer { buckets[kind.rawValue] = b }
        if tooManyRequests {
            // One cut per burst of 429s: the requests already in flight were
            // sent at the old rate.
            if nowMs - b.lastCutMs >= 250 {
                let current = b.adaptiveRate ?? max(1, b.lastWindowRate, Double(b.inWindow))
                b.adaptiveRate = max(1, current / 2)
                b.lastCutMs = nowMs
            }
            let pause = Int64(retryAfterMs ?? 0)
            b.pausedUntilMs = max(b.pausedUntilMs, nowMs + min(pause, Int64(RetryPolicy.maxServerDelayMs)))
            // One request may go when the pause ends, then the new rate.
            b.tokens = 1
            b.refilledAtMs = b.pausedUntilMs
        } else if let rate = b.adaptiveRate {
            let raised = rate + 1 / max(1, rate)
            b.adaptiveRate = raised >= Pacer.adaptiveCeiling ? nil : raised
        }
    }
}
