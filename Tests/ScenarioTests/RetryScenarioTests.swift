// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailrootTestSupport
import Testing

/// Temporary failures and restarts: a 4xx is retried on the `retry` schedule, and a message
/// waiting for a host that is down survives a clean stop and is delivered after the next start.
@Suite struct RetryScenarioTests {
    @Test func temporaryFailureIsRetriedAndThenDelivered() async throws {
        let port = Scenario.mxPort
        var options = SMTPTestServer.Options()
        options.deferFirst = 1
        let mx = try await FakeMX(name: "mx.dest.test", port: port, options: options)
        let scenario = try await Scenario(port: port, records: mx.records(for: "dest.test"))
        try await scenario.mailroot.start()
        let name = try scenario.mailroot.dropIntoPickup(mail(from: "a@origin.test", to: ["b@dest.test"], subject: "retry"))
        let id = try await scenario.queueID(ofPickupFile: name)
        try await scenario.waitUntilRemoved(id)

        let events = scenario.logLines(of: id)
        let deferred = try #require(events.firstIndex { $0.contains("to=<b@dest.test>") && $0.contains("status=deferred") })
        let sent = try #require(events.firstIndex { $0.contains("to=<b@dest.test>") && $0.contains("status=sent") })
        #expect(deferred < sent)
        #expect(events[deferred].contains("451"))
        #expect(events.filter { $0.contains("status=sent") }.count == 1)
        #expect(try mx.server.receivedMessages().count == 1)
    }

    @Test func onlyTheDeferredDomainIsRetriedTheDeliveredOneGetsTheMessageOnce() async throws {
        let port = Scenario.mxPort
        let quick = try await FakeMX(name: "mx.quick.test", port: port)
        var options = SMTPTestServer.Options()
        options.deferFirst = 1
        let slow = try await FakeMX(name: "mx.slow.test", port: port, options: options)
        let scenario = try await Scenario(port: port, records: quick.records(for: "quick.test") + slow.records(for: "slow.test"))
        try await scenario.mailroot.start()
        let name = try scenario.mailroot.dropIntoPickup(mail(from: "a@origin.test", to: ["x@quick.test", "y@slow.test"], subject: "two"))
        let id = try await scenario.queueID(ofPickupFile: name)
        try await scenario.waitUntilRemoved(id)
        #expect(try quick.server.receivedMessages().map(\.recipients) == [["x@quick.test"]])
        #expect(try slow.server.receivedMessages().map(\.recipients) == [["y@slow.test"]])
        let events = scenario.logLines(of: id)
        #expect(events.filter { $0.contains("to=<x@quick.test>") }.count == 1)
        #expect(events.filter { $0.contains("to=<y@slow.test>") && $0.contains("status=deferred") }.count == 1)
    }

    @Test func manyMessagesToOneDomainAreEachDeliveredExactlyOnce() async throws {
        // Several at once make workers keep their connection (RSET between messages).
        let port = Scenario.mxPort
        let mx = try await FakeMX(name: "mx.busy.test", port: port)
        let scenario = try await Scenario(port: port, records: mx.records(for: "busy.test"))
        try await scenario.mailroot.start()
        let count = 30
        var names: [String] = []
        for number in 1...count {
            names.append(try scenario.mailroot.dropIntoPickup(mail(from: "a@origin.test", to: ["r\(number)@busy.test"], subject: "n\(number)")))
        }
        for name in names {
            try await scenario.waitUntilRemoved(try await scenario.queueID(ofPickupFile: name), timeout: .seconds(60))
        }
        let received = try mx.server.receivedMessages()
        #expect(received.count == count)
        #expect(received.flatMap(\.recipients).sorted() == (1...count).map { "r\($0)@busy.test" }.sorted())
        #expect(!scenario.mailroot.log.contains("status=deferred"))
    }

    @Test func preferredMXDownAndBackupMXNameMissingDefersUntilTheHostComesBack() async throws {
        // One exchanger is only down (temporary), the other does not exist (NXDOMAIN): RFC 5321
        // §5.1 lets the sender give up only when no host could ever take the message, so defer.
        let port = Scenario.mxPort
        let address = Loopback.next()
        let scenario = try await Scenario(port: port, records: [
            .mx("mixed.test", host: "mx1.mixed.test", preference: 10), .host("mx1.mixed.test", addresses: [address]),
            .mx("mixed.test", host: "mx2.mixed.test", preference: 20),
        ])
        try await scenario.mailroot.start()
        let name = try scenario.mailroot.dropIntoPickup(mail(from: "a@origin.test", to: ["b@mixed.test"], subject: "mixed"))
        let id = try await scenario.queueID(ofPickupFile: name)
        try await scenario.mailroot.waitForLog(containing: "\(id): to=<b@mixed.test>, relay=")
        let first = try #require(scenario.logLines(of: id).first { $0.contains("to=<b@mixed.test>") })
        #expect(first.contains("status=deferred"), "\(first)")

        let server = try await SMTPTestServer(host: address, port: port)
        let received = try await server.waitForMessages(count: 1, timeout: .seconds(30))
        #expect(received[0].recipients == ["b@mixed.test"])
        try await scenario.waitUntilRemoved(id)
        #expect(!scenario.logLines(of: id).contains { $0.contains("status=bounced") })
    }

    @Test func sigtermStopsCleanlyAndAQueuedMessageIsDeliveredAfterRestart() async throws {
        let port = Scenario.mxPort
        let address = Loopback.next()
        let scenario = try await Scenario(port: port, records: [
            .mx("later.test", host: "mx.later.test", preference: 10), .host("mx.later.test", addresses: [address]),
        ])
        try await scenario.mailroot.start()
        let name = try scenario.mailroot.dropIntoPickup(mail(from: "a@origin.test", to: ["b@later.test"], subject: "patience"))
        let id = try await scenario.queueID(ofPickupFile: name)
        try await scenario.mailroot.waitForLog(containing: "\(id): to=<b@later.test>, relay=")
        #expect(scenario.logLines(of: id).contains { $0.contains("status=deferred") })

        let first = try #require(scenario.mailroot.process)
        kill(first.pid, SIGTERM)
        #expect(await first.waitForExit() == 0)
        #expect(scenario.mailroot.log.contains("mailroot: stopped"))
        #expect(!scenario.mailroot.log.contains("\(id): removed"))

        // The host comes up while mailroot is down; the next start must still know the message.
        let server = try await SMTPTestServer(host: address, port: port)
        try await scenario.mailroot.start()
        let received = try await server.waitForMessages(count: 1, timeout: .seconds(30))
        #expect(received[0].recipients == ["b@later.test"])
        #expect(headerFields(of: received[0].data).contains { $0.name == "received" && $0.value.contains("id \(id)") })
        try await scenario.waitUntilRemoved(id)
        #expect(try server.receivedMessages().count == 1)
    }
}
