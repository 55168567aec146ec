// SPDX-License-Identifier: Apache-2.0
import MailMessage

/// The envelope of a pickup file without x- lines, taken from its headers as IIS did: the
/// sender is `Sender:` or else the first `From:` mailbox; the recipients are every address in
/// `To:`, `Cc:` and `Bcc:` (groups expanded, duplicates dropped keeping the first spelling).
enum PickupHeaderEnvelope {
    static func envelope(from section: HeaderSection) throws(PickupRejection) -> Envelope {
        let from = try mailboxes(in: section.fields(named: "From"), status: .badSenderSyntax)
        let sender = try mailboxes(in: section.fields(named: "Sender"), status: .badSenderSyntax)
        guard let reversePath = sender.first ?? from.first else {
            throw PickupRejection(reason: "From: names no mailbox to use as the sender", status: .badSenderSyntax)
        }
        var recipients: [EnvelopeRecipient] = []
        var seen = Set<MailAddress>()
        for name in ["To", "Cc", "Bcc"] {
            // MailAddress equality compares the lower-cased domain and the local part as
            // written: RFC 5321 §2.4 lets only the destination host interpret local-part case.
            for address in try mailboxes(in: section.fields(named: name), status: .badAddressSyntax) where seen.insert(address).inserted {
                recipients.append(EnvelopeRecipient(address))
            }
        }
        return Envelope(sender: reversePath, recipients: recipients)
    }

    private static func mailboxes(in fields: [HeaderField], status: EnhancedStatusCode) throws(PickupRejection) -> [MailAddress] {
        var result: [MailAddress] = []
        for field in fields {
            do {
                result += try AddressListParser.parse(field.value)
            } catch {
                throw PickupRejection(reason: "\(field.name): \(error.reason)", status: status)
            }
        }
        return result
    }
}
