// SPDX-License-Identifier: Apache-2.0

/// Which keys differ between two configurations, split into those a running daemon takes on at
/// SIGHUP and those that need a restart (sockets already bound, privileges already dropped, the
/// folders and the resolver already in use, the SMTP client's sessions already built).
struct ConfigurationChanges: Equatable {
    var applied: [String] = []
    var needRestart: [String] = []

    typealias Comparison = (name: String, same: @Sendable (MailrootConfiguration, MailrootConfiguration) -> Bool)

    /// Applied at SIGHUP: the listener's settings for new sessions, delivery's limits and schedule.
    static let reloadable: [Comparison] = [
        ("local_domains", { $0.localDomains == $1.localDomains }),
        ("max_message_size", { $0.maxMessageSize == $1.maxMessageSize }),
        ("max_received_headers", { $0.maxReceivedHeaders == $1.maxReceivedHeaders }),
        ("shutdown_grace", { $0.shutdownGrace == $1.shutdownGrace }),
        ("smtp.relay_networks", { $0.smtp.relayNetworks == $1.smtp.relayNetworks }),
        ("smtp.tls_certificate", { $0.smtp.tlsCertificate == $1.smtp.tlsCertificate }),
        ("smtp.tls_key", { $0.smtp.tlsKey == $1.smtp.tlsKey }),
        ("smtp.users", { $0.smtp.users == $1.smtp.users }),
        ("smtp.max_recipients", { $0.smtp.maxRecipients == $1.smtp.maxRecipients }),
        ("smtp.max_connections", { $0.smtp.maxConnections == $1.smtp.maxConnections }),
        ("smtp.max_connections_per_ip", { $0.smtp.maxConnectionsPerIP == $1.smtp.maxConnectionsPerIP }),
        ("smtp.idle_timeout", { $0.smtp.idleTimeout == $1.smtp.idleTimeout }),
        ("smtp.received_authenticated_user", { $0.smtp.receivedAuthenticatedUser == $1.smtp.receivedAuthenticatedUser }),
        ("delivery.retry", { $0.delivery.retry == $1.delivery.retry }),
        ("delivery.expire", { $0.delivery.expire == $1.delivery.expire }),
        ("delivery.max_connections", { $0.delivery.maxConnections == $1.delivery.maxConnections }),
        ("delivery.max_connections_per_domain", { $0.delivery.maxConnectionsPerDomain == $1.delivery.maxConnectionsPerDomain }),
        ("log.level", { $0.log.level == $1.log.level }),
    ]

    /// Kept at their running values until a restart.
    static let restartOnly: [Comparison] = [
        ("root", { $0.rootPath == $1.rootPath }),
        ("hostname", { $0.hostname == $1.hostname }),
        ("user", { $0.user == $1.user }),
        ("pickup_group", { $0.pickupGroup == $1.pickupGroup }),
        ("metrics_listen", { $0.metricsListen == $1.metricsListen }),
        ("pickup", { $0.pickup == $1.pickup }),
        ("dns", { $0.dns == $1.dns }),
        ("log.format", { $0.log.format == $1.log.format }),
        ("smtp.listen", { $0.smtp.listen == $1.smtp.listen }),
        ("smtp.submission", { $0.smtp.submission == $1.smtp.submission }),
        ("smtp.submissions", { $0.smtp.submissions == $1.smtp.submissions }),
        ("delivery.port", { $0.delivery.port == $1.delivery.port }),
        ("delivery.opportunistic_tls", { $0.delivery.opportunisticTLS == $1.delivery.opportunisticTLS }),
        ("delivery.max_recipients_per_transaction",
         { $0.delivery.maxRecipientsPerTransaction == $1.delivery.maxRecipientsPerTransaction }),
        ("delivery timeouts", { ($0.delivery.connectTimeout, $0.delivery.greetingTimeout, $0.delivery.commandTimeout, $0.delivery.dataTimeout)
            == ($1.delivery.connectTimeout, $1.delivery.greetingTimeout, $1.delivery.commandTimeout, $1.delivery.dataTimeout) }),
    ]

    /// `applied`: what differs from the configuration in effect; `needRestart`: what differs from
    /// the one the daemon started with.
    init(inEffect: MailrootConfiguration, started: MailrootConfiguration, new: MailrootConfiguration) {
        applied = Self.reloadable.filter { !$0.same(inEffect, new) }.map(\.name)
        needRestart = Self.restartOnly.filter { !$0.same(started, new) }.map(\.name)
    }

    init(applied: [String] = [], needRestart: [String] = []) {
        self.applied = applied
        self.needRestart = needRestart
    }

    /// `new` with every restart-only key at its value in `started`: what is really in effect
    /// after the reload, and what a later reload compares with.
    static func inEffect(started: MailrootConfiguration, new: MailrootConfiguration) -> MailrootConfiguration {
        var result = started
        result.localDomains = new.localDomains
        result.maxMessageSize = new.maxMessageSize
        result.maxReceivedHeaders = new.maxReceivedHeaders
        result.shutdownGrace = new.shutdownGrace
        result.smtp.relayNetworks = new.smtp.relayNetworks
        result.smtp.tlsCertificate = new.smtp.tlsCertificate
        result.smtp.tlsKey = new.smtp.tlsKey
        result.smtp.users = new.smtp.users
        result.smtp.maxRecipients = new.smtp.maxRecipients
        result.smtp.maxConnections = new.smtp.maxConnections
        result.smtp.maxConnectionsPerIP = new.smtp.maxConnectionsPerIP
        result.smtp.idleTimeout = new.smtp.idleTimeout
        result.smtp.receivedAuthenticatedUser = new.smtp.receivedAuthenticatedUser
        result.delivery.retry = new.delivery.retry
        result.delivery.expire = new.delivery.expire
        result.delivery.maxConnections = new.delivery.maxConnections
        result.delivery.maxConnectionsPerDomain = new.delivery.maxConnectionsPerDomain
        result.log.level = new.log.level
        return result
    }
}
