// SPDX-License-Identifier: Apache-2.0
//
// SUMMARY
//   `MailrootConfiguration`: mailroot.toml read into one typed, validated value.
//
// DESCRIPTION
//   The daemon reads the file once at start-up (`load(path:)`), or takes `defaults(...)` when no
//   --config is given, and maps the result onto each module's own `Configuration`. Only this module
//   knows TOML. Every key has a default, so the smallest valid file is an empty one; every value is
//   checked here, so the modules receive only values they can act on. Units: durations are strings
//   such as "15m" or "1h30m" (`ConfigurationUnits.parseDuration`), sizes "35MB" (1024-based) or
//   a byte count. docs/configuration.md lists every key.
//
// SAFETY
//   The file is trusted input from the administrator, but a typo must never become a silent
//   default: unknown keys, wrong types and out-of-range values stop start-up with the file, the
//   dotted key and the reason (`ConfigurationError`). The file is read with a size limit and
//   refused if it holds NUL bytes (the TOML parser is handed a C string and would stop at the first
//   NUL, silently ignoring the rest). Values echoed in messages are quoted and escaped.
//
// SEE ALSO
//   ConfigurationDecoding.swift (table by table), ConfigurationReader.swift (keys and types),
//   ConfigurationSMTP.swift, ConfigurationUnits.swift, ConfigurationAddresses.swift, ConfigurationSystem.swift,
//   docs/configuration.md, contrib/mailroot.toml.
import Logging
import SMTPServer

public struct MailrootConfiguration: Sendable, Equatable {
    /// `root` as written: the directory holding pickup/, queue/, drop/, badmail/.
    public var root: String = "mailroot"
    /// `root` made absolute against the working directory at load time, `.` and `..` removed.
    public var rootPath: String
    /// The name mailroot gives itself in EHLO, Received: fields and bounces.
    public var hostname: String
    /// Recipients in these domains are written to drop/ instead of being relayed. Lower-cased.
    public var localDomains: [String] = ["localhost"]
    /// Largest message accepted, in bytes; larger pickup files go to badmail.
    public var maxMessageSize: Int = 35 * 1024 * 1024
    /// More Received: fields than this is taken as a mail loop (RFC 5321 §6.3).
    public var maxReceivedHeaders: Int = 30
    /// Where `/metrics` and `/healthz` are served; nil (`metrics_listen = ""`, the default) is off.
    public var metricsListen: SMTPServerConfiguration.ListenAddress?
    /// `user`: the account `serve` switches to after binding its ports when started as root;
    /// nil (`""`, the default) keeps the user it was started as (ConfigurationPrivileges.swift).
    public var user: String?
    /// `pickup_group`: the group whose members may drop files into pickup/; nil is none.
    public var pickupGroup: String?
    /// `shutdown_grace`: after SIGTERM, how long deliveries in progress may take to finish.
    public var shutdownGrace: Duration = .seconds(10)
    /// `disk_threads`: threads that wait on the disk for the queue, pickup, drop and badmail.
    /// An fsync holds its thread without using a core, so more threads than cores lets the disk
    /// take several commits at once (BENCHMARKS.md, finding 14).
    public var diskThreads: Int = 4
    public var pickup = Pickup()
    public var dns: DNS
    public var delivery = Delivery()
    /// `[smtp]`: the listener (ConfigurationSMTP.swift).
    public var smtp = SMTP()
    public var log = Log()
    /// `[[dkim]]`: the author domains whose outgoing mail is signed (ConfigurationDKIM.swift).
    public var dkim: [DKIMDomain] = []

    public init(rootPath: String, hostname: String, dns: DNS) {
        self.rootPath = rootPath
        self.hostname = hostname
        self.dns = dns
    }

    /// `[pickup]`: the directory programs drop messages into.
    public struct Pickup: Sendable, Equatable {
        /// Files are already dot-stuffed, as IIS writes them (`SmtpDotStuffPickupDirFiles`).
        public var dotStuffed: Bool = false
        /// How often the directory is rescanned when no file-system event arrived.
        public var scanInterval: Duration = .seconds(30)
        /// Bytes of pickup files held in memory at once while they are taken (a larger file is read alone).
        public var memoryBudget: Int = 64 * 1024 * 1024
        public init() {}
    }

