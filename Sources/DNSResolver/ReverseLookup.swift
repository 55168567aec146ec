// SPDX-License-Identifier: Apache-2.0
import NIOCore

/// Reverse lookups (address → name) for trace fields and logs.
extension MXResolver {
    /// At most this many PTR names are forward-checked: an address may have several, but a hostile
    /// zone could list hundreds, and each costs two more queries.
    static let maximumPTRNamesChecked = 4

    /// The forward-confirmed name of `address`: a PTR name whose A/AAAA records contain the same
    /// address (FCrDNS), lower-cased, without the trailing dot. nil when there is no PTR (NXDOMAIN
    /// or NODATA) or no PTR name resolves back to `address`, which Postfix logs as "unknown".
    ///
    /// Unconfirmed names are discarded because whoever controls the reverse zone of an address can
    /// put any name there (say `mail.bank.example`); only the forward zone's owner can confirm it.
    /// Throws for SERVFAIL, timeouts and the like on the PTR query, so the caller can tell "no
    /// name" from "could not find out".
    public func reverseName(of address: SocketAddress) async throws(DNSError) -> String? {
        guard let ip = address.ipAddress, let query = Self.reverseQueryName(for: address) else { return nil }
        let records: [DNSMessage.ResourceRecord]
        do throws(DNSError) {
            records = try await resolve(query, type: .ptr)
        } catch {
            if case .nameDoesNotExist = error { return nil }
            throw error
        }
        let names = records.compactMap { record -> String? in
            guard case .ptr(let name) = record.data else { return nil }
            // A name with escaped (non-hostname) bytes fails here and is never looked up.
            return try? DNSName.normalize(name)
        }
        for name in names.prefix(Self.maximumPTRNamesChecked) {
            // Any failure of the forward lookup leaves the name unconfirmed, never "confirmed".
            guard let forward = try? await addresses(of: name, port: 0) else { continue }
            if forward.contains(where: { Self.sameIP($0, ip) }) { return name }
        }
        return nil
    }

    /// `5.0.0.127.in-addr.arpa` (RFC 1035 §3.5) or the 32 reversed nibbles under `ip6.arpa`
    /// (RFC 3596 §2.5); nil for a socket address that is not IPv4 or IPv6.
    static func reverseQueryName(for address: SocketAddress) -> String? {
        switch address {
        case .v4(let v4):
            let value = UInt32(bigEndian: v4.address.sin_addr.s_addr)
            let octets = [value & 0xFF, (value >> 8) & 0xFF, (value >> 16) & 0xFF, value >> 24]
            return octets.map(String.init).joined(separator: ".") + ".in-addr.arpa"
        case .v6(let v6):
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            let nibbles = bytes.reversed().flatMap { [$0 & 0x0F, $0 >> 4] }
            return nibbles.map { String($0, radix: 16) }.joined(separator: ".") + ".ip6.arpa"
        default:
            return nil
        }
    }

    /// Compares the IPs only (the ports differ); `SocketAddress.ipAddress` is the canonical text.
    private static func sameIP(_ address: SocketAddress, _ ip: String) -> Bool {
        address.ipAddress == ip
    }
}
