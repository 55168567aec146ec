// SPDX-License-Identifier: Apache-2.0
import MailMessage
import SMTPProtocol

/// One message to one server: the envelope for this host and where the bytes are.
public struct OutgoingTransaction: Sendable {
    /// nil is the null reverse-path `<>` (bounces).
    public var sender: MailAddress?
    public var recipients: [EnvelopeRecipient]
    public var message: StoredMessage
    /// RFC 3461 `ENVID`, sent only to servers that offer DSN.
    public var envelopeID: String?
    /// Header fields sent in front of the stored message (a `DKIM-Signature:`), CRLF-terminated.
    public var prefix: [UInt8]

    public init(sender: MailAddress?, recipients: [EnvelopeRecipient], message: StoredMessage, envelopeID: String? = nil,
                prefix: [UInt8] = []) {
        self.sender = sender
        self.recipients = recipients
        self.message = message
        self.envelopeID = envelopeID
        self.prefix = prefix
    }

    /// The size of the message as sent (before dot-stuffing): the prefix and the stored bytes.
    public var length: Int64 { Int64(prefix.count) + message.length }
}

/// Every reply of one transaction. `recipientReplies` has one entry per recipient, in order;
/// where the server was never asked (MAIL refused, message over SIZE, UTF-8 address without
/// SMTPUTF8) the entry is a synthetic reply saying why.
public struct TransactionResult: Sendable, Hashable {
    public var mailReply: SMTPReply
    public var recipientReplies: [SMTPReply]
    /// The reply to the final `.` (or to DATA, if DATA itself was refused); nil if DATA was not
    /// reached because no recipient was accepted or MAIL was refused.
    public var dataReply: SMTPReply?
    /// True when the server offered PIPELINING and the commands were sent as one group.
    public var pipelined: Bool

    public init(mailReply: SMTPReply, recipientReplies: [SMTPReply], dataReply: SMTPReply?, pipelined: Bool = false) {
        self.mailReply = mailReply
        self.recipientReplies = recipientReplies
        self.dataReply = dataReply
        self.pipelined = pipelined
    }

    /// What happened to recipient `index`: its RCPT reply if that refused it, else the data reply.
    public func effectiveReply(forRecipient index: Int) -> SMTPReply {
        let reply = recipientReplies[index]
        guard reply.isPositive, let dataReply else { return reply }
        return dataReply
    }

    /// True when the message was accepted for recipient `index`.
    public func isDelivered(recipient index: Int) -> Bool {
        recipientReplies[index].isPositive && dataReply.map { (200..<300).contains($0.code) } == true
    }
}
