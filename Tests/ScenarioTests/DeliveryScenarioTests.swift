// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailrootTestSupport
import Testing

/// Successful delivery (README "Delivery"): routing by MX and implicit MX, what arrives on the
/// wire, STARTTLS, and splitting large recipient lists into transactions.
@Suite struct DeliveryScenarioTests {
    @Test func preferredMXDownDeliversToTheNextWithHeadersBodyAndEnvelopeIntact() async throws {
        let port = Scenario.mxPort
        let backup = try await FakeMX(name: "mx2.dest.test", port: port)
        let downAddress = Loopback.next()  // nothing listens there: connection refused
        let scenario = try await Scenario(port: port, records: [
            .mx("dest.test", host: "mx1.dest.test", preference: 10), .host("mx1.dest.test", addresses: [downAddress]),
        ] + backup.records(for: "dest.test", preference: 20))
        try await scenario.mailroot.start()

        // From headers: Bcc recipients get the message, the Bcc field does not travel.
        let bodyText = "First line.\n.A line that starts with a dot.\n..Two dots.\n.\nGr\u{fc}\u{df}e \u{2014} \u{65e5}\u{672c}\u{8a9e}\n"
        let fromHeaders = try scenario.mailroot.dropIntoPickup(mail(
            from: "Alice <alice@origin.test>", to: ["bob@dest.test"], subject: "headers",
            headers: ["Bcc: hidden@dest.test", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
                      "Content-Transfer-Encoding: 8bit"],
            body: bodyText))
        let headersID = try await scenario.queueID(ofPickupFile: fromHeaders)
        let first = try await backup.server.waitForMessages(count: 1)[0]
        // x-sender/x-receiver: the envelope differs from the headers and the lines are removed.
        let withEnvelope = try scenario.mailroot.dropIntoPickup("x-sender: <bounces@origin.test>\nx-receiver: <carol@dest.test>\n"
            + mail(from: "Alice <alice@origin.test>", to: ["list@dest.test"], subject: "envelope"))
        let envelopeID = try await scenario.queueID(ofPickupFile: withEnvelope)
        let second = try await backup.server.waitForMessages(count: 2)[1]

        #expect(first.mailFrom == "alice@origin.test")
        #expect(Set(first.recipients) == ["bob@dest.test", "hidden@dest.test"])
        #expect(first.helo == Scenario.hostname)
        #expect(first.mailOptions.contains { $0.uppercased() == "BODY=8BITMIME" })
        let fields = headerFields(of: first.data)
        #expect(!fields.contains { $0.name == "bcc" })
        #expect(fields.first { $0.name == "to" }?.value == "bob@dest.test")
        #expect(fields.first { $0.name == "from" }?.value == "Alice <alice@origin.test>")
        #expect(fields.first { $0.name == "received" }?.value.contains("id \(headersID)") == true)
        #expect(fields.contains { $0.name == "message-id" } && fields.contains { $0.name == "date" })
        #expect(hasOnlyCRLF(first.data))
        #expect(body(of: first.data) == bodyText.replacingOccurrences(of: "\n", with: "\r\n"))

        #expect(second.mailFrom == "bounces@origin.test")
        #expect(second.recipients == ["carol@dest.test"])
        let secondFields = headerFields(of: second.data)
        #expect(!secondFields.contains { $0.name.hasPrefix("x-sender") || $0.name.hasPrefix("x-receiver") })
        #expect(secondFields.first { $0.name == "to" }?.value == "list@dest.test")

        try await scenario.waitUntilRemoved(headersID)
        try await scenario.waitUntilRemoved(envelopeID)
        #expect(scenario.mailroot.log.contains("relay=mx2.dest.test[\(backup.server.host)]:\(port)"))
        // The preferred host was looked up (and so tried) before the backup.
        #expect(scenario.dns.log.contains("query[A] mx1.dest.test"))
        #expect(scenario.mailroot.log.contains("connect to mx1.dest.test[\(downAddress)]:\(port)"))
        #expect(!scenario.mailroot.log.contains("status=deferred"))
    }

