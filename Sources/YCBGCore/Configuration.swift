import Glibc

/// A client's settings: the config JSON, then the environment, then defaults.
public struct Configuration: Sendable {
    public enum Credential: Sendable {
        case apiKey(String)
        case iamToken(String)

        var authorizationHeader: String {
            switch self {
            case .apiKey(let k): return "Api-Key \(k)"
            case .iamToken(let t): return "Bearer \(t)"
            }
        }
        var secret: String {
            switch self { case .apiKey(let s), .iamToken(let s): return s }
        }
    }

    public static let defaultBaseURL = "https://ai.api.cloud.yandex.net/v1"

    public var baseURL = Configuration.defaultBaseURL
    public var credential: Credential
    public var folderID: String?
    public var timeoutMs = 600_000
    public var connectTimeoutMs = 5_000
    public var maxRetries = 2
    public var pollIntervalMs = 500
    public var maxPollIntervalMs = 5_000
    public var dataLogging: Bool?
    public var userAgent = "ycbg/\(Version.string)"
    public var caFile: String?
    public var headers: [(name: String, value: String)] = []
    public var maxResponseBytes = 64 * 1024 * 1024
    public var allowInsecureHTTP = false
    /// The server honours Idempotency-Key, so a create whose answer was lost
    /// may be sent again with the same key (it returns the first job).
    public var trustIdempotencyKey = false
    /// "auto", "1.1" or "2" (see ProtocolOptions).
    public var httpVersion = HTTPVersion.auto
    /// HTTP requests one client runs at once.
    public var maxInFlight = 64
    /// Fixed rates per request kind; 0 is no fixed limit.
    public var maxCreatesPerSecond = 0.0
    public var maxPollsPerSecond = 0.0
    /// A driven task not terminal after this long ends with a timeout error; -1: never.
    public var taskTimeoutMs = -1

    public var redactor: Redactor { Redactor(secrets: [credential.secret]) }

    public typealias Environment = @Sendable (String) -> String?

    public static let processEnvironment: Environment = { name in
        guard let v = getenv(name) else { return nil }
        let s = String(cString: v)
        return s.isEmpty ? nil : s
    }

    /// Parses `json` (nil: no keys) and fills the rest from `environment`.
    /// Errors are `invalid_json`, `invalid_argument` or `config`, naming the key.
    public static func parse(_ json: String?, environment: Environment = processEnvironment) throws(YCError) -> Configuration {
        try parse(json.map { Array($0.utf8) }, environment: environment)
    }

    /// Config errors may quote values (a base_url, say): any credential the
    /// config or the environment holds is masked in them.
    public static func parse(_ json: [UInt8]?, environment: Environment = processEnvironment) throws(YCError) -> Configuration {
        do throws(YCError) {
            return try parseUnredacted(json, environment: environment)
        } catch {
            var error = error
            error.message = candidateRedactor(json, environment: environment).redact(withoutQuotedInput(error.message))
            throw error
        }
    }

    /// Masks every credential a config might hold, usable also when the
    /// config does not parse: api_key and iam_token from the JSON, and both
    /// credential variables.
    public static func candidateRedactor(_ json: [UInt8]?, environment: Environment = processEnvironment) -> Redactor {
        let doc = try? json.map { bytes throws(YCError) in try JSON.parse(bytes, what: "config_json") }
        return Redactor(secrets: [doc?["api_key"]?.stringValue, doc?["iam_token"]?.stringValue,
                                  environment("YC_API_KEY"), environment("YC_IAM_TOKEN")])
    }

    /// Jansson's parse errors quote up to 20 bytes "near" the error, which in
    /// a config can be part of a credential too short to be masked: keep only
    /// the reason, line and column.
    private static func withoutQuotedInput(_ message: String) -> String {
        guard let near = message.firstRange(of: " near '"),
              let position = message.ranges(of: "' at line ").last, near.upperBound <= position.lowerBound else {
            return message
        }
        return String(message[..<near.lowerBound]) + String(message[message.index(after: position.lowerBound)...])
    }

