// One accepted TCP connection as its handlers see it: which protocol it speaks, when it was
// accepted (for the simulated handshake), and how to reset it.

import NIOCore

#if canImport(Glibc)
import Glibc  // struct linger
#endif

enum WireProtocol: String, Sendable, CaseIterable {
    case http1 = "http/1.1"
    case h2
}

/// Used only on the connection's event loop (its HTTP/2 streams share that loop), hence unchecked.
final class ConnectionInfo: @unchecked Sendable {
    let acceptedAt: NIODeadline
    var wireProtocol: WireProtocol = .http1
    private var handshakeCharged = false

    init(acceptedAt: NIODeadline) { self.acceptedAt = acceptedAt }

    /// The simulated wait before an API answer: the round trip, plus the handshake for the
    /// connection's first API answer. Streams that arrive while that handshake would still be going
    /// on (HTTP/2 clients send many at once) wait until it would be over.
    func answerDelayMs(settings: Settings, now: NIODeadline) -> Int {
        let handshake = settings.handshakeMs
        guard handshakeCharged else {
            handshakeCharged = true
            return settings.rttMs + handshake
        }
        let ready = acceptedAt + .milliseconds(Int64(handshake))
        let wait = ready > now ? Int((ready - now).nanoseconds / 1_000_000) : 0
        return settings.rttMs + wait
    }

    /// Resets the TCP connection `channel`: SO_LINGER 0, then a close that starts at the bottom of
    /// the pipeline (below TLS, so no close_notify goes out first), so the peer gets an RST.
    static func reset(_ channel: Channel) {
        let bottom = try? channel.pipeline.syncOperations.context(handlerType: ResetPoint.self)
        let close = {
            if let bottom { bottom.close(promise: nil) } else { channel.close(promise: nil) }
        }
        guard let provider = channel as? SocketOptionProvider else {
            close()
            return
        }
        provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).assumeIsolated().whenComplete { _ in close() }
    }
}

/// The first handler of every connection: a close started from its context goes straight to the
/// socket, past TLS.
final class ResetPoint: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny
}
