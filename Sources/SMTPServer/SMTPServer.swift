// SPDX-License-Identifier: Apache-2.0
//
// SUMMARY
//   The SMTP listener: accepts connections, runs one session per connection and hands every
//   accepted message to a `MessageReceiver`.
//
// DESCRIPTION
//   `SMTPServer` is a `Service`: `bind()` binds every listen, submission and submissions address
//   (the daemon calls it while still root, before dropping privileges), and `run()` serves the
//   bound sockets (binding first if `bind()` was not called) until graceful shutdown (listeners
//   close first, open sessions get `421 4.3.2`) or cancellation. Each
//   connection runs in its own child task of a discarding task group, so a failing session
//   never stops the server. A session (`SMTPSession`) is a thin driver around the pure
//   `ServerSessionStateMachine`, `ServerCommandFramer` and `ServerDataDecoder` of SMTPProtocol.
//   The message is held in memory, bounded by `maximumMessageSize`, until the receiver has
//   stored it; the `250` goes out only after `receive` returns.
//
// SAFETY
//   Hostile clients are expected. Command lines are framed on CRLF only and DATA ends only at
//   CRLF.CRLF; a bare CR or LF is refused (SMTP smuggling, CVE-2023-51764/5/6). Plaintext
//   pipelined behind STARTTLS is dropped (CVE-2011-0411). Relay is decided per recipient from
//   the client address (`relayNetworks`) and the local domains, never from source routes or
//   `%`/`!` routing. Connections are limited in total and per address (`421 4.7.0`), idle
//   sessions are closed (`421 4.4.2`), errors are counted (`421` after `maximumErrors`).
//   AUTH (PLAIN, LOGIN) is offered only under TLS or to loopback clients; passwords are checked
//   against PBKDF2 hashes on a thread pool (never on the event loop), in constant time, with a
//   decoy check for unknown users; failures end the session after `maximumAuthenticationFailures`
//   and are throttled per client address (`AuthenticationThrottle`, `454 4.7.0`). Submission
//   ports require AUTH before MAIL and ignore `relayNetworks`; the user is never written into
//   `Received:`.
//
// SEE ALSO
//   RFC 5321, RFC 2920 (PIPELINING), RFC 3207 (STARTTLS), RFC 4954 (AUTH), RFC 4616 (PLAIN),
//   RFC 6409 (submission), RFC 8314 (implicit TLS), RFC 1870 (SIZE), RFC 6152
//   (8BITMIME), RFC 6531 (SMTPUTF8), RFC 2034/3463 (enhanced codes), RFC 3848 (with ESMTPS);
//   Sources/SMTPProtocol/ServerSessionStateMachine.swift for the protocol decisions.
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import SMTPProtocol
import ServiceLifecycle
import Synchronization

/// Why the listener could not start.
public enum SMTPServerError: Error, Sendable, Hashable, CustomStringConvertible {
    case tlsSetup(String)
    case bindFailed(String, String)

    public var description: String {
        switch self {
        case .tlsSetup(let detail): return "cannot set up TLS: \(detail)"
        case .bindFailed(let address, let detail): return "cannot listen on \(address): \(detail)"
        }
    }
}

public final class SMTPServer: Service, Sendable {
    /// The settings new sessions start with; `reload` replaces them (SMTPServerReload.swift).
    /// Each session keeps the ones it started with, so a reload never changes a conversation
    /// half-way through.
    let live: Mutex<LiveSettings>
    let inboundMemory: InboundMemory
    public var configuration: SMTPServerConfiguration { live.withLock { $0.configuration } }
    private let receiver: any MessageReceiver
    private let logger: Logger
    private let group: any EventLoopGroup
    let limiter: ConnectionLimiter
    let authenticationThrottle: AuthenticationThrottle
    private let sessions = SessionRegistry()
    private let listening = ListeningSignal()
    /// Filled by `bind()`, taken by `run()`.
    private let bound = Mutex<BindState>(.unbound)

    /// Reads the TLS files now, so a bad certificate stops the daemon at startup. The throttle
    /// is a parameter so tests can drive its clock.
    public init(configuration: SMTPServerConfiguration, receiver: any MessageReceiver, logger: Logger,
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                authenticationThrottle: AuthenticationThrottle = AuthenticationThrottle()) throws(SMTPServerError) {
        self.receiver = receiver
        self.logger = logger
        self.group = eventLoopGroup
        self.authenticationThrottle = authenticationThrottle
        self.live = Mutex(try LiveSettings(configuration, throttle: authenticationThrottle))
        self.inboundMemory = InboundMemory(capacity: configuration.inboundMemoryLimit)
        self.limiter = ConnectionLimiter(maximumTotal: configuration.maximumConnections,
                                         maximumPerAddress: configuration.maximumConnectionsPerIP)
    }

    /// Sessions open right now (for tests and, later, metrics).
    var openConnections: Int { limiter.openConnections }

    /// The bound addresses, once `bind()` (or `run()`) has bound them (port 0 becomes the real port).
    public func listeningAddresses() async throws -> [SocketAddress] {
        try await listening.wait()
    }

    /// Binds every configured address now, so that ports below 1024 can be opened before the
    /// process gives up root; `run()` then serves these sockets. A second call is a no-op. If
    /// one address fails, the ones already bound are closed and the error names the address.
    public func bind() async throws {
        guard bound.withLock({ state in
            guard case .unbound = state else { return false }
            state = .binding
            return true
        }) else { return }
        let listeners: [Listener]
        do {
            listeners = try await bindAll()
        } catch {
            bound.withLock { $0 = .failed }
            listening.fail(error)
            throw error
        }
        bound.withLock { $0 = .bound(listeners) }
        listening.succeed(listeners.compactMap { $0.channel.channel.localAddress })
    }

