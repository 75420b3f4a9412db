// The Responses API under /v1: routing, auth, and the four operations.

import Foundation

enum Endpoint: Sendable {
    case create
    case retrieve(String)
    case cancel(String)
    case delete(String)
    case methodNotAllowed(allow: String)
    case notFound

    var route: RouteKind {
        switch self {
        case .create: return .create
        case .retrieve: return .retrieve
        case .cancel: return .cancel
        case .delete: return .delete
        case .methodNotAllowed, .notFound: return .other
        }
    }
}

struct APIRouter: Sendable {
    let state: EmulatorState

    static func endpoint(for request: HTTPRequest) -> Endpoint {
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: false)
        // "/v1/responses[/{id}[/cancel]]" splits into "", "v1", "responses", ...
        guard segments.count >= 3, segments[0].isEmpty, segments[1] == "v1", segments[2] == "responses" else {
            return .notFound
        }
        let method = request.method
        switch segments.count {
        case 3:
            return method == .POST ? .create : .methodNotAllowed(allow: "POST")
        case 4 where !segments[3].isEmpty:
            let id = String(segments[3])
            switch method {
            case .GET: return .retrieve(id)
            case .DELETE: return .delete(id)
            default: return .methodNotAllowed(allow: "GET, DELETE")
            }
        case 5 where !segments[3].isEmpty && segments[4] == "cancel":
            return method == .POST ? .cancel(String(segments[3])) : .methodNotAllowed(allow: "POST")
        default:
            return .notFound
        }
    }

    /// The emulator's own answer to an API request (auth first, then the operation).
    func answer(_ request: HTTPRequest, endpoint: Endpoint) -> HTTPAnswer {
        if let denied = Auth.check(request.header("authorization"), credentials: state.credentials) {
            return denied.answer
        }
        // A quota answers before the operation: a refused create creates nothing.
        if let refused = state.admit(endpoint.route) { return refused }
        switch endpoint {
        case .create: return create(request)
        case .retrieve(let id):
            guard let response = state.response(id: id) else { return APIError.responseNotFound(id).answer }
            return render(response, pollHint: true)
        case .cancel(let id):
            guard let response = state.cancel(id: id, at: EmulatorState.now()) else {
                return APIError.responseNotFound(id).answer
            }
            return render(response, pollHint: false)
        case .delete(let id):
            guard state.delete(id: id) else { return APIError.responseNotFound(id).answer }
            return HTTPAnswer(status: 200, json: ["id": .string(id), "object": "response", "deleted": true])
        case .methodNotAllowed(let allow):
            var answer = APIError.methodNotAllowed(request).answer
            answer.headers.append(("Allow", allow))
            return answer
        case .notFound:
            return APIError.unknownURL(request).answer
        }
    }

    private func create(_ request: HTTPRequest) -> HTTPAnswer {
        let create: CreateRequest
        do {
            create = try CreateValidation.validate(body: request.body, project: request.header("openai-project"))
        } catch {
            return error.answer
        }
        let settings = state.settings
        let directives = create.directives
        // A non-background response is answered already terminal.
        let queueMs = create.background ? directives.queueMs ?? settings.queueMs : 0
        let workMs = create.background ? directives.workMs ?? settings.workMs : 0
        let key = request.header("idempotency-key").flatMap { $0.isEmpty ? nil : $0 }
        if let key, let existing = state.existingResponse(idempotencyKey: key) {
            return render(existing, pollHint: true)  // skip generating text for a known key
        }
        let generation = Generation.make(inputText: create.inputText, directives: directives,
                                         maxOutputTokens: create.maxOutputTokens)
        let response = StoredResponse(
            id: UUID().uuidString.lowercased(), createdUnix: Date().timeIntervalSince1970,
            createdNanos: EmulatorState.now(), queueMs: queueMs, workMs: workMs, background: create.background,
            request: create.body, generation: generation, omitOutputText: directives.omitOutputText,
            idempotencyKey: key)
        return render(state.create(idempotencyKey: key, response).response, pollHint: true)
    }

    /// 200 with the Response object as of now; `pollHint` adds openai-poll-after-ms while it is not terminal.
    private func render(_ response: StoredResponse, pollHint: Bool) -> HTTPAnswer {
        let now = EmulatorState.now()
        let settings = state.settings
        let json = ResponseRenderer.render(response, at: now, includeOutputText: settings.outputText)
        var headers: [(String, String)] = []
        if pollHint, let ms = settings.pollAfterMs, !response.status(at: now).isTerminal {
            headers.append(("openai-poll-after-ms", String(ms)))
        }
        return HTTPAnswer(status: 200, json: json, headers: headers)
    }
}
