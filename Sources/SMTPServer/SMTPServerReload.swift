// SPDX-License-Identifier: Apache-2.0
import NIOSSL

/// What a new session starts with: the configuration and what is built from it. Built whole
/// before it replaces the old, so a reload that fails (a certificate that does not load) changes
/// nothing.
struct LiveSettings: Sendable {
    var configuration: SMTPServerConfiguration
    var tlsContext: NIOSSLContext?
    var authenticator: Authenticator

    init(_ configuration: SMTPServerConfiguration, throttle: AuthenticationThrottle) throws(SMTPServerError) {
        self.configuration = configuration
        tlsContext = try configuration.tls.map(SMTPServer.makeTLSContext)
        if !configuration.submissions.isEmpty && tlsContext == nil {
            throw .tlsSetup("the submissions port (implicit TLS) needs a certificate and key")
        }
        authenticator = Authenticator(users: configuration.users, throttle: throttle)
    }
}

extension SMTPServer {
    /// Applies `new` to every session that starts from now on: TLS certificate and key (read
    /// again from disk even when the paths did not change — a renewed certificate is the usual
    /// reason for a reload), users, relay networks, local domains, the size, recipient,
    /// connection and idle limits. Open sessions go on with what they started with; nobody is
    /// disconnected. The sockets stay as bound: a change to `listen`, `submission` or
    /// `submissions` is ignored here (it needs a restart; the daemon says so). Throws, changing
    /// nothing, when the new TLS files cannot be loaded.
    public func reload(_ new: SMTPServerConfiguration) throws(SMTPServerError) {
        var accepted = new
        let current = configuration
        accepted.listen = current.listen
        accepted.submission = current.submission
        accepted.submissions = current.submissions
        let settings = try LiveSettings(accepted, throttle: authenticationThrottle)
        live.withLock { $0 = settings }
        limiter.setLimits(maximumTotal: accepted.maximumConnections, maximumPerAddress: accepted.maximumConnectionsPerIP)
        inboundMemory.setCapacity(accepted.inboundMemoryLimit)
    }
}