    public func run() async throws {
        try await bind()
        let listeners: [Listener] = try bound.withLock { state in
            guard case .bound(let listeners) = state else { throw SMTPServerError.bindFailed("the listen addresses", "bind() did not complete") }
            state = .serving
            return listeners
        }
        logger.info("SMTP listening on \(listeners.compactMap { $0.channel.channel.localAddress?.description }.joined(separator: ", "))")
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for listener in listeners {
                    group.addTask { await self.accept(on: listener) }
                }
            }
        } onGracefulShutdown: {
            for listener in listeners { listener.channel.channel.close(promise: nil) }
            self.sessions.closeAll(with: ServerReplies.shuttingDown)
        }
    }

    private func accept(on listener: Listener) async {
        do {
            try await listener.channel.executeThenClose { connections in
                await withDiscardingTaskGroup { group in
                    do {
                        for try await connection in connections {
                            group.addTask { await self.serve(connection, port: listener.port) }
                        }
                    } catch {
                        self.logger.debug("listener stopped: \(error)")
                    }
                }
            }
        } catch {
            logger.error("listener failed: \(error)")
        }
    }

    private func serve(_ connection: NIOAsyncChannel<InboundChunk, Never>, port: SMTPServerConfiguration.Port) async {
        let client = connection.channel.remoteAddress?.ipAddress ?? "unknown"
        guard limiter.admit(client) else {
            SMTPServerMetrics.refused.increment()
            logger.warning("connection limit reached, refusing \(client)")
            try? await connection.executeThenClose { _, _ in
                try await connection.channel.writeAndFlush(ByteBuffer(bytes: ServerReplies.tooManyConnections.encoded()))
            }
            return
        }
        SMTPServerMetrics.accepted.increment()
        let slot = ConnectionSlot(limiter: limiter, address: client)
        defer { slot.release() }
        let id = sessions.add(connection.channel)
        defer { sessions.remove(id) }
        let settings = live.withLock { $0 }
        let configuration = settings.configuration
        let session = SMTPSession(connection: connection, configuration: configuration, tlsContext: settings.tlsContext,
                                  receiver: receiver, inboundMemory: inboundMemory, authenticator: settings.authenticator, port: port, logger: logger,
                                  releaseSlot: slot.release,
                                  clientName: ClientNameLookup(address: connection.channel.remoteAddress,
                                                               lookup: configuration.reverseLookup,
                                                               timeout: configuration.reverseLookupTimeout))
        defer { session.clientName.cancel() }
        do {
            try await session.run()
        } catch {
            // A dropped connection, a TLS failure or a hostile peer: only this session ends.
            logger.debug("session with \(client) ended: \(error)")
        }
    }

    /// Where the sockets are between `bind()` and `run()`; `run()` takes them once.
    enum BindState: Sendable {
        case unbound, binding, failed, serving
        case bound([Listener])
    }

    /// One bound socket and what it is for.
    struct Listener: Sendable {
        var channel: NIOAsyncChannel<NIOAsyncChannel<InboundChunk, Never>, Never>
        var port: SMTPServerConfiguration.Port
    }

    private func bindAll() async throws -> [Listener] {
        var bound: [Listener] = []
        for (address, port) in configuration.allListeners {
            do {
                var bootstrap = ServerBootstrap(group: group)
                    .serverChannelOption(.backlog, value: 256)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                // Linux binds "[::]" dual-stack, which collides with a "0.0.0.0" listener on the
                // same port; as nginx and Postfix do, an IPv6 listener takes IPv6 only.
                if address.host.contains(":") {
                    bootstrap = bootstrap.serverChannelOption(
                        ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only), value: 1)
                }
                let listener = try await bootstrap
                    .bind(host: address.host, port: address.port) { child in
                        child.eventLoop.makeCompletedFuture {
                            // Read per connection, so a reload's certificate and timeout apply to the next client.
                            let settings = self.live.withLock { $0 }
                            let idle = TimeAmount(settings.configuration.idleTimeout)
                            // RFC 8314 §3.3: on the submissions port TLS starts before the first SMTP byte.
                            if port == .submissions, let implicitTLS = settings.tlsContext {
                                try child.pipeline.syncOperations.addHandler(TLSCipherObserver())
                                try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: implicitTLS))
                            }
                            try child.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idle))
                            try child.pipeline.syncOperations.addHandler(InboundGate(lineTimeout: idle))
                            return try NIOAsyncChannel<InboundChunk, Never>(wrappingChannelSynchronously: child)
                        }
                    }
                bound.append(Listener(channel: listener, port: port))
            } catch {
                for listener in bound { try? await listener.channel.channel.close() }
                throw SMTPServerError.bindFailed(address.description, "\(error)")
            }
        }
        return bound
    }

    /// RFC 8996: TLS 1.0 and 1.1 are not offered.
    static func makeTLSContext(_ files: SMTPServerConfiguration.TLSFiles) throws(SMTPServerError) -> NIOSSLContext {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(files.certificateChainPath).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: files.privateKeyPath, format: .pem)
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            tls.minimumTLSVersion = .tlsv12
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw .tlsSetup("\(files.certificateChainPath), \(files.privateKeyPath): \(error)")
        }
    }
}
