import Glibc

/// A value behind a pthread mutex. Used instead of Synchronization's Mutex
/// for state the I/O thread shares with caller threads: that Mutex records
/// a thread id cached per thread, which in a fork()ed child is the parent's,
/// and a contended lock there then traps ("Unknown error occurred while
/// attempting to acquire a Mutex").
public final class Locked<Value>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    public func withLock<T, E: Error>(_ body: (inout Value) throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
