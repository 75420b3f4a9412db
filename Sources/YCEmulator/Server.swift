// Binds the listening socket and builds each connection's pipeline.

import NIOCore
import NIOHTTP1
import NIOPosix

enum Server {
    static func start(options: Options, state: EmulatorState, group: EventLoopGroup) throws -> Channel {
        try ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)  // trickled bytes go out one by one
            .childChannelInitializer { channel in
                state.connectionOpened()
                channel.closeFuture.whenComplete { _ in state.connectionClosed() }
                return channel.eventLoop.makeCompletedFuture {
                    let decoder = HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(decoder))
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(state: state))
                }
            }
            .bind(host: options.host, port: options.port)
            .wait()
    }
}
