// SPDX-License-Identifier: Apache-2.0
import SMTPServer

extension MailrootConfiguration {
    /// `[smtp]`: the listener. The defaults are the safe ones: loopback only, relay for loopback
    /// only, no TLS. The top-level `hostname`, `local_domains` and `max_message_size` apply too.
    public struct SMTP: Sendable, Equatable {
        /// Addresses to listen on; empty turns the listener off.
        public var listen: [SMTPServerConfiguration.ListenAddress] = [.init(host: "127.0.0.1", port: 2525)]
        /// Clients in these networks may relay to any domain; everyone else only to `local_domains`.
        public var relayNetworks: [NetworkRange] = [NetworkRange("127.0.0.0/8")!, NetworkRange("::1/128")!]
        /// PEM certificate chain and key, made absolute; STARTTLS is offered when both are set.
        public var tlsCertificate: String?
        public var tlsKey: String?
        public var maxRecipients: Int = 100
        public var maxConnections: Int = 1000
        public var maxConnectionsPerIP: Int = 20
        /// A client silent for this long gets `421 4.4.2` and is disconnected.
        public var idleTimeout: Duration = .seconds(5 * 60)
        public init() {}
    }
}

extension MailrootConfiguration.SMTP {
    /// Keys of issue 3 that need AUTH, which is not built: refused by name so nobody believes a
    /// submission port is open or a password is checked.
    static let coming: [String: String] = [
        "submission": "the submission listener (port 587, AUTH required) is not available yet; remove the key",
        "submissions": "the submissions listener (port 465, implicit TLS, AUTH required) is not available yet; remove the key",
        "users": "[[smtp.users]] is not available yet: this version has no SMTP AUTH; remove the table and relay by relay_networks",
    ]

    mutating func read(_ table: ConfigurationTable, workingDirectory: String) throws(ConfigurationError) {
        for key in table.table.keys.sorted() {
            if let note = Self.coming[key] {
                throw ConfigurationError(file: table.file, key: ConfigurationTable.join(table.path, key), message: note)
            }
        }
        try table.rejectUnknownKeys(ConfigurationSchema.keys(inTable: "smtp"))
        if let value = table["listen"] { listen = try Self.readListen(value) }
        if let value = table["relay_networks"] {
            relayNetworks = try value.array().map { (element) throws(ConfigurationError) in
                let text = try element.string()
                return try element.checked { () throws(ConfigurationProblem) in try Self.networkRange(text) }
            }
        }
        try readTLS(table, workingDirectory: workingDirectory)
        if let value = table["max_recipients"] { maxRecipients = try value.integer(in: 1...Int.max) }
        if let value = table["max_connections"] { maxConnections = try value.integer(in: 1...Int.max) }
        if let value = table["max_connections_per_ip"] { maxConnectionsPerIP = try value.integer(in: 1...Int.max) }
        if let value = table["idle_timeout"] { idleTimeout = try value.duration() }
    }

    private static func readListen(_ value: ConfigurationValue) throws(ConfigurationError) -> [SMTPServerConfiguration.ListenAddress] {
        let hint = "is not a listen address (use an IP address and a port, e.g. \"127.0.0.1:25\", \"0.0.0.0:25\" or \"[::]:25\")"
        var addresses: [SMTPServerConfiguration.ListenAddress] = []
        for element in try value.array() {
            let text = try element.string()
            let (host, port) = try element.checked { () throws(ConfigurationProblem) in
                try ConfigurationHostPort.parse(text, defaultPort: nil, hint: hint)
            }
            let address = SMTPServerConfiguration.ListenAddress(host: host, port: port)
            // The second bind would fail with "address in use" and read like another program's fault.
            guard !addresses.contains(address) else { throw element.failure("\(address) is listed twice") }
            // Linux refuses a wildcard and a specific address of one family on one port (with
            // SO_REUSEADDR too); "[::]" is bound IPv6-only, so it does not clash with "0.0.0.0".
            let wildcards = ["0.0.0.0", "::"]
            if let other = addresses.first(where: { $0.port == port && $0.host.contains(":") == host.contains(":")
                && (wildcards.contains($0.host) || wildcards.contains(host)) }) {
                let message = wildcards.contains(other.host)
                    ? "\(address) is already covered by \(other) (one socket cannot be bound twice); list one or the other"
                    : "\(address) already covers \(other) (one socket cannot be bound twice); list one or the other"
                throw element.failure(message)
            }
            addresses.append(address)
        }
        return addresses
    }

    /// A CIDR block. Host bits beyond the prefix are refused rather than masked: "192.168.1.10/2"
    /// is far likelier a typo for /32 or /24 than a wish to relay for a quarter of the internet,
    /// and /0 would make mailroot an open relay.
    static func networkRange(_ text: String) throws(ConfigurationProblem) -> NetworkRange {
        let quoted = ConfigurationError.quoted(text)
        guard let range = NetworkRange(text) else {
            throw ConfigurationProblem("\(quoted) is not a network (use CIDR notation, e.g. \"192.0.2.0/24\" or \"2001:db8::/32\")")
        }
        let addressPart = String(text.prefix { $0 != "/" })
        if let host = NetworkRange(addressPart), host.address != range.address {
            throw ConfigurationProblem("\(quoted) has bits set beyond the /\(range.prefixLength) prefix; did you mean \"\(range)\"?")
        }
        guard range.prefixLength > 0 else {
            throw ConfigurationProblem("\(quoted) covers every address and would make mailroot an open relay")
        }
        return range
    }

    private mutating func readTLS(_ table: ConfigurationTable, workingDirectory: String) throws(ConfigurationError) {
        // An empty string is "not set", as in the commented example file.
        func path(_ key: String) throws(ConfigurationError) -> String? {
            guard let value = table[key] else { return nil }
            let text = try value.string()
            return text.isEmpty ? nil : ConfigurationSystem.absolutePath(text, relativeTo: workingDirectory)
        }
        tlsCertificate = try path("tls_certificate")
        tlsKey = try path("tls_key")
        // One without the other would silently leave STARTTLS off.
        if (tlsCertificate == nil) != (tlsKey == nil) {
            let missing = tlsCertificate == nil ? "tls_certificate" : "tls_key"
            let present = tlsCertificate == nil ? "tls_key" : "tls_certificate"
            throw ConfigurationError(file: table.file, key: ConfigurationTable.join(table.path, missing),
                                     message: "must be set together with \(present) (both PEM files, or neither for no STARTTLS)")
        }
    }
}
