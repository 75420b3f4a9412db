import ArgumentParser
import YCBGCore

/// The library's configuration, from flags, a config file and the same
/// environment variables as the library (YC_API_KEY, YC_IAM_TOKEN,
/// YC_FOLDER_ID, YC_BASE_URL). Credentials never come from flags: a command
/// line is visible to every user of the machine.
struct ClientOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: ArgumentHelp(
        "A JSON file of library configuration keys (the table in include/ycbg.h); flags override it.",
        valueName: "file"))
    var configFile: String?

    @Option(help: ArgumentHelp("The API's base URL (default: $YC_BASE_URL, else the Yandex Cloud endpoint).", valueName: "url"))
    var baseURL: String?

    @Option(help: ArgumentHelp("The folder id (default: $YC_FOLDER_ID).", valueName: "id"))
    var folderID: String?

    @Option(help: ArgumentHelp("CA bundle to verify the server with.", valueName: "file"))
    var caFile: String?

    @Option(help: ArgumentHelp("auto, 1.1 or 2.", valueName: "version"))
    var httpVersion: String?

    @Flag(help: "Allow plain http:// to a non-loopback host (the credential travels unencrypted).")
    var allowInsecureHTTP = false

    @Flag(help: "The server honours Idempotency-Key: a create whose answer was lost is resent with the same key.")
    var trustIdempotencyKey = false

    @Option(help: ArgumentHelp("Requests in flight at once.", valueName: "n"))
    var maxInFlight: Int?

    @Option(help: ArgumentHelp("Creates per second at most (0: no limit).", valueName: "rate"))
    var createsPerSecond: Double?

    @Option(help: ArgumentHelp("Polls per second at most (0: no limit).", valueName: "rate"))
    var pollsPerSecond: Double?

    @Option(help: ArgumentHelp("First poll interval, in milliseconds.", valueName: "ms"))
    var pollIntervalMs: Int?

    /// Rates must be numbers JSON can carry (NaN and infinity would reach
    /// the library as null, i.e. no limit); the library checks the ranges.
    func validate() throws {
        for (flag, rate) in [("--creates-per-second", createsPerSecond), ("--polls-per-second", pollsPerSecond)] {
            if let rate, !rate.isFinite { throw ValidationError("\(flag) must be a finite number (0: no limit)") }
        }
    }

    /// The config document: the file's keys, then the flags' on top.
    func configJSON() throws -> JSON {
        let doc: JSON
        if let configFile {
            let bytes = try readFile(configFile, what: "--config")
            do {
                doc = try JSON.parse(bytes, what: "--config \(configFile)")
            } catch {
                throw CLIFailure(.usage, Configuration.candidateRedactor(bytes).redact(error.message))
            }
            guard doc.kind == .object else { throw CLIFailure(.usage, "--config \(configFile): not a JSON object") }
        } else {
            doc = JSON.object()
        }
        if let baseURL { doc.set("base_url", .string(baseURL)) }
        if let folderID { doc.set("folder_id", .string(folderID)) }
        if let caFile { doc.set("ca_file", .string(caFile)) }
        if let httpVersion { doc.set("http_version", .string(httpVersion)) }
        if allowInsecureHTTP { doc.set("allow_insecure_http", .bool(true)) }
        if trustIdempotencyKey { doc.set("trust_idempotency_key", .bool(true)) }
        if let maxInFlight { doc.set("max_in_flight", .integer(maxInFlight)) }
        if let createsPerSecond { doc.set("max_creates_per_second", .number(createsPerSecond)) }
        if let pollsPerSecond { doc.set("max_polls_per_second", .number(pollsPerSecond)) }
        if let pollIntervalMs { doc.set("poll_interval_ms", .integer(pollIntervalMs)) }
        return doc
    }

    /// A client, or a usage failure naming the bad key (credentials masked).
    func makeClient() throws -> Client {
        let config = try configJSON()
        do {
            return try Client(configJSON: config.serialized())
        } catch {
            throw CLIFailure(ExitStatus(error: error), CLIFailure.describe(error))
        }
    }
}

/// The model when a command or a batch line names none; the library expands
/// a short name to gpt://<folder_id>/… .
let defaultModel = "yandexgpt/latest"
