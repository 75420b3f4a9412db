// Command-line options (see docs/emulator.md, "Command line").

/// The tunable part of the emulator, changeable at run time through /_emulator/settings.
struct Settings: Sendable, Equatable {
    var queueMs: Int = 500
    var workMs: Int = 1500
    var pollAfterMs: Int? = nil
    var outputText: Bool = true
    /// Simulated round trip: every API answer waits this long after its request.
    var rttMs: Int = 0
    /// The extra wait of a new connection's first API answer (a TCP + TLS handshake); nil: `rttMs`.
    var connectMs: Int? = nil
    /// Requests per second per kind (nil: no limit), and the bucket size shared by the kinds.
    var quotaCreateRps: Double? = nil
    var quotaPollRps: Double? = nil
    var quotaCancelRps: Double? = nil
    var quotaBurst: Int? = nil

    var handshakeMs: Int { connectMs ?? rttMs }

    /// The quota of requests of `kind`, if it has one.
    func quota(_ kind: RouteKind) -> QuotaLimit? {
        let rps: Double?
        switch kind {
        case .create: rps = quotaCreateRps
        case .retrieve: rps = quotaPollRps
        case .cancel: rps = quotaCancelRps
        case .delete, .other: rps = nil
        }
        return rps.map { QuotaLimit(rps: $0, burst: quotaBurst) }
    }

    var json: JSON {
        ["queue_ms": JSON(queueMs), "work_ms": JSON(workMs),
         "poll_after_ms": JSON(pollAfterMs), "output_text": .bool(outputText),
         "rtt_ms": JSON(rttMs), "connect_ms": JSON(handshakeMs),
         "quota_create_rps": Settings.rateJSON(quotaCreateRps),
         "quota_poll_rps": Settings.rateJSON(quotaPollRps),
         "quota_cancel_rps": Settings.rateJSON(quotaCancelRps),
         "quota_burst": JSON(quotaBurst)]
    }

    /// A whole rate as a JSON integer (10, not 10.0).
    private static func rateJSON(_ rate: Double?) -> JSON {
        guard let rate else { return .null }
        return rate == rate.rounded() ? JSON(Int(rate)) : .double(rate)
    }

    static let maxRps = 1_000_000.0
    static let maxBurst = 1_000_000
}

struct Options: Sendable {
    var host = "127.0.0.1"
    var port = 0
    var portFile: String? = nil
    var apiKey = "test-key"
    var iamToken = "test-iam-token"
    var settings = Settings()
    var exitOnStdinEOF = false
    /// PEM files: with both, the emulator serves HTTPS (HTTP/2 or HTTP/1.1 by ALPN) instead of plain HTTP.
    var tlsCert: String? = nil
    var tlsKey: String? = nil
    /// HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS announced to each client.
    var h2MaxStreams = 1000

    var scheme: String { tlsCert == nil ? "http" : "https" }

    static let usage = """
        usage: yc-emulator [--host 127.0.0.1] [--port 0] [--port-file PATH]
                           [--api-key test-key] [--iam-token test-iam-token]
                           [--queue-ms 500] [--work-ms 1500] [--poll-after-ms N]
                           [--no-output-text] [--exit-on-stdin-eof]
                           [--rtt-ms N] [--connect-ms N] [--h2-max-streams 1000]
                           [--quota-create-rps R] [--quota-poll-rps R] [--quota-cancel-rps R]
                           [--quota-burst N]
                           [--tls-cert PATH --tls-key PATH]   (HTTPS: h2 and http/1.1 by ALPN)
        """

    struct UsageError: Error { let message: String }

    /// Parses `arguments` (without the program name). Accepts `--flag value` and `--flag=value`.
    static func parse(_ arguments: [String]) throws(UsageError) -> Options {
        var options = Options()
        var rest = arguments[...]
        while let raw = rest.popFirst() {
            var name = raw
            var inlineValue: String? = nil
            if raw.hasPrefix("--"), let eq = raw.firstIndex(of: "=") {
                name = String(raw[..<eq])
                inlineValue = String(raw[raw.index(after: eq)...])
            }
            func value() throws(UsageError) -> String {
                if let inlineValue { return inlineValue }
                guard let next = rest.popFirst() else { throw UsageError(message: "\(name) needs a value") }
                return next
            }
            func count(max: Int = Int(Int32.max)) throws(UsageError) -> Int {
                let text = try value()
                guard let n = Int(text), n >= 0, n <= max else {
                    throw UsageError(message: "\(name) needs a non-negative integer, got '\(text)'")
                }
                return n
            }
            func rate() throws(UsageError) -> Double {
                let text = try value()
                guard let r = Double(text), r > 0, r <= Settings.maxRps else {
                    throw UsageError(message: "\(name) needs a rate above 0 and at most 1000000, got '\(text)'")
                }
                return r
            }
            func flag() throws(UsageError) {
                if inlineValue != nil { throw UsageError(message: "\(name) takes no value") }
            }
            switch name {
            case "--host": options.host = try value()
            case "--port": options.port = try count(max: 65535)
            case "--port-file": options.portFile = try value()
            case "--api-key": options.apiKey = try value()
            case "--iam-token": options.iamToken = try value()
            case "--queue-ms": options.settings.queueMs = try count()
            case "--work-ms": options.settings.workMs = try count()
            case "--poll-after-ms": options.settings.pollAfterMs = try count()
            case "--no-output-text": try flag(); options.settings.outputText = false
            case "--exit-on-stdin-eof": try flag(); options.exitOnStdinEOF = true
            case "--rtt-ms": options.settings.rttMs = try count(max: Directives.maxDurationMs)
            case "--connect-ms": options.settings.connectMs = try count(max: Directives.maxDurationMs)
            case "--h2-max-streams": options.h2MaxStreams = try count()
            case "--quota-create-rps": options.settings.quotaCreateRps = try rate()
            case "--quota-poll-rps": options.settings.quotaPollRps = try rate()
            case "--quota-cancel-rps": options.settings.quotaCancelRps = try rate()
            case "--quota-burst":
                let n = try count(max: Settings.maxBurst)
                guard n >= 1 else { throw UsageError(message: "--quota-burst needs at least 1") }
                options.settings.quotaBurst = n
            case "--tls-cert": options.tlsCert = try value()
            case "--tls-key": options.tlsKey = try value()
            case "-h", "--help": throw UsageError(message: "")
            default: throw UsageError(message: "unknown argument '\(raw)'")
            }
        }
        if (options.tlsCert == nil) != (options.tlsKey == nil) {
            throw UsageError(message: "--tls-cert and --tls-key go together")
        }
        return options
    }
}
