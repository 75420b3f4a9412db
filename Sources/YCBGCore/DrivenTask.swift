import Glibc

/// The engine's record of a task it drives (yc_submit / yc_watch): the
/// create to send, if any, when its next request is due, its tag and its
/// deadline. A few dozen bytes, not a transfer: 10,000 waiting tasks are
/// 10,000 of these in a heap. Touched by the engine's I/O thread only,
/// except for the constants.
final class DrivenTask: TimerItem, @unchecked Sendable { // mutable state: I/O thread only
    let task: BackgroundTask
    let tag: UInt64
    /// The ABI's handle for the task, handed back in its event.
    let token: UInt
    /// The process whose engine drives it (a forked child has its own).
    let pid = getpid()
    /// Strong, set once before the record is shared (a weak reference's side
    /// table shows up as a leak under LeakSanitizer); no cycle lasts, since
    /// the engine drops the record when it finishes or forgets the task.
    var engine: Engine?
    /// task_timeout_ms from the start of the driving.
    let deadlineMs: Int64?

    /// The create's body while the server has not answered it.
    var createBody: [UInt8]?
    /// The same on every resend of this create (the caller's, or a new one).
    let idempotencyKey: String
    /// Called on the I/O thread when the server first answers the create
    /// (the task has its id then); it must be cheap and must not block.
    let onCreated: (@Sendable (_ tag: UInt64, _ id: String) -> Void)?
    /// Resends of the create, and 429s met by it, so far.
    var createRetries = 0
    var createThrottled = 0
    /// Failed polls in a row.
    var pollFailures = 0

    // TimerItem
    var dueMs: Int64 = 0
    var heapIndex = -1

    var inFlight = false
    var finished = false

    init(task: BackgroundTask, tag: UInt64, token: UInt, createBody: [UInt8]?, timeoutMs: Int,
         idempotencyKey: String? = nil, onCreated: (@Sendable (_ tag: UInt64, _ id: String) -> Void)? = nil) {
        self.task = task
        self.idempotencyKey = idempotencyKey ?? RandomUUID.make()
        self.onCreated = onCreated
        self.tag = tag
        self.token = token
        self.createBody = createBody
        self.deadlineMs = timeoutMs >= 0 ? Clock.nowMs().addingSaturated(Int64(timeoutMs)) : nil
    }

    /// Sets the next due time to `at`, or the deadline if that comes first.
    func due(at: Int64) {
        dueMs = deadlineMs.map { min($0, at) } ?? at
    }

    func deadlinePassed(nowMs: Int64) -> Bool {
        deadlineMs.map { nowMs >= $0 } ?? false
    }
}
