import CYCShim
import Glibc

/// One finished driven task, as yc_next_events hands it out.
public struct TaskEvent: Sendable {
    public let task: BackgroundTask
    /// The ABI's handle for the task, given when it started being driven.
    public let token: UInt
    public let tag: UInt64
    /// A terminal status, or .error.
    public let status: TaskStatus
    public let error: YCError?
}

/// The client's pending events: a locked FIFO and an eventfd that is
/// readable exactly while the queue is not empty (raised when it goes from
/// empty to non-empty, cleared when it becomes empty again), so the fd is
/// level-triggered for select/poll/epoll users.
final class EventQueue: @unchecked Sendable { // state guarded by `monitor`
    private let monitor = Monitor()
    /// Taken events are set to nil at once, so that the queue never keeps a
    /// task alive after its event was handed out (its handle may be freed).
    private var pending: [TaskEvent?] = []
    private var head = 0
    private var enabled = true
    /// -1 if the system gave no eventfd.
    let fd: Int32

    init() { fd = ycs_eventfd_new() }

    deinit { if fd >= 0 { close(fd) } }

    private var isEmpty: Bool { head == pending.count }

    /// Adds `events` at once: one raise of the fd and one wakeup for the
    /// lot, however many there are.
    func post(_ events: [TaskEvent]) {
        guard !events.isEmpty else { return }
        monitor.withLock {
            guard enabled else { return }
            if isEmpty && fd >= 0 { ycs_eventfd_raise(fd) }
            pending.append(contentsOf: events.lazy.map { Optional($0) })
        }
        monitor.broadcast()
    }

    /// Up to `max` events, waiting until `untilMs` (nil: no limit) for one.
    func take(max: Int, untilMs: Int64?) -> [TaskEvent] {
        monitor.withLock {
            while isEmpty {
                if !enabled { return [] }
                if let untilMs, Clock.nowMs() >= untilMs { return [] }
                monitor.wait(untilMs: untilMs)
            }
            let n = min(max, pending.count - head)
            var taken: [TaskEvent] = []
            taken.reserveCapacity(n)
            for i in head..<(head + n) {
                if let event = pending[i] { taken.append(event) }
                pending[i] = nil
            }
            head += n
            compact()
            return taken
        }
    }

    /// Drops the events of `task` (its handle was freed).
    func drop(_ task: BackgroundTask) {
        monitor.withLock {
            guard !isEmpty else { return }
            pending = pending[head...].filter { $0?.task !== task }
            head = 0
            compact()
        }
    }

    /// No more events (the client's handle was freed): drops what is pending.
    func disable() {
        monitor.withLock {
            enabled = false
            pending = []
            head = 0
            compact()
        }
        monitor.broadcast()
    }

    private func compact() {
        if isEmpty {
            pending.removeAll(keepingCapacity: pending.count <= 1024)
            head = 0
            if fd >= 0 { ycs_eventfd_clear(fd) }
        } else if head > 1024 && head * 2 > pending.count {
            pending.removeFirst(head)
            head = 0
        }
    }
}
