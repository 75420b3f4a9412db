import Glibc
import YCBGCore

/// `retry_after`: the input is a header value, given as `retry-after`,
/// `retry-after-ms` and `openai-poll-after-ms`, and read by every consumer:
/// `RetryPolicy.serverDelayMs`, `HTTPDate.parse`, `RetryPolicy.delayMs`,
/// `ErrorBody.error(from:)` and a create's poll hint.
enum RetryAfterTarget {
    static let name = "retry_after"
    static let now = 1_700_000_000.0 // 2023-11-14T22:13:20Z
    static let lastSecond = 253_402_300_799.0 // 9999-12-31T23:59:59Z

    static func run(_ input: [UInt8]) {
        let value = String(decoding: input, as: UTF8.self)

        let date = HTTPDate.parse(value)
        if let date {
            if !date.isFinite || date < 0 || date > lastSecond + 1 {
                violated(name, "HTTPDate.parse('\(excerpt(value))') = \(date)")
            }
            if date <= lastSecond {
                let formatted = imfFixdate(date)
                if HTTPDate.parse(formatted) != date {
                    violated(name, "HTTPDate.parse('\(excerpt(value))') = \(date), but '\(formatted)' parses to \(String(describing: HTTPDate.parse(formatted)))")
                }
            }
        }

        for header in ["retry-after", "retry-after-ms"] {
            let headers = [(name: header, value: value)]
            let delay = RetryPolicy.serverDelayMs(headers, nowSeconds: now)
            if let delay, !delay.isFinite {
                violated(name, "serverDelayMs(\(header): '\(excerpt(value))') = \(delay), not finite")
            }
            if header == "retry-after", let date, Double(value) == nil, delay != (date - now) * 1000 {
                violated(name, "Retry-After date '\(excerpt(value))' gave \(String(describing: delay)) ms")
            }
            for retries in 0..<4 {
                let d = RetryPolicy(maxRetries: 4).delayMs(retriesSoFar: retries, headers: headers, random: 0.5)
                if d < 0 || Double(d) > RetryPolicy.maxServerDelayMs {
                    violated(name, "delayMs with \(header): '\(excerpt(value))' = \(d)")
                }
            }
            // An error answer carrying the hint.
            let e = ErrorBody.error(from: HTTPResponse(status: 503, headers: headers, body: []))
            if let ms = e.retryAfterMs, ms < 0 { violated(name, "retryAfterMs \(ms) from \(header): '\(excerpt(value))'") }
        }

        // A create answered with the hint: the poll schedule it sets.
        for header in ["retry-after", "retry-after-ms", "openai-poll-after-ms"] {
            let answer = HTTPResponse(status: 200, headers: [(name: header, value: value)],
                                      body: RequestTarget.queued.body)
            let api = ResponsesAPI(config: RequestTarget.withFolder, transport: CannedTransport(answer))
            do throws(YCError) {
                let a = try api.create(requestJSON: Array(#"{"model": "yandexgpt"}"#.utf8))
                if let ms = a.pollAfterMs, ms < 0 { violated(name, "pollAfterMs \(ms) from \(header): '\(excerpt(value))'") }
            } catch {
                violated(name, "a create answered 200 with \(header): '\(excerpt(value))' failed: \(error.message)")
            }
        }
    }

    static func imfFixdate(_ t: Double) -> String {
        var seconds = time_t(t)
        var tm = Glibc.tm()
        gmtime_r(&seconds, &tm)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(tm.tm_wday)]), \(two(tm.tm_mday)) \(months[Int(tm.tm_mon)]) \(tm.tm_year + 1900) "
            + "\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) GMT"
    }
}
