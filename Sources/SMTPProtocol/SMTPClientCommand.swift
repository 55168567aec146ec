// SPDX-License-Identifier: Apache-2.0
import MailMessage
import NIOCore

/// ESMTP parameters of `MAIL FROM` (RFC 1870, 6152, 6531, 3461). The client decides which ones
/// the server may see; this only formats them.
public struct MailParameters: Sendable, Hashable {
    /// `BODY=8BITMIME` (RFC 6152).
    public var eightBitMIME: Bool
    /// `SMTPUTF8` (RFC 6531 §3.4).
    public var smtpUTF8: Bool
    /// `SIZE=n` (RFC 1870).
    public var size: Int64?
    /// `RET=FULL` or `RET=HDRS` (RFC 3461 §4.3); only when the server offers DSN.
    public var ret: String?
    /// `ENVID=` (RFC 3461 §4.4), xtext; only when the server offers DSN.
    public var envelopeID: String?

    public init(eightBitMIME: Bool = false, smtpUTF8: Bool = false, size: Int64? = nil,
                ret: String? = nil, envelopeID: String? = nil) {
        self.eightBitMIME = eightBitMIME
        self.smtpUTF8 = smtpUTF8
        self.size = size
        self.ret = ret
        self.envelopeID = envelopeID
    }
}

/// RFC 3461 parameters of `RCPT TO`; only when the server offers DSN.
public struct RecipientParameters: Sendable, Hashable {
    /// `NOTIFY=NEVER` or a comma list of `SUCCESS`, `FAILURE`, `DELAY`.
    public var notify: String?
    /// `ORCPT=addr-type;xtext`, e.g. `rfc822;user@example.org`.
    public var originalRecipient: String?

    public init(notify: String? = nil, originalRecipient: String? = nil) {
        self.notify = notify
        self.originalRecipient = originalRecipient
    }
}

/// A command a client sends. `encoded()` refuses any field containing CR, LF or NUL, so a
/// hostile address or parameter can never start a second command (command injection).
public enum SMTPClientCommand: Sendable, Hashable {
    case ehlo(String)
    case helo(String)
    /// nil sender is the null reverse-path `<>` (bounces).
    case mail(from: MailAddress?, MailParameters)
    case rcpt(to: MailAddress, RecipientParameters)
    case data
    case rset
    case noop
    case quit
    case startTLS

    /// The command line including its CRLF.
    public func encoded() throws(SMTPProtocolError) -> String {
        switch self {
        case .ehlo(let name): return "EHLO \(try Self.safe(name, "EHLO name"))\r\n"
        case .helo(let name): return "HELO \(try Self.safe(name, "HELO name"))\r\n"
        case .mail(let sender, let parameters):
            let path = try Self.safe(sender?.description ?? "", "sender")
            return "MAIL FROM:<\(path)>\(try Self.format(parameters))\r\n"
        case .rcpt(let recipient, let parameters):
            let path = try Self.safe(recipient.description, "recipient")
            return "RCPT TO:<\(path)>\(try Self.format(parameters))\r\n"
        case .data: return "DATA\r\n"
        case .rset: return "RSET\r\n"
        case .noop: return "NOOP\r\n"
        case .quit: return "QUIT\r\n"
        case .startTLS: return "STARTTLS\r\n"
        }
    }

    public func encode(into buffer: inout ByteBuffer) throws(SMTPProtocolError) {
        buffer.writeString(try encoded())
    }

    private static func format(_ parameters: MailParameters) throws(SMTPProtocolError) -> String {
        var result = ""
        if parameters.eightBitMIME { result += " BODY=8BITMIME" }
        if parameters.smtpUTF8 { result += " SMTPUTF8" }
        if let size = parameters.size { result += " SIZE=\(max(0, size))" }
        if let ret = parameters.ret {
            let upper = try safe(ret, "RET").uppercased()
            guard upper == "FULL" || upper == "HDRS" else { throw .invalidParameter("RET=\(upper)") }
            result += " RET=\(upper)"
        }
        if let envelopeID = parameters.envelopeID {
            result += " ENVID=\(xtext(try safe(envelopeID, "ENVID")))"
        }
        return result
    }

    private static func format(_ parameters: RecipientParameters) throws(SMTPProtocolError) -> String {
        var result = ""
        if let notify = parameters.notify {
            let upper = try safe(notify, "NOTIFY").uppercased()
            let items = upper.split(separator: ",", omittingEmptySubsequences: false)
            let valid = upper == "NEVER"
                || (!items.isEmpty && items.allSatisfy { ["SUCCESS", "FAILURE", "DELAY"].contains($0) })
            guard valid else { throw .invalidParameter("NOTIFY=\(upper)") }
            result += " NOTIFY=\(upper)"
        }
        if let original = parameters.originalRecipient {
            let text = try safe(original, "ORCPT")
            guard let semicolon = text.firstIndex(of: ";"), semicolon != text.startIndex else {
                throw .invalidParameter("ORCPT needs addr-type;address")
            }
            let type = text[..<semicolon]
            guard type.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
                throw .invalidParameter("ORCPT address type")
            }
            result += " ORCPT=\(type);\(xtext(String(text[text.index(after: semicolon)...])))"
        }
        return result
    }

    static func safe(_ text: String, _ field: String) throws(SMTPProtocolError) -> String {
        guard !text.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }) else {
            throw .unsafeCharacter(field: field)
        }
        return text
    }

    /// RFC 3461 §4 xtext: values arrive already encoded ("as received"), so `+` is left alone;
    /// anything that would break the parameter syntax (space, `=`, controls, non-ASCII) is
    /// encoded as `+HH` so it cannot end the parameter or forge another one.
    static func xtext(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            if byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "=") {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                result += "+" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return result
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
