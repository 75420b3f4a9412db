import Glibc
import YCBGCore

// Shared pieces of the fuzz targets: the invariant reporter, the planted
// credentials, a transport that answers from memory, and checks every target
// applies to the errors it sees.

/// Reports a violated invariant and traps, so libFuzzer records the input as
/// a crash. Only the fuzz harness traps; the library never does.
func violated(_ target: String, _ what: String) -> Never {
    printError("\n==ycbg-fuzz== INVARIANT VIOLATED in target '\(target)': \(what)\n")
    fatalError("ycbg-fuzz invariant violated in '\(target)': \(what)")
}

/// Shortens text for an invariant report (an input may be large).
/// YCBG_FUZZ_VERBOSE=1: the replayer prints every error it checks.
let verbose = getenv("YCBG_FUZZ_VERBOSE") != nil

func excerpt(_ s: String, _ n: Int = 300) -> String {
    let head = String(s.prefix(n))
    return head.count < s.count ? head + "…(\(s.utf8.count) bytes)" : head
}

enum Secrets {
    /// Corpus files write `@KEY@` where the credential goes; the harness puts
    /// this value there before parsing, so it knows the secret to look for.
    static let marker = Array("@KEY@".utf8)
    /// Short enough (under 20 bytes with its quote) that Jansson would quote
    /// it in a syntax error's "near '...'" context.
    static let planted = "AQVNfuzzSecret7c"
    static let envAPIKey = "AQVNfuzz-env-api-key-3b9d"
    static let envIAMToken = "t1.fuzz-env-iam-token-88af"
    static let mask = Array("[REDACTED]".utf8)

    /// `bytes` with every `@KEY@` replaced by the planted secret.
    static func plant(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count >= marker.count else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 32)
        var i = 0
        while i < bytes.count {
            if bytes[i] == marker[0], i + marker.count <= bytes.count, Array(bytes[i..<i + marker.count]) == marker {
                out += Array(planted.utf8)
                i += marker.count
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }
}

func occurrences(of needle: [UInt8], in hay: [UInt8]) -> [Int] {
    guard !needle.isEmpty, hay.count >= needle.count else { return [] }
    var result: [Int] = []
    var i = 0
    while i + needle.count <= hay.count {
        if hay[i] == needle[0] && hay[i..<i + needle.count].elementsEqual(needle) { result.append(i) }
        i += 1
    }
    return result
}

/// True when `secret` occurs in `text` somewhere that no "[REDACTED]" mask
/// overlaps, i.e. made only of text the library let through. Secrets shorter
/// than the redactor's minimum are not protected by design and are ignored.
func leaks(_ text: String, _ secret: String) -> Bool {
    guard secret.utf8.count >= Redactor.minimumSecretLength else { return false }
    let hay = Array(text.utf8), needle = Array(secret.utf8)
    let hits = occurrences(of: needle, in: hay)
    if hits.isEmpty { return false }
    let masks = occurrences(of: Secrets.mask, in: hay)
    return hits.contains { h in
        !masks.contains { m in m < h + needle.count && h < m + Secrets.mask.count }
    }
}

/// A transport that records what it was sent and gives one canned answer.
final class CannedTransport: Transport, @unchecked Sendable {
    var answer: HTTPResponse
    private(set) var sent: [HTTPRequest] = []

    init(_ answer: HTTPResponse) { self.answer = answer }

    func perform(_ request: HTTPRequest, maxResponseBytes: Int) -> Result<HTTPResponse, TransportFailure> {
        sent.append(request)
        return .success(answer)
    }
}

/// Checks a YCError from any parser: an allowed kind, a non-empty message,
/// an error document that serializes to JSON which parses back to the same
/// fields, and no unmasked secret in it.
func checkError(_ e: YCError, target: String, allowed: Set<YCError.Kind>, redactor: Redactor?,
                secrets: [String], context: String) {
    if !allowed.contains(e.kind) {
        violated(target, "\(context): error kind '\(e.kind.rawValue)' not allowed (message: \(excerpt(e.message)))")
    }
    if e.message.isEmpty { violated(target, "\(context): empty error message (kind \(e.kind.rawValue))") }
    if verbose { printError("  \(context): \(e.kind.rawValue): \(excerpt(e.message, 200))") }
    let doc = e.json(redactedBy: redactor)
    let text = doc.serialized()
    let back: JSON
    do throws(YCError) {
        back = try JSON.parse(text, what: "error json")
    } catch {
        violated(target, "\(context): error JSON does not parse back: \(error.message); JSON: \(excerpt(text))")
    }
    guard back.kind == .object else { violated(target, "\(context): error JSON is not an object: \(excerpt(text))") }
    let expectedMessage = redactor?.redact(e.message) ?? e.message
    if back["kind"]?.stringValue != e.kind.rawValue {
        violated(target, "\(context): error JSON kind mismatch: \(excerpt(text))")
    }
    guard let message = back["message"]?.stringValue, message == expectedMessage, !message.isEmpty else {
        violated(target, "\(context): error JSON message does not round-trip: \(excerpt(text))")
    }
    if back["retryable"]?.boolValue != e.retryable {
        violated(target, "\(context): error JSON retryable mismatch: \(excerpt(text))")
    }
    if back["http_status"]?.intValue != e.httpStatus {
        violated(target, "\(context): error JSON http_status mismatch: \(excerpt(text))")
    }
    if back["code"]?.stringValue != e.code.map({ redactor?.redact($0) ?? $0 }) {
        violated(target, "\(context): error JSON code mismatch: \(excerpt(text))")
    }
    if back["request_id"]?.stringValue != e.requestID.map({ redactor?.redact($0) ?? $0 }) {
        violated(target, "\(context): error JSON request_id mismatch: \(excerpt(text))")
    }
    let fields = [message, back["code"]?.stringValue ?? "", back["request_id"]?.stringValue ?? ""]
    for secret in secrets {
        for field in fields where leaks(field, secret) {
            violated(target, "\(context): a credential appears unmasked in the error: \(excerpt(field))")
        }
    }
}

func isHeaderSafeText(_ s: String) -> Bool { !s.utf8.contains { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7f } }

/// A Swift String survives the trip through Jansson (what yc_output_text and
/// yc_result hand out) unchanged.
func roundTripsThroughJSON(_ s: String) -> Bool {
    let text = JSON.string(s).serialized()
    guard let back = try? JSON.parse(text, what: "string") else { return false }
    return back.stringValue == s
}

/// Writes to standard error (unbuffered, so nothing is lost when a check traps).
func printError(_ s: String) {
    var s = s
    if !s.hasSuffix("\n") { s += "\n" }
    s.withUTF8 { buf in _ = write(2, buf.baseAddress, buf.count) }
}
