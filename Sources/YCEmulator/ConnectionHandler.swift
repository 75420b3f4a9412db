// One HTTP/1.1 keep-alive connection: collects requests from NIO's decoder, answers them in order,
// and plays out faults on the wire. Answers are written as raw bytes (no NIO encoder) because
// faults need a wrong Content-Length, byte-by-byte trickles and resets. With --tls-cert the bytes go
// through the TLS handler below this one (Server.swift); a reset bypasses it. What each request
// gets is decided by the Dispatcher (Exchange.swift), shared with HTTP/2.

import NIOCore
import NIOHTTP1

final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = ByteBuffer

    static let maxBodyBytes = 32 << 20
    /// Pipelined requests held while an answer is pending; a client sending more is cut off.
    static let maxQueuedRequests = 128

    private enum Work {
        case request(HTTPRequest)
        case reject(APIError)  // answered, then the connection closes
    }

    private let dispatcher: Dispatcher
    private let state: EmulatorState
    private let connection: ConnectionInfo

    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    /// After a 413 or a parse error the rest of the input is not requests any more.
    private var discarding = false
    private var queue = CircularBuffer<Work>()
    /// An answer is being sent (or held back by a fault); later requests wait in `queue`.
    private var busy = false
    private var continuePending = false
    private var closed = false
    private var timer: Scheduled<Void>?

    init(state: EmulatorState, connection: ConnectionInfo) {
        self.state = state
        self.connection = connection
        dispatcher = Dispatcher(state: state)
    }

    // MARK: input

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !discarding, !closed else { return }
        switch unwrapInboundIn(data) {
        case .head(let newHead):
            head = newHead
            body = []
            if let length = newHead.headers.first(name: "content-length").flatMap(Int.init),
               length > ConnectionHandler.maxBodyBytes {
                reject(.tooLarge(limit: ConnectionHandler.maxBodyBytes), context: context)
                return
            }
            if newHead.headers.first(name: "expect")?.lowercased() == "100-continue" {
                // Interim answers must not overtake the final answers of earlier requests.
                if !busy && queue.isEmpty { sendContinue(context: context) } else { continuePending = true }
            }
        case .body(let chunk):
            guard head != nil else { return }
            guard body.count + chunk.readableBytes <= ConnectionHandler.maxBodyBytes else {
                reject(.tooLarge(limit: ConnectionHandler.maxBodyBytes), context: context)
                return
            }
            body.append(contentsOf: chunk.readableBytesView)
        case .end:
            guard let finished = head else { return }
            // NIO's decoder stops parsing after an Upgrade request, so such a connection cannot be reused.
            let reusable = finished.isKeepAlive && !finished.headers.contains(name: "upgrade")
            let request = HTTPRequest(method: finished.method, target: finished.uri, headers: finished.headers,
                                      body: body, keepAlive: reusable)
            continuePending = false  // the body came without waiting for a 100: none is owed any more
            head = nil
            body = []
            enqueue(.request(request), context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard !closed else { return }
        if let parseError = error as? HTTPParserError {
            reject(.badRequestSyntax("\(parseError)"), context: context)
        } else {
            close(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // The client went away: stop timers (held hangs, trickles) and drop queued work.
        closed = true
        timer?.cancel()
        timer = nil
        queue.removeAll()
        context.fireChannelInactive()
    }

    private func reject(_ error: APIError, context: ChannelHandlerContext) {
        discarding = true
        continuePending = false
        head = nil
        body = []
        enqueue(.reject(error), context: context)
    }

    private func enqueue(_ work: Work, context: ChannelHandlerContext) {
        guard queue.count < ConnectionHandler.maxQueuedRequests else {
            close(context: context)
            return
        }
        queue.append(work)
        processNext(context: context)
    }

    private func processNext(context: ChannelHandlerContext) {
        guard !busy, !closed else { return }
        guard let work = queue.popFirst() else {
            if continuePending {
                continuePending = false
                sendContinue(context: context)
            }
            return
        }
        busy = true
        switch work {
        case .reject(let error):
            send(error.answer, keepAlive: false, context: context)
        case .request(let request):
            handle(request, context: context)
        }
    }

    // MARK: dispatch

    private func handle(_ request: HTTPRequest, context: ChannelHandlerContext) {
        let exchange = dispatcher.exchange(for: request, connection: connection)
        let keepAlive = request.keepAlive
        guard exchange.delayMs > 0 else {
            play(exchange, keepAlive: keepAlive, context: context)
            return
        }
        later(exchange.delayMs, context: context) { self.play(exchange, keepAlive: keepAlive, context: context) }
    }

    private func play(_ exchange: Exchange, keepAlive: Bool, context: ChannelHandlerContext) {
        guard !closed else { return }
        if let sequence = exchange.sequence, let status = exchange.status {
            state.recordStatus(status, sequence: sequence)
        }
        switch exchange.action {
        case .answer(let answer):
            send(answer, keepAlive: keepAlive, context: context)
        case .truncated(let answer):
            sendTruncated(answer, context: context)
        case .trickle(let answer, let intervalMs):
            trickle(answer.serialized(keepAlive: keepAlive), intervalMs: intervalMs, keepAlive: keepAlive,
                    context: context)
        case .hold:
            return  // held until the client goes away
        case .reset, .refuseStream:
            reset(context: context)
        }
    }

    // MARK: output

    private func send(_ answer: HTTPAnswer, keepAlive: Bool, context: ChannelHandlerContext) {
        guard !closed else { return }
        context.writeAndFlush(wrapOutboundOut(answer.serialized(keepAlive: keepAlive)))
            .assumeIsolated().whenComplete { result in
                if case .failure = result { self.close(context: context); return }
                self.answered(keepAlive: keepAlive, context: context)
            }
    }

    /// The next request may be served once an answer is fully written.
    private func answered(keepAlive: Bool, context: ChannelHandlerContext) {
        guard !closed else { return }
        guard keepAlive else {
            finishAndClose(context: context)
            return
        }
        busy = false
        processNext(context: context)
    }

    private func sendContinue(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 100 Continue\r\n\r\n")), promise: nil)
    }

    /// The full Content-Length is announced, half the body is sent, then the connection closes.
    private func sendTruncated(_ answer: HTTPAnswer, context: ChannelHandlerContext) {
        var buffer = ByteBuffer(bytes: answer.head(keepAlive: true))
        buffer.writeBytes(answer.body.prefix(answer.body.count / 2))
        context.writeAndFlush(wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in
            self.close(context: context)
        }
    }

    /// Writes `buffer` one byte every `intervalMs`.
    private func trickle(_ buffer: ByteBuffer, intervalMs: Int, keepAlive: Bool, context: ChannelHandlerContext) {
        guard !closed else { return }
        var rest = buffer
        guard let byte = rest.readSlice(length: 1) else {
            answered(keepAlive: keepAlive, context: context)
            return
        }
        context.writeAndFlush(wrapOutboundOut(byte), promise: nil)
        if rest.readableBytes == 0 {
            answered(keepAlive: keepAlive, context: context)
            return
        }
        later(intervalMs, context: context) {
            self.trickle(rest, intervalMs: intervalMs, keepAlive: keepAlive, context: context)
        }
    }

    private func later(_ ms: Int, context: ChannelHandlerContext, _ body: @escaping () -> Void) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(ms))) {
            self.timer = nil
            body()
        }
    }

    /// Closes with SO_LINGER 0, so the peer gets an RST instead of an orderly FIN. Under TLS the
    /// close starts below the TLS handler, so no close_notify goes out first: the socket just dies.
    private func reset(context: ChannelHandlerContext) {
        closed = true
        ConnectionInfo.reset(context.channel)
    }

    /// After a final answer on a closing connection: stop sending, let the client finish reading
    /// (an immediate close with unread input would turn into a reset and lose the answer), and
    /// close for good a little later.
    private func finishAndClose(context: ChannelHandlerContext) {
        discarding = true
        context.close(mode: .output, promise: nil)
        later(2000, context: context) { self.close(context: context) }
    }

    private func close(context: ChannelHandlerContext) {
        guard !closed else { return }
        closed = true
        timer?.cancel()
        timer = nil
        context.close(promise: nil)
    }
}
