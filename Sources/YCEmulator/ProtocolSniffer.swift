// HTTP/2 with prior knowledge and HTTP/1.1 on one port: the first bytes of a connection decide.
// The 24-byte HTTP/2 client preface installs the HTTP/2 handlers, anything else the HTTP/1.1 ones;
// then the bytes read so far are passed on and this handler leaves the pipeline. Over TLS the
// same test runs on the decrypted bytes, so ALPN's choice (h2 or http/1.1) needs no other handling.

import NIOCore

final class ProtocolSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    /// Adds the handlers of the protocol found (true: HTTP/2) at the end of the pipeline.
    private let install: (_ http2: Bool, _ pipeline: ChannelPipeline.SynchronousOperations) throws -> Void
    private var buffered: ByteBuffer?

    init(install: @escaping (_ http2: Bool, _ pipeline: ChannelPipeline.SynchronousOperations) throws -> Void) {
        self.install = install
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        var bytes = buffered ?? ByteBuffer()
        bytes.writeBuffer(&incoming)
        let seen = bytes.readableBytesView
        let n = min(seen.count, ProtocolSniffer.preface.count)
        let http2: Bool
        if !seen.prefix(n).elementsEqual(ProtocolSniffer.preface.prefix(n)) {
            http2 = false
        } else if n == ProtocolSniffer.preface.count {
            http2 = true
        } else {
            buffered = bytes  // a prefix of the preface so far: wait for more
            return
        }
        buffered = nil
        do {
            try install(http2, context.pipeline.syncOperations)
        } catch {
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(wrapInboundOut(bytes))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
