// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailrootTestSupport
import Testing

/// `disk_threads`: the queue, pickup, drop and badmail share one pool of that many threads. With a
/// single thread, every file operation waits for the one before it, so any place that held the
/// thread while waiting for more disk work would hang here instead of passing.
@Suite struct DiskThreadsScenarioTests {
    @Test func oneDiskThreadStillRelaysDropsBadmailsAndStopsCleanly() async throws {
        let mx = try await FakeMX(name: "mx.one.test", port: Scenario.mxPort)
        defer { mx.server.stop() }
        let scenario = try await Scenario(port: Scenario.mxPort, records: mx.records(for: "one.test"),
                                          settings: "disk_threads = 1", label: "disk1")
        try await scenario.mailroot.start()
        for index in 0..<20 {
            _ = try scenario.mailroot.dropIntoPickup(mail(from: "a@example.com", to: ["b\(index)@one.test", "c\(index)@localhost"],
                                                          subject: "one thread \(index)"))
        }
        _ = try scenario.mailroot.dropIntoPickup("Subject: no sender and no recipient\n\nbody\n")

        let relayed = try await mx.server.waitForMessages(count: 20)
        #expect(Set(relayed.flatMap(\.recipients)) == Set((0..<20).map { "b\($0)@one.test" }))
        let drops = try await scenario.mailroot.waitForFiles(in: scenario.mailroot.drop, count: 20)
        #expect(drops.count == 20)
        let badmail = try await scenario.mailroot.waitForFiles(in: scenario.mailroot.badmail, count: 2)
        #expect(badmail.contains { $0.hasSuffix(".bad") } && badmail.contains { $0.hasSuffix(".bdr") }, "\(badmail)")

        // NIO names a pool's threads "TP-#n" (its own shared pool is "SGLTN-TP-#n"): the daemon
        // runs exactly the one disk thread it was given.
        let pid = try #require(scenario.mailroot.process?.pid)
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
        let names = tasks.compactMap { try? String(contentsOfFile: "/proc/\(pid)/task/\($0)/comm", encoding: .utf8) }
        #expect(names.filter { $0.hasPrefix("TP-#") }.count == 1, "\(names.sorted())")

        scenario.mailroot.stop()
        #expect(await scenario.mailroot.process?.waitForExit() == 0, "\(scenario.mailroot.log)")
        #expect(scenario.mailroot.log.contains("mailroot: stopped"), "\(scenario.mailroot.log)")
    }
}
