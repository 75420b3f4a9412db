/// One HTTP request as the API layer describes it to a transport.
public struct HTTPRequest: Sendable {
    public enum Method: String, Sendable { case get = "GET", post = "POST", delete = "DELETE" }

    public var method: Method
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?
    /// The whole exchange must end within this many milliseconds.
    public var timeoutMs: Int
    public var connectTimeoutMs: Int
    /// The request starts a job (a create): a transport must never resend
    /// it on its own, for example after a reused keep-alive connection died
    /// before any answer, since the server may have read it.
    public var startsJob = false

    public init(method: Method, url: String, headers: [(name: String, value: String)] = [],
                body: [UInt8]? = nil, timeoutMs: Int, connectTimeoutMs: Int) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeoutMs = timeoutMs
        self.connectTimeoutMs = connectTimeoutMs
    }
}

/// A complete HTTP answer (any status).
public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header lines of the final response, names lower-cased.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }

    public var requestID: String? { header("x-request-id") }

    /// Parses a raw "\r\n"-separated header block (status line first).
    public static func parseHeaderBlock(_ raw: String) -> [(name: String, value: String)] {
        var raw = raw
        if let parsed = raw.withUTF8({ parseASCIIHeaderBlock($0) }) { return parsed }
        return parseHeaderBlockSlowly(raw)
    }

    /// The same for a block that is all ASCII (nil otherwise), over bytes:
    /// a line ends at CR, LF or CRLF; empty lines and lines without a colon
    /// are skipped; names are lower-cased; values lose surrounding blanks.
    static func parseASCIIHeaderBlock(_ bytes: UnsafeBufferPointer<UInt8>) -> [(name: String, value: String)]? {
        let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n"), colon = UInt8(ascii: ":")
        let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
        guard !bytes.contains(where: { $0 >= 0x80 }) else { return nil }
        var headers: [(name: String, value: String)] = []
        var start = 0
        let count = bytes.count
        while start < count {
            var end = start
            while end < count && bytes[end] != cr && bytes[end] != lf { end += 1 }
            if let c = (start..<end).first(where: { bytes[$0] == colon }) {
                let name = String(unsafeUninitializedCapacity: c - start) { out in
                    for i in start..<c {
                        let b = bytes[i]
                        out[i - start] = b >= 0x41 && b <= 0x5a ? b + 0x20 : b
                    }
                    return c - start
                }
                var lo = c + 1, hi = end
                while lo < hi && (bytes[lo] == space || bytes[lo] == tab) { lo += 1 }
                while hi > lo && (bytes[hi - 1] == space || bytes[hi - 1] == tab) { hi -= 1 }
                let value = String(decoding: UnsafeBufferPointer(rebasing: bytes[lo..<hi]), as: UTF8.self)
                headers.append((name, value))
            }
            start = end + 1
        }
        return headers
    }

    static func parseHeaderBlockSlowly(_ raw: String) -> [(name: String, value: String)] {
        raw.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" || $0 == "\r" }).compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            var trimmed = Substring(value)
            while let last = trimmed.last, last == " " || last == "\t" { trimmed.removeLast() }
            return (name, String(trimmed))
        }
    }
}

/// Why a transport produced no complete answer.
public struct TransportFailure: Error, Sendable {
    public var error: YCError
    /// True when the request provably never reached the server (no connection
    /// was made), so even a non-idempotent request may be sent again.
    public var requestNotSent: Bool

    public init(_ error: YCError, requestNotSent: Bool) {
        self.error = error
        self.requestNotSent = requestNotSent
    }
}

/// Sends one HTTP request and returns the complete answer. Implementations
/// are shared by every thread using a client, and keep connections alive
/// between calls. A multiplexing transport (curl multi, HTTP/2) drops in
/// behind this protocol without touching the layers above.
public protocol Transport: Sendable {
    func perform(_ request: HTTPRequest, maxResponseBytes: Int) -> Result<HTTPResponse, TransportFailure>
}
