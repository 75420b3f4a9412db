import CCurl
import CYCShim
import Glibc
import Synchronization

/// What every transfer of one engine shares: set on each of its easy
/// handles once, at the handle's first transfer.
struct TransferSettings: Sendable {
    let maxResponseBytes: Int
    let caFile: String?
    let protocolOptions: ProtocolOptions
    /// The header lines every request carries besides its own: User-Agent
    /// and Accept-Encoding as lines, not as libcurl's options (which format
    /// them again with a printf on every transfer), Accept, and an empty
    /// Expect (no 100-continue round trip for large bodies).
    let fixedHeaderLines: [String]
    /// The content encodings libcurl decodes (what Accept-Encoding offers).
    let encodings: String

    init(maxResponseBytes: Int, caFile: String?, userAgent: String, protocolOptions: ProtocolOptions) {
        self.maxResponseBytes = maxResponseBytes
        self.caFile = caFile
        self.protocolOptions = protocolOptions
        encodings = String(cString: ycs_accept_encoding())
        var lines = ["User-Agent: \(userAgent)", "Accept: application/json", "Expect:"]
        if !encodings.isEmpty { lines.append("Accept-Encoding: \(encodings)") }
        fixedHeaderLines = lines
    }
}

/// One curl easy handle and the buffers it writes into; the engine runs it
/// in its multi handle (a pool of these serves every transfer). The handle
/// is never reset: the options its transfers share are set once, and each
/// transfer sets every option in which kinds of request differ.
final class EasyHandle: @unchecked Sendable { // used by one thread at a time
    private let curl: UnsafeMutableRawPointer
    private let exchange: UnsafeMutablePointer<ycs_exchange>
    private let settings: TransferSettings
    private var configured = false
    /// The request headers of the transfer under way (libcurl reads them until it ends).
    private var headerList: UnsafeMutablePointer<curl_slist>? = nil

    init?(_ settings: TransferSettings) {
        guard let curl = curl_easy_init() else { return nil }
        guard let exchange = ycs_exchange_new() else { curl_easy_cleanup(curl); return nil }
        self.curl = curl
        self.exchange = exchange
        self.settings = settings
    }

    deinit {
        curl_easy_cleanup(curl)
        curl_slist_free_all(headerList)
        ycs_exchange_free(exchange)
    }

    /// The handle, for a multi interface to run.
    var raw: UnsafeMutableRawPointer { curl }

