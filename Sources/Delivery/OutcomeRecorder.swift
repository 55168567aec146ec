// SPDX-License-Identifier: Apache-2.0
import Bounce
import Foundation
import Logging
import MailMessage
import MailQueue
import NIOPosix
import SafeIO

/// Applies a courier's report: decides each recipient's fate (FailurePolicy), records the
/// deliveries and deferrals in the queue and writes the log lines. Permanent failures are handed
/// back, not recorded: the scheduler collects them over every domain of the message and then
/// calls `returnToSender` once, so the sender gets one report per message (RFC 3464 §2 allows
/// several, but one is what people expect), queued before the failures are recorded.
struct OutcomeRecorder: Sendable {
    let configuration: DeliveryConfiguration
    let queue: Queue
    let badmail: Badmail
    let threadPool: NIOThreadPool
    let logger: Logger

    struct Applied: Sendable {
        /// When the message is due again; nil when it has no pending recipient left.
        var nextAttempt: Date?
        /// Recipients that failed permanently, still pending in the queue until `returnToSender`.
        var failures: [PermanentFailure]
    }

    /// One recipient refused for good, and what its report will say.
    struct PermanentFailure: Sendable {
        var index: Int
        var reply: String
        var recipient: FailedRecipient
        var reason: String
    }

    func apply(_ report: CourierReport, to work: DeliveryWork) async -> Applied {
        let entry = work.entry
        let now = Date()
        var recordOutcomes: [RecipientOutcome] = []
        var failures: [PermanentFailure] = []
        for index in work.recipientIndices {
            let status = entry.recipients[index]
            let result = report.results[index]
                ?? .transient(status: .badConnection, reply: "internal: courier gave no result for this recipient")
            let decision = FailurePolicy.decide(result, status: status, arrival: entry.arrival, now: now, configuration: configuration)
            let address = status.recipient.address
            let delay = String(format: "%.2f", now.timeIntervalSince(entry.arrival))
            switch decision {
            case .delivered(let reply):
                recordOutcomes.append(.delivered(index: index, reply: reply))
                DeliveryMetrics.delivered.increment()
                if !configuration.localDomains.contains(work.domain) {
                    DeliveryMetrics.latency.recordSeconds(max(0, now.timeIntervalSince(entry.arrival)))
                }
                logger.info("\(entry.id): to=<\(address)>, relay=\(report.relay), delay=\(delay), dsn=\(Self.dsn(reply) ?? "2.0.0"), status=sent (\(reply))")
            case .deferred(let until, let code, let reply):
                recordOutcomes.append(.deferred(index: index, reply: reply, nextAttempt: until))
                DeliveryMetrics.deferred(code)
                logger.info("\(entry.id): to=<\(address)>, relay=\(report.relay), delay=\(delay), dsn=\(code), status=deferred (\(reply))")
            case .bounced(let code, let reply):
                DeliveryMetrics.bounced(code)
                let failed = FailedRecipient(recipient: status.recipient, status: code, diagnostic: Self.diagnostic(reply),
                                             remoteMTA: report.relay == "none" || report.relay == "local" ? nil : "dns; \(Self.hostName(report.relay))",
                                             lastAttempt: now)
                failures.append(PermanentFailure(index: index, reply: reply, recipient: failed, reason: "\(code) \(reply)"))
                logger.info("\(entry.id): to=<\(address)>, relay=\(report.relay), delay=\(delay), dsn=\(code), status=bounced (\(reply))")
            }
        }
        do {
            let updated = try await queue.record(entry.id, recordOutcomes)
            return Applied(nextAttempt: updated?.nextAttempt, failures: failures)
        } catch {
            logger.error("\(entry.id): cannot record delivery results: \(error); the message will be tried again")
            return Applied(nextAttempt: now.addingTimeInterval(60), failures: failures)
        }
    }