    @Test func addressLiteralIsDeliveredToThatAddressWithoutDNS() async throws {
        let port = Scenario.mxPort
        let server = try await SMTPTestServer(host: Loopback.next(), port: port)
        let scenario = try await Scenario(port: port, records: [])
        try await scenario.mailroot.start()
        let recipient = "b@[\(server.host)]"
        let name = try scenario.mailroot.dropIntoPickup(mail(from: "a@origin.test", to: [recipient], subject: "literal"))
        let id = try await scenario.queueID(ofPickupFile: name)
        let received = try await server.waitForMessages(count: 1)
        #expect(received[0].recipients == [recipient])
        try await scenario.waitUntilRemoved(id)
        #expect(!scenario.dns.log.contains("query[MX]"), "an address literal needs no lookup")
    }

    @Test func domainWithOnlyAnAddressRecordIsDeliveredToThatAddress() async throws {
        let port = Scenario.mxPort
        let server = try await SMTPTestServer(host: Loopback.next(), port: port)
        let scenario = try await Scenario(port: port, records: [.host("plain.test", addresses: [server.host])])
        try await scenario.mailroot.start()
        let name = try scenario.mailroot.dropIntoPickup(mail(from: "a@origin.test", to: ["b@plain.test"], subject: "implicit MX"))
        let id = try await scenario.queueID(ofPickupFile: name)
        let received = try await server.waitForMessages(count: 1)
        #expect(received[0].recipients == ["b@plain.test"])
        try await scenario.waitUntilRemoved(id)
        #expect(scenario.mailroot.log.contains("relay=plain.test[\(server.host)]:\(port)"))
    }

    /// Delivers one message to `domain`, whose only MX offers STARTTLS with a self-signed
    /// certificate (or, with `brokenTLS`, a handshake mailroot cannot complete); returns what the
    /// MX received and mailroot's log once the message has left the queue.
    private func deliverToTLSExchanger(domain: String, brokenTLS: Bool) async throws -> (SMTPTestServer.ReceivedMessage, String) {
        let certificates = try TemporaryDirectory("tls")
        let (certificate, key) = try await makeSelfSignedCertificate(commonName: "mx.\(domain)", in: certificates)
        let port = Scenario.mxPort
        var options = SMTPTestServer.Options()
        options.tlsCertificate = certificate
        options.tlsKey = key
        options.brokenTLS = brokenTLS
        let mx = try await FakeMX(name: "mx.\(domain)", port: port, options: options)
        let scenario = try await Scenario(port: port, records: mx.records(for: domain))
        try await scenario.mailroot.start()
        let name = try scenario.mailroot.dropIntoPickup(mail(from: "a@origin.test", to: ["b@\(domain)"], subject: "over TLS?"))
        let id = try await scenario.queueID(ofPickupFile: name)
        let received = try await mx.server.waitForMessages(count: 1)
        #expect(received[0].recipients == ["b@\(domain)"])
        try await scenario.waitUntilRemoved(id)
        return (received[0], scenario.mailroot.log)
    }

    @Test func serverOfferingStartTLSWithASelfSignedCertificateGetsTheMessageOverTLS() async throws {
        let (received, log) = try await deliverToTLSExchanger(domain: "tls.test", brokenTLS: false)
        #expect(received.tls)
        #expect(!log.contains("retrying without TLS"))
    }

    @Test func failedTLSHandshakeIsFollowedByDeliveryWithoutTLS() async throws {
        let (received, log) = try await deliverToTLSExchanger(domain: "oldtls.test", brokenTLS: true)
        #expect(!received.tls)
        #expect(log.contains("TLS handshake failed"))
        #expect(log.contains("retrying without TLS"))
    }

