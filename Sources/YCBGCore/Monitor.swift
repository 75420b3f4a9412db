import Glibc

/// A pthread mutex with a condition variable on the monotonic clock, for
/// threads that sleep until another thread changes something.
final class Monitor: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    func withLock<T>(_ body: () throws(YCError) -> T) throws(YCError) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    func withLock<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    /// With the lock held: sleeps until a broadcast or until monotonic time
    /// `untilMs` (nil: no limit). May wake early; callers re-check.
    func wait(untilMs: Int64?) {
        guard let untilMs else {
            pthread_cond_wait(cond, mutex)
            return
        }
        var ts = timespec(tv_sec: Int(untilMs / 1000), tv_nsec: Int(untilMs % 1000) * 1_000_000)
        _ = pthread_cond_timedwait(cond, mutex, &ts)
    }

    /// Wakes every waiter (call with or without the lock).
    func broadcast() { pthread_cond_broadcast(cond) }
}
