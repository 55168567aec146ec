// SPDX-License-Identifier: Apache-2.0
import DNSResolver
import MailMessage
import NIOCore

/// One host to try for a domain, in order.
struct MailExchanger: Sendable, Equatable {
    var name: String
    var preference: Int
    /// Set for address literals (`user@[192.0.2.1]`): no DNS lookup for this host.
    var literalAddress: String?
}

/// Why a domain has no usable route. Carries what the sender will read in a bounce.
struct RouteFailure: Error, Sendable {
    var status: EnhancedStatusCode
    var reason: String
    var result: RecipientResult {
        status.isPermanent ? .permanent(status: status, reply: reason) : .transient(status: status, reply: reason)
    }
}

/// Turns a recipient domain into the ordered list of hosts to try (RFC 5321 §5.1, RFC 7505).
struct RoutePlanner: Sendable {
    let resolver: MXResolver
    let hostname: String

    func mailExchangers(for domain: String) async -> Result<[MailExchanger], RouteFailure> {
        if domain.hasPrefix("[") {
            return addressLiteral(domain)
        }
        let records: [MXRecord]
        do {
            records = try await resolver.mxRecords(for: domain)
        } catch {
            return .failure(Self.failure(for: error, name: domain, type: "MX"))
        }
        // RFC 7505 §3: a single MX "." of preference 0 says the domain accepts no mail at all.
        if records.contains(where: { $0.exchange.isEmpty }) {
            return .failure(RouteFailure(status: .nullMX, reason: "domain \(domain) does not accept mail (null MX)"))
        }
        // RFC 5321 §5.1: no MX records → the domain itself is the one host (implicit MX).
        if records.isEmpty {
            return .success([MailExchanger(name: domain, preference: 0)])
        }
        return Self.ordered(records, ourName: hostname)
    }

    /// Sorted by preference with equal preferences shuffled (§5.1 "randomize"); if we are one of the
    /// exchangers, only the ones more preferred than us remain, and none left is a mail loop.
    static func ordered(_ records: [MXRecord], ourName: String) -> Result<[MailExchanger], RouteFailure> {
        var hosts = records.shuffled()
            .sorted { $0.preference < $1.preference }
            .map { MailExchanger(name: $0.exchange, preference: Int($0.preference)) }
        if let ours = hosts.first(where: { $0.name == ourName }) {
            hosts.removeAll { $0.preference >= ours.preference }
            if hosts.isEmpty {
                return .failure(RouteFailure(status: .routingLoop, reason: "mail for the domain loops back to myself (\(ourName) is its best MX)"))
            }
        }
        return .success(hosts)
    }

    private func addressLiteral(_ domain: String) -> Result<[MailExchanger], RouteFailure> {
        var inner = String(domain.dropFirst().dropLast())
        if inner.lowercased().hasPrefix("ipv6:") { inner = String(inner.dropFirst(5)) }
        guard (try? SocketAddress(ipAddress: inner, port: 25)) != nil else {
            return .failure(RouteFailure(status: .badDestinationSystem, reason: "invalid address literal \(domain)"))
        }
        return .success([MailExchanger(name: domain, preference: 0, literalAddress: inner)])
    }

    /// NXDOMAIN is final (5.1.2); everything else about DNS may heal (4.4.3), so it is retried.
    static func failure(for error: DNSError, name: String, type: String) -> RouteFailure {
        switch error {
        case .nameDoesNotExist:
            return RouteFailure(status: .badDestinationSystem, reason: "Host or domain name not found. Name service error for name=\(name) type=\(type): Host not found")
        default:
            return RouteFailure(status: .directoryServerFailure, reason: "Name service error for name=\(name) type=\(type): \(error)")
        }
    }
}
