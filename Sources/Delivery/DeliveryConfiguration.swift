// SPDX-License-Identifier: Apache-2.0
import DKIM
import NIOCore
import SMTPClient

/// Everything the delivery side needs, filled in by the daemon from the config file.
public struct DeliveryConfiguration: Sendable {
    /// Our own name: EHLO, Reporting-MTA, and the name that makes an MX "this host" (mail loop).
    public var hostname: String
    /// Mail for these domains is written into `dropDirectory` instead of being relayed.
    public var localDomains: Set<String>
    public var dropDirectory: String
    /// The port used on every MX host (25 in production; tests use others).
    public var port: Int = 25
    /// Wait before each retry; the last one repeats (IIS: 15m, 30m, 1h, then every 4h).
    public var retrySchedule: [Duration] = [.seconds(15 * 60), .seconds(30 * 60), .seconds(3600), .seconds(4 * 3600)]
    /// After this long in the queue a still-deferred recipient is bounced (4.4.7).
    public var expire: Duration = .seconds(2 * 86400)
    public var maxConnections: Int = 100
    public var maxConnectionsPerDomain: Int = 10
    /// How long an idle outbound connection waits for more mail to its domain (zero: hang up at once).
    public var connectionCacheTime: Duration = .seconds(2)
    /// RFC 5321 §4.5.3.1.8 requires servers to take at least 100; more go in a further transaction.
    public var maxRecipientsPerTransaction: Int = 100
    /// Addresses (with port) our own listeners use: an MX resolving to one of them is a mail loop.
    /// Other loopback addresses are not "self", which the tests rely on.
    public var selfAddresses: Set<SocketAddress> = []
    public var smtp: SMTPClientConfiguration
    /// On SIGTERM, how long deliveries in progress may take to finish before the daemon exits anyway.
    public var shutdownGrace: Duration = .seconds(10)
    /// Mail whose author (`From:`) is in one of these domains is DKIM-signed when it leaves over SMTP.
    public var dkimSigners: [DKIMSigner] = []

    public init(hostname: String, localDomains: Set<String>, dropDirectory: String, smtp: SMTPClientConfiguration) {
        self.hostname = hostname.lowercased()
        self.localDomains = Set(localDomains.map { $0.lowercased() })
        self.dropDirectory = dropDirectory
        self.smtp = smtp
    }

    /// The wait before retry number `attempt` (1-based: after the first failed attempt).
    func retryDelay(afterAttempt attempt: Int) -> Duration {
        guard !retrySchedule.isEmpty else { return .seconds(900) }
        return retrySchedule[min(max(attempt - 1, 0), retrySchedule.count - 1)]
    }
}