    private static func parseUnredacted(_ json: [UInt8]?, environment: Environment) throws(YCError) -> Configuration {
        let doc = try json.map { bytes throws(YCError) in try JSON.parse(bytes, what: "config_json") }
        if let doc, doc.kind != .object {
            throw YCError(.invalidArgument, "config_json must be a JSON object")
        }
        var keys = ConfigKeys(doc)

        let apiKey = try keys.string("api_key")
        let iamToken = try keys.string("iam_token")
        var c = Configuration(credential: .apiKey(""))
        c.baseURL = try keys.string("base_url") ?? environment("YC_BASE_URL") ?? defaultBaseURL
        c.folderID = try keys.string("folder_id") ?? environment("YC_FOLDER_ID")
        c.timeoutMs = try keys.integer(.timeoutMs) ?? c.timeoutMs
        c.connectTimeoutMs = try keys.integer(.connectTimeoutMs) ?? c.connectTimeoutMs
        c.maxRetries = try keys.integer(.maxRetries) ?? c.maxRetries
        c.pollIntervalMs = try keys.integer(.pollIntervalMs) ?? c.pollIntervalMs
        c.maxPollIntervalMs = try keys.integer(.maxPollIntervalMs) ?? max(c.maxPollIntervalMs, c.pollIntervalMs)
        c.dataLogging = try keys.bool("data_logging")
        c.userAgent = try keys.string("user_agent") ?? c.userAgent
        c.caFile = try keys.string("ca_file")
        c.headers = try keys.headers("headers")
        c.maxResponseBytes = try keys.integer(.maxResponseBytes) ?? c.maxResponseBytes
        c.allowInsecureHTTP = try keys.bool("allow_insecure_http") ?? false
        c.trustIdempotencyKey = try keys.bool("trust_idempotency_key") ?? false
        c.httpVersion = try keys.string("http_version").map { v throws(YCError) in
            guard let version = HTTPVersion(rawValue: v) else {
                throw YCError(.config, "config: http_version must be \"auto\", \"1.1\" or \"2\"")
            }
            return version
        } ?? c.httpVersion
        c.maxInFlight = try keys.integer(.maxInFlight) ?? c.maxInFlight
        c.maxCreatesPerSecond = try keys.number("max_creates_per_second", in: 0...1_000_000) ?? c.maxCreatesPerSecond
        c.maxPollsPerSecond = try keys.number("max_polls_per_second", in: 0...1_000_000) ?? c.maxPollsPerSecond
        c.taskTimeoutMs = try keys.integer(.taskTimeoutMs) ?? c.taskTimeoutMs
        try keys.rejectUnknown()
        c.credential = try resolveCredential(apiKey: apiKey, iamToken: iamToken, environment: environment)

        if c.maxPollIntervalMs < c.pollIntervalMs {
            throw YCError(.config, "config: max_poll_interval_ms (\(c.maxPollIntervalMs)) is less than poll_interval_ms (\(c.pollIntervalMs))")
        }
        if let folder = c.folderID, !isHeaderSafe(folder) || folder.isEmpty {
            throw YCError(.config, "config: folder_id is empty or contains control characters")
        }
        if !isHeaderSafe(c.userAgent) { throw YCError(.config, "config: user_agent contains control characters") }
        if let ca = c.caFile { try checkCertificateBundle(ca) }
        try c.validateBaseURL()
        return c
    }

    private static func resolveCredential(apiKey: String?, iamToken: String?,
                                          environment: Environment) throws(YCError) -> Credential {
        let credential: Credential
        switch (apiKey, iamToken) {
        case (.some, .some):
            throw YCError(.config, "config: give either api_key or iam_token, not both")
        case (.some(let k), nil):
            credential = .apiKey(k)
        case (nil, .some(let t)):
            credential = .iamToken(t)
        case (nil, nil):
            switch (environment("YC_API_KEY"), environment("YC_IAM_TOKEN")) {
            case (.some, .some):
                throw YCError(.config, "config: both YC_API_KEY and YC_IAM_TOKEN are set in the environment; set one, or give api_key or iam_token")
            case (.some(let k), nil): credential = .apiKey(k)
            case (nil, .some(let t)): credential = .iamToken(t)
            case (nil, nil):
                throw YCError(.config, "config: no credentials: set api_key or iam_token (or YC_API_KEY / YC_IAM_TOKEN)")
            }
        }
        guard !credential.secret.isEmpty else { throw YCError(.config, "config: the credential (api_key / iam_token) is empty") }
        guard isHeaderSafe(credential.secret) else {
            throw YCError(.config, "config: the credential (api_key / iam_token) contains control characters")
        }
        return credential
    }

