import Glibc

/// Monotonic time and sleeping, in milliseconds.
public enum Clock {
    public static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Seconds since the Unix epoch, for HTTP dates.
    public static func wallSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    public static func sleep(ms: Int64) {
        guard ms > 0 else { return }
        var request = timespec(tv_sec: Int(clamping: ms / 1000), tv_nsec: Int(ms % 1000) * 1_000_000)
        var remaining = timespec()
        // nanosleep returns early on a signal: sleep the rest.
        while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
    }
}

/// A point in monotonic time after which a call must give up; `nil` deadline
/// fields mean "no limit".
public struct Deadline: Sendable {
    public let atMs: Int64?

    public static let none = Deadline(atMs: nil)
    /// `ms` from now; a deadline beyond Int64's range is the latest one
    /// (a caller may pass LONG_MAX).
    public static func after(ms: Int64) -> Deadline { Deadline(atMs: Clock.nowMs().addingSaturated(ms)) }

    /// Milliseconds left (nil: unlimited; 0 when passed).
    public var remainingMs: Int64? { atMs.map { max(0, $0.subtractingSaturated(Clock.nowMs())) } }
    public var hasPassed: Bool { remainingMs == 0 }
}
