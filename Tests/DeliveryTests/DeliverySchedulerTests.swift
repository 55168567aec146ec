// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging
import MailMessage
import MailQueue
import SMTPClient
import Testing
@testable import Delivery

/// A courier whose answers the test scripts; it records every work item and how many deliveries
/// ran at once, so scheduling can be tested without a network.
final class ScriptedCourier: Courier, @unchecked Sendable {
    private let lock = NSLock()
    private let script: @Sendable (DeliveryWork, Int) -> RecipientResult
    private(set) var works: [DeliveryWork] = []
    /// Each message's stored bytes as the courier saw them (the queue removes the file once delivered).
    private var contents: [QueueID: String] = [:]
    private var running: [String: Int] = [:]
    private var runningTotal = 0
    private(set) var maxRunningPerDomain: [String: Int] = [:]
    private(set) var maxRunningTotal = 0
    let deliveryTime: Duration

    /// `script(work, attempt)` gives every recipient's result; `attempt` counts this message's work items at that domain.
    init(deliveryTime: Duration = .zero, script: @escaping @Sendable (DeliveryWork, Int) -> RecipientResult) {
        self.script = script
        self.deliveryTime = deliveryTime
    }

    func makeSession(domain: String) -> any CourierSession {
        lock.withLock { sessionsOpened[domain, default: 0] += 1 }
        return ScriptedSession(courier: self, domain: domain)
    }

    /// Sessions (connections, for the SMTP courier) opened and closed per domain.
    private var sessionsOpened: [String: Int] = [:]
    private var sessionsClosed: [String: Int] = [:]
    func opened(_ domain: String) -> Int { lock.withLock { sessionsOpened[domain] ?? 0 } }
    func closed(_ domain: String) -> Int { lock.withLock { sessionsClosed[domain] ?? 0 } }
    /// One element per session closed, for `waitForClosedSessions`.
    private let closings = AsyncStream.makeStream(of: Void.self)
    fileprivate func sessionClosed(_ domain: String) {
        lock.withLock { sessionsClosed[domain, default: 0] += 1 }
        closings.continuation.yield()
    }

    /// True once `count` sessions to `domain` have closed; false after `timeout`.
    func waitForClosedSessions(_ domain: String, count: Int, timeout: Duration = .seconds(5)) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { [self, closings] in
                if closed(domain) >= count { return true }
                for await _ in closings.stream where closed(domain) >= count { return true }
                return false
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    var recordedWorks: [DeliveryWork] { lock.withLock { works } }
    func content(of id: QueueID) -> String? { lock.withLock { contents[id] } }
    var peakPerDomain: [String: Int] { lock.withLock { maxRunningPerDomain } }
    var peakTotal: Int { lock.withLock { maxRunningTotal } }

    fileprivate func deliver(_ work: DeliveryWork) async -> CourierReport {
        let text = try? String(contentsOfFile: work.entry.message.path, encoding: .utf8)
        let attempt = lock.withLock { () -> Int in
            contents[work.entry.id] = text
            works.append(work)
            running[work.domain, default: 0] += 1
            runningTotal += 1
            maxRunningPerDomain[work.domain] = max(maxRunningPerDomain[work.domain] ?? 0, running[work.domain]!)
            maxRunningTotal = max(maxRunningTotal, runningTotal)
            return works.filter { $0.entry.id == work.entry.id && $0.domain == work.domain }.count
        }
        if deliveryTime > .zero { try? await Task.sleep(for: deliveryTime) }
        lock.withLock {
            running[work.domain]! -= 1
            runningTotal -= 1
        }
        return .all(work, script(work, attempt), relay: "scripted")
    }
}

private final class ScriptedSession: CourierSession {
    let courier: ScriptedCourier
    let domain: String
    init(courier: ScriptedCourier, domain: String) {
        self.courier = courier
        self.domain = domain
    }
    func deliver(_ work: DeliveryWork) async -> CourierReport { await courier.deliver(work) }
    func close() async { courier.sessionClosed(domain) }
}

/// A scheduler over a real queue in a temporary directory, running until the test ends.
final class SchedulerHarness: Sendable {
    let root: String
    let queue: Queue
    let scheduler: DeliveryScheduler
    private let task: Task<Void, any Error>

    init(courier: ScriptedCourier, adjust: (inout DeliveryConfiguration) -> Void = { _ in }) async throws {
        root = NSTemporaryDirectory() + "mailroot-delivery-\(UUID().uuidString)"
        queue = Queue(configuration: QueueConfiguration(directory: "\(root)/queue"), logger: Logger(label: "test"))
        _ = try await queue.recover()
        var configuration = DeliveryConfiguration(hostname: "relay.test", localDomains: [], dropDirectory: "\(root)/drop",
                                                  smtp: SMTPClientConfiguration(heloName: "relay.test"))
        configuration.retrySchedule = [.milliseconds(100)]
        adjust(&configuration)
        scheduler = DeliveryScheduler(configuration: configuration, queue: queue, badmail: Badmail(directory: "\(root)/badmail"),
                                      remoteCourier: courier, localCourier: courier, logger: Logger(label: "test"))
        task = Task { [scheduler] in try await scheduler.run() }
    }

