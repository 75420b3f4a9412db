// The request and answer values passed between the connection handler, the router
// and the control endpoints. Answers are serialized by hand (not by NIO's encoder)
// because several faults must send bytes a correct encoder never would.

import Foundation
import NIOCore
import NIOHTTP1

struct HTTPRequest: Sendable {
    let method: HTTPMethod
    let target: String  // as sent: path plus query
    let headers: HTTPHeaders
    let body: [UInt8]
    let keepAlive: Bool
    var wireProtocol: WireProtocol = .http1

    var path: Substring { target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0] }

    /// The value of query parameter `name`, undecoded (the emulator's parameters are plain numbers).
    func query(_ name: String) -> String? {
        guard let q = target.firstIndex(of: "?") else { return nil }
        for item in target[target.index(after: q)...].split(separator: "&") {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts[0] == name { return parts.count > 1 ? String(parts[1]) : "" }
        }
        return nil
    }

    func header(_ name: String) -> String? { headers.first(name: name) }
}

struct HTTPAnswer: Sendable {
    var status: Int
    var headers: [(String, String)] = []
    var body: [UInt8] = []
    /// nil sends no Content-Type at all (used by the `empty` fault).
    var contentType: String? = "application/json"
    /// The parsed body when it is JSON the emulator built, so faults can rewrite it.
    var json: JSON? = nil

    init(status: Int, json: JSON, headers: [(String, String)] = []) {
        self.status = status
        self.headers = headers
        self.json = json
        self.body = JSONWriter.bytes(json)
    }

    init(status: Int, body: [UInt8], contentType: String?, headers: [(String, String)] = []) {
        self.status = status
        self.body = body
        self.contentType = contentType
        self.headers = headers
    }

    /// Replaces the JSON body (keeping status and headers).
    mutating func setJSON(_ value: JSON) {
        json = value
        body = JSONWriter.bytes(value)
    }

    /// The status line and headers, ending with the blank line. `contentLength` may differ from the
    /// body actually sent (the `truncated` fault).
    func head(keepAlive: Bool, contentLength: Int? = nil) -> [UInt8] {
        var text = "HTTP/1.1 \(status) \(HTTPAnswer.reasonPhrase(status))\r\n"
        for (name, value) in standardFields(contentLength: contentLength) { text += "\(name): \(value)\r\n" }
        text += "Connection: \(keepAlive ? "keep-alive" : "close")\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// The fields every answer starts with: x-request-id, Content-Type (unless nil), Content-Length.
    func standardFields(contentLength: Int? = nil) -> [(String, String)] {
        var fields = [("x-request-id", UUID().uuidString.lowercased())]
        if let contentType { fields.append(("Content-Type", contentType)) }
        fields.append(("Content-Length", String(contentLength ?? body.count)))
        return fields
    }

    static func reasonPhrase(_ status: Int) -> String {
        let phrase = HTTPResponseStatus(statusCode: status).reasonPhrase
        return phrase.isEmpty ? "Status \(status)" : phrase
    }

    /// The whole answer as it goes on the wire.
    func serialized(keepAlive: Bool) -> ByteBuffer {
        let head = head(keepAlive: keepAlive)
        var buffer = ByteBuffer()
        buffer.reserveCapacity(head.count + body.count)
        buffer.writeBytes(head)
        buffer.writeBytes(body)
        return buffer
    }
}
