// Binds the listening socket and builds each connection's pipeline:
// ResetPoint, [TLS], ProtocolSniffer → HTTP/1.1 (decoder + ConnectionHandler)
//                                    or HTTP/2 (NIOHTTP2Handler + one HTTP2StreamHandler per stream).

import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix

enum Server {
    static func start(options: Options, tls: TLSSupport?, state: EmulatorState,
                      group: EventLoopGroup) throws -> Channel {
        let maxStreams = options.h2MaxStreams
        return try ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)  // trickled bytes go out one by one
            .childChannelInitializer { channel in
                state.connectionOpened()
                channel.closeFuture.whenComplete { _ in state.connectionClosed() }
                let connection = ConnectionInfo(acceptedAt: .now())
                return channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(ResetPoint())
                    // TLS sits under HTTP: the handlers above see plain bytes either way.
                    try tls?.addHandler(to: pipeline)
                    try pipeline.addHandler(ProtocolSniffer { http2, pipeline in
                        if http2 {
                            try installHTTP2(pipeline, connection: connection, state: state, maxStreams: maxStreams)
                        } else {
                            let decoder = HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)
                            try pipeline.addHandler(ByteToMessageHandler(decoder))
                            try pipeline.addHandler(ConnectionHandler(state: state, connection: connection))
                        }
                    })
                }
            }
            .bind(host: options.host, port: options.port)
            .wait()
    }

    private static func installHTTP2(_ pipeline: ChannelPipeline.SynchronousOperations, connection: ConnectionInfo,
                                     state: EmulatorState, maxStreams: Int) throws {
        connection.wireProtocol = .h2
        state.h2ConnectionStarted()
        var settings = nioDefaultSettings.filter { $0.parameter != .maxConcurrentStreams }
        settings.append(HTTP2Setting(parameter: .maxConcurrentStreams, value: maxStreams))
        var connectionConfiguration = NIOHTTP2Handler.ConnectionConfiguration()
        connectionConfiguration.initialSettings = settings
        // The `truncated` fault announces more than it sends (and then resets the stream).
        connectionConfiguration.contentLengthValidation = .disabled
        var streamConfiguration = NIOHTTP2Handler.StreamConfiguration()
        streamConfiguration.targetWindowSize = 1 << 20  // large request bodies arrive without stalls
        let dispatcher = Dispatcher(state: state)
        _ = try pipeline.configureHTTP2Pipeline(
            mode: .server, connectionConfiguration: connectionConfiguration,
            streamConfiguration: streamConfiguration
        ) { stream in
            state.h2StreamOpened()
            return stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(
                    HTTP2StreamHandler(dispatcher: dispatcher, state: state, connection: connection))
            }
        }
    }
}
