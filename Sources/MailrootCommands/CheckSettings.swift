// SPDX-License-Identifier: Apache-2.0
import DKIM
import MailrootDaemon

/// The effective configuration as `key = value` lines in TOML syntax, every key present (the
/// defaults included), so an administrator sees what `serve` will really use.
enum CheckSettings {
    /// Keys whose values are secrets, printed as `***` so `check` output can be pasted into a
    /// ticket; `isSecret` also catches credential-like names, and dictionaries found by
    /// reflection (`[[smtp.users]]`) show only their keys. The TLS key is a path, never read here.
    static let secretKeys: Set<String> = []

    static func lines(_ configuration: MailrootConfiguration) -> [String] {
        let c = configuration
        var settings: [(String, String)] = [
            ("root", quoted(c.rootPath)),
            ("hostname", quoted(c.hostname)),
            ("local_domains", list(c.localDomains.map(quoted))),
            ("max_message_size", "\(c.maxMessageSize)"),
            ("max_received_headers", "\(c.maxReceivedHeaders)"),
            // "" is how the file says "off", so the line can be pasted back into it.
            ("metrics_listen", quoted(c.metricsListen.map { "\($0)" } ?? "")),
            ("user", quoted(c.user ?? "")),
            ("pickup_group", quoted(c.pickupGroup ?? "")),
            ("shutdown_grace", duration(c.shutdownGrace)),
            ("disk_threads", "\(c.diskThreads)"),
            ("pickup.dot_stuffed", "\(c.pickup.dotStuffed)"),
            ("pickup.scan_interval", duration(c.pickup.scanInterval)),
            ("pickup.memory_budget", "\(c.pickup.memoryBudget)"),
            ("dns.servers", list(c.dns.servers.map { quoted("\($0)") })),
            ("dns.timeout", duration(c.dns.timeout)),
        ]
        let d = c.delivery
        settings += [
            ("delivery.port", "\(d.port)"),
            ("delivery.retry", list(d.retry.map(duration))),
            ("delivery.expire", duration(d.expire)),
            ("delivery.max_connections", "\(d.maxConnections)"),
            ("delivery.max_connections_per_domain", "\(d.maxConnectionsPerDomain)"),
            ("delivery.connection_cache_time", duration(d.connectionCacheTime)),
            ("delivery.max_recipients_per_transaction", "\(d.maxRecipientsPerTransaction)"),
            ("delivery.opportunistic_tls", "\(d.opportunisticTLS)"),
            ("delivery.connect_timeout", duration(d.connectTimeout)),
            ("delivery.greeting_timeout", duration(d.greetingTimeout)),
            ("delivery.command_timeout", duration(d.commandTimeout)),
            ("delivery.data_timeout", duration(d.dataTimeout)),
        ]
        let s = c.smtp
        settings += [
            ("smtp.listen", list(s.listen.map { quoted("\($0)") })),
            ("smtp.relay_networks", list(s.relayNetworks.map { quoted("\($0)") })),
            ("smtp.tls_certificate", s.tlsCertificate.map(quoted) ?? "(not set)"),
            ("smtp.tls_key", s.tlsKey.map(quoted) ?? "(not set)"),
            ("smtp.max_recipients", "\(s.maxRecipients)"),
            ("smtp.max_connections", "\(s.maxConnections)"),
            ("smtp.max_connections_per_ip", "\(s.maxConnectionsPerIP)"),
            ("smtp.idle_timeout", duration(s.idleTimeout)),
            ("smtp.received_authenticated_user", "\(s.receivedAuthenticatedUser)"),
            ("log.level", quoted(c.log.level.rawValue)),
            ("log.format", quoted(c.log.format.rawValue)),
            // Paths only: the key itself is never printed.
            ("dkim", list(c.dkim.map {
                "{ domain = \(quoted($0.domain)), selector = \(quoted($0.selector)), private_key = \(quoted($0.privateKeyPath)) }"
            })),
        ]
        settings += unlisted(c, shown: Set(settings.map(\.0)))
        // Keys found by reflection join their own table (the sort is stable).
        let order = ["", "pickup", "dns", "delivery", "smtp", "log"]
        func table(_ key: String) -> Int {
            let name = key.split(separator: ".").count > 1 ? String(key.prefix { $0 != "." }) : ""
            return order.firstIndex(of: name) ?? order.count
        }
        settings = settings.enumerated().sorted { (table($0.element.0), $0.offset) < (table($1.element.0), $1.offset) }.map(\.element)
        return settings.map { key, value in "\(key) = \(isSecret(key) ? "***" : value)" }
    }

