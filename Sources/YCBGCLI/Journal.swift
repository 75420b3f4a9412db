import YCBGCore

/// A batch's journal: an append-only JSONL file that records, before a
/// create is sent, `{"custom_id", "key"}` (the Idempotency-Key it goes out
/// with), and once the server has answered it, `{"custom_id", "id"}`. With
/// the output (the lines already done) it is the batch's whole state: a run
/// after a crash attaches to every journaled id and never creates a line's
/// job under a second key.
final class Journal {
    /// What the journal knows of one custom_id.
    struct Entry {
        var key: String?
        var id: String?
    }

    private let file: AppendFile

    /// The records of earlier runs (a torn last record is cut off).
    static func load(_ path: String) throws -> [String: Entry] {
        var entries: [String: Entry] = [:]
        try readJSONLines(path, what: "journal", repair: true) { doc in
            guard let customID = doc["custom_id"]?.stringValue else { return }
            if let key = doc["key"]?.stringValue { entries[customID, default: Entry()].key = key }
            if let id = doc["id"]?.stringValue { entries[customID, default: Entry()].id = id }
        }
        return entries
    }

    /// Opens (or creates) the journal and locks it: two runs of one batch at
    /// once would each create the lines the other has not journaled yet.
    init(path: String) throws {
        file = try localFile { try AppendFile(path: path, what: "--journal") }
        guard file.lockExclusively() else {
            throw CLIFailure(.usage, "another ycbg batch is running with the journal \(path); "
                             + "two runs at once would create jobs twice, so wait for it to end")
        }
    }

    var path: String { file.path }

    /// Records the keys of creates about to be sent, durably (one write,
    /// one fsync): no create goes out before its key is on disk.
    func recordKeys(_ keys: [(customID: String, key: String)]) throws {
        guard !keys.isEmpty else { return }
        var text = ""
        for (customID, key) in keys { text += Journal.record(customID, "key", key) }
        try file.append(Array(text.utf8))
        try file.sync()
    }

    /// Records a response id; made durable by the next `sync`.
    func recordIDs(_ ids: [(customID: String, id: String)]) throws {
        guard !ids.isEmpty else { return }
        var text = ""
        for (customID, id) in ids { text += Journal.record(customID, "id", id) }
        try file.append(Array(text.utf8))
    }

    func sync() throws {
        try file.sync()
    }

    private static func record(_ customID: String, _ name: String, _ value: String) -> String {
        let doc = JSON.object()
        doc.set("custom_id", .string(customID))
        doc.set(name, .string(value))
        return doc.serialized() + "\n"
    }
}
