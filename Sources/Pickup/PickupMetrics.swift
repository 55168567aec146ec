// SPDX-License-Identifier: Apache-2.0
import Metrics
import MailMessage

/// The pickup's counters, recorded through swift-metrics (the daemon bootstraps the Prometheus
/// backend; without a bootstrap they go nowhere, so tests of this module need none).
public enum PickupMetrics {
    /// mailroot_pickup_messages_total: pickup files durably queued (counted after the fsync,
    /// so the number matches what delivery will see, never a file that later stayed behind).
    static let pickedUp = Counter(label: "mailroot_pickup_messages_total")

    /// mailroot_badmail_total{reason_class}: files moved to badmail/, labelled by the class and
    /// subject of their status ("5.6" media, "5.3" size, "5.4" loop). Only class.subject, never the
    /// detail or free text, so a hostile sender cannot grow the number of series without bound.
    static func badmailed(_ status: EnhancedStatusCode) {
        Counter(label: "mailroot_badmail_total", dimensions: [("reason_class", reasonClass(status))]).increment()
    }

    /// Creates the unlabelled series after the backend is bootstrapped, so a scrape shows 0
    /// rather than nothing before the first file (Prometheus' rate() needs the 0).
    public static func declare() { _ = pickedUp }

    static func reasonClass(_ status: EnhancedStatusCode) -> String {
        "\(status.statusClass.rawValue).\(status.subject)"
    }
}
