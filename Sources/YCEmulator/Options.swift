// Command-line options (see docs/emulator.md, "Command line").

/// The tunable part of the emulator, changeable at run time through /_emulator/settings.
struct Settings: Sendable, Equatable {
    var queueMs: Int = 500
    var workMs: Int = 1500
    var pollAfterMs: Int? = nil
    var outputText: Bool = true

    var json: JSON {
        ["queue_ms": JSON(queueMs), "work_ms": JSON(workMs),
         "poll_after_ms": JSON(pollAfterMs), "output_text": .bool(outputText)]
    }
}

struct Options: Sendable {
    var host = "127.0.0.1"
    var port = 0
    var portFile: String? = nil
    var apiKey = "test-key"
    var iamToken = "test-iam-token"
    var settings = Settings()
    var exitOnStdinEOF = false
    /// PEM files: with both, the emulator serves HTTPS (HTTP/1.1 over TLS) instead of plain HTTP.
    var tlsCert: String? = nil
    var tlsKey: String? = nil

    var scheme: String { tlsCert == nil ? "http" : "https" }

    static let usage = """
        usage: yc-emulator [--host 127.0.0.1] [--port 0] [--port-file PATH]
                           [--api-key test-key] [--iam-token test-iam-token]
                           [--queue-ms 500] [--work-ms 1500] [--poll-after-ms N]
                           [--no-output-text] [--exit-on-stdin-eof]
                           [--tls-cert PATH --tls-key PATH]
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
