// SPDX-License-Identifier: Apache-2.0

/// Which keys differ between two configurations, split into those a running daemon takes on at
/// SIGHUP and those that need a restart (sockets already bound, privileges already dropped, the
/// folders and the resolver already in use, the SMTP client's sessions already built).
struct ConfigurationChanges: Equatable {
    var applied: [String] = []
    var needRestart: [String] = []

    typealias Comparison = (name: String, same: @Sendable (MailrootConfiguration, MailrootConfiguration) -> Bool)

    /// A key and how to compare it and carry it over, made from one key path so the two can
    /// never disagree (a key compared but not carried would be reported changed at every reload
    /// and never take effect).
    struct Setting: Sendable {
        var name: String
        var same: @Sendable (MailrootConfiguration, MailrootConfiguration) -> Bool
        var adopt: @Sendable (inout MailrootConfiguration, MailrootConfiguration) -> Void

        init<Value: Equatable & Sendable>(_ name: String, _ path: WritableKeyPath<MailrootConfiguration, Value> & Sendable) {
            self.name = name
            same = { $0[keyPath: path] == $1[keyPath: path] }
            adopt = { $0[keyPath: path] = $1[keyPath: path] }
        }
    }

    /// Applied at SIGHUP: the listener's settings for new sessions, delivery's limits and schedule.
    static let reloadable: [Setting] = [
        Setting("local_domains", \.localDomains),
        Setting("max_message_size", \.maxMessageSize),
        Setting("max_received_headers", \.maxReceivedHeaders),
        Setting("shutdown_grace", \.shutdownGrace),
        Setting("smtp.relay_networks", \.smtp.relayNetworks),
        Setting("smtp.tls_certificate", \.smtp.tlsCertificate),
        Setting("smtp.tls_key", \.smtp.tlsKey),
        Setting("smtp.users", \.smtp.users),
        Setting("smtp.max_recipients", \.smtp.maxRecipients),
        Setting("smtp.max_connections", \.smtp.maxConnections),
        Setting("smtp.max_connections_per_ip", \.smtp.maxConnectionsPerIP),
        Setting("smtp.idle_timeout", \.smtp.idleTimeout),
        Setting("smtp.received_authenticated_user", \.smtp.receivedAuthenticatedUser),
        Setting("delivery.retry", \.delivery.retry),
        Setting("delivery.expire", \.delivery.expire),
        Setting("delivery.max_connections", \.delivery.maxConnections),
        Setting("delivery.max_connections_per_domain", \.delivery.maxConnectionsPerDomain),
        Setting("delivery.connection_cache_time", \.delivery.connectionCacheTime),
        Setting("log.level", \.log.level),
        Setting("dkim", \.dkim),
    ]

    /// Kept at their running values until a restart.
    static let restartOnly: [Comparison] = [
        ("root", { $0.rootPath == $1.rootPath }),
        ("hostname", { $0.hostname == $1.hostname }),
        ("user", { $0.user == $1.user }),
        ("pickup_group", { $0.pickupGroup == $1.pickupGroup }),
        ("disk_threads", { $0.diskThreads == $1.diskThreads }),
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
        for setting in reloadable { setting.adopt(&result, new) }
        return result
    }
}
