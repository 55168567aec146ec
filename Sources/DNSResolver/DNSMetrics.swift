// SPDX-License-Identifier: Apache-2.0
import Metrics

/// The resolver's metrics, through swift-metrics (the daemon bootstraps the backend).
public enum DNSMetrics {
    static let label = "mailroot_dns_lookup_seconds"
    /// The record types mailroot asks for; anything else is counted as "other", so the series stay few.
    static let types: [DNSRecordType] = [.mx, .a, .aaaa, .ptr]

    /// mailroot_dns_lookup_seconds{type}: one question that went to the DNS servers (cache hits
    /// are not observed), from the first packet to the answer or the last timeout, failover
    /// included. Slow or failing resolvers show here before they show as deferred mail.
    static func lookupFinished(_ type: DNSRecordType, after duration: Duration) {
        let (seconds, attoseconds) = duration.components
        (timers[type.description] ?? timers["other"]!).recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// One timer per type, made at first use (after the daemon has bootstrapped the backend),
    /// not one factory lookup per DNS question.
    private static let timers: [String: Timer] = Dictionary(uniqueKeysWithValues: (types.map(\.description) + ["other"]).map { name in
        (name, Timer(label: label, dimensions: [("type", name)], preferredDisplayUnit: .seconds))
    })

    /// Creates the series for every type after the backend is bootstrapped.
    public static func declare() {
        _ = timers
    }
}