    deinit {
        task.cancel()
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Cancels the scheduler's run and waits for it to return.
    func stop() async {
        task.cancel()
        _ = try? await task.value
    }

    @discardableResult
    func enqueue(from sender: String?, to recipients: [String], subject: String = "test") async throws -> QueueEntry {
        let envelope = Envelope(sender: sender.flatMap { MailAddress($0) },
                                recipients: recipients.map { EnvelopeRecipient(MailAddress($0)!) })
        let content = Array("From: \(sender ?? "MAILER-DAEMON@relay.test")\r\nTo: \(recipients.joined(separator: ", "))\r\nSubject: \(subject)\r\n\r\nbody\r\n".utf8)
        let entry = try await queue.enqueue(NewMessage(envelope: envelope, content: content, source: "test"))
        await scheduler.submit(entry)
        return entry
    }

    /// Polls the queue until it is empty: the scheduler offers no completion event to await.
    func waitUntilQueueEmpty(timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while await queue.count > 0 {
            guard ContinuousClock.now < deadline else {
                Issue.record("queue still holds \(await queue.count) message(s)")
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

@Suite("Delivery scheduler")
struct DeliverySchedulerTests {
    @Test func recipientsAreGroupedIntoOneWorkItemPerDomain() async throws {
        let courier = ScriptedCourier { _, _ in .delivered(reply: "250 2.0.0 ok") }
        let harness = try await SchedulerHarness(courier: courier)
        try await harness.enqueue(from: "s@sender.test", to: ["a@one.test", "b@one.test", "c@two.test"])
        try await harness.waitUntilQueueEmpty()
        let works = courier.recordedWorks.sorted { $0.domain < $1.domain }
        #expect(works.map(\.domain) == ["one.test", "two.test"])
        #expect(works.map(\.recipientIndices) == [[0, 1], [2]])
    }

    @Test func transientFailureIsRetriedUntilDelivered() async throws {
        let courier = ScriptedCourier { _, attempt in
            attempt < 3 ? .transient(status: .noAnswerFromHost, reply: "451 try later") : .delivered(reply: "250 ok")
        }
        let harness = try await SchedulerHarness(courier: courier)
        try await harness.enqueue(from: "s@sender.test", to: ["a@one.test"])
        try await harness.waitUntilQueueEmpty()
        #expect(courier.recordedWorks.count == 3)
    }

    @Test func permanentFailureQueuesAnRFC3464BounceFromTheNullSenderToTheSender() async throws {
        let courier = ScriptedCourier { work, _ in
            work.domain == "one.test" ? .permanent(status: .badMailbox, reply: "550 5.1.1 no such user") : .delivered(reply: "250 ok")
        }
        let harness = try await SchedulerHarness(courier: courier)
        try await harness.enqueue(from: "s@sender.test", to: ["a@one.test"])
        try await harness.waitUntilQueueEmpty()
        let bounce = try #require(courier.recordedWorks.first { $0.domain == "sender.test" })
        #expect(bounce.entry.envelope.sender == nil)
        #expect(bounce.entry.envelope.recipients.map(\.address.description) == ["s@sender.test"])
        let text = try #require(courier.content(of: bounce.entry.id))
        #expect(text.contains("report-type=delivery-status"))
        #expect(text.contains("Status: 5.1.1"))
        #expect(text.contains("Final-Recipient: rfc822; a@one.test"))
    }

    @Test func failedMessageWithANullSenderGoesToBadmailInsteadOfBouncing() async throws {
        let courier = ScriptedCourier { _, _ in .permanent(status: .badMailbox, reply: "550 5.1.1 no such user") }
        let harness = try await SchedulerHarness(courier: courier)
        try await harness.enqueue(from: nil, to: ["a@one.test"])
        try await harness.waitUntilQueueEmpty()
        #expect(courier.recordedWorks.count == 1, "no bounce may be sent for a bounce")
        let badmail = try FileManager.default.contentsOfDirectory(atPath: "\(harness.root)/badmail")
        let reasonFile = try #require(badmail.first { $0.hasSuffix(".bdr") })
        #expect(try String(contentsOfFile: "\(harness.root)/badmail/\(reasonFile)", encoding: .utf8).contains("5.1.1"))
        #expect(badmail.contains { $0.hasSuffix(".bad") })
    }

    @Test func deliveriesPerDomainAndInTotalStayWithinTheirLimits() async throws {
        let courier = ScriptedCourier(deliveryTime: .milliseconds(30)) { _, _ in .delivered(reply: "250 ok") }
        let harness = try await SchedulerHarness(courier: courier) { configuration in
            configuration.maxConnectionsPerDomain = 2
            configuration.maxConnections = 3
        }
        for index in 0..<12 {
            try await harness.enqueue(from: "s@sender.test", to: ["a@busy.test"], subject: "busy \(index)")
            try await harness.enqueue(from: "s@sender.test", to: ["a@d\(index).test"], subject: "spread \(index)")
        }
        try await harness.waitUntilQueueEmpty()
        #expect(courier.recordedWorks.count == 24)
        #expect((courier.peakPerDomain["busy.test"] ?? 0) <= 2)
        #expect(courier.peakTotal <= 3)
        #expect(courier.peakTotal >= 2, "deliveries should run in parallel")
    }
}