    /// ca_file must be a readable file with at least one PEM certificate, so
    /// that a wrong path fails here rather than as a TLS error on every request.
    private static func checkCertificateBundle(_ path: String) throws(YCError) {
        guard let file = fopen(path, "rb") else { throw YCError(.config, "config: ca_file '\(path)' cannot be read") }
        defer { fclose(file) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while contents.count < 64 * 1024 * 1024 {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if n == 0 { break }
            contents += chunk[..<n]
        }
        guard ferror(file) == 0 else { throw YCError(.config, "config: ca_file '\(path)' cannot be read (is it a directory?)") }
        guard contents.firstRange(of: Array("-----BEGIN CERTIFICATE-----".utf8)) != nil else {
            throw YCError(.config, "config: ca_file '\(path)' holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        }
    }

    /// The base URL must be http(s) with a host; plain http carries the
    /// credential only to loopback unless allow_insecure_http says otherwise.
    private mutating func validateBaseURL() throws(YCError) {
        while baseURL.hasSuffix("/") { baseURL.removeLast() }
        if BaseURL.hasUserInfo(baseURL) {
            // Not quoted: the part before '@' is a password.
            throw YCError(.config, "config: base_url must not carry user:password@ credentials; give api_key or iam_token")
        }
        guard let url = BaseURL(baseURL) else {
            throw YCError(.config, "config: base_url '\(baseURL)' is not an http:// or https:// URL with a host")
        }
        if url.scheme == "http" && !url.isLoopback && !allowInsecureHTTP {
            throw YCError(.config, "config: base_url uses plain http:// to '\(url.host)', which would send the credential unencrypted; use https://, a loopback address, or set allow_insecure_http")
        }
    }
}

extension Configuration {
    /// An integer config key and the values it accepts. Every integer key is
    /// read through one of these (`ConfigKeys.integer`), so a value outside
    /// its range, a fraction, an exponent number or a non-number is a
    /// `config` error naming the key and the range, and no later arithmetic
    /// on a config value can overflow. include/ycbg.h documents each range.
    public struct IntegerKey: Sendable {
        public let name: String
        public let range: ClosedRange<Int>

        public init(_ name: String, _ range: ClosedRange<Int>) {
            self.name = name
            self.range = range
        }

        public static let timeoutMs = IntegerKey("timeout_ms", 1...86_400_000)
        public static let connectTimeoutMs = IntegerKey("connect_timeout_ms", 1...3_600_000)
        public static let maxRetries = IntegerKey("max_retries", 0...100)
        public static let pollIntervalMs = IntegerKey("poll_interval_ms", 1...3_600_000)
        public static let maxPollIntervalMs = IntegerKey("max_poll_interval_ms", 1...3_600_000)
        public static let maxResponseBytes = IntegerKey("max_response_bytes", 1...(1 << 40))
        public static let maxInFlight = IntegerKey("max_in_flight", 1...10_000)
        public static let taskTimeoutMs = IntegerKey("task_timeout_ms", -1...(365 * 86_400_000))

        /// The value of `json` for this key, or the `config` error that says
        /// what is allowed.
        public func value(of json: JSON) throws(YCError) -> Int {
            let got: String
            switch json.kind {
            case .integer:
                // json_int_t is 64-bit, so the value itself always fits.
                if let i = json.intValue, range.contains(i) { return i }
                got = json.intValue.map { String($0) } ?? "an integer"
            case .real: got = "a number with a fraction or an exponent"
            case .string: got = "a string"
            case .true, .false: got = "a boolean"
            case .array: got = "an array"
            case .object: got = "an object"
            case .null: got = "null"
            }
            throw YCError(.config, "config: \(name) must be an integer from \(range.lowerBound) to \(range.upperBound), got \(got)")
        }
    }
}

func isHeaderSafe(_ s: String) -> Bool { !s.utf8.contains { $0 < 0x20 && $0 != 0x09 || $0 == 0x7f } }

/// The parts of base_url the library checks.
struct BaseURL {
    let scheme: String
    let host: String

    init?(_ text: String) {
        guard isHeaderSafe(text), !text.contains(" ") else { return nil }
        let lower = text.lowercased()
        if lower.hasPrefix("https://") { scheme = "https" } else if lower.hasPrefix("http://") { scheme = "http" } else { return nil }
        let rest = lower.dropFirst(scheme.count + 3)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        // Userinfo in the URL would be a second, unredacted credential.
        guard !authority.contains("@") else { return nil }
        var host: Substring
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
        } else {
            host = authority.prefix { $0 != ":" }
        }
        guard !host.isEmpty else { return nil }
        if host.hasSuffix(".") { host = host.dropLast() }
        self.host = String(host)
    }

    /// Whether the authority has a "user:password@" part.
    static func hasUserInfo(_ text: String) -> Bool {
        guard let start = text.firstRange(of: "://")?.upperBound else { return false }
        return text[start...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }.contains("@")
    }

    var isLoopback: Bool {
        if host == "localhost" || host.hasSuffix(".localhost") || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { p in UInt8(p) != nil }
    }
}

/// Reads typed keys out of the config object and remembers which were read,
/// so that anything left over is reported as unknown.
private struct ConfigKeys {
    let doc: JSON?
    var seen: Set<String> = []

    init(_ doc: JSON?) { self.doc = doc }

    private mutating func value(_ key: String) -> JSON? {
        seen.insert(key)
        guard let v = doc?[key], !v.isNull else { return nil }
        return v
    }

    mutating func string(_ key: String) throws(YCError) -> String? {
        guard let v = value(key) else { return nil }
        guard let s = v.stringValue else { throw YCError(.config, "config: \(key) must be a string") }
        return s
    }

    mutating func integer(_ key: Configuration.IntegerKey) throws(YCError) -> Int? {
        guard let v = value(key.name) else { return nil }
        return try key.value(of: v)
    }

    mutating func number(_ key: String, in range: ClosedRange<Double>) throws(YCError) -> Double? {
        guard let v = value(key) else { return nil }
        guard let d = v.numberValue else { throw YCError(.config, "config: \(key) must be a number") }
        // A rate is 0 (none) or at least 0.001/s: smaller ones would put the
        // next token centuries away, past what the timers can hold.
        guard range.contains(d), d == 0 || d >= 0.001 else {
            throw YCError(.config, "config: \(key) must be 0 or between 0.001 and \(Int(range.upperBound)), got \(d)")
        }
        return d
    }

    mutating func bool(_ key: String) throws(YCError) -> Bool? {
        guard let v = value(key) else { return nil }
        guard let b = v.boolValue else { throw YCError(.config, "config: \(key) must be true or false") }
        return b
    }

    mutating func headers(_ key: String) throws(YCError) -> [(name: String, value: String)] {
        guard let v = value(key) else { return [] }
        guard v.kind == .object else { throw YCError(.config, "config: \(key) must be an object of string values") }
        var result: [(String, String)] = []
        for (name, value) in v.members {
            guard let s = value.stringValue else {
                throw YCError(.config, "config: \(key).\(name) must be a string")
            }
            let tokenChars = Set("!#$%&'*+-.^_`|~".utf8)
            guard !name.isEmpty, name.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7a) || tokenChars.contains($0) }) else {
                throw YCError(.config, "config: \(key): '\(name)' is not a valid header name")
            }
            guard isHeaderSafe(s) else { throw YCError(.config, "config: \(key).\(name) contains control characters") }
            let reserved = ["authorization", "idempotency-key", "x-client-request-id", "content-length", "host"]
            if reserved.contains(name.lowercased()) {
                throw YCError(.config, "config: \(key).\(name) is set by the library and cannot be overridden")
            }
            result.append((name, s))
        }
        return result
    }

    func rejectUnknown() throws(YCError) {
        guard let doc else { return }
        for (key, _) in doc.members where !seen.contains(key) {
            throw YCError(.config, "config: unknown key '\(key)'")
        }
    }
}
