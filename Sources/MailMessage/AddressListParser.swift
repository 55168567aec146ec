// SPDX-License-Identifier: Apache-2.0

/// One mailbox from a header address list, with the display name and the group it was listed in.
public struct HeaderMailbox: Hashable, Sendable {
    public var address: MailAddress
    /// The display name as written: quoted strings unquoted, RFC 2047 encoded words left encoded.
    public var displayName: String?
    /// The group's display name when the mailbox was a group member (`team: a@b, c@d;`).
    public var group: String?
}

/// Why an address field was refused.
public struct AddressListError: Error, Hashable, Sendable, CustomStringConvertible {
    public let reason: String
    public var description: String { reason }
}

/// RFC 5322 §3.4 `address-list` / `mailbox-list` parser for `From:`, `Sender:`, `To:`, `Cc:`,
/// `Bcc:` and `Reply-To:` values (already unfolded). Handles display names (atoms, quoted strings,
/// encoded words), nested comments, angle addresses with the obsolete source route (dropped:
/// RFC 5322 §4.4 says it is to be ignored), groups, and empty list entries (§4.4 obs-addr-list).
/// UTF-8 is allowed everywhere an atom or quoted string is (RFC 6532).
///
/// One invalid entry makes the whole field invalid: guessing which part of a malformed list was
/// meant risks sending mail to an address nobody wrote.
public enum AddressListParser {
    /// All mailboxes of an address list, group members expanded, in order.
    public static func parse(_ value: String) throws(AddressListError) -> [MailAddress] {
        try parseMailboxes(value).map(\.address)
    }

    /// Like `parse`, keeping display names and group names.
    public static func parseMailboxes(_ value: String) throws(AddressListError) -> [HeaderMailbox] {
        var tokens = try AddressTokenizer.tokenize(Array(value.utf8))
        tokens.append(.end)
        var parser = AddressTokenParser(tokens: tokens)
        return try parser.addressList()
    }
}

enum AddressToken: Equatable {
    case atom(String)
    case quoted(raw: String, text: String)
    case domainLiteral(String)
    case special(UInt8)
    case end
}

/// Splits a field value into tokens, discarding CFWS (RFC 5322 §3.2.2).
struct AddressTokenizer {
    /// Comments deeper than this are hostile (each level costs a stack-free counter, but a
    /// legitimate header never nests more than a few).
    static let maxCommentDepth = 32
    static let specials: Set<UInt8> = Set("()<>[]:;@\\,.\"".utf8)

    static func tokenize(_ bytes: [UInt8]) throws(AddressListError) -> [AddressToken] {
        var tokens: [AddressToken] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case 0x20, 0x09, 0x0D, 0x0A:
                index += 1
            case UInt8(ascii: "("):
                index = try skipComment(bytes, from: index)
            case UInt8(ascii: "\""):
                let (raw, text, next) = try quotedString(bytes, from: index)
                tokens.append(.quoted(raw: raw, text: text))
                index = next
            case UInt8(ascii: "["):
                guard let close = bytes[index...].firstIndex(of: UInt8(ascii: "]")),
                      !bytes[index + 1..<close].contains(where: { $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "\\") }) else {
                    throw AddressListError(reason: "unterminated domain literal")
                }
                tokens.append(.domainLiteral(String(decoding: bytes[index...close], as: UTF8.self)))
                index = close + 1
            case _ where specials.contains(byte):
                guard byte != UInt8(ascii: ")"), byte != UInt8(ascii: "]"), byte != UInt8(ascii: "\\") else {
                    throw AddressListError(reason: "unexpected \"\(Character(Unicode.Scalar(byte)))\"")
                }
                tokens.append(.special(byte))
                index += 1
            case _ where MailAddress.isAtext(byte):
                let start = index
                while index < bytes.count, MailAddress.isAtext(bytes[index]) { index += 1 }
                guard let text = String(validating: bytes[start..<index], as: UTF8.self) else {
                    throw AddressListError(reason: "invalid UTF-8")
                }
                tokens.append(.atom(text))
            default:
                throw AddressListError(reason: "control character 0x\(String(byte, radix: 16)) in address")
            }
        }
        return tokens
    }

    /// Index just past the comment that opens at `start`; nested comments and quoted-pairs
    /// are honoured (RFC 5322 §3.2.2 `ccontent`).
    static func skipComment(_ bytes: [UInt8], from start: Int) throws(AddressListError) -> Int {
        var depth = 0
        var index = start
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\\"): index += 1
            case UInt8(ascii: "("):
                depth += 1
                guard depth <= maxCommentDepth else { throw AddressListError(reason: "comments nested too deeply") }
            case UInt8(ascii: ")"):
                depth -= 1
                if depth == 0 { return index + 1 }
            default: break
            }
            index += 1
        }
        throw AddressListError(reason: "unterminated comment")
    }

    /// The quoted string opening at `start`: its raw text (quotes and backslashes kept, as a
    /// local part needs) and its content (quoted-pairs resolved, as a display name needs).
    static func quotedString(_ bytes: [UInt8], from start: Int) throws(AddressListError) -> (String, String, Int) {
        var text: [UInt8] = []
        var index = start + 1
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\") {
                guard index + 1 < bytes.count else { break }
                text.append(bytes[index + 1])
                index += 2
                continue
            }
            if byte == UInt8(ascii: "\"") {
                guard let raw = String(validating: bytes[start...index], as: UTF8.self),
                      let content = String(validating: text, as: UTF8.self) else {
                    throw AddressListError(reason: "invalid UTF-8")
                }
                return (raw, content, index + 1)
            }
            if byte == 0x0D || byte == 0x0A { index += 1; continue }
            text.append(byte)
            index += 1
        }
        throw AddressListError(reason: "unterminated quoted string")
    }
}
