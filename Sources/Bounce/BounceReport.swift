// SUMMARY: Bounce — RFC 3464 delivery status notifications composed as complete messages.
//
// DESCRIPTION: Given the original envelope, the recipients that failed (or are delayed) and the
// original header section, builds the `multipart/report; report-type=delivery-status` message
// (RFC 6522) that goes back to the sender: a human explanation, the machine-readable
// `message/delivery-status` part, and the original headers as `text/rfc822-headers`. Pure: it
// neither reads the queue nor sends anything; Delivery queues what this returns.
//
// SAFETY: A report is never addressed to the null sender: bounces of bounces would loop
// forever (RFC 5321 §4.5.5). Everything copied from a remote reply is stripped to one line of
// printable ASCII, so a hostile server cannot inject fields or MIME parts. The MIME boundary is
// chosen so that it occurs nowhere in the copied original headers.
//
// SEE ALSO: RFC 3464 (DSN format), RFC 6522 (multipart/report), RFC 3834 (Auto-Submitted),
// RFC 6533 (UTF-8 addresses in DSNs), RFC 3461 (ORCPT, ENVID); module Delivery.
import Foundation
import MailMessage

/// A delivery status notification about one queued message.
public struct BounceReport: Sendable {
    public let reportingMTA: String
    public let originalEnvelope: Envelope
    public let originalQueueID: QueueID
    public let arrivalDate: Date
    public let failed: [FailedRecipient]
    public let originalHeaders: [UInt8]
    public let now: Date
    public let bounceQueueID: QueueID

    public init(reportingMTA: String, originalEnvelope: Envelope, originalQueueID: QueueID, arrivalDate: Date,
                failed: [FailedRecipient], originalHeaders: [UInt8], now: Date, bounceQueueID: QueueID) {
        self.reportingMTA = reportingMTA
        self.originalEnvelope = originalEnvelope
        self.originalQueueID = originalQueueID
        self.arrivalDate = arrivalDate
        self.failed = failed
        self.originalHeaders = originalHeaders
        self.now = now
        self.bounceQueueID = bounceQueueID
    }

    /// True when every recipient in the report is still being retried (a delay warning).
    public var isDelayWarning: Bool { !failed.isEmpty && failed.allSatisfy { $0.action == .delayed } }

    /// True when the copied original headers carry 8-bit bytes: the report then needs
    /// `BODY=8BITMIME` (its `text/rfc822-headers` part says `8bit`).
    public var hasEightBitContent: Bool { MessageBytes.hasEightBitBytes(originalHeaders) }

    /// True when the report's recipient (the original sender) needs SMTPUTF8 (RFC 6531).
    public var needsSMTPUTF8: Bool { originalEnvelope.sender?.needsSMTPUTF8 ?? false }

    /// From the null sender to the original sender; nil when the original sender was null
    /// (RFC 5321 §4.5.5: never bounce a bounce).
    public func envelope() -> Envelope? {
        guard let sender = originalEnvelope.sender else { return nil }
        return Envelope(sender: nil, recipients: [EnvelopeRecipient(sender)])
    }

    /// The complete CRLF message.
    public func message() -> [UInt8] {
        let boundary = chooseBoundary()
        let headers = BounceOriginalHeaders(originalHeaders)
        var out = Array(topHeaders(boundary: boundary).utf8)
        out += Array("This is a MIME-encapsulated message.\r\n\r\n".utf8)
        out += Array("--\(boundary)\r\nContent-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n".utf8)
        out += Array(humanText().utf8)
        out += Array("\r\n--\(boundary)\r\nContent-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n".utf8)
        out += Array(deliveryStatus().utf8)
        out += Array("\r\n--\(boundary)\r\nContent-Description: Undelivered Message Headers\r\nContent-Type: text/rfc822-headers\r\n".utf8)
        if headers.hasEightBit { out += Array("Content-Transfer-Encoding: 8bit\r\n".utf8) }
        out += Array("\r\n".utf8)
        out += headers.bytes
        out += Array("\r\n--\(boundary)--\r\n".utf8)
        return out
    }

