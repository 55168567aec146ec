// SPDX-License-Identifier: Apache-2.0
import MailMessage
import MailQueue

/// One unit of delivery work: the pending recipients of one queued message at one domain.
public struct DeliveryWork: Sendable {
    public var entry: QueueEntry
    public var domain: String
    /// Indices into `entry.recipients`.
    public var recipientIndices: [Int]

    public init(entry: QueueEntry, domain: String, recipientIndices: [Int]) {
        self.entry = entry
        self.domain = domain
        self.recipientIndices = recipientIndices
    }
}

/// What happened to one recipient in one attempt. A courier reports; `FailurePolicy` decides.
public enum RecipientResult: Sendable, Equatable {
    case delivered(reply: String)
    /// Try again later (4xx, no answer, DNS SERVFAIL, …).
    case transient(status: EnhancedStatusCode, reply: String)
    /// Give up now and tell the sender (5xx, NXDOMAIN, null MX, mail loop, …).
    case permanent(status: EnhancedStatusCode, reply: String)
}

/// A courier's account of one `DeliveryWork`: a result for every recipient index, and the relay
/// used, in Postfix's `host[address]:port` shape (or `local`, or `none`).
public struct CourierReport: Sendable {
    public var results: [Int: RecipientResult]
    public var relay: String

    public init(results: [Int: RecipientResult], relay: String) {
        self.results = results
        self.relay = relay
    }

    /// The same result for every recipient of `work` (route failures, connection failures).
    public static func all(_ work: DeliveryWork, _ result: RecipientResult, relay: String = "none") -> CourierReport {
        CourierReport(results: Dictionary(uniqueKeysWithValues: work.recipientIndices.map { ($0, result) }), relay: relay)
    }
}

/// Reaches the outside world for one domain. The scheduler opens one session per worker and
/// hands it work items for that domain one after the other, so a session may keep a
/// connection open between messages (connection reuse).
public protocol CourierSession: AnyObject {
    func deliver(_ work: DeliveryWork) async -> CourierReport
    func close() async
}

/// Makes sessions. `SMTPCourier` and `DropCourier` are the real ones; tests script their own.
public protocol Courier: Sendable {
    func makeSession(domain: String) -> any CourierSession
}
