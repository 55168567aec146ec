// SPDX-License-Identifier: Apache-2.0
import Glibc
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import SMTPProtocol
import Synchronization

/// One SMTP conversation with one host, ready for transactions once `connect` returns.
/// Transactions on one connection run one at a time; a second concurrent `send` fails with
/// `.connectionUnusable` rather than interleave commands. Any error that may have left the
/// conversation out of step (timeout, close, protocol violation) makes the connection unusable.
public final class SMTPConnection: Sendable {
    /// What the server offers, from the last EHLO (the one after STARTTLS, if TLS is on).
    public let capabilities: ESMTPCapabilities
    public let greeting: SMTPReply
    public let isEncrypted: Bool
    /// e.g. `TLSv1.3`; nil without TLS.
    public let tlsDescription: String?
    public let remoteAddress: SocketAddress
    public let serverName: String

    let wire: SMTPWire
    let configuration: SMTPClientConfiguration
    let state = Mutex(State.idle)

    enum State { case idle, busy, broken }

    private init(wire: SMTPWire, handshake: Handshake, remoteAddress: SocketAddress, serverName: String,
                 configuration: SMTPClientConfiguration) {
        self.wire = wire
        self.capabilities = handshake.capabilities
        self.greeting = handshake.greeting
        self.isEncrypted = handshake.tlsDescription != nil
        self.tlsDescription = handshake.tlsDescription
        self.remoteAddress = remoteAddress
        self.serverName = serverName
        self.configuration = configuration
    }

    deinit { wire.close() }

    public static func connect(to address: SocketAddress, serverName: String, configuration: SMTPClientConfiguration,
                               eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                               logger: Logger) async throws(SMTPClientError) -> SMTPConnection {
        var logger = logger
        logger[metadataKey: "smtp.peer"] = "\(serverName)[\(address.ipAddress ?? "?")]"
        let wire = try await openChannel(to: address, configuration: configuration, group: eventLoopGroup, logger: logger)
        do {
            let handshake = try await Handshake.run(wire, serverName: serverName, configuration: configuration)
            logger.debug("connected", metadata: ["smtp.tls": "\(handshake.tlsDescription ?? "none")"])
            return SMTPConnection(wire: wire, handshake: handshake, remoteAddress: address, serverName: serverName,
                                  configuration: configuration)
        } catch {
            wire.close()
            throw error
        }
    }

    private static func openChannel(to address: SocketAddress, configuration: SMTPClientConfiguration,
                                    group: any EventLoopGroup, logger: Logger) async throws(SMTPClientError) -> SMTPWire {
        let loop = group.next()
        do {
            let handler = try await loop.submit { NIOLoopBound(SMTPReplyHandler(), eventLoop: loop) }.get()
            let channel = try await ClientBootstrap(group: loop)
                .connectTimeout(TimeAmount(configuration.timeouts.connect))
                // The final dot goes out with the last chunk; NODELAY keeps it from waiting on a
                // delayed ACK (OpenSMTPD lost ~40 ms per message that way).
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler.value) }
                }
                .connect(to: address).get()
            return SMTPWire(channel: channel, handler: handler, logger: logger)
        } catch let error as ChannelError {
            if case .connectTimeout = error { throw .timeout(stage: .connect) }
            throw .connectionFailed("\(error)")
        } catch let error as IOError {
            // The system's words, as Postfix logs them ("Connection refused"); NIO's own
            // description of an IOError is harder to read and carries a stray parenthesis.
            throw .connectionFailed(String(cString: strerror(error.errnoCode)))
        } catch {
            throw .connectionFailed("\(error)")
        }
    }

    // MARK: - Reuse and end

    /// RSET (RFC 5321 §4.1.1.5): leaves the connection ready for another transaction.
    public func reset() async throws(SMTPClientError) {
        try acquire()
        do throws(SMTPClientError) {
            let reply = try await wire.command(.rset, .rset, timeout: configuration.timeouts.rset)
            guard reply.code == 250 else { throw .unexpectedReply(stage: .rset, reply) }
            release(broken: false)
        } catch {
            release(broken: true)
            throw error
        }
    }

    /// QUIT and close. Never throws: the server's answer does not matter any more, and a broken
    /// connection is simply closed.
    public func quit() async {
        let wasUsable = state.withLock { state -> Bool in
            defer { state = .broken }
            return state == .idle
        }
        if wasUsable {
            _ = try? await wire.command(.quit, .quit, timeout: configuration.timeouts.quit)
        }
        wire.close()
    }

    func acquire() throws(SMTPClientError) {
        let acquired = state.withLock { state -> Bool in
            guard state == .idle else { return false }
            state = .busy
            return true
        }
        guard acquired else { throw .connectionUnusable }
    }

    func release(broken: Bool) {
        state.withLock { $0 = broken ? .broken : .idle }
        if broken { wire.close() }
    }
}
