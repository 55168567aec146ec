// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailMessage
import MailQueue
import Metrics

/// Delivery's metrics, recorded through swift-metrics (the daemon bootstraps the Prometheus
/// backend). Counted per recipient, as Postfix's logs count "status=sent" lines, because one
/// message to three domains can end three ways.
public enum DeliveryMetrics {
    /// mailroot_delivered_total: recipients accepted by the next hop (remote 250 or drop/ file).
    static let delivered = Counter(label: "mailroot_delivered_total")
    /// mailroot_deferred_total{reason_class}: recipients whose attempt failed transiently and stay
    /// queued, by class.subject of the status ("4.4" network/routing, "4.2" mailbox, "4.7" policy…).
    static func deferred(_ status: EnhancedStatusCode) {
        Counter(label: "mailroot_deferred_total", dimensions: [("reason_class", reasonClass(status))]).increment()
    }
    /// mailroot_bounced_total{reason_class}: recipients failed permanently (a bounce is queued to
    /// the sender), by class.subject of the status ("5.1" address, "5.7" policy…).
    static func bounced(_ status: EnhancedStatusCode) {
        Counter(label: "mailroot_bounced_total", dimensions: [("reason_class", reasonClass(status))]).increment()
    }
    /// "4.4": the status's class and subject, a bounded label (RFC 3463 defines eight subjects).
    static func reasonClass(_ status: EnhancedStatusCode) -> String {
        "\(status.statusClass.rawValue).\(status.subject)"
    }
    /// mailroot_queue_messages: messages in the queue, updated from the scheduler's tick.
    static let queueMessages = Gauge(label: "mailroot_queue_messages")
    /// mailroot_queue_oldest_seconds: age of the oldest queued message (0 when empty); a number
    /// that only grows means something is stuck.
    static let queueOldestSeconds = Gauge(label: "mailroot_queue_oldest_seconds")
    /// mailroot_delivery_active_connections: delivery workers running now; each holds at most
    /// one outbound SMTP connection (local drop/ workers included, they hold none).
    static let activeConnections = Gauge(label: "mailroot_delivery_active_connections")
    /// mailroot_delivery_latency_seconds: histogram of arrival in the queue → the remote server's
    /// 250 after DATA, per recipient (local drop/ deliveries are not remote and not observed).
    static let latency = Timer(label: "mailroot_delivery_latency_seconds", preferredDisplayUnit: .seconds)
    /// mailroot_badmail_total{reason_class}: a failed message with a null sender copied to badmail/
    /// (RFC 5321 §4.5.5: never bounced), labelled by class.subject of its failure ("5.1").
    static func badmailed(_ status: EnhancedStatusCode) {
        Counter(label: "mailroot_badmail_total",
                dimensions: [("reason_class", reasonClass(status))]).increment()
    }

    /// Creates every unlabelled series after the backend is bootstrapped, so a scrape shows 0
    /// rather than nothing before the first delivery (Prometheus' rate() needs the 0).
    public static func declare() {
        _ = (delivered, queueMessages, queueOldestSeconds, activeConnections, latency)
    }

    static func record(_ occupancy: QueueOccupancy, now: Date = Date()) {
        queueMessages.record(occupancy.count)
        queueOldestSeconds.record(occupancy.oldestArrival.map { max(0, now.timeIntervalSince($0)) } ?? 0)
    }
}
