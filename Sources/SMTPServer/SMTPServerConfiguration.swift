// SPDX-License-Identifier: Apache-2.0
import SMTPProtocol

/// Everything the listener needs; the daemon fills it from `[smtp]` in mailroot.toml. The
/// defaults are the safe ones: loopback only, relay for loopback only, no TLS.
public struct SMTPServerConfiguration: Sendable, Hashable {
    /// One `host:port` to listen on.
    public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// PEM files for STARTTLS; read once at startup so a bad file stops the daemon there.
    public struct TLSFiles: Sendable, Hashable {
        public var certificateChainPath: String
        public var privateKeyPath: String

        public init(certificateChainPath: String, privateKeyPath: String) {
            self.certificateChainPath = certificateChainPath
            self.privateKeyPath = privateKeyPath
        }
    }

    public var listen: [ListenAddress]
    /// Our name in the greeting, EHLO and `Received:`.
    public var hostname: String
    public var maximumMessageSize: Int
    /// Clients inside these may relay to any domain.
    public var relayNetworks: [NetworkRange]
    /// Domains accepted from anyone (delivered to `drop/`).
    public var localDomains: Set<String>
    public var maximumRecipients: Int
    public var maximumConnections: Int
    public var maximumConnectionsPerIP: Int
    /// A client that sends nothing for this long gets `421 4.4.2` and is disconnected.
    public var idleTimeout: Duration
    /// nil: STARTTLS is not offered.
    public var tls: TLSFiles?
    /// 5xx replies before the session is ended with `421`.
    public var maximumErrors: Int

    public init(listen: [ListenAddress] = [ListenAddress(host: "127.0.0.1", port: 2525)],
                hostname: String,
                maximumMessageSize: Int = 25 * 1024 * 1024,
                relayNetworks: [NetworkRange] = [NetworkRange("127.0.0.0/8")!, NetworkRange("::1/128")!],
                localDomains: Set<String> = [],
                maximumRecipients: Int = 100,
                maximumConnections: Int = 1000,
                maximumConnectionsPerIP: Int = 20,
                idleTimeout: Duration = .seconds(300),
                tls: TLSFiles? = nil,
                maximumErrors: Int = 10) {
        self.listen = listen
        self.hostname = hostname
        self.maximumMessageSize = maximumMessageSize
        self.relayNetworks = relayNetworks
        self.localDomains = localDomains
        self.maximumRecipients = maximumRecipients
        self.maximumConnections = maximumConnections
        self.maximumConnectionsPerIP = maximumConnectionsPerIP
        self.idleTimeout = idleTimeout
        self.tls = tls
        self.maximumErrors = maximumErrors
    }

    /// The per-connection settings of the state machine.
    func sessionConfiguration(clientMayRelay: Bool) -> ServerSessionConfiguration {
        ServerSessionConfiguration(
            hostname: hostname, maximumMessageSize: maximumMessageSize, maximumRecipients: maximumRecipients,
            maximumErrors: maximumErrors, tlsAvailable: tls != nil,
            relayPolicy: ServerRelayPolicy(localDomains: localDomains, clientMayRelay: clientMayRelay))
    }
}
