// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailrootTestSupport
import Testing

/// `shutdown_grace`: on SIGTERM a delivery in progress gets this long to finish; then mailroot
/// exits anyway and the message stays queued for the next start (at worst a duplicate, never a loss).
@Suite struct ShutdownGraceTests {
    @Test func sigtermDuringAStalledDeliveryExitsAfterTheGraceAndKeepsTheMessageQueued() async throws {
        var options = SMTPTestServer.Options()
        options.stallData = true
        let mx = try await FakeMX(name: "mx.slow.test", port: Scenario.mxPort, options: options)
        defer { mx.server.stop() }
        // data_timeout (10m) is far beyond the grace, so only shutdown_grace can end the wait.
        let scenario = try await Scenario(port: Scenario.mxPort, records: mx.records(for: "slow.test"),
                                          settings: "shutdown_grace = \"1s\"", label: "grace")
        try await scenario.mailroot.start()
        let name = try scenario.mailroot.dropIntoPickup(mail(from: "a@example.com", to: ["b@slow.test"], subject: "slow"))
        let id = try await scenario.queueID(ofPickupFile: name)
        try await mx.server.waitForStalledData()

        let stopped = ContinuousClock.now
        scenario.mailroot.stop()
        let elapsed = ContinuousClock.now - stopped
        #expect(await scenario.mailroot.process?.waitForExit() == 0, "\(scenario.mailroot.log)")
        #expect(elapsed >= .milliseconds(900), "mailroot did not wait for the delivery in progress: \(elapsed)")
        #expect(elapsed < .seconds(6), "mailroot waited past shutdown_grace = 1s: \(elapsed)")
        #expect(scenario.mailroot.files(in: "\(scenario.mailroot.queue)/msg").contains { $0.hasPrefix(id) },
                "the undelivered message stays queued: \(scenario.mailroot.files(in: "\(scenario.mailroot.queue)/msg"))")
        mx.server.releaseStalledData()
    }
}
