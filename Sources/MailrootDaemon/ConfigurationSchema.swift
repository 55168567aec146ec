// SPDX-License-Identifier: Apache-2.0

/// Every key mailroot.toml may hold, by table, and the "did you mean" for the ones it may not.
/// Kept in one place so docs/configuration.md and this list can be compared at a glance.
enum ConfigurationSchema {
    static let topLevel = ["root", "hostname", "local_domains", "max_message_size", "max_received_headers",
                           "metrics_listen", "user", "pickup_group", "shutdown_grace", "disk_threads",
                           "pickup", "dns", "delivery", "smtp", "log", "dkim"]
    static let tables: [String: [String]] = [
        "pickup": ["dot_stuffed", "scan_interval", "memory_budget"],
        "dns": ["servers", "timeout"],
        "delivery": ["port", "retry", "expire", "max_connections", "max_connections_per_domain",
                     "connection_cache_time", "max_recipients_per_transaction", "opportunistic_tls", "connect_timeout",
                     "greeting_timeout", "command_timeout", "data_timeout"],
        "smtp": ["listen", "relay_networks", "tls_certificate", "tls_key", "max_recipients", "max_connections",
                 "max_connections_per_ip", "idle_timeout", "submission", "submissions", "users",
                 "received_authenticated_user"],
        "log": ["level", "format"],
        "dkim": ["domain", "selector", "private_key"],
    ]

    /// Keys people write out of habit from other MTAs, with where the setting really lives.
    static let habits: [String: [String: String]] = [
        "smtp": [
            "port": "ports are part of each listen address, e.g. listen = [\"0.0.0.0:25\"]",
            "bind": "the listener's addresses go in listen, e.g. listen = [\"0.0.0.0:25\"]",
            "mynetworks": "the networks allowed to relay go in relay_networks",
        ],
    ]

    static func keys(inTable path: String) -> [String] {
        path.isEmpty ? topLevel : tables[path] ?? []
    }

    /// A hint for an unknown `key` in table `path`: the same key in another table, else a near
    /// spelling in this one (edit distance ≤ 2, ignoring case and `-` for `_`).
    static func suggestion(for key: String, inTable path: String) -> String? {
        let folded = fold(key)
        if let habit = habits[path]?[folded] { return habit }
        // A key written in the wrong place is likelier than a two-letter typo of another key
        // ("port" at the top level means [delivery] port, not "root").
        let home = tables.keys.sorted().first { $0 != path && tables[$0]!.contains(folded) }
        if let home { return "\(ConfigurationError.quoted(folded)) belongs in the [\(home)] table" }
        if !path.isEmpty, topLevel.contains(folded) {
            return "\(ConfigurationError.quoted(folded)) is a top-level key; put it before the first [table]"
        }
        let near = keys(inTable: path)
            .map { (key: $0, distance: editDistance(folded, fold($0))) }
            .filter { $0.distance <= 2 }
            .min { $0.distance < $1.distance }
        if let near { return "did you mean \(ConfigurationError.quoted(near.key))?" }
        return nil
    }

    private static func fold(_ key: String) -> String {
        String(key.lowercased().map { $0 == "-" ? "_" : $0 })
    }

    /// Levenshtein distance; keys are short, and a hostile 1 MiB key is cut to 64 characters
    /// first so this stays cheap.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.prefix(64)), b = Array(b.prefix(64))
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            previous = current
        }
        return previous[b.count]
    }
}
