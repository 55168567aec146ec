// SPDX-License-Identifier: Apache-2.0
//
// SUMMARY
//   The delivery service: decides when each queued message is tried, groups its recipients by
//   domain, and runs bounded workers that hand each domain's work to a courier.
//
// DESCRIPTION
//   New messages are dispatched at once; deferred ones wait in a due-time heap (one scheduler
//   over all messages, as Postfix's qmgr, not one task per message). Each dispatched message
//   becomes one work item per recipient domain. A domain has at most `maxConnectionsPerDomain`
//   workers, all domains together at most `maxConnections`; a worker keeps its courier session
//   (and so its SMTP connection) for the next item of the same domain. After each item the
//   outcome goes through FailurePolicy and is recorded in the queue; the permanent failures of
//   all of a message's domains become one RFC 3464 bounce, queued like any other message once
//   the last domain has answered.
//
// SAFETY
//   A recipient's outcome is recorded (fsync) before its work item counts as done; a bounce is
//   queued durably before the failure is recorded, so a crash can duplicate a bounce, never lose
//   one. A failed message with a null sender is never bounced again: it goes to badmail.
//
// SEE ALSO
//   FailurePolicy.swift, RoutePlanner.swift, SMTPCourier.swift, DropCourier.swift, RFC 5321 §4.5.4.
import DequeModule
import DNSResolver
import Foundation
import HeapModule
import Logging
import MailMessage
import MailQueue
import NIOCore
import NIOPosix
import ServiceLifecycle

