// The state every connection shares: settings, responses, faults, counters and the request log,
// all behind one lock. Work that can be slow (generating text, rendering JSON) is done by callers
// outside the lock on values copied out of it.

import Foundation
import NIOCore
import Synchronization

final class EmulatorState: Sendable {
    let defaults: Settings
    let credentials: Set<String>

    private struct Inner {
        var settings: Settings
        var store = ResponseStore()
        var faults = FaultList()
        var log = RequestLog()
        var connections = 0  // accepted since the last reset
        var requests: [RouteKind: Int] = [:]
        var responsesCreated = 0
        var faultsApplied = 0
        var quotas = QuotaBuckets()
        var requestsByProtocol: [WireProtocol: Int] = [:]
        var h2Connections = 0
        var h2Streams = 0
    }

    private let inner: Mutex<Inner>
    /// Live, so never reset.
    private let openConnections = Mutex(0)

    init(settings: Settings, credentials: Set<String>) {
        defaults = settings
        self.credentials = credentials
        inner = Mutex(Inner(settings: settings))
    }

    static func now() -> Nanos { NIODeadline.now().uptimeNanoseconds }

    // MARK: settings

    var settings: Settings { inner.withLock { $0.settings } }

    /// Changes the settings; new quota limits start with full buckets.
    func updateSettings(_ change: (inout Settings) -> Void) -> Settings {
        inner.withLock { s in
            change(&s.settings)
            s.quotas.refill()
            return s.settings
        }
    }

    // MARK: connections

    func connectionOpened() {
        inner.withLock { $0.connections += 1 }
        openConnections.withLock { $0 += 1 }
    }

    func connectionClosed() { openConnections.withLock { $0 -= 1 } }

    /// A connection turned out to speak HTTP/2.
    func h2ConnectionStarted() { inner.withLock { $0.h2Connections += 1 } }

    /// A client opened an HTTP/2 stream.
    func h2StreamOpened() { inner.withLock { $0.h2Streams += 1 } }

    // MARK: API requests

    /// Counts an API request, picks the fault that applies to it and records it.
    /// Returns the fault, the log sequence number for the status sent later, and the settings in force.
    func begin(_ route: RouteKind, record: RecordedRequest) -> (fault: Fault?, sequence: UInt64, settings: Settings) {
        inner.withLock { s in
            s.requests[route, default: 0] += 1
            s.requestsByProtocol[record.wireProtocol, default: 0] += 1
            let fault = s.faults.take(for: route) { Double.random(in: 0..<1) }
            if fault != nil { s.faultsApplied += 1 }
            var record = record
            record.fault = fault?.kind.rawValue
            return (fault, s.log.append(record), s.settings)
        }
    }

    /// The 429 for a request of `route` beyond its quota, or nil when it may go on (a token taken).
    func admit(_ route: RouteKind) -> HTTPAnswer? {
        let refusal: (rps: Double, retryAfterMs: Int)? = inner.withLock { s in
            guard let limit = s.settings.quota(route) else { return nil }
            return s.quotas.take(route, limit: limit, now: EmulatorState.now()).map { (rps: limit.rps, retryAfterMs: $0) }
        }
        return refusal.map { APIError.quotaExceeded(route, rps: $0.rps, retryAfterMs: $0.retryAfterMs) }
    }

    func recordStatus(_ status: Int, sequence: UInt64) {
        inner.withLock { $0.log.setStatus(status, sequence: sequence) }
    }

    // MARK: responses

    /// Stores `response` unless `idempotencyKey` was seen before, in which case the response
    /// created then is returned. `created` tells which happened.
    func create(idempotencyKey: String?, _ response: StoredResponse) -> (response: StoredResponse, created: Bool) {
        inner.withLock { s in
            if let key = idempotencyKey, let existing = s.store.existing(idempotencyKey: key) {
                return (existing, false)
            }
            s.store.insert(response)
            s.responsesCreated += 1
            return (response, true)
        }
    }

    func existingResponse(idempotencyKey key: String) -> StoredResponse? {
        inner.withLock { $0.store.existing(idempotencyKey: key) }
    }

    func response(id: String) -> StoredResponse? { inner.withLock { $0.store[id] } }

    func cancel(id: String, at now: Nanos) -> StoredResponse? {
        inner.withLock { $0.store.cancel(id: id, at: now) }
    }

    func delete(id: String) -> Bool { inner.withLock { $0.store.delete(id: id) } }

    // MARK: control

    func addFaults(_ faults: [Fault]) -> Int {
        inner.withLock { $0.faults.add(faults); return $0.faults.count }
    }

    func clearFaults() { inner.withLock { $0.faults.removeAll() } }

    /// Back to the state at start-up (open connections stay open and counted as open).
    func reset() {
        inner.withLock { s in
            var log = s.log  // keeps its sequence numbers, so a late status cannot land on a new entry
            log.removeAll()
            s = Inner(settings: defaults)
            s.log = log
        }
    }

    func statsJSON() -> JSON {
        let open = openConnections.withLock { $0 }
        return inner.withLock { s in
            var requests = JSONObject()
            for kind in RouteKind.allCases { requests[kind.rawValue] = JSON(s.requests[kind, default: 0]) }
            var byProtocol = JSONObject()
            for p in WireProtocol.allCases { byProtocol[p.rawValue] = JSON(s.requestsByProtocol[p, default: 0]) }
            var limited = JSONObject()
            for kind in QuotaBuckets.limitedKinds { limited[kind.rawValue] = JSON(s.quotas.refused[kind, default: 0]) }
            return ["connections": JSON(s.connections), "open_connections": JSON(open),
                    "requests": .object(requests), "responses": JSON(s.responsesCreated),
                    "faults_applied": JSON(s.faultsApplied),
                    "requests_by_protocol": .object(byProtocol),
                    "h2_connections": JSON(s.h2Connections), "h2_streams": JSON(s.h2Streams),
                    "rate_limited": .object(limited)]
        }
    }

    func recentRequests(limit: Int) -> [RecordedRequest] { inner.withLock { $0.log.last(limit) } }
}
