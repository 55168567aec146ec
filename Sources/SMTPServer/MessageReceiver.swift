// SPDX-License-Identifier: Apache-2.0
import MailMessage
import NIOCore
import SMTPProtocol

/// Where accepted mail goes. The listener declares this seam and the daemon implements it over
/// the queue, so this module never imports `MailQueue` (as Hummingbird's core declares
/// `Responder`). Tests use an in-memory receiver.
///
/// Contract (RFC 5321 §6.1): `receive` returns only once the message is stored durably (written
/// and fsynced). The listener sends `250` after it returns, and from then on the client may
/// forget the message. Throw a `ReceiptRefusal` to choose the reply (e.g. `452 4.3.1` for a
/// full disk); any other error is answered `451 4.3.0`. Nothing half-written may be kept.
public protocol MessageReceiver: Sendable {
    func receive(_ message: ReceivedMessage) async throws -> ReceiptOutcome
}

/// One message accepted over SMTP, ready to be queued.
public struct ReceivedMessage: Sendable {
    /// Chosen by the listener so the `Received:` line can name it; the queue must use it.
    public var queueID: QueueID
    public var envelope: Envelope
    /// CRLF message bytes: our `Received:` field, then the content exactly as decoded.
    public var content: [UInt8]
    /// Any octet ≥ 0x80 in the content (whatever BODY= declared).
    public var hasEightBitContent: Bool
    /// RFC 6531: the client gave SMTPUTF8 on MAIL.
    public var smtpUTF8: Bool
    /// RFC 6152 BODY= as declared.
    public var bodyType: ServerMailTransaction.BodyType
    /// The client's address, e.g. for `NewMessage.source = "smtp:[192.0.2.1]"`.
    public var clientAddress: SocketAddress?
    public var heloName: String
    /// RFC 3848 `with` value: SMTP, ESMTP, ESMTPS.
    public var protocolName: String

    public init(queueID: QueueID, envelope: Envelope, content: [UInt8], hasEightBitContent: Bool, smtpUTF8: Bool,
                bodyType: ServerMailTransaction.BodyType, clientAddress: SocketAddress?, heloName: String,
                protocolName: String) {
        self.queueID = queueID
        self.envelope = envelope
        self.content = content
        self.hasEightBitContent = hasEightBitContent
        self.smtpUTF8 = smtpUTF8
        self.bodyType = bodyType
        self.clientAddress = clientAddress
        self.heloName = heloName
        self.protocolName = protocolName
    }

    /// `smtp:[192.0.2.1]`, the form `NewMessage.source` documents.
    public var sourceDescription: String { "smtp:[\(clientAddress?.ipAddress ?? "unknown")]" }
}

/// What the receiver did with a message it stored.
public enum ReceiptOutcome: Sendable, Hashable {
    /// Stored durably under this ID: the client gets `250 2.0.0 Ok: queued as ID`.
    case queued(QueueID)
}

/// A refusal the receiver chooses, carrying the reply the client gets.
public struct ReceiptRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    public var reply: SMTPReply

    public init(_ reply: SMTPReply) {
        self.reply = reply
    }

    public init(code: Int, status: EnhancedStatusCode, _ text: String) {
        self.reply = SMTPReply(code: code, enhancedStatus: status, text)
    }

    public var description: String { reply.description }

    /// `451 4.3.0` for a receiver error that carries no reply of its own.
    public static let localError = ReceiptRefusal(code: 451, status: EnhancedStatusCode(.persistentTransientFailure, 3, 0),
                                                  "Local error in processing, try again later")
}
