// SPDX-License-Identifier: Apache-2.0
import Logging
import MailMessage
import NIOCore
import NIOSSL
import SMTPProtocol

/// The driver of one connection: reads bytes, frames them (commands or DATA), feeds the state
/// machine, writes its replies and hands finished messages to the receiver. All decisions are
/// in `ServerSessionStateMachine`; this file only does I/O.
struct SMTPSession: Sendable {
    let connection: NIOAsyncChannel<InboundChunk, Never>
    let configuration: SMTPServerConfiguration
    let tlsContext: NIOSSLContext?
    let receiver: any MessageReceiver
    let inboundMemory: InboundMemory
    let authenticator: Authenticator
    let port: SMTPServerConfiguration.Port
    let logger: Logger
    /// Frees this connection's slot in the limits; called just before the closing reply goes out.
    let releaseSlot: @Sendable () -> Void
    /// The client's reverse name, looked up beside the dialogue for the `Received:` field.
    let clientName: ClientNameLookup

    var channel: any Channel { connection.channel }

    func run() async throws {
        let remote = channel.remoteAddress
        let mayRelay = remote.map { address in configuration.relayNetworks.contains { $0.contains(address) } } ?? false
        let sessionConfiguration = configuration.sessionConfiguration(
            port: port, clientMayRelay: mayRelay, clientIsLoopback: remote.map(Self.isLoopback) ?? false)
        var machine = ServerSessionStateMachine(configuration: sessionConfiguration, tlsActive: port == .submissions)
        try await connection.executeThenClose { inbound, _ in
            var output = ByteBuffer()
            machine.greeting.encode(into: &output)
            var input = SessionInput(memory: inboundMemory)
            defer { input.releaseHeldContent() }
            var iterator = inbound.makeAsyncIterator()
            while true {
                if try await process(&input, &machine, &output) == .close {
                    releaseSlot()
                    try await flush(&output)
                    return
                }
                // RFC 2920 §3.1: replies to a pipelined group may go out together, but before waiting for more.
                try await flush(&output)
                guard let chunk = try await iterator.next() else { return }
                guard chunk.epoch == input.epoch else { continue }
                input.append(chunk.bytes.readableBytesView)
            }
        }
    }

    private enum Next { case readMore, close }

    /// Handles every complete command (and DATA content) already read.
    private func process(_ input: inout SessionInput, _ machine: inout ServerSessionStateMachine,
                         _ output: inout ByteBuffer) async throws -> Next {
        while true {
            if input.decoder != nil {
                guard let finished = input.finishData() else { return .readMore }
                try await flush(&output)
                let reply = await deliver(machine.receivedData(finished))
                // The receiver has stored (or refused) the message; its bytes are no longer held.
                input.releaseHeldContent()
                reply.encode(into: &output)
                continue
            }
            guard let event = input.framer.next() else { return .readMore }
            var action = machine.receivedFramerEvent(event)
            if case .authenticate(let credentials) = action {
                action = machine.authenticationFinished(await authenticate(credentials))
            }
            switch action {
            case .reply(let reply):
                reply.encode(into: &output)
            case .replyAndClose(let reply):
                reply.encode(into: &output)
                return .close
            case .beginData(let reply, let maximumSize):
                reply.encode(into: &output)
                input.beginData(maximumSize: maximumSize)
            case .startTLS(let reply):
                // CVE-2011-0411: whatever was pipelined behind STARTTLS came in plaintext; drop it.
                input.framer.discardBuffered()
                try await flush(&output)
                try await startTLS(reply)
                input.epoch += 1
            case .authenticate:
                preconditionFailure("internal inconsistency: authenticationFinished asked to authenticate again")
            }
        }
    }

    /// Checks AUTH credentials; the user name goes to the log (never the password, never the
    /// `Received:` field).
    private func authenticate(_ credentials: ServerCredentials) async -> ServerAuthenticationOutcome {
        let client = channel.remoteAddress?.ipAddress ?? "unknown"
        let outcome = await authenticator.authenticate(credentials, clientAddress: client)
        switch outcome {
        case .accepted: logger.info("AUTH succeeded", metadata: ["smtp.client": "\(client)", "smtp.user": "\(credentials.username)"])
        case .rejected: logger.warning("AUTH failed", metadata: ["smtp.client": "\(client)", "smtp.user": "\(credentials.username)"])
        case .throttled: logger.warning("AUTH throttled after repeated failures", metadata: ["smtp.client": "\(client)"])
        }
        return outcome
    }

    static func isLoopback(_ address: SocketAddress) -> Bool {
        guard let ip = address.ipAddress else { return false }
        return ip.hasPrefix("127.") || ip == "::1" || ip.hasPrefix("::ffff:127.")
    }

