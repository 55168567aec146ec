// SPDX-License-Identifier: Apache-2.0
import MailMessage

/// One complete mail transaction as the server received it: what MAIL, RCPT and DATA said.
/// The listener adds the client's address and the `Received:` line before handing it on.
public struct ServerMailTransaction: Sendable, Hashable {
    public enum BodyType: String, Sendable, Hashable {
        case sevenBit = "7BIT"
        case eightBitMIME = "8BITMIME"
    }

    public var envelope: Envelope
    /// The content exactly as decoded: CRLF line endings, transparency dots removed, no
    /// terminator. Never contains a bare CR or LF (the decoder refuses those).
    public var content: [UInt8]
    /// RFC 6152 `BODY=` as declared (7BIT when absent).
    public var bodyType: BodyType
    /// RFC 6531 `SMTPUTF8` was given on MAIL.
    public var smtpUTF8: Bool
    /// The HELO/EHLO argument, for the `Received:` line.
    public var heloName: String
    /// RFC 3848 protocol name for `Received: ... with`: SMTP, ESMTP, ESMTPS.
    public var protocolName: String
    /// Who authenticated with AUTH in this session, if anyone.
    public var authenticatedUser: String?

    public init(envelope: Envelope, content: [UInt8], bodyType: BodyType, smtpUTF8: Bool,
                heloName: String, protocolName: String, authenticatedUser: String? = nil) {
        self.authenticatedUser = authenticatedUser
        self.envelope = envelope
        self.content = content
        self.bodyType = bodyType
        self.smtpUTF8 = smtpUTF8
        self.heloName = heloName
        self.protocolName = protocolName
    }

    /// True when the content holds any octet ≥ 0x80, whatever BODY= said.
    public var hasEightBitContent: Bool { MessageBytes.hasEightBitBytes(content) }
}