    /// The options every transfer shares (libcurl keeps them between transfers).
    private func configure() -> Bool {
        let options = settings.protocolOptions
        var ok = ycs_exchange_attach(curl, exchange) == CURLE_OK
        ok = ok && ycs_setopt_long(curl, CURLOPT_NOSIGNAL, 1) == CURLE_OK
        ok = ok && ycs_setopt_str(curl, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK
        ok = ok && ycs_setopt_long(curl, CURLOPT_FOLLOWLOCATION, 0) == CURLE_OK
        ok = ok && ycs_setopt_long(curl, CURLOPT_TCP_KEEPALIVE, 1) == CURLE_OK
        // Reuse a connection only while it is younger than any server's idle
        // timeout is likely to be, so a reused one is rarely closed under us.
        ok = ok && ycs_setopt_long(curl, CURLOPT_MAXAGE_CONN, ProtocolOptions.maxIdleSeconds) == CURLE_OK
        ok = ok && ycs_setopt_long(curl, CURLOPT_HTTP_VERSION, options.curlHTTPVersion) == CURLE_OK
        ok = ok && ycs_setopt_long(curl, CURLOPT_PIPEWAIT, options.pipeWait ? 1 : 0) == CURLE_OK
        // Decoding follows this option; the header itself is one of fixedHeaderLines.
        if !settings.encodings.isEmpty {
            ok = ok && ycs_setopt_str(curl, CURLOPT_ACCEPT_ENCODING, settings.encodings) == CURLE_OK
        }
        ok = ok && ycs_setopt_off(curl, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(settings.maxResponseBytes)) == CURLE_OK
        if let caFile = settings.caFile { ok = ok && ycs_setopt_str(curl, CURLOPT_CAINFO, caFile) == CURLE_OK }
        // An HTTP/2 stream the server refused was not processed: that
        // failure may be resent (see failure(for:)); VERBOSE per create.
        if options.pipeWait { ok = ok && ycs_exchange_watch_refused_stream(curl, exchange) == CURLE_OK }
        return ok
    }

    /// Sets every option for `request` (nil), or says why it cannot be sent.
    func prepare(_ request: HTTPRequest) -> TransportFailure? {
        ycs_exchange_reset(exchange, settings.maxResponseBytes)
        curl_slist_free_all(headerList)
        headerList = nil
        var ok = configured || configure()
        configured = ok

        func add(_ line: String) { headerList = curl_slist_append(headerList, line) }
        for h in request.headers { add("\(h.name): \(h.value)") }
        if request.body != nil { add("Content-Type: application/json") }
        for line in settings.fixedHeaderLines { add(line) }

        ok = ok && ycs_setopt_str(curl, CURLOPT_URL, request.url) == CURLE_OK
        ok = ok && ycs_setopt_long(curl, CURLOPT_TIMEOUT_MS, max(1, request.timeoutMs)) == CURLE_OK
        ok = ok && ycs_setopt_long(curl, CURLOPT_CONNECTTIMEOUT_MS, max(1, min(request.connectTimeoutMs, request.timeoutMs))) == CURLE_OK
        ok = ok && ycs_setopt_ptr(curl, CURLOPT_HTTPHEADER, headerList) == CURLE_OK
        // The method and the body, all of it each time (the handle still has
        // the previous transfer's): no custom method, no body, no verbosity
        // unless this request sets them.
        ok = ok && ycs_setopt_ptr(curl, CURLOPT_CUSTOMREQUEST, nil) == CURLE_OK
        ok = ok && ycs_setopt_ptr(curl, CURLOPT_POSTFIELDS, nil) == CURLE_OK
        ok = ok && ycs_setopt_long(curl, CURLOPT_VERBOSE, 0) == CURLE_OK
        switch request.method {
        case .get:
            ok = ok && ycs_setopt_long(curl, CURLOPT_HTTPGET, 1) == CURLE_OK
        case .delete:
            ok = ok && ycs_setopt_long(curl, CURLOPT_HTTPGET, 1) == CURLE_OK
            ok = ok && ycs_setopt_str(curl, CURLOPT_CUSTOMREQUEST, "DELETE") == CURLE_OK
        case .post:
            break
        }
        if let body = request.body, request.startsJob {
            // A body libcurl cannot rewind: it can never resend a create on
            // its own after a reused connection died (the job may exist).
            ok = ok && body.withUnsafeBytes { ycs_exchange_upload(curl, exchange, $0.baseAddress, $0.count) } == CURLE_OK
            if settings.protocolOptions.pipeWait { ok = ok && ycs_setopt_long(curl, CURLOPT_VERBOSE, 1) == CURLE_OK }
        } else if let body = request.body {
            ok = ok && ycs_setopt_off(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)) == CURLE_OK
            ok = ok && body.withUnsafeBytes { bytes in
                // COPYPOSTFIELDS: curl keeps its own copy, as the body may be resent.
                ycs_setopt_ptr(curl, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
            } == CURLE_OK
        } else if request.method == .post {
            ok = ok && ycs_setopt_off(curl, CURLOPT_POSTFIELDSIZE_LARGE, 0) == CURLE_OK
            ok = ok && ycs_setopt_str(curl, CURLOPT_COPYPOSTFIELDS, "") == CURLE_OK
        }
        guard ok else {
            return TransportFailure(YCError(.network, "libcurl rejected the request options (URL '\(request.url)')"), requestNotSent: true)
        }
        return nil
    }

    /// The outcome of a transfer that ended with `rc`.
    func finish(_ rc: CURLcode) -> Result<HTTPResponse, TransportFailure> {
        let maxResponseBytes = settings.maxResponseBytes
        var status = 0
        var statusLong = 0
        if ycs_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &statusLong) == CURLE_OK { status = statusLong }
        let headers = HTTPResponse.parseHeaderBlock(exchange.pointee.headers.map { String(cString: $0) } ?? "")
        guard rc == CURLE_OK else {
            return .failure(failure(for: rc, status: status, headers: headers, maxResponseBytes: maxResponseBytes))
        }
        let body = exchange.pointee.body.map { p in
            Array(UnsafeRawBufferPointer(start: p, count: exchange.pointee.body_len))
        } ?? []
        return .success(HTTPResponse(status: status, headers: headers, body: body))
    }

