// SPDX-License-Identifier: Apache-2.0

/// One recipient of the envelope with the RFC 3461 parameters that must survive to the bounce.
public struct EnvelopeRecipient: Hashable, Sendable, Codable {
    public var address: MailAddress
    /// RFC 3461 `ORCPT=` value as received (`rfc822;user@example.org`), if any.
    public var originalRecipient: String?
    /// RFC 3461 `NOTIFY=` value as received (`SUCCESS,FAILURE`, `NEVER`), if any.
    public var notify: String?

    public init(_ address: MailAddress, originalRecipient: String? = nil, notify: String? = nil) {
        self.address = address
        self.originalRecipient = originalRecipient
        self.notify = notify
    }
}

/// Who sent a message and to whom it goes (RFC 5321 §2.3.1). A nil `sender` is the null
/// reverse-path `<>`, used by bounces, which must never themselves be bounced.
public struct Envelope: Hashable, Sendable, Codable {
    public var sender: MailAddress?
    public var recipients: [EnvelopeRecipient]
    /// RFC 3461 `ENVID=` as received, if any.
    public var envelopeID: String?

    public init(sender: MailAddress?, recipients: [EnvelopeRecipient], envelopeID: String? = nil) {
        self.sender = sender
        self.recipients = recipients
        self.envelopeID = envelopeID
    }

    /// The reverse-path as written in `MAIL FROM:<...>` and in logs: `""` for the null sender.
    public var senderText: String { sender?.description ?? "" }
}

/// Where a stored message's bytes are: a byte range of a file. Queue files hold the envelope
/// before the message, so the range does not start at 0. Bodies are streamed from here to the
/// socket, never loaded whole. The bytes are the message exactly as it goes on the wire before
/// dot-stuffing: CRLF line endings, headers first.
public struct StoredMessage: Hashable, Sendable {
    /// Kept as directory and name, not as one path: the queue passes the same directory string
    /// to every message and the name is the queue ID's own string, so 100,000 queued messages
    /// hold no path bytes of their own (the path is built when a file is opened).
    public var directory: String
    public var name: String
    public var offset: Int64
    public var length: Int64
    /// True when any byte is ≥ 0x80: the transaction needs `BODY=8BITMIME`.
    public var hasEightBitContent: Bool

    public var path: String { directory + "/" + name }

    public init(directory: String, name: String, offset: Int64, length: Int64, hasEightBitContent: Bool) {
        self.directory = directory
        self.name = name
        self.offset = offset
        self.length = length
        self.hasEightBitContent = hasEightBitContent
    }

    public init(path: String, offset: Int64, length: Int64, hasEightBitContent: Bool) {
        let slash = path.lastIndex(of: "/")
        self.init(directory: slash.map { String(path[..<$0]) } ?? ".", name: slash.map { String(path[path.index(after: $0)...]) } ?? path,
                  offset: offset, length: length, hasEightBitContent: hasEightBitContent)
    }
}
