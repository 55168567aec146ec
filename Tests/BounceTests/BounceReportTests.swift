// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailMessage
import Testing
@testable import Bounce

private let originalID = QueueID("0123456789ABCDEF")!
private let bounceID = QueueID("FEDCBA9876543210")!
private let now = Date(timeIntervalSince1970: 1_795_926_600)
private let arrival = Date(timeIntervalSince1970: 1_795_753_800)

private func report(sender: MailAddress? = MailAddress("alice@corp.example"), envid: String? = "ENV42",
                    failed: [FailedRecipient]? = nil,
                    headers: String = "From: alice@corp.example\r\nTo: bob@example.org\r\nSubject: hello\r\n\r\n") -> BounceReport {
    let bob = EnvelopeRecipient(MailAddress("bob@example.org")!, originalRecipient: "rfc822;bob@old.example", notify: "FAILURE")
    let carol = EnvelopeRecipient(MailAddress("carol@example.net")!)
    let envelope = Envelope(sender: sender, recipients: [bob, carol], envelopeID: envid)
    let defaultFailed = [
        FailedRecipient(recipient: bob, status: .badMailbox, diagnostic: "smtp; 550 5.1.1 <bob@example.org>: no such user",
                        remoteMTA: "dns; mx.example.org", lastAttempt: now),
        FailedRecipient(recipient: carol, status: .deliveryTimeExpired, diagnostic: nil, remoteMTA: nil, lastAttempt: nil),
    ]
    return BounceReport(reportingMTA: "relay.example.net", originalEnvelope: envelope, originalQueueID: originalID,
                        arrivalDate: arrival, failed: failed ?? defaultFailed, originalHeaders: Array(headers.utf8),
                        now: now, bounceQueueID: bounceID)
}

/// Parses the report with Python's `email` package, an independent MIME parser, and returns what it saw.
private func pythonView(of message: [UInt8]) throws -> [String: Any] {
    let script = """
    import sys, json, email
    from email import policy
    msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=policy.compat32)
    out = {"type": msg.get_content_type(), "report_type": msg.get_param("report-type"),
           "defects": [type(d).__name__ for d in msg.defects], "subject": msg["Subject"],
           "from": msg["From"], "to": msg["To"], "auto": msg["Auto-Submitted"],
           "parts": [p.get_content_type() for p in msg.get_payload()]}
    for part in msg.walk():
        out["defects"] += [type(d).__name__ for d in part.defects]
    status = msg.get_payload()[1].get_payload()
    out["per_message"] = dict(status[0].items())
    out["per_recipient"] = [dict(block.items()) for block in status[1:]]
    out["headers_part"] = msg.get_payload()[2].get_payload()
    out["text"] = msg.get_payload()[0].get_payload()
    print(json.dumps(out))
    """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    process.arguments = ["-c", script]
    let input = Pipe(), output = Pipe(), errors = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    input.fileHandleForWriting.write(Data(message))
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "python failed: \(errorText)")
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

@Test func pythonReadsTheReportAsMultipartReportWithTheRightFields() throws {
    let view = try pythonView(of: report().message())
    #expect(view["type"] as? String == "multipart/report")
    #expect(view["report_type"] as? String == "delivery-status")
    #expect(view["parts"] as? [String] == ["text/plain", "message/delivery-status", "text/rfc822-headers"])
    #expect((view["defects"] as? [String])?.isEmpty == true, "defects: \(view["defects"] ?? "")")
    #expect(view["subject"] as? String == "Undelivered Mail Returned to Sender")
    #expect(view["from"] as? String == "Mail Delivery System <MAILER-DAEMON@relay.example.net>")
    #expect(view["to"] as? String == "<alice@corp.example>")
    #expect(view["auto"] as? String == "auto-replied")
    let perMessage = try #require(view["per_message"] as? [String: String])
    #expect(perMessage == ["Reporting-MTA": "dns; relay.example.net", "X-Mailroot-Queue-ID": "0123456789ABCDEF",
                           "Original-Envelope-Id": "ENV42", "Arrival-Date": "Fri, 27 Nov 2026 04:30:00 +0000"])
    let recipients = try #require(view["per_recipient"] as? [[String: String]])
    #expect(recipients.count == 2)
    #expect(recipients.first == [
        "Original-Recipient": "rfc822;bob@old.example", "Final-Recipient": "rfc822; bob@example.org", "Action": "failed",
        "Status": "5.1.1", "Remote-MTA": "dns; mx.example.org",
        "Diagnostic-Code": "smtp; 550 5.1.1 <bob@example.org>: no such user",
        "Last-Attempt-Date": "Sun, 29 Nov 2026 04:30:00 +0000",
    ])
    #expect(recipients.last == ["Final-Recipient": "rfc822; carol@example.net", "Action": "failed", "Status": "5.4.7"])
    let headersPart = try #require(view["headers_part"] as? String)
    #expect(headersPart.contains("Subject: hello"))
    let text = try #require(view["text"] as? String)
    #expect(text.contains("<bob@example.org>: failed: smtp; 550 5.1.1 <bob@example.org>: no such user"))
    #expect(text.contains("<carol@example.net>: failed: status 5.4.7"))
}

