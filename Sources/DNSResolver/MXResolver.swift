// SPDX-License-Identifier: Apache-2.0
//
// SUMMARY
//   DNSResolver: an asynchronous DNS stub resolver over SwiftNIO for MX, A, AAAA and PTR lookups.
//
// DESCRIPTION
//   Hand-written because glibc's res_nquery blocks a thread, has whole-second timeouts and hides
//   the real RCODE, which decides bounce (NXDOMAIN) versus defer (SERVFAIL, timeout).
//   `MXResolver` sends a recursive query over UDP to each configured server in turn, repeats it
//   over TCP when the answer is truncated, follows CNAME chains (at most 8 hops), and caches
//   final answers by TTL. Answers keep three outcomes apart: records, NODATA (an empty array:
//   the name exists, use the implicit MX) and NXDOMAIN (`DNSError.nameDoesNotExist`).
//   `reverseName(of:)` returns a PTR name only once it resolves back to the same address (FCrDNS).
//   `DNSMessage` is the pure RFC 1035 codec beneath it. The module knows nothing about mail.
//
// SAFETY
//   Every received byte is bounds-checked; compression pointers may only point backwards and
//   names are limited to 255 octets, so hostile packets end in `.malformedResponse`, never a
//   crash or a hang. A packet is accepted only from the queried server's address, with our
//   random 16-bit ID, from a fresh random source port, and echoing our question; anything else
//   is ignored while we keep waiting for the real answer (RFC 5452). Names read off the wire
//   are lower-cased and escaped (`\DDD`), so they cannot smuggle control bytes into logs.
//   No call blocks an event loop.
//
// SEE ALSO
//   RFC 1035 (messages, §4.1.4 compression, §4.2.2 TCP), RFC 2308 (negative caching),
//   RFC 5452 (spoofing resilience), RFC 6891 (EDNS0), RFC 7766 (TCP), RFC 7505 (null MX),
//   RFC 3596 §2.5 (ip6.arpa),
//   RFC 5321 §5.1 (how the Delivery module uses these answers).

import NIOCore
import NIOPosix

/// One MX record (RFC 1035 §3.3.9).
public struct MXRecord: Sendable, Hashable {
    public var preference: UInt16
    /// Lower-cased, without the trailing dot; `""` for the root, i.e. a null MX (RFC 7505).
    public var exchange: String
    public var ttl: UInt32

    public init(preference: UInt16, exchange: String, ttl: UInt32) {
        (self.preference, self.exchange, self.ttl) = (preference, exchange, ttl)
    }

    /// RFC 7505 §3: a single MX of preference 0 whose exchange is the root means "no mail here".
    public var isNullMX: Bool { exchange.isEmpty }
}

/// Looks up what a mail relay needs: MX records and host addresses.
public final class MXResolver: Sendable {
    public let configuration: DNSConfiguration
    let transport: DNSTransport
    let cache: DNSCache?

    public init(configuration: DNSConfiguration,
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        transport = DNSTransport(group: eventLoopGroup)
        cache = configuration.cacheEnabled ? DNSCache(capacity: configuration.cacheCapacity) : nil
    }

    /// MX records of `domain` (CNAMEs followed), sorted by preference. An empty array means the
    /// name exists but has no MX (NODATA), and the caller uses the implicit MX (RFC 5321 §5.1).
    public func mxRecords(for domain: String) async throws(DNSError) -> [MXRecord] {
        let records = try await resolve(domain, type: .mx)
        let mx = records.compactMap { record -> MXRecord? in
            guard case .mx(let preference, let exchange) = record.data else { return nil }
            return MXRecord(preference: preference, exchange: DNSName.lowercased(exchange), ttl: record.ttl)
        }
        return mx.sorted { $0.preference < $1.preference }
    }

    /// A and AAAA addresses of `host`, queried concurrently (CNAMEs followed), IPv4 first.
    /// Empty means NODATA for both. NXDOMAIN for either throws: the name does not exist.
    ///
    /// When one family fails (SERVFAIL, timeout) and the other has addresses, those addresses are
    /// returned: some broken servers time out on AAAA only, and delivery should not stall on it.
    /// When one family fails and the other is empty, the failure is thrown, because "no
    /// addresses" would otherwise be taken as a permanent answer.
    public func addresses(of host: String, port: Int) async throws(DNSError) -> [SocketAddress] {
        let name = try DNSName.normalize(host)
        async let ipv4 = resolveResult(name, type: .a)
        async let ipv6 = resolveResult(name, type: .aaaa)
        let (v4, v6) = await (ipv4, ipv6)
        for result in [v4, v6] {
            if case .failure(.nameDoesNotExist) = result { throw .nameDoesNotExist(name) }
        }
        var addresses: [SocketAddress] = []
        for case .success(let records) in [v4, v6] {
            for record in records {
                switch record.data {
                case .a(let bytes), .aaaa(let bytes):
                    if let address = try? SocketAddress(packedIPAddress: ByteBuffer(bytes: bytes), port: port) {
                        addresses.append(address)
                    }
                default: continue
                }
            }
        }
        if addresses.isEmpty {
            if case .failure(let error) = v4 { throw error }
            if case .failure(let error) = v6 { throw error }
        }
        return addresses
    }

    /// How many answers were fetched over TCP after a truncated UDP answer.
    public var tcpFallbackCount: Int { transport.tcpFallbacks.withLock { $0 } }

    private func resolveResult(_ name: String, type: DNSRecordType) async -> Result<[DNSMessage.ResourceRecord], DNSError> {
        do throws(DNSError) {
            return .success(try await resolve(name, type: type))
        } catch {
            return .failure(error)
        }
    }
}