    private func failure(for rc: CURLcode, status: Int, headers: [(name: String, value: String)],
                         maxResponseBytes: Int) -> TransportFailure {
        var requestSize = 0
        _ = ycs_getinfo_long(curl, CURLINFO_REQUEST_SIZE, &requestSize)
        let detail: String = {
            let buf = withUnsafePointer(to: &exchange.pointee.errbuf) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(CURL_ERROR_SIZE)) { String(cString: $0) }
            }
            return buf.isEmpty ? String(cString: curl_easy_strerror(rc)) : buf
        }()
        let requestID = headers.first { $0.name == "x-request-id" }?.value
        // REFUSED_STREAM (RFC 9113 8.7): the server did not process it.
        let refused = exchange.pointee.stream_refused != 0
        let notSent = requestSize == 0 || refused

        var error: YCError
        switch rc {
        case CURLE_OPERATION_TIMEDOUT:
            error = YCError(.timeout, "request timed out: \(detail)")
        case CURLE_WRITE_ERROR where exchange.pointee.over_limit != 0, CURLE_FILESIZE_EXCEEDED:
            error = YCError(.protocol, "the answer is larger than max_response_bytes (\(maxResponseBytes) bytes)")
        case CURLE_PARTIAL_FILE:
            error = YCError(.protocol, "the answer ended before its announced length: \(detail)")
        case CURLE_BAD_CONTENT_ENCODING:
            error = YCError(.protocol, "the answer's content encoding is broken: \(detail)")
        case CURLE_WEIRD_SERVER_REPLY, CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_HTTP3:
            error = YCError(.protocol, "the server's answer is not valid HTTP: \(detail)")
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            error = YCError(.network, "could not resolve host: \(detail)")
        case CURLE_COULDNT_CONNECT:
            error = YCError(.network, "could not connect: \(detail)")
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
             CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CACERT_BADFILE:
            // The peer's certificate (or the CA bundle) will not change
            // between attempts: final, never retried.
            let check = CertificateCheck(code: rc, detail: detail)
            error = YCError(.network, "TLS certificate verification failed (\(check.rawValue)): \(detail); not retried")
            error.retryable = false
        case CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER:
            error = YCError(.network, "TLS failed: \(detail)")
        case CURLE_GOT_NOTHING:
            error = YCError(.network, "the server closed the connection without answering: \(detail)")
        case CURLE_SEND_FAIL_REWIND where refused:
            error = YCError(.network, "the server refused the HTTP/2 stream (REFUSED_STREAM) without processing the request: \(detail)")
        case CURLE_SEND_FAIL_REWIND:
            // libcurl wanted to resend a create because its reused connection
            // died before an answer: the server may have read it and started
            // the job, so it is not resent (the job may exist).
            error = YCError(.network, "the connection closed before the server answered; the job may exist, so the create was not resent: \(detail)")
        case CURLE_RECV_ERROR, CURLE_SEND_ERROR:
            error = YCError(.network, "the connection failed: \(detail)")
        default:
            error = YCError(.network, "HTTP transfer failed: \(detail)")
        }
        if status > 0 { error.httpStatus = status }
        error.requestID = requestID
        return TransportFailure(error, requestNotSent: notSent)
    }
}

/// Which check of the server's certificate failed, told from libcurl's code
/// and error text (libcurl gives CURLE_PEER_FAILED_VERIFICATION both for a
/// chain it cannot trust and for a name mismatch).
enum CertificateCheck: String {
    case hostNameMismatch = "host name mismatch"
    case expired = "certificate expired"
    case notYetValid = "certificate not yet valid"
    case revoked = "certificate revoked"
    case pinnedKeyMismatch = "public key does not match the pinned key"
    case caBundleUnusable = "the CA bundle could not be read"
    case notTrusted = "certificate not trusted"

    init(code: CURLcode, detail: String) {
        let text = detail.lowercased()
        func has(_ words: String...) -> Bool { words.contains { text.contains($0) } }
        switch code {
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH: self = .pinnedKeyMismatch
        case CURLE_SSL_CACERT_BADFILE: self = .caBundleUnusable
        default:
            if has("does not match target host", "no alternative certificate subject name", "host name mismatch",
                   "hostname mismatch", "subject name") {
                self = .hostNameMismatch
            } else if has("expired") {
                self = .expired
            } else if has("not yet valid") {
                self = .notYetValid
            } else if has("revoked") {
                self = .revoked
            } else {
                self = .notTrusted
            }
        }
    }
}
