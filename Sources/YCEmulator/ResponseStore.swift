// Stored responses and their lifecycle. A response's status is not advanced by timers:
// it is computed from the monotonic clock at each request (queued → in_progress → end),
// so no work happens for responses nobody asks about.

enum ResponseStatus: String, Sendable {
    case queued, completed, failed, cancelled, incomplete
    case inProgress = "in_progress"

    var isTerminal: Bool { self != .queued && self != .inProgress }
}

/// Monotonic nanoseconds, for lifecycle arithmetic.
typealias Nanos = UInt64

struct StoredResponse: Sendable {
    let id: String
    /// Unix time of creation, in seconds (fractional, for completed_at arithmetic).
    let createdUnix: Double
    let createdNanos: Nanos
    let queueMs: Int
    let workMs: Int
    let background: Bool
    /// The create body as sent: the settings a Response object echoes.
    let request: JSONObject
    let generation: Generation
    let omitOutputText: Bool
    let idempotencyKey: String?
    private(set) var cancelledAt: Nanos? = nil

    init(id: String, createdUnix: Double, createdNanos: Nanos, queueMs: Int, workMs: Int, background: Bool,
         request: JSONObject, generation: Generation, omitOutputText: Bool, idempotencyKey: String?) {
        self.id = id
        self.createdUnix = createdUnix
        self.createdNanos = createdNanos
        self.queueMs = queueMs
        self.workMs = workMs
        self.background = background
        self.request = request
        self.generation = generation
        self.omitOutputText = omitOutputText
        self.idempotencyKey = idempotencyKey
    }

    var createdAt: Int { Int(createdUnix) }
    /// When the work ends, in Unix seconds.
    var endsAt: Int { Int(createdUnix + Double(queueMs + workMs) / 1000) }

    func status(at now: Nanos) -> ResponseStatus {
        if cancelledAt != nil { return .cancelled }
        let elapsedMs = (now &- createdNanos) / 1_000_000
        if elapsedMs < UInt64(queueMs) { return .queued }
        if elapsedMs < UInt64(queueMs + workMs) { return .inProgress }
        switch generation.end {
        case .completed: return .completed
        case .failed: return .failed
        case .incomplete: return .incomplete
        }
    }

    /// Cancels a non-terminal response; a terminal one stays as it is.
    mutating func cancel(at now: Nanos) {
        if !status(at: now).isTerminal { cancelledAt = now }
    }
}

/// All responses by id, plus the Idempotency-Key index. Not thread-safe by itself:
/// EmulatorState owns it behind its lock.
struct ResponseStore {
    private var byID: [String: StoredResponse] = [:]
    private var byIdempotencyKey: [String: String] = [:]

    var count: Int { byID.count }

    subscript(id: String) -> StoredResponse? { byID[id] }

    func existing(idempotencyKey key: String) -> StoredResponse? {
        byIdempotencyKey[key].flatMap { byID[$0] }
    }

    mutating func insert(_ response: StoredResponse) {
        byID[response.id] = response
        if let key = response.idempotencyKey { byIdempotencyKey[key] = response.id }
    }

    mutating func cancel(id: String, at now: Nanos) -> StoredResponse? {
        byID[id]?.cancel(at: now)
        return byID[id]
    }

    mutating func delete(id: String) -> Bool {
        guard let removed = byID.removeValue(forKey: id) else { return false }
        if let key = removed.idempotencyKey { byIdempotencyKey[key] = nil }
        return true
    }

    mutating func removeAll() {
        byID = [:]
        byIdempotencyKey = [:]
    }
}
