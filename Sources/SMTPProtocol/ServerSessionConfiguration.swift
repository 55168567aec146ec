// SPDX-License-Identifier: Apache-2.0
import MailMessage

/// What one server session needs to know about its server and its client. Built by the
/// listener for every connection; the state machine itself has no I/O and no clock.
public struct ServerSessionConfiguration: Sendable, Hashable {
    /// Our name in the greeting, EHLO reply and `Received:` lines.
    public var hostname: String
    /// RFC 1870 SIZE limit for the content, in octets.
    public var maximumMessageSize: Int
    /// RFC 5321 §4.5.3.1.8 asks for at least 100; more are answered `452 4.5.3`.
    public var maximumRecipients: Int
    /// Errors (5xx replies to commands) before the session is ended with `421`.
    public var maximumErrors: Int
    /// NOOP, RSET, VRFY, HELP and refused recipients past `maximumRecipients` allowed before
    /// each further one counts as an error (Postfix's junk-command limit): keeps a client from
    /// holding a session open forever with commands that cost nothing.
    public var maximumJunkCommands: Int
    /// True when a certificate is configured: STARTTLS is offered until TLS is active.
    public var tlsAvailable: Bool
    public var relayPolicy: ServerRelayPolicy
    /// True when users are configured: AUTH PLAIN and LOGIN exist on this listener.
    public var authenticationAvailable: Bool
    /// True for a client on 127.0.0.0/8 or ::1: AUTH is offered without TLS, as nobody can
    /// sniff loopback traffic who could not read the config file anyway.
    public var clientIsLoopback: Bool
    /// Submission ports: MAIL is refused (`530 5.7.0`) until AUTH succeeded.
    public var authenticationRequired: Bool
    /// Failed AUTH attempts before the session is ended with `421 4.7.0`.
    public var maximumAuthenticationFailures: Int

    public init(hostname: String, maximumMessageSize: Int = 10 * 1024 * 1024, maximumRecipients: Int = 100,
                maximumErrors: Int = 10, maximumJunkCommands: Int = 1000, tlsAvailable: Bool = false,
                relayPolicy: ServerRelayPolicy, authenticationAvailable: Bool = false, clientIsLoopback: Bool = false,
                authenticationRequired: Bool = false, maximumAuthenticationFailures: Int = 3) {
        self.authenticationAvailable = authenticationAvailable
        self.clientIsLoopback = clientIsLoopback
        self.authenticationRequired = authenticationRequired
        self.maximumAuthenticationFailures = maximumAuthenticationFailures
        self.hostname = hostname
        self.maximumMessageSize = maximumMessageSize
        self.maximumRecipients = maximumRecipients
        self.maximumErrors = maximumErrors
        self.maximumJunkCommands = maximumJunkCommands
        self.tlsAvailable = tlsAvailable
        self.relayPolicy = relayPolicy
    }
}

/// Who may send mail where (the open-relay rule): mail for a local domain is accepted from
/// anyone; mail for any other domain only from a client in the relay networks (decided by the
/// listener from the peer address) or an authenticated one.
public struct ServerRelayPolicy: Sendable, Hashable {
    public enum Decision: Sendable, Hashable {
        case accept
        /// `554 5.7.1 Relay access denied`, with the reason for the log.
        case denyRelay(String)
    }

    /// Lower-cased domains delivered here (to `drop/`).
    public var localDomains: Set<String>
    /// True when the client's address is inside the relay networks.
    public var clientMayRelay: Bool

    public init(localDomains: Set<String>, clientMayRelay: Bool) {
        self.localDomains = Set(localDomains.map { $0.lowercased() })
        self.clientMayRelay = clientMayRelay
    }

    /// Decides a recipient. The domain is the one `MailAddress` found: the part after the only
    /// unquoted `@`, after any source route was removed. Routing left in the local part is
    /// refused from clients that may not relay:
    /// - `user%remote@local` (the "percent hack") and `remote!user@local` (UUCP bang path) would
    ///   be relayed by any MDA or downstream system that still honours them;
    /// - `"user@remote"@local` hides a second address inside quotes.
    /// `postmaster` at a local domain is always accepted (RFC 5321 §4.5.1).
    public func decide(_ recipient: MailAddress, authenticated: Bool) -> Decision {
        if clientMayRelay || authenticated { return .accept }
        guard localDomains.contains(recipient.domain) else {
            return .denyRelay("\(recipient.domain) is not a local domain")
        }
        if recipient.isPostmaster { return .accept }
        if recipient.localPart.contains(where: { $0 == "%" || $0 == "!" || $0 == "@" }) {
            return .denyRelay("sender-specified routing in \(recipient.localPart)")
        }
        return .accept
    }
}
