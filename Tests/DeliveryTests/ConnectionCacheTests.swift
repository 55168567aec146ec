// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
@testable import Delivery

/// Idle connections stay open for `connectionCacheTime` in case more mail comes for their domain.
@Suite("Connection cache")
struct ConnectionCacheTests {
    private let delivered = ScriptedCourier { _, _ in .delivered(reply: "250 2.0.0 ok") }

    @Test func theDomainsNextMessageReusesTheIdleConnection() async throws {
        let harness = try await SchedulerHarness(courier: delivered)
        try await harness.enqueue(from: "s@sender.test", to: ["a@one.test"])
        try await harness.waitUntilQueueEmpty()
        try await harness.enqueue(from: "s@sender.test", to: ["b@one.test"])
        try await harness.waitUntilQueueEmpty()
        #expect(delivered.recordedWorks.count == 2)
        #expect(delivered.opened("one.test") == 1, "the second message opened a connection of its own")
        #expect(delivered.closed("one.test") == 0)
    }

    @Test func withACacheTimeOfZeroEachIdleConnectionClosesAtOnce() async throws {
        let harness = try await SchedulerHarness(courier: delivered) { $0.connectionCacheTime = .zero }
        try await harness.enqueue(from: "s@sender.test", to: ["a@one.test"])
        try await harness.waitUntilQueueEmpty()
        #expect(await delivered.waitForClosedSessions("one.test", count: 1))
        try await harness.enqueue(from: "s@sender.test", to: ["b@one.test"])
        try await harness.waitUntilQueueEmpty()
        #expect(delivered.opened("one.test") == 2)
    }

    @Test func anIdleConnectionClosesOnceTheCacheTimeHasPassed() async throws {
        let harness = try await SchedulerHarness(courier: delivered) { $0.connectionCacheTime = .milliseconds(300) }
        let start = ContinuousClock.now
        try await harness.enqueue(from: "s@sender.test", to: ["a@one.test"])
        try await harness.waitUntilQueueEmpty()
        #expect(await delivered.waitForClosedSessions("one.test", count: 1))
        #expect(ContinuousClock.now - start >= .milliseconds(300))
    }

    /// With every slot of `max_connections` held by an idle connection, a domain with mail must
    /// not wait for the cache time: the idle connection gives its slot up.
    @Test func anIdleConnectionGivesItsSlotToADomainWithMail() async throws {
        let harness = try await SchedulerHarness(courier: delivered) {
            $0.maxConnections = 1
            $0.connectionCacheTime = .seconds(300)
        }
        try await harness.enqueue(from: "s@sender.test", to: ["a@one.test"])
        try await harness.waitUntilQueueEmpty()
        try await harness.enqueue(from: "s@sender.test", to: ["b@two.test"])
        try await harness.waitUntilQueueEmpty(timeout: .seconds(5))
        #expect(delivered.closed("one.test") == 1)
        #expect(delivered.opened("two.test") == 1)
    }

    /// The slot is busy, not idle, when the second domain asks for it: the worker that finishes
    /// must then hang up rather than park, or the second domain waits out the cache time (seen as
    /// a 2 s stall in the benchmarks, with 100 domains and `max_connections = 100`).
    @Test func aWorkerDoesNotParkWhileAnotherDomainWaitsForASlot() async throws {
        let harness = try await SchedulerHarness(courier: delivered) {
            $0.maxConnections = 1
            $0.connectionCacheTime = .seconds(300)
        }
        // One message, two domains: one.test takes the only slot, two.test waits for it.
        try await harness.enqueue(from: "s@sender.test", to: ["a@one.test", "b@two.test"])
        try await harness.waitUntilQueueEmpty(timeout: .seconds(5))
        #expect(delivered.closed("one.test") == 1)
        #expect(delivered.opened("two.test") == 1)
    }

    @Test func stoppingClosesIdleConnectionsWithoutWaitingForTheGracePeriod() async throws {
        let harness = try await SchedulerHarness(courier: delivered) {
            $0.connectionCacheTime = .seconds(300)
            $0.shutdownGrace = .seconds(60)
        }
        try await harness.enqueue(from: "s@sender.test", to: ["a@one.test"])
        try await harness.waitUntilQueueEmpty()
        let start = ContinuousClock.now
        await harness.stop()
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(delivered.closed("one.test") == 1)
    }
}
