// SPDX-License-Identifier: Apache-2.0
import Metrics

/// The listener's metrics, through swift-metrics (the daemon bootstraps the backend).
public enum SMTPServerMetrics {
    /// mailroot_smtp_connections_active: inbound SMTP sessions open now (all ports).
    static let active = Gauge(label: "mailroot_smtp_connections_active")
    /// mailroot_smtp_connections_total: inbound connections admitted since start.
    static let accepted = Counter(label: "mailroot_smtp_connections_total")
    /// mailroot_smtp_connections_refused_total: connections refused with 421 at the greeting
    /// because max_connections or max_connections_per_ip was reached.
    static let refused = Counter(label: "mailroot_smtp_connections_refused_total")

    /// Creates every series after the backend is bootstrapped, so a scrape shows 0, not nothing.
    public static func declare() {
        _ = (active, accepted, refused)
    }
}