    /// `[dns]`: the recursive resolvers asked for MX and address records.
    public struct DNS: Sendable, Equatable {
        /// Tried in order. Default: the `nameserver` lines of /etc/resolv.conf.
        public var servers: [Server]
        /// How long one query may wait for one server.
        public var timeout: Duration = .seconds(5)
        public init(servers: [Server]) { self.servers = servers }

        /// A resolver's address; the daemon turns it into a `SocketAddress`.
        public struct Server: Sendable, Hashable, CustomStringConvertible {
            /// An IPv4 or IPv6 address literal, IPv6 without brackets.
            public var host: String
            public var port: Int
            public init(host: String, port: Int = 53) {
                self.host = host
                self.port = port
            }
            public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
        }
    }

    /// `[delivery]`: outbound SMTP to the recipients' MX hosts.
    public struct Delivery: Sendable, Equatable {
        /// Destination port; 25 except for tests and smart relays.
        public var port: Int = 25
        /// Delay before each retry after a temporary failure; the last one repeats until `expire`.
        public var retry: [Duration] = [.seconds(15 * 60), .seconds(30 * 60), .seconds(3600), .seconds(4 * 3600)]
        /// Age at which a message that still fails temporarily is bounced (RFC 5321 §4.5.4.1).
        public var expire: Duration = .seconds(2 * 86_400)
        public var maxConnections: Int = 100
        public var maxConnectionsPerDomain: Int = 10
        /// How long an idle connection waits for more mail to its domain; `"0s"` hangs up at once.
        public var connectionCacheTime: Duration = .seconds(2)
        /// RCPT commands per transaction; RFC 5321 §4.5.3.1.8 requires servers to take 100.
        public var maxRecipientsPerTransaction: Int = 100
        /// Use STARTTLS when offered, without verifying the certificate (RFC 7435).
        public var opportunisticTLS: Bool = true
        // RFC 5321 §4.5.3.2 minimum timeouts: greeting 5 min, commands 5 min, DATA block 3 min,
        // final dot 10 min; data_timeout covers the whole DATA phase, so it takes the largest.
        public var connectTimeout: Duration = .seconds(30)
        public var greetingTimeout: Duration = .seconds(5 * 60)
        public var commandTimeout: Duration = .seconds(5 * 60)
        public var dataTimeout: Duration = .seconds(10 * 60)
        public init() {}
    }

    /// `[log]`.
    public struct Log: Sendable, Equatable {
        public var level: Logger.Level = .info
        public var format: Format = .text
        public init() {}

        public enum Format: String, Sendable, Equatable, CaseIterable {
            /// One human-readable line per event.
            case text
            /// One JSON object per line, for log collectors.
            case json
        }
    }
}

extension MailrootConfiguration {
    /// Reads and validates the file at `path`; relative `root` is resolved against the
    /// process's current directory.
    public static func load(path: String) throws(ConfigurationError) -> MailrootConfiguration {
        let text = try ConfigurationSystem.readConfigurationFile(path)
        return try parse(text, path: path, environment: .system(workingDirectory: ConfigurationSystem.currentDirectory()))
    }

    /// Parses `text` as if read from `path` (used only in messages).
    public static func parse(_ text: String, path: String, workingDirectory: String) throws(ConfigurationError) -> MailrootConfiguration {
        try parse(text, path: path, environment: .system(workingDirectory: workingDirectory))
    }

    /// Every key at its default: what runs when no --config is given.
    public static func defaults(workingDirectory: String) -> MailrootConfiguration {
        defaults(environment: .system(workingDirectory: workingDirectory))
    }

    static func defaults(environment: ConfigurationEnvironment) -> MailrootConfiguration {
        var configuration = MailrootConfiguration(
            rootPath: "", hostname: environment.hostname(), dns: DNS(servers: environment.systemDNSServers()))
        configuration.rootPath = ConfigurationSystem.absolutePath(configuration.root, relativeTo: environment.workingDirectory)
        return configuration
    }
}