    @Test func hundredAndFiftyRecipientsOfOneDomainGoInTwoTransactions() async throws {
        let port = Scenario.mxPort
        let mx = try await FakeMX(name: "mx.bulk.test", port: port)
        let scenario = try await Scenario(port: port, records: mx.records(for: "bulk.test"))
        try await scenario.mailroot.start()
        let recipients = (1...150).map { "user\($0)@bulk.test" }
        let file = "x-sender: <news@origin.test>\n" + recipients.map { "x-receiver: <\($0)>\n" }.joined()
            + mail(from: "news@origin.test", to: ["undisclosed-recipients:;"], subject: "newsletter")
        let name = try scenario.mailroot.dropIntoPickup(file)
        let id = try await scenario.queueID(ofPickupFile: name)
        try await scenario.waitUntilRemoved(id, timeout: .seconds(60))

        let received = try mx.server.receivedMessages()
        #expect(received.map(\.recipients.count).sorted() == [50, 100])
        let all = received.flatMap(\.recipients)
        #expect(all.count == 150)
        #expect(Set(all) == Set(recipients))
        #expect(scenario.mailroot.log.components(separatedBy: "status=sent").count - 1 == 150)
    }


    @Test func messageForALocalAndARemoteRecipientIsDroppedAndRelayedOnce() async throws {
        let port = Scenario.mxPort
        let mx = try await FakeMX(name: "mx.dest.test", port: port)
        let scenario = try await Scenario(port: port, records: mx.records(for: "dest.test"))
        try await scenario.mailroot.start()
        let name = try scenario.mailroot.dropIntoPickup(mail(from: "a@origin.test", to: ["me@localhost", "you@dest.test"], subject: "both"))
        let id = try await scenario.queueID(ofPickupFile: name)
        try await scenario.waitUntilRemoved(id)
        #expect(scenario.mailroot.files(in: scenario.mailroot.drop) == ["\(id)-0.eml"])
        let relayed = try mx.server.receivedMessages()
        #expect(relayed.count == 1)
        #expect(relayed.first?.recipients == ["you@dest.test"])
    }

    @Test func preferredMXRefusingTheConnectionWith554FallsBackToTheNext() async throws {
        let port = Scenario.mxPort
        var refusing = SMTPTestServer.Options()
        refusing.greetingCode = 554
        let first = try await FakeMX(name: "mx1.dest.test", port: port, options: refusing)
        let second = try await FakeMX(name: "mx2.dest.test", port: port)
        let scenario = try await Scenario(port: port, records: first.records(for: "dest.test", preference: 10)
            + second.records(for: "dest.test", preference: 20))
        try await scenario.mailroot.start()
        let name = try scenario.mailroot.dropIntoPickup(mail(from: "a@origin.test", to: ["b@dest.test"], subject: "refused"))
        let id = try await scenario.queueID(ofPickupFile: name)
        let received = try await second.server.waitForMessages(count: 1)
        #expect(received[0].recipients == ["b@dest.test"])
        try await scenario.waitUntilRemoved(id)
        #expect(scenario.mailroot.log.contains("mx1.dest.test[\(first.server.host)]:\(port) refused to talk to me"))
        #expect(!scenario.logLines(of: id).contains { $0.contains("status=bounced") || $0.contains("status=deferred") })
    }

    @Test func eightBitMessageToAServerWithout8BITMIMEIsSentUnchangedWithoutTheBodyParameter() async throws {
        let port = Scenario.mxPort
        var options = SMTPTestServer.Options()
        options.eightBitMIME = false
        let mx = try await FakeMX(name: "mx.old.test", port: port, options: options)
        let scenario = try await Scenario(port: port, records: mx.records(for: "old.test"))
        try await scenario.mailroot.start()
        let text = "Caf\u{e9} cr\u{e8}me\n"
        try scenario.mailroot.dropIntoPickup(mail(from: "a@origin.test", to: ["b@old.test"], subject: "8bit",
                                                  headers: ["Content-Type: text/plain; charset=utf-8"], body: text))
        let received = try await mx.server.waitForMessages(count: 1)
        #expect(!received[0].mailOptions.contains { $0.uppercased().hasPrefix("BODY=") })
        #expect(body(of: received[0].data) == text.replacingOccurrences(of: "\n", with: "\r\n"))
    }
}
