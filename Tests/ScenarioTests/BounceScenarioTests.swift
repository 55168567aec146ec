// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailrootTestSupport
import Testing

/// Permanent failures (README "Delivery"): each becomes an RFC 3464 report from the null sender,
/// delivered over SMTP to the MX of the original sender's domain, and read back with Python's
/// `email` package. A failing message with a null sender goes to badmail instead.
@Suite struct BounceScenarioTests {
    /// The sender's domain `origin.test` and its MX, which receives the bounces.
    struct World {
        let scenario: Scenario
        let senderMX: FakeMX

        init(records: (Int) async throws -> [Dnsmasq.Record], delivery: String = "") async throws {
            let port = Scenario.mxPort
            senderMX = try await FakeMX(name: "mx.origin.test", port: port)
            scenario = try await Scenario(port: port, records: try await records(port) + senderMX.records(for: "origin.test"),
                                          delivery: delivery)
            try await scenario.mailroot.start()
        }
    }

    static let subject = "quarterly report"

    /// Drops a message from sender@origin.test to `recipients` and returns its queue ID.
    static func send(to recipients: [String], in world: World) async throws -> String {
        let name = try world.scenario.mailroot.dropIntoPickup(
            mail(from: "Sender <sender@origin.test>", to: recipients, subject: subject, headers: ["X-Tracking: 42"]))
        return try await world.scenario.queueID(ofPickupFile: name)
    }

    /// The original headers travel in the third part, as RFC 6522 text/rfc822-headers.
    static func expectOriginalHeaders(_ report: DeliveryStatusReport, id: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(report.originalHeaders.contains("Subject: \(subject)"), sourceLocation: sourceLocation)
        #expect(report.originalHeaders.contains("X-Tracking: 42"), sourceLocation: sourceLocation)
        #expect(report.originalHeaders.contains(id), "the Received line with our queue ID", sourceLocation: sourceLocation)
        #expect(!report.originalHeaders.contains("Hello."), "no body in the headers part", sourceLocation: sourceLocation)
    }

    @Test func nullMXRecipientIsBouncedWithStatus5_1_10() async throws {
        let world = try await World { _ in [.nullMX("nomail.test")] }
        let id = try await Self.send(to: ["user@nomail.test"], in: world)
        let (_, report) = try await receiveBounce(at: world.senderMX.server, to: "sender@origin.test")
        let recipient = try report.checkedSingleFailure()
        #expect(recipient["final-recipient"] == "rfc822; user@nomail.test")
        #expect(recipient["status"] == "5.1.10")
        #expect(report.to?.contains("sender@origin.test") == true)
        #expect(report.autoSubmitted == "auto-replied")
        Self.expectOriginalHeaders(report, id: id)
        try await world.scenario.waitUntilRemoved(id)
    }

    @Test func nonexistentRecipientDomainIsBouncedWithStatus5_1_2() async throws {
        // dnsmasq answers NXDOMAIN for every unlisted name under .test.
        let world = try await World { _ in [] }
        let id = try await Self.send(to: ["user@nowhere.test"], in: world)
        let (_, report) = try await receiveBounce(at: world.senderMX.server, to: "sender@origin.test")
        let recipient = try report.checkedSingleFailure()
        #expect(recipient["final-recipient"] == "rfc822; user@nowhere.test")
        #expect(recipient["status"] == "5.1.2")
        Self.expectOriginalHeaders(report, id: id)
    }

    @Test func recipientRefusedWith550IsBouncedAloneWhileTheOtherIsDeliveredOnce() async throws {
        var options = SMTPTestServer.Options()
        options.rejectRecipients = ["refused@dest.test"]
        var destination: FakeMX?
        let world = try await World { port in
            destination = try await FakeMX(name: "mx.dest.test", port: port, options: options)
            return destination!.records(for: "dest.test")
        }
        let mx = try #require(destination)
        let id = try await Self.send(to: ["ok@dest.test", "refused@dest.test"], in: world)
        let (_, report) = try await receiveBounce(at: world.senderMX.server, to: "sender@origin.test")
        let recipient = try report.checkedSingleFailure()
        #expect(recipient["final-recipient"] == "rfc822; refused@dest.test")
        #expect(recipient["status"] == "5.1.1")
        #expect(recipient["diagnostic-code"]?.hasPrefix("smtp; 550") == true)
        #expect(recipient["remote-mta"] == "dns; mx.dest.test")
        Self.expectOriginalHeaders(report, id: id)

        try await world.scenario.waitUntilRemoved(id)
        let delivered = try mx.server.receivedMessages()
        #expect(delivered.count == 1)
        #expect(delivered.first?.recipients == ["ok@dest.test"])
        #expect(try world.senderMX.server.receivedMessages().count == 1)
    }

