// SPDX-License-Identifier: Apache-2.0
import DNSResolver
import Logging
import NIOCore
import SMTPServer
import ServiceLifecycle

/// The `[smtp]` table and the top-level keys it shares, as the listener's own configuration;
/// nil when no listen, submission or submissions address is configured. With `resolver`, the
/// client's forward-confirmed reverse name goes into `Received:`.
func smtpServerConfiguration(_ configuration: MailrootConfiguration,
                             resolver: MXResolver? = nil) -> SMTPServerConfiguration? {
    let smtp = configuration.smtp
    guard !smtp.listen.isEmpty || !smtp.submission.isEmpty || !smtp.submissions.isEmpty else { return nil }
    var tls: SMTPServerConfiguration.TLSFiles?
    if let certificate = smtp.tlsCertificate, let key = smtp.tlsKey {
        tls = .init(certificateChainPath: certificate, privateKeyPath: key)
    }
    var server = SMTPServerConfiguration(
        listen: smtp.listen, hostname: configuration.hostname, maximumMessageSize: configuration.maxMessageSize,
        relayNetworks: smtp.relayNetworks, localDomains: Set(configuration.localDomains),
        maximumRecipients: smtp.maxRecipients, maximumConnections: smtp.maxConnections,
        maximumConnectionsPerIP: smtp.maxConnectionsPerIP, idleTimeout: smtp.idleTimeout, tls: tls,
        submission: smtp.submission, submissions: smtp.submissions, users: smtp.users)
    server.receivedShowsAuthenticatedUser = smtp.receivedAuthenticatedUser
    if let resolver {
        // A DNS failure is recorded like a missing or unconfirmed name: address only (Postfix's "unknown").
        server.reverseLookup = { address in (try? await resolver.reverseName(of: address)) ?? nil }
    }
    return server
}

/// The addresses, with their ports, that reach our own listener: an MX that resolves to one of
/// them would hand the message straight back to us, so delivery treats it as a mail loop (5.4.6)
/// instead of relaying to itself until `max_received_headers` stops it. Only the exact
/// address and port count: another loopback address, or our address on another port, is a
/// different server (the tests run their fake MX hosts on 127.0.x.y:25).
///
/// A wildcard listener is reachable at every address of every interface of its family, so each
/// of those is "self" on that port (`[::]` is bound IPv6-only, beside any `0.0.0.0`).
func selfAddresses(of listen: [SMTPServerConfiguration.ListenAddress],
                   interfaces: () -> [SocketAddress] = interfaceAddresses) -> Set<SocketAddress> {
    var result = Set<SocketAddress>()
    for address in listen {
        guard let bound = try? SocketAddress(ipAddress: address.host, port: address.port) else { continue }
        let wildcardV4 = address.host == "0.0.0.0"
        let wildcardV6 = bound.protocol == .inet6 && bound.ipAddress.map { $0 == "::" } == true
        guard wildcardV4 || wildcardV6 else {
            result.insert(bound)
            continue
        }
        for interface in interfaces() {
            guard interface.protocol == (wildcardV6 ? .inet6 : .inet) else { continue }
            guard let ip = interface.ipAddress, let withPort = try? SocketAddress(ipAddress: ip, port: address.port) else { continue }
            result.insert(withPort)
        }
    }
    return result
}

/// Every IPv4 and IPv6 address of this machine's interfaces; empty if they cannot be listed
/// (then only a named listen address is recognised as self, and the hostname check remains).
func interfaceAddresses() -> [SocketAddress] {
    ((try? System.enumerateDevices()) ?? []).compactMap { device in
        guard let address = device.address, address.protocol == .inet || address.protocol == .inet6 else { return nil }
        return address
    }
}

/// Runs the `SMTPServer` and logs once its sockets are bound, with what an administrator checks
/// first: where it listens, who may relay, whether STARTTLS is offered.
struct SMTPListenerService: Service {
    let server: SMTPServer
    let logger: Logger

    func run() async throws {
        // Child tasks inherit the graceful-shutdown context, so SIGTERM reaches `server.run()`.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            group.addTask {
                let addresses = try await server.listeningAddresses()
                let configuration = server.configuration
                let listening = addresses.map { Self.describe($0) }.joined(separator: ", ")
                let relay = configuration.relayNetworks.map(\.description).joined(separator: ", ")
                let tls = configuration.tls == nil ? "STARTTLS not offered" : "STARTTLS offered"
                let auth = configuration.users.isEmpty ? "no AUTH" : "AUTH for \(configuration.users.count) user(s)"
                logger.info("smtp: listening on \(listening); relay for \(relay.isEmpty ? "nobody" : relay); \(tls); \(auth)")
            }
            try await group.waitForAll()
        }
    }

    /// `127.0.0.1:2525`, `[::1]:2525`: the form `listen` is written in.
    static func describe(_ address: SocketAddress) -> String {
        guard let ip = address.ipAddress, let port = address.port else { return "\(address)" }
        return address.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}
