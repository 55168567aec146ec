// SPDX-License-Identifier: Apache-2.0
//
// SUMMARY
//   SMTP on paper: replies, their incremental decoder, EHLO capabilities, client command
//   formatting and DATA dot-stuffing. No sockets, no clocks, no files.
//
// DESCRIPTION
//   `SMTPReply` is one (possibly multi-line) reply; `SMTPReplyDecoder` turns received bytes into
//   replies; `ESMTPCapabilities` reads an EHLO reply; `SMTPClientCommand` formats the commands a
//   client sends; `DotStuffer` turns stored message bytes into DATA content (RFC 5321 §4.5.2).
//   The server-side command parser and state machine will live here too (a later issue): the
//   reply encoder (`SMTPReply.encode(into:)`) already exists for it.
//
// SAFETY
//   Everything here handles hostile input. Reply lines and replies are bounded (2048 bytes,
//   200 lines); reply text is stripped of control characters before it can reach a log or a
//   bounce. Command formatting refuses CR, LF and NUL anywhere (command injection). The dot-stuffer
//   never lets a bare CR or bare LF onto the wire (SMTP smuggling, CVE-2023-51764 and relatives).
//
// SEE ALSO
//   RFC 5321 (SMTP), RFC 1869/5321 §2.2 (EHLO), RFC 1870 (SIZE), RFC 6152 (8BITMIME),
//   RFC 6531 (SMTPUTF8), RFC 2920 (PIPELINING), RFC 3461 (DSN), RFC 2034/3463 (enhanced codes),
//   RFC 3207 (STARTTLS); Sources/SMTPClient for the conversation that uses these.

/// Why a reply could not be decoded or a command could not be formatted.
public enum SMTPProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A reply line longer than `SMTPReplyDecoder.maximumLineLength`.
    case replyLineTooLong
    /// A multi-line reply with more than `SMTPReplyDecoder.maximumLines` lines.
    case tooManyReplyLines
    /// A line that does not start with a three-digit reply code and a separator.
    case malformedReplyLine(String)
    /// A multi-line reply whose lines do not all carry the same code (RFC 5321 §4.2.1).
    case inconsistentReplyCode(expected: Int, found: Int)
    /// A command argument containing CR, LF or NUL: it would inject a second command.
    case unsafeCharacter(field: String)
    /// A command parameter whose value is not allowed (e.g. a bad `NOTIFY=`).
    case invalidParameter(String)

    public var description: String {
        switch self {
        case .replyLineTooLong: return "reply line longer than \(SMTPReplyDecoder.maximumLineLength) bytes"
        case .tooManyReplyLines: return "reply longer than \(SMTPReplyDecoder.maximumLines) lines"
        case .malformedReplyLine(let line): return "malformed reply line: \(line)"
        case .inconsistentReplyCode(let expected, let found):
            return "multi-line reply changed code from \(expected) to \(found)"
        case .unsafeCharacter(let field): return "CR, LF or NUL in \(field)"
        case .invalidParameter(let text): return "invalid parameter: \(text)"
        }
    }
}