    private func topHeaders(boundary: String) -> String {
        let subject = isDelayWarning ? "Delayed Mail (still being retried)" : "Undelivered Mail Returned to Sender"
        var text = "From: Mail Delivery System <MAILER-DAEMON@\(reportingMTA)>\r\n"
        text += TraceFields.fold("To: <\(originalEnvelope.senderText)>") + "\r\n"
        text += "Subject: \(subject)\r\n"
        text += "Date: \(MailDate.format(now))\r\n"
        text += "Message-ID: \(TraceFields.messageID(queueID: bounceQueueID, date: now, hostname: reportingMTA))\r\n"
        text += "Auto-Submitted: auto-replied\r\n"
        text += "MIME-Version: 1.0\r\n"
        text += "Content-Type: multipart/report; report-type=delivery-status;\r\n boundary=\"\(boundary)\"\r\n\r\n"
        return text
    }

    private func deliveryStatus() -> String {
        var text = DeliveryStatusFields.perMessage(reportingMTA: reportingMTA, queueID: originalQueueID,
                                                   envelopeID: originalEnvelope.envelopeID, arrivalDate: arrivalDate)
        for recipient in failed {
            text += "\r\n" + DeliveryStatusFields.perRecipient(recipient)
        }
        return text
    }

    private func humanText() -> String {
        var text = "This is the mail system at host \(DeliveryStatusFields.clean(reportingMTA)).\r\n\r\n"
        if isDelayWarning {
            text += "Your message (queue ID \(originalQueueID)) has not yet been delivered to the\r\n"
            text += "recipients below. The mail system will keep trying; you do not need to resend it.\r\n\r\n"
        } else {
            text += "Your message (queue ID \(originalQueueID)) could not be delivered to one or\r\n"
            text += "more recipients. It is attached below (headers only).\r\n\r\n"
        }
        for recipient in failed {
            let address = DeliveryStatusFields.clean(recipient.recipient.address.description)
            let reason = recipient.diagnostic.map { DeliveryStatusFields.clean($0) } ?? "status \(recipient.status)"
            text += "<\(address)>: \(recipient.action == .delayed ? "delayed" : "failed"): \(reason)\r\n"
        }
        return text
    }

    /// RFC 2046 §5.1.1: the boundary must not occur in any part. The queue ID makes a clash
    /// unlikely; the loop makes it impossible even for headers written to contain our pattern.
    private func chooseBoundary() -> String {
        var boundary = "mailroot-dsn-\(bounceQueueID.rawValue)"
        var counter = 0
        while originalHeaders.containsSequence(Array(boundary.utf8)) {
            counter += 1
            boundary = "mailroot-dsn-\(bounceQueueID.rawValue)-\(counter)"
        }
        return boundary
    }
}

/// The original header section as it goes into the `text/rfc822-headers` part: CRLF line
/// endings, no trailing empty line (a body is never included).
struct BounceOriginalHeaders {
    let bytes: [UInt8]
    let hasEightBit: Bool

    init(_ raw: [UInt8]) {
        var headers = raw
        if let section = try? HeaderSection(parsing: raw) { headers = Array(raw[..<section.separatorOffset]) }
        headers = MessageBytes.normalizingLineEndings(headers)
        while headers.count >= 2, headers.suffix(4) == [0x0D, 0x0A, 0x0D, 0x0A] { headers.removeLast(2) }
        if headers == [0x0D, 0x0A] { headers = [] }
        bytes = headers
        hasEightBit = MessageBytes.hasEightBitBytes(headers)
    }
}

extension Array where Element == UInt8 {
    func containsSequence(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        for start in 0...(count - needle.count) where self[start] == needle[0] {
            if self[start..<(start + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }
}
