// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailMessage
import MailQueue
import SMTPClient
import SMTPProtocol

/// The one place that decides what a failure means (as Postfix's smtp_trouble.c): couriers
/// report replies and errors, this file turns them into "sent", "retry at T" or "bounce".
enum FailurePolicy {
    /// A recipient's fate after one attempt, given its history.
    enum Decision: Sendable, Equatable {
        case delivered(reply: String)
        case deferred(until: Date, status: EnhancedStatusCode, reply: String)
        case bounced(status: EnhancedStatusCode, reply: String)
    }

    /// The reply for one recipient of a transaction: its RCPT reply if that refused it, else the
    /// reply to the end of data (RFC 5321 §4.2.5: the final reply covers every accepted recipient).
    static func result(for reply: SMTPReply) -> RecipientResult {
        let text = "\(reply.code) \(reply.enhancedStatus.map { "\($0) " } ?? "")\(reply.text)"
        if reply.code / 100 == 2 { return .delivered(reply: text) }
        let fallbackClass: EnhancedStatusCode.StatusClass = reply.code / 100 == 5 ? .permanentFailure : .persistentTransientFailure
        // A reply whose enhanced code disagrees with the basic code: the basic code wins (RFC 3463 §2).
        var status = reply.enhancedStatus ?? EnhancedStatusCode(fallbackClass, 0, 0)
        if status.statusClass != fallbackClass { status = EnhancedStatusCode(fallbackClass, status.subject, status.detail) }
        if reply.code / 100 == 5 { return .permanent(status: status, reply: text) }
        return .transient(status: status, reply: text)
    }

    /// A greeting other than 220 counts like any reply (RFC 5321 §3.1: 554 means "no service here").
    /// The courier still tries the other exchangers, and defers if any of them failed only for now.
    static func result(forGreeting reply: SMTPReply, host: String) -> RecipientResult {
        result(for: reply).prefixed("host \(host) refused to talk to me")
    }

    /// A connection-level failure never bounces by itself: the host may come back.
    static func result(for error: SMTPClientError, host: String) -> RecipientResult {
        .transient(status: .noAnswerFromHost, reply: "connect to \(host): \(error)")
    }

    static func decide(_ result: RecipientResult, status recipient: RecipientStatus, arrival: Date, now: Date,
                       configuration: DeliveryConfiguration) -> Decision {
        switch result {
        case .delivered(let reply):
            return .delivered(reply: reply)
        case .permanent(let status, let reply):
            return .bounced(status: status, reply: reply)
        case .transient(let status, let reply):
            let attempts = recipient.attempts + 1
            let next = now.addingTimeInterval(configuration.retryDelay(afterAttempt: attempts).timeInterval)
            let deadline = arrival.addingTimeInterval(configuration.expire.timeInterval)
            if now >= deadline {
                return .bounced(status: .deliveryTimeExpired,
                                reply: "delivery time expired after \(Int(now.timeIntervalSince(arrival)))s; last error: \(reply)")
            }
            // The last retry happens at the deadline, so the sender learns in time, not hours later.
            return .deferred(until: min(next, deadline), status: status, reply: reply)
        }
    }
}

extension Duration {
    var timeInterval: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
