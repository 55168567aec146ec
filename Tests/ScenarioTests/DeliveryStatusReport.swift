// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailrootTestSupport
import Testing

/// A bounce as Python's `email` package reads it: an independent parser, so a DSN that only our
/// own code can read fails here (RFC 3464 §2, RFC 6522).
struct DeliveryStatusReport: Decodable {
    var contentType: String
    var reportType: String?
    var from: String?
    var to: String?
    var autoSubmitted: String?
    var parts: [String]
    /// The per-message fields (Reporting-MTA, Arrival-Date, …), names lower-cased.
    var perMessage: [String: String]
    /// One dictionary per recipient block (Final-Recipient, Action, Status, …), names lower-cased.
    var recipients: [[String: String]]
    var originalHeaders: String
    var defects: [String]

    /// Parses `bytes` with python3 run from the test.
    static func parse(_ bytes: [UInt8]) async throws -> DeliveryStatusReport {
        let directory = try TemporaryDirectory("dsn")
        try Data(bytes).write(to: URL(fileURLWithPath: directory.file("bounce.eml")))
        try script.write(toFile: directory.file("parse.py"), atomically: true, encoding: .utf8)
        let python = try ChildProcess("python3", [directory.file("parse.py"), directory.file("bounce.eml"), directory.file("out.json")],
                                      logPath: directory.file("python.log"))
        let status = await python.waitForExit()
        #expect(status == 0, "python3 failed: \(python.output)")
        let json = try Data(contentsOf: URL(fileURLWithPath: directory.file("out.json")))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(DeliveryStatusReport.self, from: json)
    }

    private static let script = #"""
        import email, json, sys
        from email import policy

        def fields(block):
            return {k.lower(): " ".join(str(v).split()) for k, v in block.items()}

        msg = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=policy.compat32)
        out = {
            "content_type": msg.get_content_type(),
            "report_type": msg.get_param("report-type"),
            "from": msg["From"], "to": msg["To"], "auto_submitted": msg["Auto-Submitted"],
            "parts": [p.get_content_type() for p in msg.get_payload()] if msg.is_multipart() else [],
            "per_message": {}, "recipients": [], "original_headers": "",
            "defects": [type(d).__name__ for part in msg.walk() for d in part.defects],
        }
        for part in msg.walk():
            if part.get_content_type() == "message/delivery-status":
                blocks = part.get_payload()
                out["per_message"] = fields(blocks[0])
                out["recipients"] = [fields(b) for b in blocks[1:]]
            elif part.get_content_type() == "text/rfc822-headers":
                out["original_headers"] = part.get_payload(decode=True).decode("utf-8", "replace")
        json.dump(out, open(sys.argv[2], "w"))
        """#

    /// Checks the shape every bounce must have and returns the single recipient block.
    func checkedSingleFailure(sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: String] {
        #expect(contentType == "multipart/report", sourceLocation: sourceLocation)
        #expect(reportType == "delivery-status", sourceLocation: sourceLocation)
        #expect(parts == ["text/plain", "message/delivery-status", "text/rfc822-headers"], sourceLocation: sourceLocation)
        #expect(defects.isEmpty, "parser defects: \(defects)", sourceLocation: sourceLocation)
        #expect(perMessage["reporting-mta"] == "dns; \(Scenario.hostname)", sourceLocation: sourceLocation)
        #expect(recipients.count == 1, "recipient blocks: \(recipients)", sourceLocation: sourceLocation)
        let recipient = try #require(recipients.first, sourceLocation: sourceLocation)
        #expect(recipient["action"] == "failed", sourceLocation: sourceLocation)
        return recipient
    }
}

/// Waits for one bounce at `server` and checks its envelope: the null sender (RFC 5321 §4.5.5)
/// to the original envelope sender.
func receiveBounce(at server: SMTPTestServer, to sender: String,
                   sourceLocation: SourceLocation = #_sourceLocation) async throws -> (SMTPTestServer.ReceivedMessage, DeliveryStatusReport) {
    let messages = try await server.waitForMessages(count: 1, timeout: .seconds(40))
    let bounce = messages[0]
    #expect(bounce.mailFrom == "" || bounce.mailFrom == "<>", "MAIL FROM was \(bounce.mailFrom)", sourceLocation: sourceLocation)
    #expect(bounce.recipients == [sender], sourceLocation: sourceLocation)
    return (bounce, try await DeliveryStatusReport.parse(bounce.data))
}
