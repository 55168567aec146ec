// SPDX-License-Identifier: Apache-2.0
//
// SUMMARY
//   The daemon's metrics: one Prometheus registry behind swift-metrics, bootstrapped once per
//   process, and the counter the daemon itself records (messages received over SMTP).
//
// DESCRIPTION
//   Pickup and Delivery record through swift-metrics only (PickupMetrics.swift,
//   DeliveryMetrics.swift); they never see Prometheus. `DaemonMetrics.registry` installs the
//   Prometheus factory on first use, which `buildDaemon` triggers only when `metrics_listen` is
//   set; without it every metric goes to swift-metrics' no-op backend. MetricsHTTPServer.swift
//   serves the registry as Prometheus text at `/metrics`; HealthCheck.swift answers `/healthz`.
//
// SAFETY
//   `MetricsSystem.bootstrap` traps when called twice; a `static let` runs its initialiser exactly
//   once per process (Swift guarantees it is thread-safe), so building the daemon twice in one
//   process (tests) cannot crash it. Labels are bounded sets (class.subject of a status code),
//   never text from a message or a client, so no sender can grow the series without bound.
//
// SEE ALSO
//   docs/operations.md "Metrics", Sources/Pickup/PickupMetrics.swift,
//   Sources/Delivery/DeliveryMetrics.swift, https://prometheus.io/docs/instrumenting/exposition_formats/
import Delivery
import DNSResolver
import Metrics
import Pickup
import Prometheus
import SMTPServer

enum DaemonMetrics {
    /// mailroot_smtp_received_total: messages the SMTP listener accepted, counted after the queue's
    /// fsync (the client's 250 follows), so it matches messages really taken responsibility for.
    static let smtpReceived = Counter(label: "mailroot_smtp_received_total")

    /// The registry `/metrics` renders; the first read bootstraps swift-metrics with it.
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // The default buckets stop at 10 s; a relay's arrival → 250 spans seconds to the days of
        // the retry schedule, so the buckets reach from 100 ms to a day.
        factory.durationHistogramBuckets["mailroot_delivery_latency_seconds"] = [
            .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(30), .seconds(60),
            .seconds(300), .seconds(900), .seconds(3600), .seconds(4 * 3600), .seconds(24 * 3600),
        ]
        MetricsSystem.bootstrap(factory)
        PickupMetrics.declare()
        DeliveryMetrics.declare()
        SMTPServerMetrics.declare()
        DNSMetrics.declare()
        _ = smtpReceived
        return registry
    }()
}