public actor DeliveryScheduler: Service {
    /// `reconfigure` (SIGHUP) replaces the parts the scheduler itself acts on.
    var configuration: DeliveryConfiguration
    let queue: Queue
    var outcomes: OutcomeRecorder
    let logger: Logger
    private let remoteCourier: any Courier
    private let localCourier: any Courier
    /// The SMTP courier's signers, which a reload replaces (nil with couriers a test chose).
    let dkimSigning: DKIMSigning?

    private var dueHeap = Heap<DueEntry>()
    /// The time each waiting message is due; heap entries that disagree are stale and skipped.
    var dueTimes: [QueueID: Date] = [:]
    /// Work items still out per message; the message is rescheduled when its count returns to zero.
    var outstanding: [QueueID: Int] = [:]
    /// Messages an administrator's command is working on (DeliveryAdministration): not dispatched
    /// until the command is done, so it never races a delivery it did not wait for.
    var administered: [QueueID: Int] = [:]
    /// Commands waiting for a message's delivery in progress to end.
    var settleWaiters: [QueueID: [CheckedContinuation<Void, Never>]] = [:]
    /// Permanent failures of messages whose other domains are still being tried: reported
    /// together, in one bounce, when the last of them finishes.
    private var permanentFailures: [QueueID: [OutcomeRecorder.PermanentFailure]] = [:]
    var pendingWork: [String: Deque<DeliveryWork>] = [:]
    private var workersPerDomain: [String: Int] = [:]
    private var activeWorkers = 0
    /// Workers whose domain has no work for now, keeping their connection open for
    /// `connectionCacheTime` in case more comes (DeliveryConnectionCache.swift).
    /// By ticket; tickets rise, so the largest is the most recently parked.
    var parkedWorkers: [Int: ParkedWorker] = [:]
    var nextParkingTicket = 0
    private var domainsWaitingForSlot = Deque<String>()
    var stopping = false
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []
    /// Beats on every tick of `run`; the daemon's `/healthz` reads it.
    public nonisolated let heartbeat = DeliveryHeartbeat()
    private var lastOccupancyUpdate = Date.distantPast

    public init(configuration: DeliveryConfiguration, queue: Queue, badmail: Badmail, resolver: MXResolver,
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                threadPool: NIOThreadPool = .singleton, logger: Logger) {
        let planner = RoutePlanner(resolver: resolver, hostname: configuration.hostname)
        let signing = DKIMSigning(configuration.dkimSigners)
        self.init(configuration: configuration, queue: queue, badmail: badmail,
                  remoteCourier: SMTPCourier(configuration: configuration, planner: planner, resolver: resolver,
                                             eventLoopGroup: eventLoopGroup, signing: signing, logger: logger),
                  localCourier: DropCourier(directory: configuration.dropDirectory, threadPool: threadPool),
                  dkimSigning: signing, threadPool: threadPool, logger: logger)
    }

    /// With couriers of the caller's choosing (tests script them).
    public init(configuration: DeliveryConfiguration, queue: Queue, badmail: Badmail,
                remoteCourier: any Courier, localCourier: any Courier,
                threadPool: NIOThreadPool = .singleton, logger: Logger) {
        self.init(configuration: configuration, queue: queue, badmail: badmail, remoteCourier: remoteCourier,
                  localCourier: localCourier, dkimSigning: nil, threadPool: threadPool, logger: logger)
    }

    init(configuration: DeliveryConfiguration, queue: Queue, badmail: Badmail,
         remoteCourier: any Courier, localCourier: any Courier, dkimSigning: DKIMSigning?,
         threadPool: NIOThreadPool, logger: Logger) {
        self.configuration = configuration
        self.queue = queue
        self.logger = logger
        self.remoteCourier = remoteCourier
        self.localCourier = localCourier
        self.dkimSigning = dkimSigning
        self.outcomes = OutcomeRecorder(configuration: configuration, queue: queue, badmail: badmail,
                                        threadPool: threadPool, logger: logger)
    }

    /// Takes a message that was just queued (or recovered): due now unless it says otherwise.
    public func submit(_ entry: QueueEntry) {
        guard !entry.isHeld, let due = entry.nextAttempt else { return }
        if due <= Date() {
            dispatch(entry)
        } else {
            wait(entry.id, until: due)
        }
    }

    /// Makes every waiting message due now (the `flush` of the queue command).
    public func flush() {
        for (id, _) in dueTimes { wait(id, until: .distantPast) }
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            while !self.stopping, !Task.isCancelled {
                await self.dispatchDueEntries()
                self.closeExpiredConnections()
                await self.tickMetrics()
                try? await Task.sleep(for: .milliseconds(250))
            }
        } onGracefulShutdown: {
            Task { await self.beginShutdown() }
        }
        // Also when cancelled rather than shut down: parked connections must not hold the exit.
        beginShutdown()
        await waitForWorkers()
        // Delivery stops after pickup and the listener, so no message is finished or queued after
        // this: a stopped daemon leaves tmp/ empty.
        await queue.removeSpareFiles()
    }

    /// Queue gauges at most once a second: the pass over the queue's index is O(n) and the tick
    /// runs four times a second.
    private func tickMetrics() async {
        let now = Date()
        heartbeat.beat(at: now)
        guard now.timeIntervalSince(lastOccupancyUpdate) >= 1 else { return }
        lastOccupancyUpdate = now
        DeliveryMetrics.record(await queue.occupancy(), now: now)
    }

    private func beginShutdown() {
        stopping = true
        pendingWork.removeAll()
        domainsWaitingForSlot.removeAll()
        unparkAll()
    }

    /// Lets deliveries in progress finish for up to `shutdownGrace`; whatever is still running then
    /// stays queued (unrecorded) and is delivered again after the restart — at worst a duplicate.
    private func waitForWorkers() async {
        if activeWorkers == 0 { return }
        let grace = configuration.shutdownGrace
        Task {
            try? await Task.sleep(for: grace)
            self.releaseIdleWaiters()
        }
        await withCheckedContinuation { idleWaiters.append($0) }
    }

    private func releaseIdleWaiters() {
        for waiter in idleWaiters { waiter.resume() }
        idleWaiters = []
        releaseSettleWaiters()
    }

    func wait(_ id: QueueID, until due: Date) {
        dueTimes[id] = due
        dueHeap.insert(DueEntry(due: due, id: id))
    }

    private func dispatchDueEntries() async {
        let now = Date()
        var due: [QueueID] = []
        while let first = dueHeap.min, first.due <= now {
            dueHeap.removeMin()
            guard dueTimes[first.id] == first.due else { continue }
            dueTimes[first.id] = nil
            due.append(first.id)
        }
        for id in due {
            guard !stopping, outstanding[id] == nil, let entry = await queue.entry(id) else { continue }
            guard administered[id] == nil else {
                // A command is working on it; it decides what happens next (DeliveryAdministration).
                continue
            }
            dispatch(entry)
        }
    }

    func dispatch(_ entry: QueueEntry) {
        guard !stopping, !entry.isHeld, outstanding[entry.id] == nil, administered[entry.id] == nil else { return }
        var byDomain: [String: [Int]] = [:]
        for (index, status) in entry.recipients.enumerated() where status.state == .pending {
            byDomain[status.recipient.address.domain.lowercased(), default: []].append(index)
        }
        guard !byDomain.isEmpty else { return }
        dueTimes[entry.id] = nil
        outstanding[entry.id] = byDomain.count
        for (domain, indices) in byDomain.sorted(by: { $0.key < $1.key }) {
            pendingWork[domain, default: []].append(DeliveryWork(entry: entry, domain: domain, recipientIndices: indices))
            startWorkersIfPossible(for: domain)
        }
    }

    func startWorkersIfPossible(for domain: String) {
        handPendingWorkToParkedWorkers(of: domain)
        let waiting = pendingWork[domain]?.count ?? 0
        let running = workersPerDomain[domain] ?? 0
        guard waiting > 0, running < configuration.maxConnectionsPerDomain else { return }
        // One more worker only while items outnumber the workers already draining this domain.
        guard running == 0 || waiting > running else { return }
        guard activeWorkers < configuration.maxConnections else {
            if !domainsWaitingForSlot.contains(domain) { domainsWaitingForSlot.append(domain) }
            // An idle cached connection gives its slot up to a domain with work.
            closeOldestParkedConnection()
            return
        }
        activeWorkers += 1
        DeliveryMetrics.activeConnections.record(activeWorkers)
        workersPerDomain[domain] = running + 1
        let courier = configuration.localDomains.contains(domain) ? localCourier : remoteCourier
        Task { await self.runWorker(domain: domain, courier: courier) }
    }

    private nonisolated func runWorker(domain: String, courier: any Courier) async {
        let session = courier.makeSession(domain: domain)
        while let work = await nextWork(for: domain) {
            let report = await session.deliver(work)
            let applied = await currentOutcomes().apply(report, to: work)
            await finished(work, applied)
        }
        await session.close()
        await workerEnded(domain: domain)
    }

    private func nextWork(for domain: String) async -> DeliveryWork? {
        guard !stopping else { return nil }
        if let work = pendingWork[domain]?.popFirst() { return work }
        // A domain waiting for a slot gets this one now: parked, it would be held for the whole
        // cache time, since only a domain that asks later closes a parked connection.
        guard keepsConnectionsOpen(to: domain), domainsWaitingForSlot.isEmpty else { return nil }
        return await park(domain: domain)
    }

    private func finished(_ work: DeliveryWork, _ applied: OutcomeRecorder.Applied) {
        let id = work.entry.id
        if !applied.failures.isEmpty { permanentFailures[id, default: []] += applied.failures }
        let left = (outstanding[id] ?? 1) - 1
        if left > 0 {
            outstanding[id] = left
            return
        }
        if let failures = permanentFailures.removeValue(forKey: id) {
            // Every domain has answered: one report for all its failures. The message stays
            // outstanding meanwhile, so nothing dispatches it while the report is queued.
            outstanding[id] = 1
            Task { await self.returnToSender(id, failures) }
            return
        }
        outstanding[id] = nil
        if let nextAttempt = applied.nextAttempt { wait(id, until: nextAttempt) }
        settled(id)
    }

    private func returnToSender(_ id: QueueID, _ failures: [OutcomeRecorder.PermanentFailure]) async {
        let result = await currentOutcomes().returnToSender(failures, of: id)
        for bounce in result.bounces { submit(bounce) }
        outstanding[id] = nil
        if let nextAttempt = result.nextAttempt { wait(id, until: nextAttempt) }
        settled(id)
    }

    private func workerEnded(domain: String) {
        activeWorkers -= 1
        DeliveryMetrics.activeConnections.record(activeWorkers)
        let remaining = (workersPerDomain[domain] ?? 1) - 1
        workersPerDomain[domain] = remaining == 0 ? nil : remaining
        if pendingWork[domain]?.isEmpty == true { pendingWork[domain] = nil }
        if let more = pendingWork[domain], !more.isEmpty { startWorkersIfPossible(for: domain) }
        while activeWorkers < configuration.maxConnections, let next = domainsWaitingForSlot.popFirst() {
            startWorkersIfPossible(for: next)
        }
        if activeWorkers == 0 { releaseIdleWaiters() }
    }
}

private struct DueEntry: Comparable {
    var due: Date
    var id: QueueID
    static func < (lhs: DueEntry, rhs: DueEntry) -> Bool { (lhs.due, lhs.id) < (rhs.due, rhs.id) }
}
