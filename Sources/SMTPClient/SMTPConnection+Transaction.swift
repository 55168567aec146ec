// SPDX-License-Identifier: Apache-2.0
import MailMessage
import NIOCore
import SMTPProtocol

/// What follows DATA: header fields added in front, then the stored message.
typealias MessageBody = (prefix: [UInt8], reader: MessageBodyReader)

extension SMTPConnection {
    /// Callers split larger envelopes (RFC 5321 §4.5.3.1.8 asks servers to take at least 100);
    /// this is only a guard against a runaway caller.
    public static let maximumRecipients = 1000

    /// Runs one transaction: MAIL, RCPT for each recipient, DATA and the body. Server refusals are
    /// replies in the result, not errors; errors mean the conversation itself failed.
    public func send(_ transaction: OutgoingTransaction) async throws(SMTPClientError) -> TransactionResult {
        let count = transaction.recipients.count
        guard count > 0 else { throw .invalidTransaction("no recipients") }
        guard count <= Self.maximumRecipients else { throw .invalidTransaction("\(count) recipients, at most \(Self.maximumRecipients)") }
        if let refusal = refusalBeforeMail(transaction) { return refusal }
        let (mail, rcpts) = try commands(for: transaction)
        let body = try await MessageBodyReader.open(transaction.message)
        try acquire()
        do {
            let (result, healthy) = try await run(mail: mail, rcpts: rcpts, body: (transaction.prefix, body))
            release(broken: !healthy)
            wire.logger.debug("transaction done", metadata: [
                "smtp.mail": "\(result.mailReply)", "smtp.data": "\(result.dataReply.map { "\($0)" } ?? "-")",
                "smtp.accepted": "\(result.recipientReplies.filter(\.isPositive).count)/\(count)",
            ])
            return result
        } catch {
            release(broken: true)
            throw error
        }
    }

    /// What the server must not even be asked: a message over its announced SIZE (RFC 1870 §6.1)
    /// or UTF-8 addresses to a server without SMTPUTF8 (RFC 6531 §3.2).
    private func refusalBeforeMail(_ transaction: OutgoingTransaction) -> TransactionResult? {
        let refusal: SMTPReply
        if let limit = capabilities.sizeLimit, transaction.length > limit {
            refusal = SMTPReply(code: 552, enhancedStatus: .messageTooBig,
                                "message of \(transaction.length) bytes exceeds \(serverName)'s limit of \(limit)")
        } else if needsSMTPUTF8(transaction) && !capabilities.smtpUTF8 {
            refusal = SMTPReply(code: 553, enhancedStatus: .nonASCIIAddressNotPermitted,
                                "\(serverName) does not support SMTPUTF8, needed for a non-ASCII address")
        } else {
            return nil
        }
        return TransactionResult(mailReply: refusal, recipientReplies: Array(repeating: refusal, count: transaction.recipients.count),
                                 dataReply: nil)
    }

    private func needsSMTPUTF8(_ transaction: OutgoingTransaction) -> Bool {
        transaction.sender?.needsSMTPUTF8 == true || transaction.recipients.contains { $0.address.needsSMTPUTF8 }
    }

    /// Formats every command up front, so a field that would inject a command fails the
    /// transaction before anything is written. DSN parameters go only to servers offering DSN
    /// (RFC 3461 §4). 8-bit content goes to a server without 8BITMIME anyway, without `BODY=`,
    /// as Postfix does: most such servers pass it through, and bouncing would be worse.
    private func commands(for transaction: OutgoingTransaction) throws(SMTPClientError) -> (SMTPClientCommand, [SMTPClientCommand]) {
        let dsn = capabilities.dsn
        let parameters = MailParameters(
            eightBitMIME: transaction.message.hasEightBitContent && capabilities.eightBitMIME,
            smtpUTF8: needsSMTPUTF8(transaction),
            size: capabilities.size ? transaction.length : nil,
            envelopeID: dsn ? transaction.envelopeID : nil)
        let mail = SMTPClientCommand.mail(from: transaction.sender, parameters)
        let rcpts = transaction.recipients.map { recipient in
            SMTPClientCommand.rcpt(to: recipient.address, dsn
                ? RecipientParameters(notify: recipient.notify, originalRecipient: recipient.originalRecipient)
                : RecipientParameters())
        }
        for command in [mail] + rcpts {
            do { _ = try command.encoded() } catch { throw .invalidTransaction(error.description) }
        }
        return (mail, rcpts)
    }

