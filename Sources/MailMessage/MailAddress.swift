// SPDX-License-Identifier: Apache-2.0

/// An envelope mailbox, RFC 5321 §4.1.2 `Mailbox = Local-part "@" ( Domain / address-literal )`,
/// with RFC 6531 UTF-8 allowed in both parts. It is what goes between `<` and `>` in
/// `MAIL FROM` / `RCPT TO`; display names, comments and source routes are not part of it.
///
/// Parsing is strict on purpose: an address that would smuggle another route through a relay
/// (`user%remote@local`, `@a,@b:user@c`, `user@remote@local`, `host!user`) keeps its tricks
/// inside the local part at most, and the domain is always the part after the last unquoted `@`.
public struct MailAddress: Hashable, Sendable, CustomStringConvertible, Codable {
    /// The local part exactly as written (a quoted-string keeps its quotes).
    public let localPart: String
    /// The domain, lower-cased ASCII or UTF-8; an address literal keeps its brackets, e.g. `[127.0.0.1]`.
    public let domain: String

    public init?(localPart: String, domain: String) {
        guard let parsed = MailAddress("\(localPart)@\(domain)") else { return nil }
        self = parsed
    }

    /// Parses `local@domain` (no angle brackets). Returns nil for anything RFC 5321 does not allow.
    public init?(_ text: some StringProtocol) {
        let bytes = Array(String(text).utf8)
        guard !bytes.isEmpty, bytes.count <= 254 + 2 else { return nil }
        guard let at = MailAddress.splitIndex(bytes) else { return nil }
        let local = Array(bytes[..<at])
        let domainBytes = Array(bytes[(at + 1)...])
        // RFC 5321 §4.5.3.1.1 caps an ASCII local part at 64 octets; UTF-8 local parts are let
        // through longer because RFC 6531 peers count characters, not octets.
        guard MailAddress.isValidLocalPart(local), local.count <= 64 || !local.allSatisfy({ $0 < 0x80 }),
              let domain = MailAddress.normalizedDomain(domainBytes) else { return nil }
        self.localPart = String(decoding: local, as: UTF8.self)
        self.domain = domain
    }

    public var description: String { "\(localPart)@\(domain)" }

    /// True when either part needs SMTPUTF8 (RFC 6531) to be sent.
    public var needsSMTPUTF8: Bool { !localPart.utf8.allSatisfy { $0 < 0x80 } || !domain.utf8.allSatisfy { $0 < 0x80 } }

    /// `postmaster` in any case (RFC 5321 §4.5.1).
    public var isPostmaster: Bool { localPart.lowercased() == "postmaster" }

    /// Index of the `@` separating local part and domain: the first `@` outside a quoted string.
    /// A second unquoted `@` (`user@remote@local`) makes the address invalid rather than routed.
    private static func splitIndex(_ bytes: [UInt8]) -> Int? {
        var inQuotes = false
        var escaped = false
        var found: Int?
        for (index, byte) in bytes.enumerated() {
            if escaped { escaped = false; continue }
            if inQuotes {
                if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inQuotes = false }
                continue
            }
            if byte == UInt8(ascii: "\"") { inQuotes = true; continue }
            if byte == UInt8(ascii: "@") {
                if found != nil { return nil }
                found = index
            }
        }
        guard !inQuotes, let found, found > 0, found < bytes.count - 1 else { return nil }
        return found
    }

    /// RFC 5321 `Local-part = Dot-string / Quoted-string`, plus UTF-8 (RFC 6531 `atext =/ UTF8-non-ascii`).
    private static func isValidLocalPart(_ bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty else { return false }
        if bytes.first == UInt8(ascii: "\"") {
            guard bytes.count >= 2, bytes.last == UInt8(ascii: "\"") else { return false }
            var escaped = false
            for byte in bytes.dropFirst().dropLast() {
                if escaped {
                    guard (32...126).contains(byte) else { return false }
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") || byte < 32 || byte == 127 {
                    return false
                }
            }
            return !escaped
        }
        var previousWasDot = true
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                if previousWasDot { return false }
                previousWasDot = true
                continue
            }
            previousWasDot = false
            guard isAtext(byte) else { return false }
        }
        return !previousWasDot
    }

    static func isAtext(_ byte: UInt8) -> Bool {
        if byte >= 0x80 { return true }
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-/=?^_`{|}~".utf8).contains(byte)
        }
    }

    /// Lower-cases and checks a domain or an address literal. Labels are letters, digits and
    /// hyphens (or UTF-8 U-labels), 1–63 octets, no leading or trailing hyphen; a trailing dot is dropped.
    private static func normalizedDomain(_ bytes: [UInt8]) -> String? {
        if bytes.first == UInt8(ascii: "[") {
            guard bytes.last == UInt8(ascii: "]"), bytes.count > 2,
                  bytes.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "\\") }) else { return nil }
            return String(decoding: bytes, as: UTF8.self).lowercased()
        }
        var domain = bytes
        if domain.last == UInt8(ascii: ".") { domain.removeLast() }
        guard !domain.isEmpty, domain.count <= 253 else { return nil }
        for label in domain.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            guard (1...63).contains(label.count),
                  label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-") else { return nil }
            for byte in label {
                let ok = byte >= 0x80
                    || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || byte == UInt8(ascii: "-")
                guard ok else { return nil }
            }
        }
        guard let text = String(validating: domain, as: UTF8.self) else { return nil }
        return text.lowercased()
    }
}
