// SPDX-License-Identifier: Apache-2.0
import MailMessage

/// The envelope written as `x-sender:` / `x-receiver:` lines at the top of a pickup file, the
/// format of IIS SMTP, .NET `SmtpClient` (pickup mode) and Exchange replay files. Each value is
/// an address, bare, `<addr>`, `"Name" <addr>` or `Name <addr>`, optionally followed by ESMTP
/// parameters as on a `MAIL FROM` / `RCPT TO` line (RFC 3461 `NOTIFY=`, `ORCPT=`, `ENVID=`).
enum PickupFileEnvelope {
    static let senderField = "x-sender"
    static let receiverField = "x-receiver"

    /// The leading run of x-sender / x-receiver fields, or an empty array when the file does not
    /// start with one (its envelope then comes from the headers).
    static func leadingFields(of section: HeaderSection) -> [HeaderField] {
        Array(section.fields.prefix { $0.hasName(senderField) || $0.hasName(receiverField) })
    }

    static func envelope(from fields: [HeaderField]) throws(PickupRejection) -> Envelope {
        let senders = fields.filter { $0.hasName(senderField) }
        let receivers = fields.filter { $0.hasName(receiverField) }
        guard senders.count == 1 else {
            throw PickupRejection(reason: senders.isEmpty
                ? "the file starts with x-receiver: lines but has no x-sender: line"
                : "the file has \(senders.count) x-sender: lines; exactly one is allowed",
                status: .badSenderSyntax)
        }
        guard !receivers.isEmpty else {
            throw PickupRejection(reason: "the file has an x-sender: line but no x-receiver: line", status: .badAddressSyntax)
        }
        let sender = try parse(senders[0].value, field: "x-sender", allowNull: true, status: .badSenderSyntax)
        var recipients: [EnvelopeRecipient] = []
        for field in receivers {
            let parsed = try parse(field.value, field: "x-receiver", allowNull: false, status: .badAddressSyntax)
            guard let address = parsed.address else { continue }
            if recipients.contains(where: { $0.address == address }) { continue }
            recipients.append(EnvelopeRecipient(address, originalRecipient: parsed.parameters["ORCPT"],
                                                notify: parsed.parameters["NOTIFY"]))
        }
        return Envelope(sender: sender.address, recipients: recipients, envelopeID: sender.parameters["ENVID"])
    }

    struct Line {
        var address: MailAddress?
        var parameters: [String: String]
    }

    /// One x- value: the address (nil for the null sender `<>`) and the ESMTP parameters we keep.
    static func parse(_ value: String, field: String, allowNull: Bool, status: EnhancedStatusCode) throws(PickupRejection) -> Line {
        let bytes = Array(value.utf8)
        let (addressText, rest) = splitAddress(bytes)
        let text = String(decoding: addressText, as: UTF8.self)
        let address: MailAddress?
        if text.isEmpty {
            guard allowNull, !bytes.isEmpty else {
                throw PickupRejection(reason: "\(field): empty address", status: status)
            }
            address = nil
        } else {
            guard let parsed = MailAddress(stripSourceRoute(text)) else {
                throw PickupRejection(reason: "\(field): \"\(text)\" is not a valid address", status: status)
            }
            address = parsed
        }
        return Line(address: address, parameters: try parameters(rest, field: field))
    }

    /// Splits `"Name" <addr> PARAMS` / `addr PARAMS` into the address text and the rest.
    private static func splitAddress(_ bytes: [UInt8]) -> (ArraySlice<UInt8>, ArraySlice<UInt8>) {
        var inQuotes = false
        var escaped = false
        var firstSpace: Int?
        for (index, byte) in bytes.enumerated() {
            if escaped { escaped = false; continue }
            if byte == UInt8(ascii: "\\") { escaped = true; continue }
            if byte == UInt8(ascii: "\"") { inQuotes.toggle(); continue }
            guard !inQuotes else { continue }
            if byte == UInt8(ascii: "<") {
                guard let close = bytes[index...].firstIndex(of: UInt8(ascii: ">")) else {
                    return (bytes[index...], [])
                }
                return (bytes[(index + 1)..<close], bytes[(close + 1)...])
            }
            if (byte == 0x20 || byte == 0x09), firstSpace == nil { firstSpace = index }
        }
        guard let space = firstSpace else { return (bytes[...], []) }
        return (bytes[..<space], bytes[space...])
    }

    /// RFC 5321 §4.1.2 obsolete source route `@a,@b:user@c`: only the mailbox counts.
    private static func stripSourceRoute(_ text: String) -> String {
        guard text.hasPrefix("@"), let colon = text.firstIndex(of: ":") else { return text }
        return String(text[text.index(after: colon)...])
    }

    /// `KEY=VALUE` words after the address. NOTIFY, ORCPT and ENVID are kept (RFC 3461 needs them
    /// in the bounce); others (SIZE, BODY, SMTPUTF8, RET) are recomputed by us and ignored.
    private static func parameters(_ rest: ArraySlice<UInt8>, field: String) throws(PickupRejection) -> [String: String] {
        var result: [String: String] = [:]
        let words = String(decoding: rest, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\t" })
        for word in words {
            let parts = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = parts[0].uppercased()
            let value = parts.count == 2 ? String(parts[1]) : ""
            switch key {
            case "NOTIFY":
                guard isValidNotify(value) else {
                    throw PickupRejection(reason: "\(field): invalid NOTIFY=\(value)", status: .invalidParameters)
                }
                result[key] = value.uppercased()
            case "ORCPT", "ENVID":
                guard !value.isEmpty, value.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
                    throw PickupRejection(reason: "\(field): invalid \(key)=\(value)", status: .invalidParameters)
                }
                result[key] = value
            default:
                continue
            }
        }
        return result
    }

    /// RFC 3461 §4.1: `NEVER` alone, or a list of SUCCESS, FAILURE, DELAY.
    private static func isValidNotify(_ value: String) -> Bool {
        let items = value.uppercased().split(separator: ",", omittingEmptySubsequences: false)
        if items == ["NEVER"] { return true }
        return !items.isEmpty && items.allSatisfy { ["SUCCESS", "FAILURE", "DELAY"].contains($0) }
    }
}