@Test func bounceGoesFromNullSenderToOriginalSender() throws {
    let envelope = try #require(report().envelope())
    #expect(envelope.sender == nil)
    #expect(envelope.recipients.map(\.address.description) == ["alice@corp.example"])
}

@Test func aBounceIsNeverBounced() {
    #expect(report(sender: nil).envelope() == nil)
}

@Test func messageIsCRLFWithRequiredTopFields() throws {
    let bytes = report().message()
    #expect(MessageBytes.hasOnlyCRLFLineEndings(bytes))
    #expect(!MessageBytes.hasEightBitBytes(bytes))
    let section = try HeaderSection(parsing: bytes)
    #expect(section.first(named: "Message-ID")?.value == "<FEDCBA9876543210.1795926600@relay.example.net>")
    #expect(section.first(named: "Date")?.value == "Sun, 29 Nov 2026 04:30:00 +0000")
    #expect(section.first(named: "MIME-Version")?.value == "1.0")
    #expect(section.first(named: "Content-Type")?.value.hasPrefix("multipart/report; report-type=delivery-status;") == true)
}

@Test func hostileRemoteTextCannotInjectFieldsOrParts() throws {
    let bob = EnvelopeRecipient(MailAddress("bob@example.org")!)
    let evil = FailedRecipient(recipient: bob, status: .badMailbox,
                               diagnostic: "smtp; 550 no\r\nAction: delivered\r\n\r\n--mailroot-dsn-FEDCBA9876543210--\r\nÜ")
    let view = try pythonView(of: report(failed: [evil]).message())
    let recipients = try #require(view["per_recipient"] as? [[String: String]])
    #expect(recipients.count == 1)
    #expect(recipients[0]["Action"] == "failed")
    #expect(recipients[0]["Diagnostic-Code"]?.hasSuffix("?") == true)
    #expect((view["parts"] as? [String])?.count == 3)
}

@Test func boundaryNeverOccursInTheCopiedHeaders() throws {
    let headers = "From: a@b.example\r\nX-Trap: mailroot-dsn-FEDCBA9876543210\r\n\r\n"
    let bytes = report(headers: headers).message()
    let view = try pythonView(of: bytes)
    #expect((view["parts"] as? [String])?.count == 3)
    #expect((view["headers_part"] as? String)?.contains("X-Trap: mailroot-dsn-FEDCBA9876543210") == true)
}

@Test func eightBitOriginalHeadersAreMarked8bit() throws {
    let bounce = report(headers: "From: jörg@bücher.example\nSubject: Grüße\n\nbody is not copied\n")
    #expect(bounce.hasEightBitContent)
    let text = String(decoding: bounce.message(), as: UTF8.self)
    #expect(text.contains("Content-Type: text/rfc822-headers\r\nContent-Transfer-Encoding: 8bit\r\n\r\nFrom: jörg@bücher.example\r\nSubject: Grüße\r\n\r\n--"))
    #expect(!text.contains("body is not copied"))
}

@Test func utf8RecipientsUseRFC6533AddressType() {
    let recipient = EnvelopeRecipient(MailAddress("jörg@example.de")!)
    let text = DeliveryStatusFields.perRecipient(FailedRecipient(recipient: recipient, status: .badMailbox))
    #expect(text.contains("Final-Recipient: utf-8; j\\x{F6}rg@example.de\r\n"))
}

@Test func delayWarningsSayDelayedAndWhenWeGiveUp() throws {
    let bob = EnvelopeRecipient(MailAddress("bob@example.org")!)
    let delayed = FailedRecipient(recipient: bob, status: EnhancedStatusCode(.persistentTransientFailure, 4, 1),
                                  diagnostic: "smtp; 421 try later", action: .delayed,
                                  willRetryUntil: Date(timeIntervalSince1970: 1_796_099_400))
    let warning = report(failed: [delayed])
    #expect(warning.isDelayWarning)
    let view = try pythonView(of: warning.message())
    #expect(view["subject"] as? String == "Delayed Mail (still being retried)")
    let recipients = try #require(view["per_recipient"] as? [[String: String]])
    #expect(recipients[0]["Action"] == "delayed")
    #expect(recipients[0]["Status"] == "4.4.1")
    #expect(recipients[0]["Will-Retry-Until"] == "Tue, 1 Dec 2026 04:30:00 +0000")
}

@Test func originalRecipientIsXtextDecoded() {
    let recipient = EnvelopeRecipient(MailAddress("bob@example.org")!, originalRecipient: "rfc822;bob+2Bfilter@old.example")
    let text = DeliveryStatusFields.perRecipient(FailedRecipient(recipient: recipient, status: .badMailbox))
    #expect(text.hasPrefix("Original-Recipient: rfc822;bob+filter@old.example\r\nFinal-Recipient: rfc822; bob@example.org\r\n"))
}
