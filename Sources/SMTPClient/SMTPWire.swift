// SPDX-License-Identifier: Apache-2.0
import Logging
import NIOCore
import NIOSSL
import SMTPProtocol

/// The async face of one channel: write bytes, read replies, each with a deadline, errors
/// turned into `SMTPClientError` carrying the stage. Shared by the handshake and transactions.
struct SMTPWire: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<SMTPReplyHandler>
    let logger: Logger

    var loop: any EventLoop { channel.eventLoop }

    func read(_ stage: SMTPStage, timeout: Duration) async throws(SMTPClientError) -> SMTPReply {
        let handler = self.handler, loop = self.loop
        let reply: SMTPReply
        do {
            reply = try await loop.flatSubmit { handler.value.nextReply(on: loop, timeout: TimeAmount(timeout)) }.get()
        } catch {
            throw Self.map(error, stage)
        }
        logger.trace("S: \(reply)", metadata: ["smtp.stage": "\(stage)"])
        return reply
    }

    func write(_ buffer: ByteBuffer, _ stage: SMTPStage, timeout: Duration) async throws(SMTPClientError) {
        let handler = self.handler, loop = self.loop
        do {
            try await loop.flatSubmit { handler.value.write(buffer, on: loop, timeout: TimeAmount(timeout)) }.get()
        } catch {
            throw Self.map(error, stage)
        }
    }

    /// Formats and writes `commands` in one write (one command, or an RFC 2920 group).
    func send(_ commands: [SMTPClientCommand], _ stage: SMTPStage, timeout: Duration) async throws(SMTPClientError) {
        var buffer = ByteBuffer()
        for command in commands {
            do {
                let line = try command.encoded()
                logger.trace("C: \(line.dropLast())")
                buffer.writeString(line)
            } catch {
                throw .invalidTransaction(error.description)
            }
        }
        try await write(buffer, stage, timeout: timeout)
    }

    /// Sends one command and reads its reply.
    func command(_ command: SMTPClientCommand, _ stage: SMTPStage, timeout: Duration) async throws(SMTPClientError) -> SMTPReply {
        try await send([command], stage, timeout: timeout)
        return try await read(stage, timeout: timeout)
    }

    /// Arms the handler to add TLS on a `220`, then sends STARTTLS and returns its reply.
    func startTLS(context: NIOSSLContext, serverHostname: String?, timeout: Duration) async throws(SMTPClientError) -> SMTPReply {
        let handler = self.handler
        do {
            try await loop.submit { handler.value.expectStartTLSReply(context: context, serverHostname: serverHostname) }.get()
        } catch {
            throw Self.map(error, .startTLS)
        }
        return try await command(.startTLS, .startTLS, timeout: timeout)
    }

    /// The negotiated protocol version, e.g. `TLSv1.3`, once TLS is up.
    func tlsDescription() async -> String? {
        let channel = self.channel
        let version = try? await loop.submit { () throws -> TLSVersion? in
            try channel.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self).tlsVersion
        }.get()
        switch version {
        case .tlsv1: return "TLSv1.0"
        case .tlsv11: return "TLSv1.1"
        case .tlsv12: return "TLSv1.2"
        case .tlsv13: return "TLSv1.3"
        case .none, .some: return nil
        }
    }

    func close() {
        channel.close(promise: nil)
    }

    static func map(_ error: any Error, _ stage: SMTPStage) -> SMTPClientError {
        if let error = error as? SMTPClientError { return error }
        switch error as? ChannelFailure {
        case .closed: return .connectionClosed(stage: stage)
        case .timedOut: return .timeout(stage: stage)
        case .protocolViolation(let text): return .protocolViolation(stage: stage, text)
        case .tls(let text): return .tlsHandshakeFailed(text)
        case .network(let text): return .networkError(stage: stage, text)
        case .none:
            if let error = error as? ChannelError, case .ioOnClosedChannel = error { return .connectionClosed(stage: stage) }
            return .networkError(stage: stage, "\(error)")
        }
    }
}
