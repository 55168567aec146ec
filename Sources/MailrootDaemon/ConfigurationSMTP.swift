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
        /// Submission ports (RFC 6409): AUTH required before MAIL, STARTTLS when TLS is set.
        public var submission: [SMTPServerConfiguration.ListenAddress] = []
        /// Implicit-TLS submission ports (RFC 8314): need tls_certificate and tls_key.
        public var submissions: [SMTPServerConfiguration.ListenAddress] = []
        /// `[[smtp.users]]`: who may AUTH, by name.
        public var users: [String: PasswordHash] = [:]
        /// Name the AUTH user in `Received:` (Postfix's smtpd_sasl_authenticated_header); off by default.
        public var receivedAuthenticatedUser = false
        public init() {}
    }
}

/// `mailroot passwd` writes these; the config reads them back.
public typealias SMTPPasswordHash = PasswordHash

extension MailrootConfiguration.SMTP {
    /// The AUTH keys, read here beside the schema's list of the others.

    mutating func read(_ table: ConfigurationTable, workingDirectory: String) throws(ConfigurationError) {
        try table.rejectUnknownKeys(ConfigurationSchema.keys(inTable: "smtp"))
        if let value = table["listen"] { listen = try Self.readListen(value) }
        // One list of everything bound so far, so "listen" and "submission" cannot claim one socket.
        if let value = table["submission"] { submission = try Self.readListen(value, alreadyBound: listen) }
        if let value = table["submissions"] { submissions = try Self.readListen(value, alreadyBound: listen + submission) }
        if let value = table["users"] { users = try Self.readUsers(value) }
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
        if let value = table["received_authenticated_user"] { receivedAuthenticatedUser = try value.bool() }
        try checkAuthentication(table)
    }

    /// A submission port with nobody allowed to log in would refuse every message; an implicit-TLS
    /// port without a certificate cannot even greet.
    private func checkAuthentication(_ table: ConfigurationTable) throws(ConfigurationError) {
        func refuse(_ key: String, _ message: String) -> ConfigurationError {
            ConfigurationError(file: table.file, key: ConfigurationTable.join(table.path, key), message: message)
        }
        if !submissions.isEmpty && tlsCertificate == nil {
            throw refuse("submissions", "needs tls_certificate and tls_key (the submissions port speaks TLS from the first byte, RFC 8314)")
        }
        if users.isEmpty, let key = !submission.isEmpty ? "submission" : !submissions.isEmpty ? "submissions" : nil {
            throw refuse(key, "requires AUTH, but no [[smtp.users]] are configured (add users made with `mailroot passwd`)")
        }
    }

    private static func readUsers(_ value: ConfigurationValue) throws(ConfigurationError) -> [String: PasswordHash] {
        var users: [String: PasswordHash] = [:]
        for element in try value.array() {
            let table = try element.table()
            try table.rejectUnknownKeys(["name", "password_hash"])
            guard let nameValue = table["name"] else { throw element.failure("needs a name") }
            guard let hashValue = table["password_hash"] else {
                throw element.failure("needs a password_hash (made by `mailroot passwd`)")
            }
            let name = try nameValue.string()
            // A name with a space or control character could never be typed in AUTH LOGIN, and
            // NUL would split AUTH PLAIN's fields differently.
            guard !name.isEmpty, name.utf8.count <= 255, name.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }) else {
                throw nameValue.failure("\(ConfigurationError.quoted(name)) is not a user name (1 to 255 characters, no spaces or control characters)")
            }
            guard users[name] == nil else { throw nameValue.failure("user \(ConfigurationError.quoted(name)) is listed twice") }
            let text = try hashValue.string()
            do {
                users[name] = try PasswordHash(encoded: text)
            } catch {
                // Never echo the value: it might be a password pasted by mistake.
                throw hashValue.failure("\(error.description)")
            }
        }
        return users
    }

    private static func readListen(_ value: ConfigurationValue, alreadyBound: [SMTPServerConfiguration.ListenAddress] = [])
        throws(ConfigurationError) -> [SMTPServerConfiguration.ListenAddress] {
        let hint = "is not a listen address (use an IP address and a port, e.g. \"127.0.0.1:25\", \"0.0.0.0:25\" or \"[::]:25\")"
        var addresses = alreadyBound
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
        return Array(addresses.dropFirst(alreadyBound.count))
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
