// One HTTP/2 stream: collects the request's HEADERS and DATA frames, lets the Dispatcher decide
// the exchange (as for HTTP/1.1), and plays it out as frames. Written as frames, not through
// NIO's HTTP/1 codec, because faults need a wrong content-length, byte-by-byte DATA and resets.

import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

final class HTTP2StreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private let dispatcher: Dispatcher
    private let state: EmulatorState
    private let connection: ConnectionInfo

    private var head: HPACKHeaders?
    private var body: [UInt8] = []
    /// After a 413 the rest of the stream's input is ignored.
    private var discarding = false
    private var closed = false
    private var timer: Scheduled<Void>?

    init(dispatcher: Dispatcher, state: EmulatorState, connection: ConnectionInfo) {
        self.dispatcher = dispatcher
        self.state = state
        self.connection = connection
    }

    // MARK: input

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !discarding, !closed else { return }
        switch unwrapInboundIn(data) {
        case .headers(let frame):
            if head == nil {
                head = frame.headers
                if let length = frame.headers.first(name: "content-length").flatMap(Int.init),
                   length > ConnectionHandler.maxBodyBytes {
                    reject(context: context)
                    return
                }
            }  // a second HEADERS block holds trailers: ignored
            if frame.endStream { finish(context: context) }
        case .data(let frame):
            guard head != nil else { return }
            if case .byteBuffer(let chunk) = frame.data {
                guard body.count + chunk.readableBytes <= ConnectionHandler.maxBodyBytes else {
                    reject(context: context)
                    return
                }
                body.append(contentsOf: chunk.readableBytesView)
            }
            if frame.endStream { finish(context: context) }
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // The stream ended (or the client reset it): stop timers (held hangs, trickles).
        closed = true
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        close(context: context)
    }

    /// 413, then the stream is reset: the client may still be sending the body.
    private func reject(context: ChannelHandlerContext) {
        discarding = true
        let answer = APIError.tooLarge(limit: ConnectionHandler.maxBodyBytes).answer
        writeHead(answer, contentLength: nil, endStream: false, context: context)
        writeData(ByteBuffer(bytes: answer.body), endStream: true, context: context) { self.close(context: context) }
    }

    private func finish(context: ChannelHandlerContext) {
        guard let headers = head else { return }
        head = nil
        guard let method = headers.first(name: ":method"), let target = headers.first(name: ":path") else {
            let answer = APIError.badRequestSyntax("missing :method or :path").answer
            play(Exchange(action: .answer(answer)), context: context)
            return
        }
        var fields = HTTPHeaders()
        for (name, value, _) in headers where !name.hasPrefix(":") { fields.add(name: name, value: value) }
        if !fields.contains(name: "host"), let authority = headers.first(name: ":authority") {
            fields.add(name: "host", value: authority)
        }
        let request = HTTPRequest(method: HTTPMethod(rawValue: method), target: target, headers: fields,
                                  body: body, keepAlive: true, wireProtocol: .h2)
        body = []
        let exchange = dispatcher.exchange(for: request, connection: connection)
        guard exchange.delayMs > 0 else {
            play(exchange, context: context)
            return
        }
        later(exchange.delayMs, context: context) { self.play(exchange, context: context) }
    }

    // MARK: output

    private func play(_ exchange: Exchange, context: ChannelHandlerContext) {
        guard !closed else { return }
        if let sequence = exchange.sequence, let status = exchange.status {
            state.recordStatus(status, sequence: sequence)
        }
        switch exchange.action {
        case .answer(let answer):
            writeHead(answer, contentLength: nil, endStream: answer.body.isEmpty, context: context)
            if !answer.body.isEmpty {
                writeData(ByteBuffer(bytes: answer.body), endStream: true, context: context)
            }
        case .truncated(let answer):
            // The whole length announced, half the body sent, then RST_STREAM INTERNAL_ERROR.
            writeHead(answer, contentLength: nil, endStream: false, context: context)
            writeData(ByteBuffer(bytes: answer.body.prefix(answer.body.count / 2)), endStream: false,
                      context: context) {
                self.resetStream(.internalError, context: context)
            }
        case .trickle(let answer, let intervalMs):
            writeHead(answer, contentLength: nil, endStream: answer.body.isEmpty, context: context)
            trickle(ByteBuffer(bytes: answer.body), intervalMs: intervalMs, context: context)
        case .hold:
            return  // until the client resets the stream or goes away
        case .reset:
            closed = true
            if let parent = context.channel.parent { ConnectionInfo.reset(parent) }
        case .refuseStream:
            resetStream(.refusedStream, context: context)
        }
    }

    private func writeHead(_ answer: HTTPAnswer, contentLength: Int?, endStream: Bool,
                           context: ChannelHandlerContext) {
        var headers = HPACKHeaders()
        headers.add(name: ":status", value: String(answer.status))
        for (name, value) in answer.standardFields(contentLength: contentLength) + answer.headers {
            headers.add(name: name.lowercased(), value: value)
        }
        let frame = HTTP2Frame.FramePayload.headers(.init(headers: headers, endStream: endStream))
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }

    private func writeData(_ buffer: ByteBuffer, endStream: Bool, context: ChannelHandlerContext,
                           then next: (() -> Void)? = nil) {
        let frame = HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(buffer), endStream: endStream))
        let written = context.writeAndFlush(wrapOutboundOut(frame))
        guard let next else { return }
        written.assumeIsolated().whenComplete { _ in next() }
    }

    /// Writes `buffer` as one-byte DATA frames, one every `intervalMs`; the last ends the stream.
    private func trickle(_ buffer: ByteBuffer, intervalMs: Int, context: ChannelHandlerContext) {
        guard !closed else { return }
        var rest = buffer
        guard let byte = rest.readSlice(length: 1) else { return }
        writeData(byte, endStream: rest.readableBytes == 0, context: context)
        guard rest.readableBytes > 0 else { return }
        later(intervalMs, context: context) { self.trickle(rest, intervalMs: intervalMs, context: context) }
    }

    private func resetStream(_ code: HTTP2ErrorCode, context: ChannelHandlerContext) {
        guard !closed else { return }
        closed = true
        context.writeAndFlush(wrapOutboundOut(.rstStream(code)), promise: nil)
    }

    private func later(_ ms: Int, context: ChannelHandlerContext, _ body: @escaping () -> Void) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(ms))) {
            self.timer = nil
            body()
        }
    }

    private func close(context: ChannelHandlerContext) {
        guard !closed else { return }
        closed = true
        timer?.cancel()
        timer = nil
        context.close(promise: nil)
    }
}
