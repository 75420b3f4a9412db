// What one request gets on the wire, decided the same way for HTTP/1.1 and HTTP/2: the control
// endpoints, the fault that applies, the API's answer, and the simulated round trip. The connection
// handler (HTTP/1.1) and the stream handler (HTTP/2) only play the result out in their protocol.

import NIOCore

struct Exchange {
    enum Action {
        /// The answer, whole.
        case answer(HTTPAnswer)
        /// The head announces the whole body, half of it is sent, then the transfer dies
        /// (HTTP/1.1: the connection closes; HTTP/2: RST_STREAM INTERNAL_ERROR).
        case truncated(HTTPAnswer)
        /// The answer, one byte every `intervalMs`.
        case trickle(HTTPAnswer, intervalMs: Int)
        /// No answer, until the client goes away.
        case hold
        /// The TCP connection is reset (RST), on HTTP/2 with every stream on it.
        case reset
        /// HTTP/2: RST_STREAM REFUSED_STREAM on this stream only. HTTP/1.1: like `reset`.
        case refuseStream
    }

    var action: Action
    /// How long to wait before the action starts.
    var delayMs: Int = 0
    /// The request log entry that gets the status sent; nil for control endpoints.
    var sequence: UInt64? = nil

    /// The status the answer starts with, if one goes out.
    var status: Int? {
        switch action {
        case .answer(let a), .truncated(let a), .trickle(let a, _): return a.status
        case .hold, .reset, .refuseStream: return nil
        }
    }
}

struct Dispatcher: Sendable {
    let state: EmulatorState
    let api: APIRouter
    let control: ControlEndpoints

    init(state: EmulatorState) {
        self.state = state
        api = APIRouter(state: state)
        control = ControlEndpoints(state: state)
    }

    /// Decides the exchange for `request`, which arrived on `connection`. The request takes effect
    /// here (a create creates its job now), also when its answer is sent later.
    func exchange(for request: HTTPRequest, connection: ConnectionInfo) -> Exchange {
        // Control endpoints: never faulted, never delayed, never recorded.
        if request.path == "/_emulator" || request.path.hasPrefix("/_emulator/") {
            return Exchange(action: .answer(control.answer(request)))
        }
        let endpoint = APIRouter.endpoint(for: request)
        let (fault, sequence, settings) = state.begin(endpoint.route, record: RecordedRequest(request))
        let rtt = connection.answerDelayMs(settings: settings, now: .now())
        guard let fault else {
            return Exchange(action: .answer(api.answer(request, endpoint: endpoint)), delayMs: rtt, sequence: sequence)
        }
        // Kinds that process the request do so now; the fault only changes how the answer travels.
        let real = fault.kind.processesRequest ? api.answer(request, endpoint: endpoint) : nil
        let action: Exchange.Action
        var delay = rtt
        switch fault.kind {
        case .reset, .acceptThenReset:
            action = .reset
        case .refusedStream:
            action = .refuseStream
        case .truncated:
            action = .truncated(real!)
        case .hang:
            guard let ms = fault.delayMs else { return Exchange(action: .hold, sequence: sequence) }
            action = .answer(real!)
            delay += ms
        case .delay:
            action = .answer(real!)
            delay += fault.delayMs ?? 0
        case .trickle:
            action = .trickle(real!, intervalMs: fault.intervalMs)
        case .missingID, .unknownStatus, .large:
            action = .answer(FaultAnswers.transform(real!, by: fault))
        case .status, .yandex, .yandexGateway, .html, .empty, .malformed, .notObject, .error200:
            action = .answer(FaultAnswers.standalone(fault)!)
        }
        return Exchange(action: action, delayMs: delay, sequence: sequence)
    }
}
