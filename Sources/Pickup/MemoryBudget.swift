// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Bytes of pickup files held in memory at once. Each file is read whole (it is parsed and
/// rewritten before it is queued), so without a budget 32 files taken at once could each be
/// `max_message_size`: a local user able to write into pickup/ could make the daemon hold about
/// a gigabyte. A file asks for its size before it is read and gives it back once it is queued or
/// refused; one larger than the whole budget asks for all of it and so is read alone.
/// Waiters are served in order, so a large file is not starved by a stream of small ones.
final class MemoryBudget: @unchecked Sendable {
    let capacity: Int
    private let lock = NSLock()
    private var available: Int
    private var waiters: [(amount: Int, continuation: CheckedContinuation<Void, Never>)] = []
    private var highWater = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        available = self.capacity
    }

    /// Waits until `bytes` (at most the capacity, at least 1) are free and takes them; returns the
    /// amount taken, to be given back with `release`.
    func acquire(_ bytes: Int) async -> Int {
        if let taken = tryAcquire(bytes) { return taken }
        let amount = share(bytes)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            // Checked again under the lock: a release may have come since tryAcquire.
            let ready = lock.withLock { () -> Bool in
                if takeIfFree(amount) { return true }
                waiters.append((amount, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
        return amount
    }

    /// Takes `bytes` (as `acquire` counts them) only if they are free now and nobody waits; for
    /// a caller that cannot wait (on a pool thread). Returns the amount taken, or nil.
    func tryAcquire(_ bytes: Int) -> Int? {
        let amount = share(bytes)
        return lock.withLock { takeIfFree(amount) } ? amount : nil
    }

    func release(_ amount: Int) {
        let ready = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
            available += amount
            var ready: [CheckedContinuation<Void, Never>] = []
            while let first = waiters.first, first.amount <= available {
                waiters.removeFirst()
                take(first.amount)
                ready.append(first.continuation)
            }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    /// The most bytes ever taken at once (for tests and the benchmark notes).
    var peakInUse: Int { lock.withLock { highWater } }
    var waiterCount: Int { lock.withLock { waiters.count } }

    /// What a request for `bytes` takes: at least 1, at most the whole budget.
    private func share(_ bytes: Int) -> Int { min(max(bytes, 1), capacity) }

    /// With the lock held: takes `amount` if it is free and nobody waits before it.
    private func takeIfFree(_ amount: Int) -> Bool {
        guard waiters.isEmpty, available >= amount else { return false }
        take(amount)
        return true
    }

    private func take(_ amount: Int) {
        available -= amount
        highWater = max(highWater, capacity - available)
    }
}
