import YCBGCore

/// A batch's input: the JSONL lines of one shard, each either a request to
/// run or a line that cannot be run (with its line number and why).
struct BatchInput {
    /// A line to run: its request, checked by the library once already.
    struct Line {
        let number: Int
        let customID: String
        /// The Responses API request (the model filled in when missing).
        let request: [UInt8]
    }

    /// A line that cannot run.
    struct Bad: Error {
        let number: Int
        /// nil: the line has no usable custom_id. A duplicate carries the
        /// repeated id but `duplicate` is set.
        let customID: String?
        let duplicate: Bool
        let code: String
        let message: String

        /// The line has an output line of its own: its custom_id is usable
        /// and seen here first (the output holds each custom_id once).
        var hasOutputLine: Bool { customID != nil && !duplicate }
    }

    var lines: [Line] = []
    var bad: [Bad] = []

    /// Splits and checks `bytes`. Lines whose custom_id is outside `shard`
    /// are left out; lines without a usable custom_id are kept by shard 0.
    init(_ bytes: [UInt8], defaultModel model: String, shard: Shard?, client: Client) {
        var firstLine: [String: Int] = [:]
        var number = 0
        var start = 0
        while start < bytes.count {
            number += 1
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            let text = bytes[start..<end]
            start = end + 1
            guard text.contains(where: { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0D) }) else { continue }
            let result = BatchInput.check(Array(text), number: number, defaultModel: model, client: client)
            let customID: String?
            switch result {
            case .success(let line): customID = line.customID
            case .failure(let bad): customID = bad.customID
            }
            if let shard {
                guard shard.contains(customID) else { continue }
            }
            if let customID, let first = firstLine[customID] {
                bad.append(Bad(number: number, customID: customID, duplicate: true, code: "duplicate_custom_id",
                               message: "line \(number): custom_id '\(customID)' was already used on line \(first)"))
                continue
            }
            if let customID { firstLine[customID] = number }
            switch result {
            case .success(let line): lines.append(line)
            case .failure(let b): bad.append(b)
            }
        }
    }

    /// One line's request, or why it cannot run.
    private static func check(_ text: [UInt8], number: Int, defaultModel model: String,
                              client: Client) -> Result<Line, Bad> {
        func bad(_ customID: String?, _ code: String, _ why: String) -> Result<Line, Bad> {
            .failure(Bad(number: number, customID: customID, duplicate: false, code: code,
                         message: "line \(number): \(why)"))
        }
        let doc: JSON
        do {
            doc = try JSON.parse(text, what: "the line")
        } catch {
            return bad(nil, "invalid_line", client.redactor.redact(error.message))
        }
        guard doc.kind == .object else { return bad(nil, "invalid_line", "not a JSON object") }
        guard let customID = doc["custom_id"]?.stringValue, !customID.isEmpty else {
            return bad(nil, "invalid_line", "no custom_id (a non-empty string)")
        }
        let request: JSON
        if doc["body"] != nil || doc["url"] != nil || doc["method"] != nil {
            // The OpenAI Batch form.
            guard doc["method"]?.stringValue == "POST" else {
                return bad(customID, "invalid_line", "\"method\" must be \"POST\"")
            }
            guard doc["url"]?.stringValue == "/v1/responses" else {
                return bad(customID, "invalid_line", "\"url\" must be \"/v1/responses\"")
            }
            guard let body = doc["body"], body.kind == .object, let copy = body.deepCopy() else {
                return bad(customID, "invalid_line", "\"body\" must be a JSON object (the request)")
            }
            request = copy
        } else {
            // The short form: every other key is the request's.
            guard let copy = doc.deepCopy() else { return bad(customID, "invalid_line", "out of memory") }
            copy.remove("custom_id")
            request = copy
        }
        if request["model"] == nil { request.set("model", .string(model)) }
        let bytes = Array(request.serialized().utf8)
        do {
            _ = try client.prepareSubmit(requestJSON: bytes)
        } catch {
            return bad(customID, error.kind.rawValue, client.redactor.redact(error.message))
        }
        return .success(Line(number: number, customID: customID, request: bytes))
    }
}

/// `--shard K/N`: the lines whose custom_id's FNV-1a 64-bit hash (of its
/// UTF-8 bytes) modulo N is K, with K from 0 to N-1.
struct Shard {
    let index: UInt64
    let count: UInt64

    init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = UInt64(parts[0]), let n = UInt64(parts[1]), n >= 1, k < n else { return nil }
        index = k
        count = n
    }

    /// Lines without a custom_id belong to shard 0, so one shard reports them.
    func contains(_ customID: String?) -> Bool {
        guard let customID else { return index == 0 }
        return Shard.fnv1a64(customID) % count == index
    }

    static func fnv1a64(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}
