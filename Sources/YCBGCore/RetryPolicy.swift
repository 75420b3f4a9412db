import CYCShim

/// When to try a request again and how long to wait first: openai-python's
/// policy (connection errors, timeouts, 408/409/429/5xx, x-should-retry,
/// retry-after-ms / Retry-After up to 120 s, else 0.5 s · 2ⁿ up to 8 s with
/// 25 % jitter), with the stricter rule for creates.
public struct RetryPolicy: Sendable {
    public var maxRetries: Int

    public static let initialDelayMs = 500.0
    public static let maxDelayMs = 8_000.0
    public static let maxServerDelayMs = 120_000.0

    public init(maxRetries: Int) { self.maxRetries = maxRetries }

    public enum Safety: Sendable {
        /// Retrieve and cancel: sending them twice changes nothing.
        case idempotent
        /// Create: sending it twice could start two jobs.
        case startsJob
    }

    /// Whether a failed attempt may be sent again.
    public func shouldRetry(_ outcome: AttemptFailure, safety: Safety) -> Bool {
        switch outcome {
        case .transport(let failure):
            // A failure that says it is final (a certificate that failed
            // verification) is never retried.
            guard failure.error.retryable else { return false }
            switch safety {
            case .idempotent: return failure.error.kind == .network || failure.error.kind == .timeout
            case .startsJob: return failure.requestNotSent
            }
        case .http(let response, _):
            let hint = response.header("x-should-retry")?.lowercased()
            if hint == "false" { return false }
            switch safety {
            case .idempotent:
                if hint == "true" { return true }
                let s = response.status
                return s == 408 || s == 409 || s == 429 || s >= 500
            case .startsJob:
                // Only answers that say the job was not started. A gateway's
                // 502 or 504 may come after it passed the create on.
                return RetryPolicy.jobNotStartedStatuses.contains(response.status)
            }
        }
    }

    /// The answers to a create that say the server started no job.
    public static let jobNotStartedStatuses: Set<Int> = [429, 503]

    /// Whether a failed create may have started a job on the server all the
    /// same: the request went out and the answer was lost (reset, timeout),
    /// or a gateway answered 502 or 504 after passing it on.
    public static func mayHaveStartedJob(_ outcome: AttemptFailure) -> Bool {
        switch outcome {
        case .transport(let failure): return !failure.requestNotSent
        case .http(let response, _): return response.status == 502 || response.status == 504
        }
    }

    /// Milliseconds to wait before retry number `retriesSoFar + 1`.
    public func delayMs(retriesSoFar: Int, headers: [(name: String, value: String)],
                        random: Double = Double.random(in: 0..<1)) -> Int64 {
        if let server = RetryPolicy.serverDelayMs(headers), server > 0, server <= RetryPolicy.maxServerDelayMs,
           let ms = Int64(saturatingRoundedUp: server) {
            return ms
        }
        let base = min(RetryPolicy.initialDelayMs * pow2(retriesSoFar), RetryPolicy.maxDelayMs)
        return Int64(saturatingRoundedUp: base * (1 - 0.25 * min(max(random, 0), 1))) ?? Int64(RetryPolicy.maxDelayMs)
    }

    /// The server's requested delay: retry-after-ms, else Retry-After as
    /// seconds or an HTTP date. nil when absent or unreadable.
    public static func serverDelayMs(_ headers: [(name: String, value: String)],
                                     nowSeconds: Double = Clock.wallSeconds()) -> Double? {
        func header(_ n: String) -> String? { headers.first { $0.name == n }?.value }
        if let ms = header("retry-after-ms").flatMap(Double.init), ms.isFinite {
            return ms
        }
        guard let value = header("retry-after") else { return nil }
        if let seconds = Double(value), (seconds * 1000).isFinite { return seconds * 1000 }
        if let date = HTTPDate.parse(value) { return (date - nowSeconds) * 1000 }
        return nil
    }

    /// A server delay as whole milliseconds, capped at 120 s; nil unless it
    /// is a positive finite number (a server can send anything).
    public static func clampedDelayMs(_ ms: Double) -> Int? {
        guard ms.isFinite, ms > 0 else { return nil }
        return Int(saturatingRoundedUp: min(ms, maxServerDelayMs))
    }

    /// An `openai-poll-after-ms` value as whole milliseconds, capped at
    /// 120 s; nil unless it is a finite number >= 0.
    public static func pollHintMs(_ text: String) -> Int? {
        guard let ms = Double(text), ms.isFinite, ms >= 0 else { return nil }
        return Int(saturatingRoundedUp: min(ms, maxServerDelayMs))
    }

    private func pow2(_ n: Int) -> Double {
        var v = 1.0
        for _ in 0..<min(max(n, 0), 30) { v *= 2 }
        return v
    }
}

/// What a single failed attempt looked like.
public enum AttemptFailure: Sendable {
    case transport(TransportFailure)
    /// A complete answer with an error status, and its error.
    case http(HTTPResponse, YCError)

    public var error: YCError {
        switch self {
        case .transport(let f): return f.error
        case .http(_, let e): return e
        }
    }

    /// The answer's headers (none for a transport failure).
    public var headers: [(name: String, value: String)] {
        if case .http(let response, _) = self { return response.headers }
        return []
    }
}

/// HTTP dates (RFC 9110 IMF-fixdate, plus the obsolete RFC 850 and asctime forms).
public enum HTTPDate {
    private static let months = ["jan", "feb", "mar", "apr", "may", "jun",
                                 "jul", "aug", "sep", "oct", "nov", "dec"]

    /// Seconds since the epoch, or nil when `text` is not an HTTP date.
    public static func parse(_ text: String) -> Double? {
        // Tokens: split on spaces, commas, dashes and colons.
        let tokens = text.lowercased().split(whereSeparator: { " ,-:".contains($0) }).map(String.init)
        var numbers: [Int] = []
        var month: Int?
        for t in tokens {
            if let n = Int(t) { numbers.append(n) } else if let m = months.firstIndex(of: t) { month = m + 1 }
            else if !["mon", "tue", "wed", "thu", "fri", "sat", "sun", "monday", "tuesday", "wednesday",
                      "thursday", "friday", "saturday", "sunday", "gmt", "utc"].contains(t) { return nil }
        }
        guard let month, numbers.count == 5 else { return nil }
        var day: Int, year: Int, h: Int, m: Int, s: Int
        if tokens.last.flatMap(Int.init) != nil && numbers[0] < 32 && numbers[4] > 31 {
            // asctime: "Sun Nov  6 08:49:37 1994"
            (day, h, m, s, year) = (numbers[0], numbers[1], numbers[2], numbers[3], numbers[4])
        } else {
            (day, year, h, m, s) = (numbers[0], numbers[1], numbers[2], numbers[3], numbers[4])
        }
        if year < 100 { year += year < 70 ? 2000 : 1900 }
        guard (1...31).contains(day), (0...23).contains(h), (0...59).contains(m), (0...60).contains(s),
              (1970...9999).contains(year) else { return nil }
        let t = ycs_timegm(Int32(year), Int32(month), Int32(day), Int32(h), Int32(m), Int32(s))
        return t < 0 ? nil : Double(t)
    }
}
