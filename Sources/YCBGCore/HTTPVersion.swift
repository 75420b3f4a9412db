import CCurl

/// The config's http_version.
public enum HTTPVersion: String, Sendable {
    /// HTTP/2 over TLS (ALPN), HTTP/1.1 over plain http.
    case auto
    case http1_1 = "1.1"
    /// HTTP/2 always; over plain http with prior knowledge (h2c).
    case http2 = "2"
}

/// The protocol options every transfer of a client gets.
struct ProtocolOptions: Sendable {
    /// A connection idle longer than this is not reused: below the idle
    /// timeout of common servers and proxies (60 s and more), so a reused
    /// connection is rarely one the server is closing at that moment.
    static let maxIdleSeconds = 30

    var curlHTTPVersion = Int(CURL_HTTP_VERSION_1_1)
    /// Wait for a connection that may multiplex instead of opening another.
    var pipeWait = false

    init() {}

    init(_ version: HTTPVersion) {
        switch version {
        case .auto: curlHTTPVersion = Int(CURL_HTTP_VERSION_2TLS); pipeWait = true
        case .http1_1: curlHTTPVersion = Int(CURL_HTTP_VERSION_1_1)
        case .http2: curlHTTPVersion = Int(CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE); pipeWait = true
        }
    }
}
