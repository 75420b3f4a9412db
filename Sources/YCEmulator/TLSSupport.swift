// TLS for --tls-cert/--tls-key, compiled only with the package trait TLS (`swift build --traits TLS`,
// `make emulator-tls`), so that builds without it never compile BoringSSL.

import NIOCore

#if TLS
import NIOSSL

struct TLSSupport: Sendable {
    static let available = true

    private let context: NIOSSLContext

    /// The TLS context for `--tls-cert`/`--tls-key` (nil without them: plain HTTP).
    static func load(options: Options) throws -> TLSSupport? {
        guard let certPath = options.tlsCert, let keyPath = options.tlsKey else { return nil }
        let chain = try NIOSSLCertificate.fromPEMFile(certPath)
        guard !chain.isEmpty else { throw SetupError(message: "\(certPath) holds no PEM certificate") }
        let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        // ALPN: h2 first; a client that offers neither gets HTTP/1.1 (the preface test decides).
        configuration.applicationProtocols = ["h2", "http/1.1"]
        // A fault that closes the connection waits this long at most for the client's close_notify.
        configuration.shutdownTimeout = .seconds(2)
        return TLSSupport(context: try NIOSSLContext(configuration: configuration))
    }

    func addHandler(to pipeline: ChannelPipeline.SynchronousOperations) throws {
        try pipeline.addHandler(NIOSSLServerHandler(context: context))
    }
}
#else
struct TLSSupport: Sendable {
    static let available = false

    static func load(options: Options) throws -> TLSSupport? {
        guard options.tlsCert == nil else { throw SetupError(message: "built without TLS") }
        return nil
    }

    func addHandler(to pipeline: ChannelPipeline.SynchronousOperations) throws {}
}
#endif

extension TLSSupport {
    struct SetupError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    static let unavailableMessage = """
        yc-emulator: --tls-cert/--tls-key need the TLS build of the emulator; this one was built without \
        TLS. Build it with `make emulator-tls` (build/bin/yc-emulator-tls) or \
        `swift build -c release --product yc-emulator --traits TLS`.
        """
}
