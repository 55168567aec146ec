// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
@testable import Pickup

@Suite("Pickup memory budget")
struct MemoryBudgetTests {
    @Test func aRequestLargerThanTheBudgetTakesAllOfItAndIsServedAlone() async {
        let budget = MemoryBudget(capacity: 100)
        let small = await budget.acquire(30)
        let large = Task { await budget.acquire(1_000) }
        // The large request waits for the 30 bytes in use: it is given the whole budget.
        budget.release(small)
        #expect(await large.value == 100)
        #expect(budget.peakInUse == 100)
        budget.release(100)
    }

    /// A waiting large file is not overtaken by small ones that would fit in what is left.
    @Test func aSmallRequestWaitsBehindAWaitingLargeOne() async {
        let budget = MemoryBudget(capacity: 100)
        let first = await budget.acquire(60)
        let large = Task { await budget.acquire(80) }
        while budget.waiterCount < 1 { await Task.yield() }
        let small = Task { await budget.acquire(10) }
        while budget.waiterCount < 2 { await Task.yield() }
        // 40 bytes are free and the small request would fit, yet it still waits: both are queued.
        #expect(budget.waiterCount == 2)
        budget.release(first)
        let amounts = [await large.value, await small.value]
        #expect(amounts == [80, 10])
        #expect(budget.peakInUse == 90)
        budget.release(90)
    }

    /// The pickup's claim reads a file in the same trip to the pool only when this succeeds.
    @Test func tryAcquireTakesOnlyWhatIsFreeNowAndNeverJumpsTheQueue() async {
        let budget = MemoryBudget(capacity: 100)
        #expect(budget.tryAcquire(70) == 70)
        #expect(budget.tryAcquire(40) == nil, "only 30 bytes are free")
        let waiting = Task { await budget.acquire(50) }
        while budget.waiterCount < 1 { await Task.yield() }
        #expect(budget.tryAcquire(10) == nil, "10 bytes would fit, but a waiter was first")
        budget.release(70)
        #expect(await waiting.value == 50)
        #expect(budget.tryAcquire(50) == 50)
        budget.release(100)
    }
}
