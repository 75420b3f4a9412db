// TLS for --tls-cert/--tls-key over the system's OpenSSL (CEmulatorTLS): one server context, and per
// connection a handler that decrypts what is read and encrypts what is written. ALPN offers h2 and
// http/1.1; the ProtocolSniffer above decides on the decrypted bytes either way.

import CEmulatorTLS
import NIOCore

struct TLSSupport: @unchecked Sendable { // the context is read-only after load
    private let context: OpaquePointer

    /// The TLS context for `--tls-cert`/`--tls-key` (nil without them: plain HTTP). The context
    /// lives as long as the process.
    static func load(options: Options) throws -> TLSSupport? {
        guard let certPath = options.tlsCert, let keyPath = options.tlsKey else { return nil }
        var message = [CChar](repeating: 0, count: 512)
        guard let context = yct_context_new(certPath, keyPath, &message, message.count) else {
            throw SetupError(message: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) },
                                             as: UTF8.self))
        }
        return TLSSupport(context: context)
    }

    func addHandler(to pipeline: ChannelPipeline.SynchronousOperations) throws {
        guard let session = yct_session_new(context) else { throw SetupError(message: "out of memory") }
        try pipeline.addHandler(TLSHandler(session: session))
    }

    struct SetupError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}

/// One connection's TLS: ciphertext below, plaintext above. Writes made before the handshake ends
/// wait for it. A close from above sends close_notify first (without waiting for the peer's).
final class TLSHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let session: OpaquePointer
    private var handshakeDone = false
    private var failed = false
    private var waitingWrites: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var waitingFlush = false

    init(session: OpaquePointer) { self.session = session }

    deinit { yct_session_free(session) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let incoming = unwrapInboundIn(data)
        let fed = incoming.withUnsafeReadableBytes { yct_feed(session, $0.baseAddress, $0.count) }
        guard fed == 0 else { return fail(context) }
        if !handshakeDone {
            let rc = yct_advance(session)
            sendPending(context, flush: true)
            guard rc >= 0 else { return fail(context) }
            guard rc == 1 else { return }
            handshakeDone = true
            let writes = waitingWrites
            waitingWrites = []
            for (buffer, promise) in writes { write(context: context, data: wrapOutboundOut(buffer), promise: promise) }
            if waitingFlush { waitingFlush = false; flush(context: context) }
        }
        while !failed {
            var plain = context.channel.allocator.buffer(capacity: 16 * 1024)
            var rc: Int32 = 0
            plain.writeWithUnsafeMutableBytes(minimumWritableBytes: 16 * 1024) { out in
                rc = yct_read(session, out.baseAddress, out.count)
                return Int(max(0, rc))
            }
            guard rc > 0 else {
                if rc == YCT_PEER_CLOSED { context.close(promise: nil) } else if rc == YCT_ERROR { fail(context) }
                break
            }
            context.fireChannelRead(wrapInboundOut(plain))
        }
        // Alerts or session tickets OpenSSL wrote while reading.
        sendPending(context, flush: true)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = unwrapOutboundIn(data)
        guard handshakeDone else {
            waitingWrites.append((buffer, promise))
            return
        }
        guard !failed else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        let rc = buffer.withUnsafeReadableBytes { yct_write(session, $0.baseAddress, $0.count) }
        guard rc == 0 else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return fail(context)
        }
        sendPending(context, flush: false, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        guard handshakeDone else { waitingFlush = true; return }
        context.flush()
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .all && handshakeDone && !failed {
            yct_close_notify(session)
            sendPending(context, flush: true)
        }
        for (_, waiting) in waitingWrites { waiting?.fail(ChannelError.ioOnClosedChannel) }
        waitingWrites = []
        context.close(mode: mode, promise: promise)
    }

    /// Writes the ciphertext OpenSSL has for the peer (completing `promise` with it, or at once if
    /// there is none).
    private func sendPending(_ context: ChannelHandlerContext, flush: Bool, promise: EventLoopPromise<Void>? = nil) {
        let count = yct_pending(session)
        guard count > 0 else {
            promise?.succeed(())
            return
        }
        var out = context.channel.allocator.buffer(capacity: count)
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { yct_take(session, $0.baseAddress, $0.count) }
        if flush {
            context.writeAndFlush(wrapOutboundOut(out), promise: promise)
        } else {
            context.write(wrapOutboundOut(out), promise: promise)
        }
    }

    /// A TLS error: whatever alert OpenSSL prepared goes out, then the connection closes.
    private func fail(_ context: ChannelHandlerContext) {
        guard !failed else { return }
        failed = true
        sendPending(context, flush: true)
        context.close(promise: nil)
    }
}
