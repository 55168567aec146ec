// SPDX-License-Identifier: Apache-2.0
//
// SUMMARY
//   What the administrator's queue commands do to a message the scheduler knows: flush, hold,
//   release, delete and bounce.
//
// SAFETY
//   A command never acts on a message while one of its delivery attempts is in progress: it
//   marks the message as administered (so nothing new is dispatched) and waits for the attempt's
//   outcome to be recorded, then acts on what is left. So `delete` racing a delivery either finds
//   the message delivered (and says so) or deletes it with no attempt running, and a recipient
//   is never both delivered and bounced. The on-disk change (hold marker, removal, journal,
//   bounce) is durable before the command is answered.
import Foundation
import MailMessage
import MailQueue

/// Why an administrator's command could not be done.
public enum AdministrationError: Error, Sendable, CustomStringConvertible {
    case notQueued(QueueID)
    case held(QueueID)
    case shuttingDown
    case queue(QueueError)

    public var description: String {
        switch self {
        case .notQueued(let id): "\(id): not in the queue (delivered, bounced or deleted)"
        case .held(let id): "\(id): held; release it first"
        case .shuttingDown: "the daemon is shutting down; try again after it restarts"
        case .queue(let error): "\(error)"
        }
    }
}

extension DeliveryScheduler {
    /// Tries `id` now, whatever its due time. Held messages are refused (release them instead).
    /// Returns false when an attempt was already in progress (it goes on; nothing to do).
    public func flush(_ id: QueueID) async throws(AdministrationError) -> Bool {
        guard let entry = await queue.entry(id) else { throw .notQueued(id) }
        guard !entry.isHeld else { throw .held(id) }
        guard outstanding[id] == nil, administered[id] == nil else { return false }
        dispatch(entry)
        return true
    }

    /// Makes every waiting message due now; returns how many. Held messages stay held.
    public func flushAll() -> Int {
        let ids = Array(dueTimes.keys)
        for id in ids { wait(id, until: .distantPast) }
        return ids.count
    }

    /// Holds `id` once any attempt in progress has ended.
    public func hold(_ id: QueueID) async throws(AdministrationError) -> QueueEntry {
        try await administering(id) { () throws(AdministrationError) in
            let entry = try await mapped { () throws(QueueError) in try await self.queue.hold(id) }
            dueTimes[id] = nil
            return entry
        }
    }

    /// Releases `id` and tries it at once.
    public func release(_ id: QueueID) async throws(AdministrationError) -> QueueEntry {
        let entry = try await administering(id) { () throws(AdministrationError) in
            try await mapped { () throws(QueueError) in try await self.queue.release(id) }
        }
        dispatch(entry)
        return entry
    }

    /// Deletes `id` without a bounce, once any attempt in progress has ended.
    public func delete(_ id: QueueID) async throws(AdministrationError) {
        try await administering(id) { () throws(AdministrationError) in
            try await mapped { () throws(QueueError) in try await self.queue.delete(id) }
            dueTimes[id] = nil
        }
    }

    /// Returns `id` to its sender now: every pending recipient fails with 5.0.0 and one RFC 3464
    /// report goes to the sender (badmail if the sender is null), as if delivery had failed
    /// permanently. Returns the bounce's queue entry, if one was queued.
    @discardableResult
    public func bounce(_ id: QueueID) async throws(AdministrationError) -> QueueEntry? {
        let bounces = try await administering(id) { () throws(AdministrationError) -> [QueueEntry] in
            guard let entry = await queue.entry(id) else { throw .notQueued(id) }
            let work = DeliveryWork(entry: entry, domain: "", recipientIndices: entry.pendingIndices)
            let report = CourierReport.all(work, .permanent(status: EnhancedStatusCode(.permanentFailure, 0, 0),
                                                           reply: "returned to sender by the mail administrator"))
            let applied = await outcomes.apply(report, to: work)
            let returned = await outcomes.returnToSender(applied.failures, of: id)
            dueTimes[id] = nil
            if let left = await queue.entry(id) {
                // The failure could not be recorded (the queue said why in the log): still queued.
                if let due = left.nextAttempt { wait(id, until: due) }
                throw .queue(.io("\(id): the bounce was not recorded; see the log"))
            }
            return returned.bounces
        }
        for bounce in bounces { submit(bounce) }
        return bounces.first
    }

    /// Runs `body` for `id` with no delivery attempt in progress and none starting meanwhile.
    private func administering<T: Sendable>(_ id: QueueID,
                                            _ body: () async throws(AdministrationError) -> T) async throws(AdministrationError) -> T {
        guard !stopping else { throw .shuttingDown }
        administered[id, default: 0] += 1
        defer {
            let left = administered[id, default: 1] - 1
            administered[id] = left == 0 ? nil : left
        }
        if outstanding[id] != nil {
            logger.info("\(id): a delivery attempt is in progress; the administrator's command waits for it to end")
            await withCheckedContinuation { settleWaiters[id, default: []].append($0) }
        }
        // Woken with the attempt still running only when shutdown gave up on it.
        guard outstanding[id] == nil else { throw .shuttingDown }
        guard await queue.entry(id) != nil else { throw .notQueued(id) }
        return try await body()
    }

    private func mapped<T: Sendable>(_ body: () async throws(QueueError) -> T) async throws(AdministrationError) -> T {
        do {
            return try await body()
        } catch .unknownMessage(let id) {
            throw .notQueued(id)
        } catch {
            throw .queue(error)
        }
    }

    /// The attempt on `id` has ended (its outcome is recorded): let waiting commands go on.
    func settled(_ id: QueueID) {
        guard let waiters = settleWaiters.removeValue(forKey: id) else { return }
        for waiter in waiters { waiter.resume() }
    }

    /// Shutdown gave up on the attempts still running (or the control channel is closing): the
    /// commands waiting for them fail with `shuttingDown` and change nothing.
    public func releaseSettleWaiters() {
        let all = settleWaiters.values.flatMap { $0 }
        settleWaiters = [:]
        for waiter in all { waiter.resume() }
    }
}