    @Test func failuresInSeveralDomainsOfOneMessageMakeOneReportNamingEach() async throws {
        var destination: FakeMX?
        let world = try await World { port in
            destination = try await FakeMX(name: "mx.dest.test", port: port)
            return destination!.records(for: "dest.test") + [.nullMX("nomail.test")]
        }
        let mx = try #require(destination)
        // Three domains: one delivers, two fail for good (null MX, NXDOMAIN), each in its own work item.
        let id = try await Self.send(to: ["ok@dest.test", "user@nomail.test", "user@nowhere.test"], in: world)
        let (_, report) = try await receiveBounce(at: world.senderMX.server, to: "sender@origin.test")
        #expect(Set(report.recipients.compactMap { $0["final-recipient"] })
                == ["rfc822; user@nomail.test", "rfc822; user@nowhere.test"], "\(report.recipients)")
        #expect(Set(report.recipients.compactMap { $0["status"] }) == ["5.1.10", "5.1.2"])
        Self.expectOriginalHeaders(report, id: id)
        try await world.scenario.waitUntilRemoved(id)
        #expect(try world.senderMX.server.receivedMessages().count == 1, "one report for the message, not one per domain")
        #expect(try mx.server.receivedMessages().map(\.recipients) == [["ok@dest.test"]])
    }

    @Test func recipientStillDeferredAfterExpireIsBouncedWithStatus5_4_7() async throws {
        var options = SMTPTestServer.Options()
        options.deferRecipients = ["slow@dest.test"]
        var destination: FakeMX?
        let world = try await World(records: { port in
            destination = try await FakeMX(name: "mx.dest.test", port: port, options: options)
            return destination!.records(for: "dest.test")
        }, delivery: "expire = \"3s\"")
        let id = try await Self.send(to: ["slow@dest.test"], in: world)
        let (_, report) = try await receiveBounce(at: world.senderMX.server, to: "sender@origin.test")
        let recipient = try report.checkedSingleFailure()
        #expect(recipient["final-recipient"] == "rfc822; slow@dest.test")
        // X.4.7 "delivery time expired" (RFC 3463); class 5 because the report says Action: failed.
        #expect(recipient["status"] == "5.4.7")
        #expect(recipient["diagnostic-code"]?.contains("451") == true, "the last error is kept: \(recipient)")
        let events = world.scenario.logLines(of: id)
        #expect(events.contains { $0.contains("status=deferred") })
        #expect(events.contains { $0.contains("dsn=5.4.7, status=bounced") })
        #expect(try destination?.server.receivedMessages().isEmpty == true)
    }

    @Test func mxThatIsOurOwnHostnameIsAMailLoopBouncedWithStatus5_4_6() async throws {
        let world = try await World { _ in
            [.mx("loop.test", host: Scenario.hostname, preference: 10), .host(Scenario.hostname, addresses: [Loopback.next()])]
        }
        let id = try await Self.send(to: ["user@loop.test"], in: world)
        let (_, report) = try await receiveBounce(at: world.senderMX.server, to: "sender@origin.test")
        let recipient = try report.checkedSingleFailure()
        #expect(recipient["final-recipient"] == "rfc822; user@loop.test")
        #expect(recipient["status"] == "5.4.6")
        Self.expectOriginalHeaders(report, id: id)
    }

    @Test func mxHostWithoutAddressRecordsIsBouncedAsUnroutableNotAsAMailLoop() async throws {
        // mx.noaddr.test exists (it has an MX record itself) but has neither A nor AAAA: NODATA.
        let world = try await World { _ in
            [.mx("noaddr.test", host: "mx.noaddr.test", preference: 10), .mx("mx.noaddr.test", host: "elsewhere.test", preference: 10)]
        }
        let id = try await Self.send(to: ["user@noaddr.test"], in: world)
        let (_, report) = try await receiveBounce(at: world.senderMX.server, to: "sender@origin.test")
        let recipient = try report.checkedSingleFailure()
        #expect(recipient["final-recipient"] == "rfc822; user@noaddr.test")
        // X.4.4 "unable to route" (RFC 3463), as Postfix reports an MX host without addresses.
        #expect(recipient["status"] == "5.4.4")
        #expect(!world.scenario.mailroot.log.contains("loops back to myself"))
        Self.expectOriginalHeaders(report, id: id)
    }

    @Test func messageLargerThanTheServersSizeLimitIsBouncedWith5_3_4WithoutBeingSent() async throws {
        var options = SMTPTestServer.Options()
        options.sizeLimit = 1000
        var destination: FakeMX?
        let world = try await World { port in
            destination = try await FakeMX(name: "mx.small.test", port: port, options: options)
            return destination!.records(for: "small.test")
        }
        let name = try world.scenario.mailroot.dropIntoPickup(mail(from: "sender@origin.test", to: ["user@small.test"], subject: "big",
                                                                    body: String(repeating: "0123456789abcdef\n", count: 200)))
        let id = try await world.scenario.queueID(ofPickupFile: name)
        let (_, report) = try await receiveBounce(at: world.senderMX.server, to: "sender@origin.test")
        let recipient = try report.checkedSingleFailure()
        #expect(recipient["final-recipient"] == "rfc822; user@small.test")
        #expect(recipient["status"] == "5.3.4")
        try await world.scenario.waitUntilRemoved(id)
        #expect(try destination?.server.receivedMessages().isEmpty == true)
    }

    @Test func bounceThatCannotBeDeliveredEndsInBadmailInsteadOfLooping() async throws {
        let world = try await World { _ in [.nullMX("nomail.test")] }
        // The sender's domain does not exist, so the bounce itself fails permanently.
        let name = try world.scenario.mailroot.dropIntoPickup(mail(from: "ghost@gone.test", to: ["user@nomail.test"], subject: "double"))
        let id = try await world.scenario.queueID(ofPickupFile: name)
        try await world.scenario.waitUntilRemoved(id)
        let bounceLine = try #require(world.scenario.logLines(of: id).first { $0.contains("sender non-delivery notification: ") })
        let bounceID = try #require(bounceLine.components(separatedBy: "notification: ").last)
        try await world.scenario.waitUntilRemoved(bounceID)

        let badmail = try await world.scenario.mailroot.waitForFiles(in: world.scenario.mailroot.badmail, count: 2)
        let bad = try #require(badmail.first { $0.hasSuffix(".bad") })
        let copy = String(decoding: try world.scenario.read(world.scenario.mailroot.badmail, bad), as: UTF8.self)
        #expect(copy.contains("Content-Type: multipart/report"))
        let reason = String(decoding: try world.scenario.read(world.scenario.mailroot.badmail, bad.replacingOccurrences(of: ".bad", with: ".bdr")),
                            as: UTF8.self)
        #expect(reason.contains("Status: 5.1.2"))
        #expect(world.scenario.mailroot.log.components(separatedBy: "sender non-delivery notification").count - 1 == 1)
        let queued = "\(world.scenario.mailroot.queue)/msg"
        #expect(FileManager.default.fileExists(atPath: queued))
        #expect(world.scenario.mailroot.files(in: queued).isEmpty)
    }

    @Test func failingMessageWithNullSenderIsNotBouncedButCopiedToBadmail() async throws {
        let world = try await World { _ in [.nullMX("nomail.test")] }
        let name = try world.scenario.mailroot.dropIntoPickup("x-sender: <>\nx-receiver: <user@nomail.test>\n"
            + mail(from: "MAILER-DAEMON@origin.test", to: ["user@nomail.test"], subject: "a bounce itself"))
        let id = try await world.scenario.queueID(ofPickupFile: name)
        try await world.scenario.waitUntilRemoved(id)

        let badmail = try await world.scenario.mailroot.waitForFiles(in: world.scenario.mailroot.badmail, count: 2)
        let bad = try #require(badmail.first { $0.hasSuffix(".bad") })
        let copy = String(decoding: try world.scenario.read(world.scenario.mailroot.badmail, bad), as: UTF8.self)
        #expect(copy.contains("Subject: a bounce itself"))
        #expect(copy.contains("id \(id)"))
        let reason = String(decoding: try world.scenario.read(world.scenario.mailroot.badmail, bad.replacingOccurrences(of: ".bad", with: ".bdr")),
                            as: UTF8.self)
        #expect(reason.contains("Status: 5.1.10"))
        #expect(reason.contains("null sender"))
        #expect(reason.contains(id))
        #expect(!world.scenario.mailroot.log.contains("sender non-delivery notification"))
        #expect(try world.senderMX.server.receivedMessages().isEmpty)
    }
}