    private func deliver(_ action: ServerDataAction) async -> SMTPReply {
        switch action {
        case .reply(let reply):
            logger.info("message refused: \(reply)", metadata: ["smtp.client": "\(channel.remoteAddress?.ipAddress ?? "?")"])
            return reply
        case .deliver(let transaction):
            let queueID = QueueID.generate()
            let tlsVersion = await negotiatedTLSVersion()
            let received = ReceivedField.make(transaction: transaction, clientAddress: channel.remoteAddress,
                                              clientName: await clientName.name, hostname: configuration.hostname, tlsVersion: tlsVersion, queueID: queueID,
                                              disclosingUser: configuration.receivedShowsAuthenticatedUser)
            let message = ReceivedMessage(
                queueID: queueID, envelope: transaction.envelope, content: received + transaction.content,
                hasEightBitContent: transaction.hasEightBitContent, smtpUTF8: transaction.smtpUTF8,
                bodyType: transaction.bodyType, clientAddress: channel.remoteAddress,
                heloName: transaction.heloName, protocolName: transaction.protocolName)
            do {
                // RFC 5321 §6.1: the 250 is sent only after the receiver has stored the message.
                switch try await receiver.receive(message) {
                case .queued(let id):
                    logger.info("\(id): client=\(message.sourceDescription), from=<\(transaction.envelope.senderText)>, nrcpt=\(transaction.envelope.recipients.count), size=\(message.content.count)")
                    return ServerReplies.accepted(queueID: id.rawValue)
                }
            } catch let refusal as ReceiptRefusal {
                logger.warning("\(queueID): refused by the receiver: \(refusal)")
                return refusal.reply
            } catch {
                logger.error("\(queueID): receiver failed: \(error)")
                return ReceiptRefusal.localError.reply
            }
        }
    }

    private func flush(_ output: inout ByteBuffer) async throws {
        guard output.readableBytes > 0 else { return }
        let bytes = output
        output.clear()
        try await channel.writeAndFlush(bytes)
    }

    /// Writes `220` and inserts the TLS handler in one event-loop task, so the reply leaves in
    /// plaintext and every byte read afterwards is decrypted (RFC 3207 §4).
    private func startTLS(_ reply: SMTPReply) async throws {
        guard let tlsContext else { preconditionFailure("internal inconsistency: STARTTLS offered without a TLS context") }
        let channel = self.channel
        try await channel.eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
            var buffer = channel.allocator.buffer(capacity: 64)
            reply.encode(into: &buffer)
            let written = channel.writeAndFlush(buffer)
            do {
                let operations = channel.pipeline.syncOperations
                try operations.addHandler(NIOSSLServerHandler(context: tlsContext), position: .first)
                // In front of the TLS handler, where the ServerHello passes in the clear.
                try operations.addHandler(TLSCipherObserver(), position: .first)
                try operations.handler(type: InboundGate.self).startNewEpoch()
            } catch {
                return channel.eventLoop.makeFailedFuture(error)
            }
            return written
        }.get()
    }

    /// `TLSv1.3 with cipher TLS_AES_128_GCM_SHA256` (the cipher when TLSCipherObserver saw it),
    /// nil before TLS.
    private func negotiatedTLSVersion() async -> String? {
        let channel = self.channel
        let negotiated = try? await channel.eventLoop.submit { () throws -> (TLSVersion?, UInt16?) in
            let operations = channel.pipeline.syncOperations
            let version = try operations.handler(type: NIOSSLServerHandler.self).tlsVersion
            return (version, try? operations.handler(type: TLSCipherObserver.self).cipherSuite)
        }.get()
        let name: String
        switch negotiated?.0 {
        case .tlsv12: name = "TLSv1.2"
        case .tlsv13: name = "TLSv1.3"
        case .none: return nil
        case .some: name = "TLS"
        }
        guard let suite = negotiated?.1 else { return name }
        return "\(name) with cipher \(TLSCipherObserver.name(of: suite))"
    }
}

/// The bytes read but not yet handled, and the mode they are read in.
struct SessionInput {
    var framer = ServerCommandFramer()
    var decoder: ServerDataDecoder?
    var epoch = 0
    let memory: InboundMemory
    /// The bytes of DATA content this session has taken from `memory`.
    private var heldContent = 0

    init(memory: InboundMemory) {
        self.memory = memory
    }

    mutating func append(_ bytes: ByteBufferView) {
        // A ByteBuffer is contiguous, so this is the path taken; the copy is a fallback only.
        let done: Void? = bytes.withContiguousStorageIfAvailable { storage in
            append(UnsafeRawBufferPointer(storage))
        }
        if done == nil { append(Array(bytes)[...]) }
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if var decoder {
            // DATA content goes straight to the decoder; only what follows its terminator is framed.
            let used = decoder.decode(bytes)
            account(&decoder)
            self.decoder = decoder
            framer.append(UnsafeRawBufferPointer(rebasing: bytes[used...]))
        } else {
            framer.append(bytes)
        }
    }

    private mutating func append(_ bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBytes { append($0) }
    }

    mutating func beginData(maximumSize: Int) {
        var decoder = ServerDataDecoder(maximumSize: maximumSize)
        let pending = framer.takeBuffered()
        let used = decoder.decode(pending)
        account(&decoder)
        framer.append(pending[used...])
        self.decoder = decoder
    }

    /// Takes what the content grew by from the shared memory bound; when it does not fit, the
    /// message is abandoned (452 at its end) and what it held is given back.
    private mutating func account(_ decoder: inout ServerDataDecoder) {
        let stored = decoder.content.count
        if stored > heldContent {
            if memory.take(stored - heldContent) {
                heldContent = stored
            } else {
                decoder.abandon(.insufficientStorage)
            }
        }
        if decoder.content.count < heldContent {
            memory.give(heldContent - decoder.content.count)
            heldContent = decoder.content.count
        }
    }

    mutating func releaseHeldContent() {
        memory.give(heldContent)
        heldContent = 0
    }

    /// The decoder once it has read the terminator (and leaves command mode), else nil.
    mutating func finishData() -> ServerDataDecoder? {
        guard let decoder, decoder.isFinished else { return nil }
        self.decoder = nil
        return decoder
    }
}
