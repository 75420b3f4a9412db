// Binds the listening socket and builds each connection's pipeline.

import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

enum Server {
    /// The TLS context for `--tls-cert`/`--tls-key` (nil without them: plain HTTP).
    static func tlsContext(options: Options) throws -> NIOSSLContext? {
        guard let certPath = options.tlsCert, let keyPath = options.tlsKey else { return nil }
        let chain = try NIOSSLCertificate.fromPEMFile(certPath)
        guard !chain.isEmpty else { throw TLSSetupError(message: "\(certPath) holds no PEM certificate") }
        let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        // HTTP/1.1 only: a client that offers h2 through ALPN falls back to HTTP/1.1.
        configuration.applicationProtocols = ["http/1.1"]
        // A fault that closes the connection waits this long at most for the client's close_notify.
        configuration.shutdownTimeout = .seconds(2)
        return try NIOSSLContext(configuration: configuration)
    }

    struct TLSSetupError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    static func start(options: Options, tls: NIOSSLContext?, state: EmulatorState,
                      group: EventLoopGroup) throws -> Channel {
        try ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)  // trickled bytes go out one by one
            .childChannelInitializer { channel in
                state.connectionOpened()
                channel.closeFuture.whenComplete { _ in state.connectionClosed() }
                return channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    // TLS sits under HTTP: the handlers above see plain bytes either way.
                    if let tls { try pipeline.addHandler(NIOSSLServerHandler(context: tls)) }
                    let decoder = HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)
                    try pipeline.addHandler(ByteToMessageHandler(decoder))
                    try pipeline.addHandler(ConnectionHandler(state: state))
                }
            }
            .bind(host: options.host, port: options.port)
            .wait()
    }
}
