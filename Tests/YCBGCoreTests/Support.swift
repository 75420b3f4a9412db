import Synchronization
import Testing
@testable import YCBGCore

/// A transport that answers from a script and records what it was sent.
final class ScriptedTransport: Transport, @unchecked Sendable {
    enum Step {
        case answer(Int, headers: [(String, String)] = [], body: String)
        case fail(YCError.Kind, notSent: Bool)
        case failWith(YCError, notSent: Bool)
    }

    private let state = Mutex<(steps: [Step], sent: [HTTPRequest])>(([], []))

    init(_ steps: [Step]) { state.withLock { $0.steps = steps } }

    var sent: [HTTPRequest] { state.withLock { $0.sent } }

    func perform(_ request: HTTPRequest, maxResponseBytes: Int) -> Result<HTTPResponse, TransportFailure> {
        let step: Step? = state.withLock { s in
            s.sent.append(request)
            return s.steps.isEmpty ? nil : s.steps.removeFirst()
        }
        switch step {
        case .answer(let status, let headers, let body)?:
            return .success(HTTPResponse(status: status, headers: headers.map { ($0.0.lowercased(), $0.1) },
                                         body: Array(body.utf8)))
        case .fail(let kind, let notSent)?:
            return .failure(TransportFailure(YCError(kind, "scripted \(kind.rawValue) failure"), requestNotSent: notSent))
        case .failWith(let error, let notSent)?:
            return .failure(TransportFailure(error, requestNotSent: notSent))
        case nil:
            return .failure(TransportFailure(YCError(.network, "script exhausted"), requestNotSent: true))
        }
    }
}

func responseBody(id: String = "r-1", status: String, outputText: String? = "hello") -> String {
    let text = outputText.map { "\"output_text\": \"\($0)\"," } ?? ""
    return "{\"id\": \"\(id)\", \"object\": \"response\", \(text) \"status\": \"\(status)\", \"output\": [], \"usage\": null}"
}

func makeConfig(_ json: String = #"{"api_key": "secret-key-123", "folder_id": "b1g", "base_url": "http://127.0.0.1:1/v1"}"#) throws -> Configuration {
    try Configuration.parse(json, environment: { _ in nil })
}

extension HTTPRequest {
    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}
