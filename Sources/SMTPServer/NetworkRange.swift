// SPDX-License-Identifier: Apache-2.0
import NIOCore

/// One CIDR block of `relay_networks`, e.g. `127.0.0.0/8` or `::1/128`. An IPv4-mapped IPv6
/// client (`::ffff:127.0.0.1`, as a dual-stack `[::]` listener reports IPv4 peers) is matched
/// against IPv4 blocks as its IPv4 address, so one rule covers both listeners.
public struct NetworkRange: Sendable, Hashable, CustomStringConvertible {
    /// The network address: 4 or 16 octets.
    public let address: [UInt8]
    public let prefixLength: Int

    /// Parses `address/prefix` or a bare address (a host route). Nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let octets = Self.octets(String(parts[0])) else { return nil }
        let maximum = octets.count * 8
        if parts.count == 2 {
            guard let prefix = Int(parts[1]), (0...maximum).contains(prefix), parts[1].allSatisfy(\.isASCII) else { return nil }
            prefixLength = prefix
        } else {
            prefixLength = maximum
        }
        address = Self.masked(octets, prefixLength)
    }

    public var description: String {
        let text = (try? SocketAddress(packedIPAddress: ByteBuffer(bytes: address), port: 0).ipAddress) ?? nil
        return "\(text ?? "?")/\(prefixLength)"
    }

    public func contains(_ socketAddress: SocketAddress) -> Bool {
        guard let ip = socketAddress.ipAddress, var octets = Self.octets(ip) else { return false }
        if octets.count == 16, address.count == 4, octets.prefix(12) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] {
            octets = Array(octets.suffix(4))
        }
        guard octets.count == address.count else { return false }
        return Self.masked(octets, prefixLength) == address
    }

    private static func octets(_ ip: String) -> [UInt8]? {
        guard let parsed = try? SocketAddress(ipAddress: ip, port: 0) else { return nil }
        switch parsed {
        case .v4(let v4):
            return withUnsafeBytes(of: v4.address.sin_addr) { Array($0) }
        case .v6(let v6):
            return withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
        case .unixDomainSocket:
            return nil
        }
    }

    private static func masked(_ octets: [UInt8], _ prefix: Int) -> [UInt8] {
        octets.enumerated().map { index, octet in
            let bits = max(0, min(8, prefix - index * 8))
            return bits == 0 ? 0 : octet & ~UInt8((1 << (8 - bits)) - 1)
        }
    }
}
