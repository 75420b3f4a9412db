import Glibc
import YCBGCore

/// A batch's output: OpenAI Batch output lines, appended as lines finish.
final class BatchOutput {
    private let file: AppendFile

    init(path: String) throws {
        file = try localFile { try AppendFile(path: path, what: "-o") }
    }

    var path: String { file.path }

    /// The custom_ids an earlier run wrote (a torn last line is cut off).
    static func done(_ path: String) throws -> Set<String> {
        var ids = Set<String>()
        try readJSONLines(path, what: "output", repair: true) { doc in
            if let customID = doc["custom_id"]?.stringValue { ids.insert(customID) }
        }
        return ids
    }

    func write(_ line: JSON) throws {
        try file.appendLine(line)
    }

    func sync() throws {
        try file.sync()
    }

    /// `{"id", "custom_id", "response": {"status_code": 200, "request_id":
    /// null, "body": <Response>}, "error": null}`. The request id of the
    /// final poll is not kept by the library, so it is null.
    static func answered(_ customID: String, body: JSON) -> JSON {
        let response = JSON.object()
        response.set("status_code", .integer(200))
        response.set("request_id", .null())
        response.set("body", body)
        return line(customID, response: response, error: .null())
    }

    /// `{"id", "custom_id", "response": null, "error": {"code", "message"}}`.
    static func failed(_ customID: String?, code: String, message: String) -> JSON {
        let error = JSON.object()
        error.set("code", .string(code))
        error.set("message", .string(message))
        return line(customID, response: .null(), error: error)
    }

    private static func line(_ customID: String?, response: JSON, error: JSON) -> JSON {
        let doc = JSON.object()
        doc.set("id", .string("batch_req_" + RandomUUID.make().filter { $0 != "-" }))
        doc.set("custom_id", customID.map { .string($0) } ?? .null())
        doc.set("response", response)
        doc.set("error", error)
        return doc
    }

    /// Writes the errors file anew (a temporary file renamed over it): the
    /// output's error lines, then `extra` (input lines that have no output
    /// line of their own). Returns how many lines it holds; with none, the
    /// file is removed.
    static func writeErrors(_ path: String, from outputPath: String, extra: [JSON]) throws -> Int {
        let temporary = path + ".tmp"
        unlink(temporary)
        var count = 0
        do {
            let file = try AppendFile(path: temporary, what: "--errors")
            try readJSONLines(outputPath, what: "output", repair: false) { doc in
                guard let error = doc["error"], !error.isNull else { return }
                try file.appendLine(doc)
                count += 1
            }
            for doc in extra {
                try file.appendLine(doc)
                count += 1
            }
            try file.sync()
        }
        if count == 0 {
            unlink(temporary)
            unlink(path)
            return 0
        }
        guard rename(temporary, path) == 0 else {
            throw CLIFailure(.localIO, "--errors \(path): \(systemError())")
        }
        return count
    }
}
