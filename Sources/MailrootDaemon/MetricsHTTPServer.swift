// SPDX-License-Identifier: Apache-2.0
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle
import SMTPServer
import Synchronization

/// The `metrics_listen` endpoint: a minimal HTTP/1.1 responder for Prometheus scrapes and health
/// probes. GET (or HEAD) `/metrics` gives the registry in the Prometheus text format 0.0.4,
/// `/healthz` gives HealthCheck's verdict; anything else 404, any other method 405.
///
/// One request per connection, answered with `Connection: close`: scrapers reconnect anyway, and
/// no keep-alive state means nothing for an idle client to hold. A connection that has not been
/// answered within `requestTimeout` is closed (slowloris), at most `maxConnections` are served at
/// once, and request bodies are discarded unread beyond NIOHTTP1's own header-size limit.
///
/// The socket is opened by `bind()`, or handed in already bound (the daemon opens it before
/// dropping root, so a port below 1024 works); `run()` serves it, binding first if needed.
final class MetricsHTTPServer: Service, Sendable {
    let address: SMTPServerConfiguration.ListenAddress
    let registry: PrometheusCollectorRegistry
    let health: HealthCheck
    let logger: Logger
    let group: any EventLoopGroup
    let requestTimeout: TimeAmount
    let maxConnections: Int
    private let listener = Mutex<NIOAsyncChannel<Connection, Never>?>(nil)

    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    init(address: SMTPServerConfiguration.ListenAddress, registry: PrometheusCollectorRegistry, health: HealthCheck,
         logger: Logger, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
         requestTimeout: TimeAmount = .seconds(10), maxConnections: Int = 32,
         bound: NIOAsyncChannel<Connection, Never>? = nil) {
        self.address = address
        self.registry = registry
        self.health = health
        self.logger = logger
        self.group = group
        self.requestTimeout = requestTimeout
        self.maxConnections = maxConnections
        listener.withLock { $0 = bound }
    }

    /// Opens the listening socket; a second call does nothing.
    func bind() async throws {
        guard listener.withLock({ $0 == nil }) else { return }
        let server = try await Self.bind(address, group: group)
        listener.withLock { $0 = server }
    }

    /// The socket alone, for the daemon to open as root before it has what `init` needs
    /// (the health check's heartbeat exists only once delivery does).
    static func bind(_ address: SMTPServerConfiguration.ListenAddress,
                     group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> NIOAsyncChannel<Connection, Never> {
        do {
            return try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: address.host, port: address.port) { child in
                    child.eventLoop.makeCompletedFuture {
                        try child.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        return try Connection(wrappingChannelSynchronously: child)
                    }
                }
        } catch {
            throw DaemonError(description: "metrics_listen: cannot listen on \(address): \(error)")
        }
    }

    func run() async throws {
        try await bind()
        guard let server = listener.withLock({ $0 }) else { return }
        logger.info("metrics: serving /metrics and /healthz on \(server.channel.localAddress?.description ?? "\(address)")")
        await withGracefulShutdownHandler {
            await serveConnections(of: server, atMost: maxConnections, logger: logger) { await self.serve($0) }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
    }

    private func serve(_ connection: Connection) async {
        let channel = connection.channel
        let deadline = channel.eventLoop.scheduleTask(in: requestTimeout) { channel.close(promise: nil) }
        defer { deadline.cancel() }
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            for try await part in inbound {
                switch part {
                case .head(let requestHead): head = requestHead
                case .body: continue
                case .end:
                    guard let head else { return }
                    let (status, contentType, body) = respond(to: head)
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: contentType)
                    headers.add(name: "Content-Length", value: String(body.count))
                    headers.add(name: "Connection", value: "close")
                    try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)))
                    if head.method != .HEAD {
                        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
                    }
                    try await outbound.write(.end(nil))
                    return
                }
            }
        }
    }

    func respond(to head: HTTPRequestHead) -> (HTTPResponseStatus, String, [UInt8]) {
        guard head.method == .GET || head.method == .HEAD else {
            return (.methodNotAllowed, "text/plain; charset=utf-8", Array("only GET and HEAD\n".utf8))
        }
        // The query string is ignored, as Prometheus servers do for `/metrics?...` probes.
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        switch path {
        case "/metrics":
            return (.ok, "text/plain; version=0.0.4; charset=utf-8", registry.emitToBuffer())
        case "/healthz":
            let verdict = health.check()
            return (verdict.healthy ? .ok : .serviceUnavailable, "text/plain; charset=utf-8", Array(verdict.text.utf8))
        default:
            return (.notFound, "text/plain; charset=utf-8", Array("not found; try /metrics or /healthz\n".utf8))
        }
    }
}