    /// Returns the result and whether the connection is still fit for another transaction.
    private func run(mail: SMTPClientCommand, rcpts: [SMTPClientCommand],
                     body: MessageBody) async throws(SMTPClientError) -> (TransactionResult, Bool) {
        let timeouts = configuration.timeouts
        if capabilities.pipelining {
            // RFC 2920 §3.1: MAIL, RCPT and DATA may all go in one group; replies come in order.
            try await wire.send([mail] + rcpts + [.data], .mail, timeout: timeouts.mail)
            let mailReply = try await wire.read(.mail, timeout: timeouts.mail)
            var rcptReplies: [SMTPReply] = []
            for _ in rcpts { rcptReplies.append(try await wire.read(.rcpt, timeout: timeouts.rcpt)) }
            let dataReply = try await wire.read(.data, timeout: timeouts.dataInitiation)
            return try await complete(mailReply, rcptReplies, dataReply, body: body, pipelined: true)
        }
        let mailReply = try await wire.command(mail, .mail, timeout: timeouts.mail)
        guard mailReply.isPositive else {
            return (TransactionResult(mailReply: mailReply, recipientReplies: rcpts.map { _ in mailReply }, dataReply: nil), true)
        }
        var rcptReplies: [SMTPReply] = []
        for rcpt in rcpts { rcptReplies.append(try await wire.command(rcpt, .rcpt, timeout: timeouts.rcpt)) }
        guard rcptReplies.contains(where: \.isPositive) else {
            let healthy = await resetQuietly()
            return (TransactionResult(mailReply: mailReply, recipientReplies: rcptReplies, dataReply: nil), healthy)
        }
        let dataReply = try await wire.command(.data, .data, timeout: timeouts.dataInitiation)
        return try await complete(mailReply, rcptReplies, dataReply, body: body, pipelined: false)
    }

    /// After the DATA reply: stream the body if the server is waiting for it and someone will get it.
    private func complete(_ mailReply: SMTPReply, _ rcptReplies: [SMTPReply], _ dataReply: SMTPReply,
                          body: MessageBody, pipelined: Bool) async throws(SMTPClientError) -> (TransactionResult, Bool) {
        // Recipients of a refused MAIL were answered "503 need MAIL" at best: the MAIL reply is the reason.
        let recipients = mailReply.isPositive ? rcptReplies : rcptReplies.map { _ in mailReply }
        let anyAccepted = mailReply.isPositive && rcptReplies.contains(where: \.isPositive)
        var result = TransactionResult(mailReply: mailReply, recipientReplies: recipients, dataReply: nil, pipelined: pipelined)
        if dataReply.code == 354 {
            guard anyAccepted else {
                // RFC 2920 §3.1: a server that says 354 with no recipient gets an empty message
                // (only the terminator), so that the conversation stays in step.
                try await wire.write(ByteBuffer(string: ".\r\n"), .dot, timeout: configuration.timeouts.dataBlock)
                _ = try await wire.read(.dot, timeout: configuration.timeouts.finalDot)
                return (result, await resetQuietly())
            }
            result.dataReply = try await streamBody(body)
            return (result, true)
        }
        result.dataReply = anyAccepted ? dataReply : nil
        return (result, mailReply.isPositive ? await resetQuietly() : true)
    }

    /// Writes the prefix, then the message, through the dot-stuffer, one chunk at a time, each
    /// write awaited (back-pressure); the terminator travels with the last chunk. Returns the
    /// final reply.
    private func streamBody(_ body: MessageBody) async throws(SMTPClientError) -> SMTPReply {
        let (prefix, reader) = body
        let length = reader.message.length
        var stuffer = DotStuffer()
        var pendingPrefix = prefix  // goes out with the first chunk, in the same write
        var position: Int64 = 0
        repeat {
            let chunk = try await reader.read(at: position)
            var output = ByteBuffer()
            output.reserveCapacity(pendingPrefix.count + chunk.readableBytes + chunk.readableBytes / 32 + 8)
            if !pendingPrefix.isEmpty {
                stuffer.encode(pendingPrefix, into: &output)
                pendingPrefix = []
            }
            position += Int64(chunk.readableBytes)
            stuffer.encode(chunk, into: &output)
            if position >= length { stuffer.finish(into: &output) }
            try await wire.write(output, .body, timeout: configuration.timeouts.dataBlock)
        } while position < length
        return try await wire.read(.dot, timeout: configuration.timeouts.finalDot)
    }

    /// RSET after an aborted transaction; false if the server did not take it.
    private func resetQuietly() async -> Bool {
        guard let reply = try? await wire.command(.rset, .rset, timeout: configuration.timeouts.rset) else { return false }
        return reply.code == 250
    }
}
