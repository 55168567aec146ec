// SPDX-License-Identifier: Apache-2.0
import NIOCore
import NIOSSL
import SMTPProtocol

/// The start of a conversation: greeting, EHLO (HELO fallback), opportunistic STARTTLS and the
/// EHLO after it (RFC 5321 §4.1.1.1, §3.1; RFC 3207 §4.2).
struct Handshake: Sendable {
    var greeting: SMTPReply
    var capabilities: ESMTPCapabilities
    var tlsDescription: String?

    static func run(_ wire: SMTPWire, serverName: String, configuration: SMTPClientConfiguration) async throws(SMTPClientError) -> Handshake {
        let timeouts = configuration.timeouts
        let greeting = try await wire.read(.greeting, timeout: timeouts.greeting)
        guard greeting.code == 220 else {
            // RFC 5321 §3.1: after a 554 greeting the server waits for QUIT.
            _ = try? await wire.command(.quit, .quit, timeout: timeouts.quit)
            throw .greetingRejected(greeting)
        }
        var capabilities = try await hello(wire, configuration: configuration)
        var tlsDescription: String?
        if configuration.opportunisticTLS && capabilities.startTLS {
            let context = try makeTLSContext()
            let reply = try await wire.startTLS(context: context, serverHostname: sniName(serverName), timeout: timeouts.startTLS)
            if reply.code == 220 {
                // Everything learnt before TLS is forgotten (RFC 3207 §4.2): only the new EHLO counts.
                capabilities = try await hello(wire, configuration: configuration, afterTLS: true)
                tlsDescription = await wire.tlsDescription() ?? "TLS"
            } else {
                // The session state is unchanged by a refused STARTTLS (RFC 3207 §4); opportunistic
                // TLS carries on in plaintext, as Postfix's `may` level does.
                wire.logger.info("STARTTLS refused, continuing without TLS", metadata: ["smtp.reply": "\(reply)"])
            }
        }
        return Handshake(greeting: greeting, capabilities: capabilities, tlsDescription: tlsDescription)
    }

    /// EHLO; HELO when EHLO is refused with 5xx (a pre-ESMTP server, RFC 5321 §4.1.4).
    private static func hello(_ wire: SMTPWire, configuration: SMTPClientConfiguration,
                              afterTLS: Bool = false) async throws(SMTPClientError) -> ESMTPCapabilities {
        let timeout = configuration.timeouts.ehlo
        let ehlo: SMTPReply
        do {
            ehlo = try await wire.command(.ehlo(configuration.heloName), .ehlo, timeout: timeout)
        } catch {
            // NIOSSL holds the EHLO until the handshake is done, so a close, a stall or a socket
            // error here is a TLS failure: the caller may retry without TLS.
            guard afterTLS else { throw error }
            switch error {
            case .connectionClosed, .timeout, .networkError: throw .tlsHandshakeFailed("\(error) after STARTTLS")
            default: throw error
            }
        }
        if ehlo.code == 250 { return ESMTPCapabilities(ehloReply: ehlo) }
        guard ehlo.isPermanent, !afterTLS else { throw .heloRejected(ehlo) }
        let helo = try await wire.command(.helo(configuration.heloName), .helo, timeout: timeout)
        guard helo.code == 250 else { throw .heloRejected(helo) }
        return .none
    }

    /// Opportunistic: no certificate verification (RFC 7435), TLS 1.2 at least (RFC 8996).
    private static func makeTLSContext() throws(SMTPClientError) -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        tls.minimumTLSVersion = .tlsv12
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw .tlsHandshakeFailed("cannot create TLS context: \(error)")
        }
    }

    /// SNI carries host names only (RFC 6066 §3): not IP addresses or address literals.
    static func sniName(_ serverName: String) -> String? {
        var name = serverName
        if name.hasSuffix(".") { name.removeLast() }
        guard !name.isEmpty, !name.hasPrefix("["), name.contains(where: \.isLetter),
              (try? SocketAddress(ipAddress: name, port: 0)) == nil else { return nil }
        return name
    }
}
