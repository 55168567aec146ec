// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailMessage

/// The text of the `message/delivery-status` part (RFC 3464 §2.2, §2.3) and the 7-bit clean-up
/// applied to everything a remote server or the original message put into it.
enum DeliveryStatusFields {
    static func perMessage(reportingMTA: String, queueID: QueueID, envelopeID: String?, arrivalDate: Date) -> String {
        var text = field("Reporting-MTA", "dns; " + clean(reportingMTA))
        text += field("X-Mailroot-Queue-ID", queueID.rawValue)
        if let envelopeID { text += field("Original-Envelope-Id", clean(envelopeID)) }
        text += field("Arrival-Date", MailDate.format(arrivalDate))
        return text
    }

    static func perRecipient(_ failed: FailedRecipient) -> String {
        var text = ""
        if let original = failed.recipient.originalRecipient { text += field("Original-Recipient", clean(decodeXtext(original))) }
        text += field("Final-Recipient", typedAddress(failed.recipient.address))
        text += field("Action", failed.action.rawValue)
        text += field("Status", failed.status.description)
        if let remote = failed.remoteMTA { text += field("Remote-MTA", clean(remote)) }
        if let diagnostic = failed.diagnostic { text += field("Diagnostic-Code", clean(diagnostic)) }
        if let last = failed.lastAttempt { text += field("Last-Attempt-Date", MailDate.format(last)) }
        if let until = failed.willRetryUntil { text += field("Will-Retry-Until", MailDate.format(until)) }
        return text
    }

    /// RFC 3461 §4.2: ORCPT arrives xtext-encoded (`+2B` for `+`); RFC 3464 §2.3.1 wants the
    /// decoded address. Malformed escapes are left as written rather than guessed at.
    static func decodeXtext(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "+"), index + 2 < bytes.count,
               case let hex = String(decoding: bytes[(index + 1)...(index + 2)], as: UTF8.self),
               hex.allSatisfy(\.isHexDigit), let value = UInt8(hex, radix: 16) {
                out.append(value)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `rfc822; addr`, or for a non-ASCII address RFC 6533's `utf-8; addr` with every
    /// non-ASCII character written `\x{HEX}`, which keeps the report 7-bit.
    static func typedAddress(_ address: MailAddress) -> String {
        guard address.needsSMTPUTF8 else { return "rfc822; \(address)" }
        var text = "utf-8; "
        for scalar in address.description.unicodeScalars {
            if scalar.isASCII, scalar != "\\" {
                text.unicodeScalars.append(scalar)
            } else {
                text += "\\x{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            }
        }
        return text
    }

    /// Remote reply text is untrusted: line breaks would start new fields (or a new MIME part)
    /// and 8-bit bytes would break the 7-bit report, so controls become spaces and non-ASCII `?`.
    /// Long texts are cut, keeping each field well under RFC 5322's 998-octet line limit.
    static func clean(_ text: String, limit: Int = 900) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(limit) {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += " "
            } else if !scalar.isASCII {
                out += "?"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out.trimmingCharacters(in: .whitespaces)
    }

    private static func field(_ name: String, _ value: String) -> String {
        TraceFields.fold("\(name): \(value)") + "\r\n"
    }
}