    /// For each `[[dkim]]` domain, the TXT record its selector must publish (the public half of
    /// the key, which `check` has just read like `serve` would).
    static func dkimRecords(_ configuration: MailrootConfiguration) -> [CheckFinding] {
        configuration.dkim.map { entry in
            CheckFinding(level: .ok, text: "dkim: mail from \(entry.domain) is signed with \(entry.key.algorithm.rawValue) "
                + "(selector \(entry.selector)); publish this TXT record at \(entry.recordName): \"\(entry.key.dnsRecord)\"")
        }
    }

    /// Settings added to `MailrootConfiguration` after this list was written, found by
    /// reflection, so `check` never silently omits one; dictionaries (e.g. users → password
    /// hash) show their keys only.
    static func unlisted(_ configuration: MailrootConfiguration, shown: Set<String>) -> [(String, String)] {
        let tables: [(String, Any)] = [("", configuration), ("pickup", configuration.pickup), ("dns", configuration.dns),
                                       ("delivery", configuration.delivery), ("smtp", configuration.smtp), ("log", configuration.log)]
        // Swift names that are not keys of their own: the tables, and `root` as written (shown resolved).
        let skipped: Set<String> = ["root_path", "pickup", "dns", "delivery", "smtp", "log"]
        var found: [(String, String)] = []
        for (table, value) in tables {
            for child in Mirror(reflecting: value).children {
                guard let label = child.label else { continue }
                let key = snakeCase(label)
                let dotted = table.isEmpty ? key : "\(table).\(key)"
                guard !shown.contains(dotted), !(table.isEmpty && skipped.contains(key)) else { continue }
                found.append((dotted, describe(child.value, key: dotted)))
            }
        }
        return found
    }

    /// Anything whose name suggests a credential is masked, whatever table it lands in.
    static func isSecret(_ key: String) -> Bool {
        secretKeys.contains(key) || ["password", "secret", "hash"].contains { key.contains($0) }
    }

    private static func describe(_ value: Any, key: String) -> String {
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .dictionary {
            // Keys (user names) are useful to see; values may be credentials.
            let keys = mirror.children.compactMap { Mirror(reflecting: $0.value).children.first.map { "\($0.value)" } }
            return "{" + keys.sorted().map { "\(quoted($0)) = ***" }.joined(separator: ", ") + "}"
        }
        if mirror.displayStyle == .optional {
            guard let wrapped = mirror.children.first?.value else { return "(not set)" }
            return describe(wrapped, key: key)
        }
        if let duration = value as? Duration { return self.duration(duration) }
        if let text = value as? String { return quoted(text) }
        if mirror.displayStyle == .collection { return list(mirror.children.map { quoted("\($0.value)") }) }
        return "\(value)"
    }

    /// `maxConnectionsPerIP` → `max_connections_per_ip`.
    static func snakeCase(_ name: String) -> String {
        var out = ""
        var previousLower = false
        for character in name {
            if character.isUppercase {
                if previousLower { out += "_" }
                out += character.lowercased()
                previousLower = false
            } else {
                out.append(character)
                previousLower = true
            }
        }
        return out
    }

    private static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default: out += scalar.value < 0x20 || scalar.value == 0x7F ? "\\u" + hex4(scalar.value) : String(scalar)
            }
        }
        return out + "\""
    }

    private static func hex4(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    private static func list(_ items: [String]) -> String { "[" + items.joined(separator: ", ") + "]" }
    private static func duration(_ value: Duration) -> String { quoted(ConfigurationUnits.format(value)) }
}
