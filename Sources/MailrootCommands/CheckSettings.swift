// SPDX-License-Identifier: Apache-2.0
import MailrootDaemon

/// The effective configuration as `key = value` lines in TOML syntax, every key present (the
/// defaults included), so an administrator sees what `serve` will really use.
enum CheckSettings {
    /// Keys whose values are secrets: printed as `***`, so `check` output can be pasted into a
    /// ticket. None of today's keys holds one (the TLS key is shown as a path, never read here);
    /// a key added for SMTP AUTH password hashes belongs in this list.
    static let secretKeys: Set<String> = []

    static func lines(_ configuration: MailrootConfiguration) -> [String] {
        let c = configuration
        var settings: [(String, String)] = [
            ("root", quoted(c.rootPath)),
            ("hostname", quoted(c.hostname)),
            ("local_domains", list(c.localDomains.map(quoted))),
            ("max_message_size", "\(c.maxMessageSize)"),
            ("max_received_headers", "\(c.maxReceivedHeaders)"),
            ("pickup.dot_stuffed", "\(c.pickup.dotStuffed)"),
            ("pickup.scan_interval", duration(c.pickup.scanInterval)),
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
            ("log.level", quoted(c.log.level.rawValue)),
            ("log.format", quoted(c.log.format.rawValue)),
        ]
        return settings.map { key, value in "\(key) = \(secretKeys.contains(key) ? "***" : value)" }
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
