// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import MailMessage
import SafeIO

/// The on-disk form of one queued message, `msg/<QueueID>`: a short text header, the message
/// bytes exactly as they will go on the wire (CRLF, before dot-stuffing), and a required end
/// record.
///
///     MAILROOT-QUEUE 1                     magic and format version, always the first line
///     id 0J5Z8W3Q2B0000AB                  must equal the file name (a file copied under another name is corrupt)
///     arrival 1712345678123456             microseconds since 1970 UTC
///     sender alice@example.org             `sender <>` for the null reverse-path (a bounce)
///     envid QQ314159                       optional, RFC 3461 ENVID (escaped)
///     flags 8bit smtputf8                  optional words: BODY=8BITMIME / SMTPUTF8 needed
///     source pickup:/var/mailroot/pickup/x.eml   free text for the administrator (escaped)
///     rcpt bob@example.org orcpt=rfc822;bob@example.org notify=FAILURE   one per recipient, in order
///     body 1234                            length of the message bytes
///                                          an empty line ends the header
///     <1234 bytes of message>
///     \nEND 1234\n                         end record
///
/// Why these choices:
/// - Text, one record per line, so `less msg/ID` answers an administrator's question, as with
///   Postfix's `postcat`. Values never contain a space, CR, LF or control byte: every byte
///   ≤ 0x20, 0x7F and `%` is written `%XX`. Addresses cannot contain CR/LF (MailAddress refuses
///   them), but ORCPT, ENVID and the source come from outside, and a raw LF there would let a
///   sender forge header lines (an extra `rcpt`): escaping makes that impossible, not unlikely.
/// - Recipients are identified by their index in this file; the journal (`state/<QueueID>`,
///   see `QueueJournal`) refers to them by index, so the message file is never rewritten.
/// - The header states the body length and the file must end with `\nEND <length>\n` exactly at
///   header + length: a file cut short by a crash or a full disk is recognised without reading
///   the body (one `pread` of the last bytes), as Postfix's required REC_TYPE_END does. Such a
///   file can only exist if something other than the queue wrote it, because the queue commits
///   by rename after fsync; recovery moves it to `corrupt/`.
/// - `MAILROOT-QUEUE 1`: a later format bumps the number; an unknown version or key is corrupt
///   rather than half-understood.
enum QueueFile {
    static let magic = "MAILROOT-QUEUE"
    static let version = 1
    /// Headers are small (a thousand recipients is ~100 KiB); anything larger is not ours.
    static let maximumHeaderLength = 8 * 1024 * 1024
    /// Recovery reads the header in chunks of this size, so it does not read bodies.
    static let headerReadChunk = 2048

    struct Header: Equatable, Sendable {
        var id: QueueID
        var envelope: Envelope
        var arrival: Date
        var source: String
        var hasEightBitContent: Bool
        var needsSMTPUTF8: Bool
        var bodyLength: Int64
    }

    struct FormatError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func encodeHeader(_ header: Header) -> [UInt8] {
        var text = "\(magic) \(version)\n"
        text += "id \(header.id)\n"
        text += "arrival \(microseconds(header.arrival))\n"
        text += "sender \(header.envelope.sender.map { FieldEscaping.escape($0.description) } ?? "<>")\n"
        if let envelopeID = header.envelope.envelopeID { text += "envid \(FieldEscaping.escape(envelopeID))\n" }
        let flags = (header.hasEightBitContent ? ["8bit"] : []) + (header.needsSMTPUTF8 ? ["smtputf8"] : [])
        if !flags.isEmpty { text += "flags \(flags.joined(separator: " "))\n" }
        text += "source \(FieldEscaping.escape(header.source))\n"
        for recipient in header.envelope.recipients {
            text += "rcpt \(FieldEscaping.escape(recipient.address.description))"
            if let orcpt = recipient.originalRecipient { text += " orcpt=\(FieldEscaping.escape(orcpt))" }
            if let notify = recipient.notify { text += " notify=\(FieldEscaping.escape(notify))" }
            text += "\n"
        }
        text += "body \(header.bodyLength)\n\n"
        return Array(text.utf8)
    }

    static func trailer(bodyLength: Int64) -> [UInt8] { Array("\nEND \(bodyLength)\n".utf8) }

    static func microseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
    static func date(microseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(microseconds) / 1_000_000) }
}
