import YCBGCore

/// `config`: the input is config_json (with `@KEY@` replaced by the planted
/// secret), parsed under three environments.
enum ConfigTarget {
    static let name = "config"

    /// Each environment with the credentials it holds.
    static let environments: [(label: String, secrets: [String], env: Configuration.Environment)] = [
        ("empty environment", [], { _ in nil }),
        ("YC_API_KEY + YC_FOLDER_ID + YC_BASE_URL", [Secrets.envAPIKey], { name in
            switch name {
            case "YC_API_KEY": return Secrets.envAPIKey
            case "YC_FOLDER_ID": return "b1gfuzzenvfolder"
            case "YC_BASE_URL": return "https://llm.api.cloud.yandex.net/v1"
            default: return nil
            }
        }),
        ("YC_IAM_TOKEN + YC_API_KEY", [Secrets.envAPIKey, Secrets.envIAMToken], { name in
            switch name {
            case "YC_API_KEY": return Secrets.envAPIKey
            case "YC_IAM_TOKEN": return Secrets.envIAMToken
            default: return nil
            }
        }),
    ]

    static func run(_ input: [UInt8]) {
        let bytes = Secrets.plant(input)
        let doc = try? JSON.parse(bytes, what: "config")
        // The credentials given: the document's api_key / iam_token strings;
        // when the text does not parse, the planted secret wherever the text
        // starts a credential with it (the parser's message could quote a
        // credential it cut short). Other text the caller wrote that merely
        // resembles a credential (a key name, a URL) is the caller's own.
        var given: [String] = []
        if let s = doc?["api_key"]?.stringValue { given.append(s) }
        if let s = doc?["iam_token"]?.stringValue { given.append(s) }
        if doc == nil && plantsCredential(input) { given.append(Secrets.planted) }

        for (label, envSecrets, env) in environments {
            let context = "Configuration.parse (\(label))"
            do throws(YCError) {
                let c = try Configuration.parse(bytes, environment: env)
                checkSuccess(c, doc: doc, context: context)
            } catch {
                checkError(error, target: name, allowed: [.invalidJSON, .invalidArgument, .config],
                           redactor: nil, secrets: given + envSecrets, context: context)
                if doc == nil && error.kind != .invalidJSON {
                    violated(name, "\(context): text that is not JSON gave a '\(error.kind.rawValue)' error")
                }
                if doc != nil && error.kind == .invalidJSON {
                    violated(name, "\(context): valid JSON gave invalid_json: \(excerpt(error.message))")
                }
            }
        }
    }

    /// Whether the raw input writes `"api_key"` or `"iam_token"`, a colon and
    /// a string that starts with the marker: that string is a credential.
    static func plantsCredential(_ input: [UInt8]) -> Bool {
        for key in ["\"api_key\"", "\"iam_token\""] {
            for start in occurrences(of: Array(key.utf8), in: input) {
                var i = start + key.utf8.count
                func skipSpace() { while i < input.count, [0x20, 0x09, 0x0a, 0x0d].contains(input[i]) { i += 1 } }
                skipSpace()
                guard i < input.count, input[i] == UInt8(ascii: ":") else { continue }
                i += 1
                skipSpace()
                guard i < input.count, input[i] == UInt8(ascii: "\"") else { continue }
                i += 1
                if i + Secrets.marker.count <= input.count, Array(input[i..<i + Secrets.marker.count]) == Secrets.marker {
                    return true
                }
            }
        }
        return false
    }

    static func checkSuccess(_ c: Configuration, doc: JSON?, context: String) {
        if let doc, doc.kind != .object { violated(name, "\(context): a non-object config was accepted") }
        let secret: String
        switch c.credential { case .apiKey(let k), .iamToken(let k): secret = k }
        if secret.isEmpty || !isHeaderSafeText(secret) {
            violated(name, "\(context): accepted an empty or unsafe credential")
        }
        if secret.utf8.count >= Redactor.minimumSecretLength {
            // Masked wherever it stands ("xxx…" inside "x…xy" may match at 0).
            let masked = c.redactor.redact("x\(secret)y")
            if masked.contains(secret) || !masked.contains("[REDACTED]") {
                violated(name, "\(context): the config's redactor does not mask its own credential")
            }
        }
        if let k = doc?["api_key"]?.stringValue {
            guard case .apiKey(let got) = c.credential, got == k else {
                violated(name, "\(context): api_key from the config was not the credential used")
            }
        }
        if let t = doc?["iam_token"]?.stringValue {
            guard case .iamToken(let got) = c.credential, got == t else {
                violated(name, "\(context): iam_token from the config was not the credential used")
            }
        }
        let lower = c.baseURL.lowercased()
        if !(lower.hasPrefix("https://") || lower.hasPrefix("http://")) || c.baseURL.hasSuffix("/")
            || !isHeaderSafeText(c.baseURL) || c.baseURL.contains(" ") {
            violated(name, "\(context): accepted base_url '\(excerpt(c.baseURL))'")
        }
        if lower.hasPrefix("http://") && !c.allowInsecureHTTP {
            let authority = lower.dropFirst(7).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            let loopbackish = authority.hasPrefix("127.") || authority.hasPrefix("localhost") || authority.hasPrefix("[::1]")
                || authority.contains(".localhost")
            if !loopbackish { violated(name, "\(context): plain http to a non-loopback host accepted: \(excerpt(c.baseURL))") }
        }
        if let f = c.folderID, f.isEmpty || !isHeaderSafeText(f) {
            violated(name, "\(context): accepted an empty or unsafe folder_id")
        }
        if !isHeaderSafeText(c.userAgent) { violated(name, "\(context): accepted an unsafe user_agent") }
        let ranges: [(String, Int, ClosedRange<Int>)] = [
            ("timeout_ms", c.timeoutMs, 1...86_400_000), ("connect_timeout_ms", c.connectTimeoutMs, 1...3_600_000),
            ("max_retries", c.maxRetries, 0...100), ("poll_interval_ms", c.pollIntervalMs, 1...3_600_000),
            ("max_poll_interval_ms", c.maxPollIntervalMs, 1...3_600_000),
            ("max_response_bytes", c.maxResponseBytes, 1...(1 << 40)),
        ]
        for (key, value, range) in ranges where !range.contains(value) {
            violated(name, "\(context): \(key) = \(value) accepted outside \(range)")
        }
        if c.pollIntervalMs > c.maxPollIntervalMs { violated(name, "\(context): poll_interval_ms > max_poll_interval_ms") }
        let reserved: Set<String> = ["authorization", "idempotency-key", "x-client-request-id", "content-length", "host"]
        for h in c.headers {
            if h.name.isEmpty || reserved.contains(h.name.lowercased()) || !isHeaderSafeText(h.value)
                || h.name.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7f || $0 == UInt8(ascii: ":") }) {
                violated(name, "\(context): accepted header '\(excerpt(h.name))'")
            }
        }
    }
}
