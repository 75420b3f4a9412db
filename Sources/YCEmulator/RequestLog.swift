// The last API requests, for tests that want to see what a client really sent.

struct RecordedRequest: Sendable {
    /// Bodies are kept up to this size, so a thousand recorded requests stay small.
    static let maxBodyBytes = 256 << 10

    var method: String
    var target: String
    var headers: [(String, String)]
    var body: String
    var fault: String? = nil
    var status: Int? = nil
    var wireProtocol: WireProtocol

    init(_ request: HTTPRequest) {
        method = request.method.rawValue
        wireProtocol = request.wireProtocol
        target = request.target
        // Lower-case names; a repeated header's values are joined as HTTP allows.
        var merged: [(String, String)] = []
        var positions: [String: Int] = [:]
        for (name, value) in request.headers {
            let key = name.lowercased()
            if let i = positions[key] {
                merged[i].1 += ", " + value
            } else {
                positions[key] = merged.count
                merged.append((key, value))
            }
        }
        headers = merged
        body = String(decoding: request.body.prefix(RecordedRequest.maxBodyBytes), as: UTF8.self)
    }

    var json: JSON {
        ["method": .string(method), "path": .string(target),
         "headers": .object(JSONObject(headers.map { ($0.0, JSON.string($0.1)) })),
         "body": .string(body), "fault": JSON(fault), "status": JSON(status),
         "protocol": .string(wireProtocol.rawValue)]
    }
}

/// A ring of the last `capacity` recorded requests, addressed by sequence number so an answer
/// sent later (a delayed one) can still fill in its status.
struct RequestLog {
    static let capacity = 1000

    private var entries: [RecordedRequest] = []
    private var start = 0  // index of the oldest entry once the ring is full
    private var nextSequence: UInt64 = 0

    mutating func append(_ request: RecordedRequest) -> UInt64 {
        if entries.count < RequestLog.capacity {
            entries.append(request)
        } else {
            entries[start] = request
            start = (start + 1) % entries.count
        }
        nextSequence += 1
        return nextSequence - 1
    }

    mutating func setStatus(_ status: Int, sequence: UInt64) {
        guard let i = index(of: sequence) else { return }
        entries[i].status = status
    }

    /// The last `limit` entries, oldest first.
    func last(_ limit: Int) -> [RecordedRequest] {
        let n = min(limit, entries.count)
        return (entries.count - n..<entries.count).map { entries[(start + $0) % entries.count] }
    }

    mutating func removeAll() {
        entries = []
        start = 0
    }

    private func index(of sequence: UInt64) -> Int? {
        let oldest = nextSequence - UInt64(entries.count)
        guard sequence >= oldest, sequence < nextSequence else { return nil }
        return (start + Int(sequence - oldest)) % entries.count
    }
}
