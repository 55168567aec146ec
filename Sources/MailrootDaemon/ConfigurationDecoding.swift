// SPDX-License-Identifier: Apache-2.0
import Logging
import TOMLKit

extension MailrootConfiguration {
    /// Parses and validates; `environment` supplies the defaults that come from the machine.
    static func parse(_ text: String, path: String, environment: ConfigurationEnvironment) throws(ConfigurationError) -> MailrootConfiguration {
        // TOMLKit hands the text to toml++ as a C string, which would end at an embedded NUL and
        // silently ignore the rest of the file.
        guard !text.utf8.contains(0) else {
            throw ConfigurationError(file: path, message: "contains a NUL byte; a TOML file is UTF-8 text")
        }
        let document: TOMLTable
        do {
            document = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigurationError(file: path, message: "TOML syntax error: \(error.description)",
                                     line: error.source.begin.line, column: error.source.begin.column)
        } catch {
            throw ConfigurationError(file: path, message: "TOML syntax error: \(error)")
        }
        let top = ConfigurationTable(file: path, path: "", table: document)
        try top.rejectUnknownKeys(ConfigurationSchema.topLevel)

        var configuration = MailrootConfiguration(rootPath: "", hostname: "", dns: DNS(servers: []))
        try configuration.readTopLevel(top, environment: environment)
        if let table = try top["pickup"]?.table() { try configuration.pickup.read(table) }
        configuration.dns = try DNS.read(top["dns"]?.table(), environment: environment)
        if let table = try top["delivery"]?.table() { try configuration.delivery.read(table) }
        if let table = try top["smtp"]?.table() { try configuration.smtp.read(table, workingDirectory: environment.workingDirectory) }
        if let table = try top["log"]?.table() { try configuration.log.read(table) }
        if let value = top["dkim"] { configuration.dkim = try readDKIM(value, workingDirectory: environment.workingDirectory) }
        try configuration.checkMetricsListen(top["metrics_listen"])
        return configuration
    }

    private mutating func readTopLevel(_ top: ConfigurationTable, environment: ConfigurationEnvironment) throws(ConfigurationError) {
        if let value = top["root"] {
            root = try value.string()
            guard !root.isEmpty else { throw value.failure("must name a directory") }
        }
        rootPath = ConfigurationSystem.absolutePath(root, relativeTo: environment.workingDirectory)
        if let value = top["hostname"] {
            let text = try value.string()
            hostname = try value.checked { () throws(ConfigurationProblem) in try ConfigurationDomainName.normalized(text) }
        } else {
            hostname = environment.hostname()
        }
        if let value = top["local_domains"] {
            localDomains = []
            for element in try value.array() {
                let text = try element.string()
                let domain = try element.checked { () throws(ConfigurationProblem) in try ConfigurationDomainName.normalized(text) }
                if !localDomains.contains(domain) { localDomains.append(domain) }
            }
        }
        if let value = top["max_message_size"] { maxMessageSize = try value.size() }
        if let value = top["max_received_headers"] { maxReceivedHeaders = try value.integer(in: 1...Int.max) }
        if let value = top["metrics_listen"] { metricsListen = try readMetricsListen(value) }
        if let value = top["user"] { user = try Self.readAccountName(value, kind: "user") }
        if let value = top["pickup_group"] { pickupGroup = try Self.readAccountName(value, kind: "group") }
        if let value = top["shutdown_grace"] { shutdownGrace = try Self.readShutdownGrace(value) }
        if let value = top["disk_threads"] { diskThreads = try value.integer(in: 1...64) }
    }
}

extension MailrootConfiguration.Pickup {
    fileprivate mutating func read(_ table: ConfigurationTable) throws(ConfigurationError) {
        try table.rejectUnknownKeys(ConfigurationSchema.keys(inTable: "pickup"))
        if let value = table["dot_stuffed"] { dotStuffed = try value.bool() }
        if let value = table["scan_interval"] { scanInterval = try value.duration() }
        if let value = table["memory_budget"] { memoryBudget = try value.size() }
    }
}

extension MailrootConfiguration.DNS {
    fileprivate static func read(_ table: ConfigurationTable?, environment: ConfigurationEnvironment) throws(ConfigurationError) -> Self {
        try table?.rejectUnknownKeys(ConfigurationSchema.keys(inTable: "dns"))
        var dns = Self(servers: [])
        if let value = table?["servers"] {
            for element in try value.array() {
                let text = try element.string()
                dns.servers.append(try element.checked { () throws(ConfigurationProblem) in try Server(parsing: text) })
            }
            // An empty list would leave delivery unable to find any MX; refuse rather than
            // quietly fall back to resolv.conf, which the administrator evidently did not want.
            guard !dns.servers.isEmpty else {
                throw value.failure("must list at least one server; remove the key to use /etc/resolv.conf")
            }
        } else {
            dns.servers = environment.systemDNSServers()
        }
        if let value = table?["timeout"] { dns.timeout = try value.duration() }
        return dns
    }
}

extension MailrootConfiguration.Delivery {
    fileprivate mutating func read(_ table: ConfigurationTable) throws(ConfigurationError) {
        try table.rejectUnknownKeys(ConfigurationSchema.keys(inTable: "delivery"))
        if let value = table["port"] { port = try value.integer(in: 1...65535) }
        if let value = table["retry"] {
            retry = try value.array().map { (element) throws(ConfigurationError) in try element.duration() }
            guard !retry.isEmpty else {
                throw value.failure("must list at least one delay, e.g. [\"15m\", \"1h\"]; the last one repeats")
            }
        }
        if let value = table["expire"] { expire = try value.duration() }
        // Checked whether or not either key was written: a short expire with the default
        // schedule would bounce every message on its first temporary failure.
        if expire < retry[0] {
            throw ConfigurationError(
                file: table.file, key: ConfigurationTable.join(table.path, "expire"),
                message: "\(ConfigurationUnits.format(expire)) is shorter than the first retry delay (\(ConfigurationUnits.format(retry[0]))); no retry would ever happen")
        }
        if let value = table["max_connections"] { maxConnections = try value.integer(in: 1...Int.max) }
        if let value = table["max_connections_per_domain"] { maxConnectionsPerDomain = try value.integer(in: 1...Int.max) }
        if let value = table["connection_cache_time"] { connectionCacheTime = try value.duration(allowingZeroUpTo: .seconds(300)) }
        if let value = table["max_recipients_per_transaction"] { maxRecipientsPerTransaction = try value.integer(in: 1...Int.max) }
        if let value = table["opportunistic_tls"] { opportunisticTLS = try value.bool() }
        if let value = table["connect_timeout"] { connectTimeout = try value.duration() }
        if let value = table["greeting_timeout"] { greetingTimeout = try value.duration() }
        if let value = table["command_timeout"] { commandTimeout = try value.duration() }
        if let value = table["data_timeout"] { dataTimeout = try value.duration() }
    }
}

extension MailrootConfiguration.Log {
    fileprivate mutating func read(_ table: ConfigurationTable) throws(ConfigurationError) {
        try table.rejectUnknownKeys(ConfigurationSchema.keys(inTable: "log"))
        if let value = table["level"] {
            let text = try value.string()
            guard let parsed = Logger.Level(rawValue: text.lowercased()) else {
                let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
                throw value.failure("\(ConfigurationError.quoted(text)) is not a log level (use one of \(names))")
            }
            level = parsed
        }
        if let value = table["format"] {
            let text = try value.string()
            guard let parsed = Format(rawValue: text.lowercased()) else {
                throw value.failure("\(ConfigurationError.quoted(text)) is not a log format (use text or json)")
            }
            format = parsed
        }
    }
}