    /// Queues one report for every failure of message `id`, then records those recipients as
    /// failed. If the report cannot be queued the failures are recorded as deferred instead: they
    /// are tried (and fail) again later and the report is attempted again then — never a silent
    /// drop. Returns when the message is due again (nil: finished or gone) and the report queued.
    func returnToSender(_ failures: [PermanentFailure], of id: QueueID) async -> (nextAttempt: Date?, bounces: [QueueEntry]) {
        guard !failures.isEmpty, let entry = await queue.entry(id) else { return (await queue.entry(id)?.nextAttempt, []) }
        let now = Date()
        var outcomes = failures.map { RecipientOutcome.failed(index: $0.index, reply: $0.reply) }
        var bounces: [QueueEntry] = []
        do {
            if let bounce = try await notifySender(of: failures.map(\.recipient), reasons: failures.map(\.reason), entry: entry, now: now) {
                bounces.append(bounce)
            }
        } catch {
            logger.error("\(id): cannot queue the bounce: \(error); the failed recipients stay queued")
            let retry = now.addingTimeInterval(configuration.retryDelay(afterAttempt: 1).timeInterval)
            outcomes = failures.map { .deferred(index: $0.index, reply: "bounce not queued yet: \($0.reply)", nextAttempt: retry) }
        }
        do {
            let updated = try await queue.record(id, outcomes)
            return (updated?.nextAttempt, bounces)
        } catch {
            logger.error("\(id): cannot record delivery results: \(error); the message will be tried again")
            return (now.addingTimeInterval(60), bounces)
        }
    }

    /// Queues an RFC 3464 report to the sender; a message whose sender is null goes to badmail instead
    /// (a bounce is never bounced, RFC 5321 §4.5.5).
    private func notifySender(of failed: [FailedRecipient], reasons: [String], entry: QueueEntry, now: Date) async throws -> QueueEntry? {
        let headers = try await threadPool.runIfActive { try Self.headerSection(of: entry.message) }
        let bounceID = QueueID.generate()
        let report = BounceReport(reportingMTA: configuration.hostname, originalEnvelope: entry.envelope,
                                  originalQueueID: entry.id, arrivalDate: entry.arrival, failed: failed,
                                  originalHeaders: headers, now: now, bounceQueueID: bounceID)
        guard let envelope = report.envelope() else {
            let reason = "undeliverable message with a null sender: " + reasons.joined(separator: "; ")
            let name = try await threadPool.runIfActive { [badmail] in
                try badmail.write(message: entry.message, originalName: "queue \(entry.id)", reason: reason,
                                  status: failed[0].status)
            }
            DeliveryMetrics.badmailed(failed[0].status)
            logger.warning("\(entry.id): null sender, not bounced; copied to badmail/\(name)")
            return nil
        }
        let content = report.message()
        let bounce = try await queue.enqueue(NewMessage(id: bounceID, envelope: envelope, content: content,
                                                        hasEightBitContent: content.contains { $0 >= 0x80 },
                                                        needsSMTPUTF8: envelope.recipients.contains { $0.address.needsSMTPUTF8 },
                                                        arrival: now, source: "bounce for \(entry.id)"))
        logger.info("\(entry.id): sender non-delivery notification: \(bounceID)")
        return bounce
    }

    /// The original header section, for the text/rfc822-headers part (RFC 6522).
    static func headerSection(of message: StoredMessage) throws -> [UInt8] {
        let file = try openRegularFileNoFollow(message.path)
        defer { close(file.fd) }
        let bytes = try readAt(fd: file.fd, offset: message.offset, count: Int(min(message.length, 256 * 1024)), path: message.path)
        let separator: [UInt8] = [13, 10, 13, 10]
        if bytes.count >= 4 {
            for start in 0...(bytes.count - 4) where bytes[start] == 13 && Array(bytes[start..<start + 4]) == separator {
                return Array(bytes[..<(start + 2)])
            }
        }
        return bytes
    }

    static func dsn(_ reply: String) -> String? {
        reply.split(separator: " ").dropFirst().first.flatMap { EnhancedStatusCode($0)?.description }
    }

    /// RFC 3464 Diagnostic-Code: `smtp; 550 5.1.1 ...` when it was an SMTP reply, `X-mailroot; ...` otherwise.
    static func diagnostic(_ reply: String) -> String {
        if let code = Int(reply.prefix(3)), (200..<600).contains(code) { return "smtp; \(reply)" }
        return "X-mailroot; \(reply)"
    }

    static func hostName(_ relay: String) -> String {
        String(relay.prefix { $0 != "[" })
    }
}
