// SPDX-License-Identifier: Apache-2.0
import NIOCore
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
    /// Bytes of DATA content all sessions together may hold in memory (InboundMemory); nil: the
    /// default for `maximumMessageSize`.
    public var inboundMemory: Int?
    var inboundMemoryLimit: Int { inboundMemory ?? InboundMemory.capacity(forMaximumMessageSize: maximumMessageSize) }
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
    /// Submission ports (RFC 6409, usually 587): STARTTLS, AUTH required before MAIL.
    public var submission: [ListenAddress]
    /// Implicit-TLS submission ports (RFC 8314 §3, usually 465): TLS from the first byte, AUTH
    /// required before MAIL. Needs `tls`.
    public var submissions: [ListenAddress]
    /// User name → password hash; empty means AUTH is not offered anywhere.
    public var users: [String: PasswordHash]
    /// Failed AUTH attempts per session before `421 4.7.0`.
    public var maximumAuthenticationFailures: Int
    /// `smtp.received_authenticated_user`: name the AUTH user in `Received:` (off: not disclosed).
    public var receivedShowsAuthenticatedUser = false
    /// Finds the client's (forward-confirmed) name for the `Received:` field; nil: only the
    /// address is recorded. Started when a client connects, beside the greeting, never before it.
    public var reverseLookup: (@Sendable (SocketAddress) async -> String?)? {
        get { reverseLookupHook?.lookup }
        set { reverseLookupHook = newValue.map(ReverseLookupHook.init) }
    }
    /// How long, from the connection's start, a message waits for `reverseLookup` before its
    /// `Received:` field is written with the address only (a slow resolver must not stall mail).
    public var reverseLookupTimeout: Duration = .seconds(5)
    /// The closure in a class, so the configuration stays Hashable (by the hook's identity).
    var reverseLookupHook: ReverseLookupHook?

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
                maximumErrors: Int = 10,
                submission: [ListenAddress] = [],
                submissions: [ListenAddress] = [],
                users: [String: PasswordHash] = [:],
                maximumAuthenticationFailures: Int = 3) {
        self.submission = submission
        self.submissions = submissions
        self.users = users
        self.maximumAuthenticationFailures = maximumAuthenticationFailures
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

    /// What a listening socket is for.
    public enum Port: Sendable, Hashable {
        /// Port 25 style: relay by `relayNetworks`, AUTH optional.
        case relay
        /// Port 587: AUTH required; STARTTLS.
        case submission
        /// Port 465: TLS from the first byte; AUTH required.
        case submissions
    }

    /// Every address to bind, with what it is for.
    var allListeners: [(address: ListenAddress, port: Port)] {
        listen.map { ($0, .relay) } + submission.map { ($0, .submission) } + submissions.map { ($0, .submissions) }
    }

    /// The per-connection settings of the state machine. On submission ports `relayNetworks`
    /// does not apply: a submission port exists for authenticated senders, and an address-based
    /// pass there would make a misconfigured proxy or NAT in the relay networks an open
    /// submission service.
    func sessionConfiguration(port: Port, clientMayRelay: Bool, clientIsLoopback: Bool) -> ServerSessionConfiguration {
        let submission = port != .relay
        return ServerSessionConfiguration(
            hostname: hostname, maximumMessageSize: maximumMessageSize, maximumRecipients: maximumRecipients,
            maximumErrors: maximumErrors, tlsAvailable: tls != nil,
            relayPolicy: ServerRelayPolicy(localDomains: localDomains, clientMayRelay: clientMayRelay && !submission),
            authenticationAvailable: !users.isEmpty, clientIsLoopback: clientIsLoopback,
            authenticationRequired: submission, maximumAuthenticationFailures: maximumAuthenticationFailures)
    }
}

/// A reverse-lookup closure with identity, for `SMTPServerConfiguration`'s Hashable conformance.
final class ReverseLookupHook: Sendable, Hashable {
    let lookup: @Sendable (SocketAddress) async -> String?

    init(_ lookup: @escaping @Sendable (SocketAddress) async -> String?) { self.lookup = lookup }

    static func == (lhs: ReverseLookupHook, rhs: ReverseLookupHook) -> Bool { lhs === rhs }
    func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
