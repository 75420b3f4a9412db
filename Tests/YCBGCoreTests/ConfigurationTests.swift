import Testing
@testable import YCBGCore

@Suite struct ConfigurationTests {
    let noEnv: Configuration.Environment = { _ in nil }

    func configError(_ json: String?, env: @escaping Configuration.Environment = { _ in nil }) -> YCError? {
        do throws(YCError) { _ = try Configuration.parse(json, environment: env); return nil } catch { return error }
    }

    @Test func defaults() throws {
        let c = try Configuration.parse(#"{"api_key": "k"}"#, environment: noEnv)
        #expect(c.baseURL == "https://ai.api.cloud.yandex.net/v1")
        #expect(c.timeoutMs == 600_000)
        #expect(c.connectTimeoutMs == 5_000)
        #expect(c.maxRetries == 2)
        #expect(c.pollIntervalMs == 500)
        #expect(c.maxPollIntervalMs == 5_000)
        #expect(c.maxResponseBytes == 64 * 1024 * 1024)
        #expect(c.userAgent == "ycbg/\(Version.string)")
        #expect(c.dataLogging == nil)
        #expect(c.folderID == nil)
        #expect(c.credential.authorizationHeader == "Api-Key k")
    }

    @Test func environmentFallbackAndPrecedence() throws {
        let env: Configuration.Environment = { name in
            ["YC_API_KEY": "env-key", "YC_FOLDER_ID": "env-folder", "YC_BASE_URL": "http://localhost:8080/v1/"][name]
        }
        let fromEnv = try Configuration.parse(nil as String?, environment: env)
        #expect(fromEnv.credential.authorizationHeader == "Api-Key env-key")
        #expect(fromEnv.folderID == "env-folder")
        #expect(fromEnv.baseURL == "http://localhost:8080/v1")
        let explicit = try Configuration.parse(#"{"iam_token": "t", "folder_id": "f"}"#, environment: env)
        #expect(explicit.credential.authorizationHeader == "Bearer t")
        #expect(explicit.folderID == "f")
    }

    @Test func credentialRules() {
        #expect(configError(#"{"api_key": "a", "iam_token": "b"}"#)?.kind == .config)
        #expect(configError("{}")?.message.contains("no credentials") == true)
        let both: Configuration.Environment = { ["YC_API_KEY": "a", "YC_IAM_TOKEN": "b"][$0] }
        #expect(configError(nil, env: both)?.kind == .config)
        #expect(configError(#"{"api_key": ""}"#)?.kind == .config)
        #expect(configError("{\"api_key\": \"a\\nb\"}")?.kind == .config)
    }

    @Test func unknownKeysAndWrongTypes() {
        let unknown = configError(#"{"api_key": "k", "timeout": 5}"#)
        #expect(unknown?.kind == .config)
        #expect(unknown?.message.contains("'timeout'") == true)
        for (key, bad) in [("timeout_ms", "\"5\""), ("connect_timeout_ms", "1.5"), ("max_retries", "true"),
                           ("poll_interval_ms", "null_"), ("data_logging", "\"no\""), ("headers", "[]"),
                           ("base_url", "5"), ("allow_insecure_http", "1"), ("max_response_bytes", "-1"),
                           ("user_agent", "{}"), ("ca_file", "false")] where bad != "null_" {
            let e = configError("{\"api_key\": \"k\", \"\(key)\": \(bad)}")
            #expect(e?.kind == .config, "\(key)")
            #expect(e?.message.contains(key) == true, "\(key): \(e?.message ?? "")")
        }
        #expect(configError(#"{"api_key": "k", "headers": {"X-A": 1}}"#)?.message.contains("headers.X-A") == true)
        #expect(configError(#"{"api_key": "k", "headers": {"Authorization": "x"}}"#)?.kind == .config)
        #expect(configError(#"{"api_key": "k", "poll_interval_ms": 900, "max_poll_interval_ms": 100}"#)?.kind == .config)
        #expect(configError("[1]")?.kind == .invalidArgument)
        #expect(configError("{nope")?.kind == .invalidJSON)
    }

    @Test func configErrorsNeverQuoteTheCredential() {
        let e = configError(#"{"api_key": "sk-very-secret", "base_url": "ftp://sk-very-secret/v1"}"#)
        #expect(e?.kind == .config)
        #expect(e?.message.contains("sk-very-secret") == false)
        #expect(e?.message.contains("[REDACTED]") == true)
        let fromEnv = configError(#"{"base_url": "env-secret-1"}"#, env: { $0 == "YC_API_KEY" ? "env-secret-1" : nil })
        #expect(fromEnv?.message.contains("env-secret-1") == false)
    }

    @Test func parseErrorsDoNotQuoteTheConfig() {
        let e = configError("{\"api_key\": \"secret-key-12\n\"}")
        #expect(e?.kind == .invalidJSON)
        #expect(e?.message.contains("secret") == false, "\(e?.message ?? "")")
        #expect(e?.message.contains("line 1") == true)
    }

    @Test func invalidUTF8IsInvalidJSON() {
        let bytes: [UInt8] = Array(#"{"api_key": "k", "folder_id": ""#.utf8) + [0xff, 0xfe, 0x22, 0x7d] // "}
        do throws(YCError) {
            _ = try Configuration.parse(bytes, environment: { _ in nil })
            Issue.record("accepted invalid UTF-8")
        } catch {
            #expect(error.kind == .invalidJSON)
        }
    }

    @Test func plainHTTPOnlyToLoopback() throws {
        for url in ["http://127.0.0.1:9/v1", "http://localhost/v1", "http://[::1]:80/v1", "http://127.1.2.3/v1",
                    "https://example.com/v1"] {
            #expect(configError("{\"api_key\": \"k\", \"base_url\": \"\(url)\"}") == nil, "\(url)")
        }
        for url in ["http://example.com/v1", "http://10.0.0.1/v1", "http://127.0.0.1.evil.com/v1", "http://[::2]/v1"] {
            let e = configError("{\"api_key\": \"k\", \"base_url\": \"\(url)\"}")
            #expect(e?.kind == .config, "\(url)")
            #expect(e?.message.contains("base_url") == true)
        }
        #expect(configError(#"{"api_key": "k", "base_url": "http://example.com/v1", "allow_insecure_http": true}"#) == nil)
        for url in ["ftp://x/v1", "example.com", "https://user:pw@example.com/v1", "https:///v1"] {
            #expect(configError("{\"api_key\": \"k\", \"base_url\": \"\(url)\"}")?.kind == .config, "\(url)")
        }
    }
}
