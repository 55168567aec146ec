// SPDX-License-Identifier: Apache-2.0
import DNSResolver
import MailrootTestSupport
import NIOCore
import Testing

/// PTR lookups with forward confirmation, against a real dnsmasq on loopback.
@Suite struct ReverseLookupTests {
    /// `--local` makes dnsmasq answer NXDOMAIN for reverse names it has no PTR for, instead of
    /// REFUSED (it has no upstream to forward them to).
    static let arguments = [
        "--local=/127.in-addr.arpa/", "--local=/ip6.arpa/",
        "--ptr-record=5.0.0.127.in-addr.arpa,client.test",
        "--ptr-record=6.0.0.127.in-addr.arpa,liar.test",
        "--ptr-record=7.0.0.127.in-addr.arpa,nowhere.test",
        "--ptr-record=1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa,six.test",
    ]
    static let records: [Dnsmasq.Record] = [
        .host("client.test", addresses: ["127.0.0.5"]),
        // liar.test exists but does not point back to 127.0.0.6.
        .host("liar.test", addresses: ["127.0.0.9"]),
        .host("six.test", addresses: ["::1"]),
    ]

    static func resolver(_ dns: Dnsmasq) -> MXResolver {
        MXResolver(configuration: DNSConfiguration(servers: [dns.address], timeout: .seconds(2), cacheEnabled: false))
    }

    @Test func ptrWhoseNameResolvesBackIsReturned() async throws {
        let dns = try await Dnsmasq(records: Self.records, extraArguments: Self.arguments)
        let name = try await Self.resolver(dns).reverseName(of: try SocketAddress(ipAddress: "127.0.0.5", port: 40000))
        #expect(name == "client.test", "log:\n\(dns.log)")
        #expect(dns.log.contains("query[PTR] 5.0.0.127.in-addr.arpa"), "log:\n\(dns.log)")
    }

    @Test func ptrWhoseNameResolvesElsewhereIsNil() async throws {
        let dns = try await Dnsmasq(records: Self.records, extraArguments: Self.arguments)
        let name = try await Self.resolver(dns).reverseName(of: try SocketAddress(ipAddress: "127.0.0.6", port: 1))
        #expect(name == nil)
        // The forward lookup really happened: nil is the confirmation failing, not a skipped step.
        #expect(dns.log.contains("query[A] liar.test"), "log:\n\(dns.log)")
    }

    @Test func ptrWhoseNameDoesNotExistIsNil() async throws {
        let dns = try await Dnsmasq(records: Self.records, extraArguments: Self.arguments)
        let name = try await Self.resolver(dns).reverseName(of: try SocketAddress(ipAddress: "127.0.0.7", port: 1))
        #expect(name == nil)
        #expect(dns.log.contains("query[A] nowhere.test"), "log:\n\(dns.log)")
    }

    @Test func addressWithoutPTRIsNil() async throws {
        let dns = try await Dnsmasq(records: Self.records, extraArguments: Self.arguments)
        let name = try await Self.resolver(dns).reverseName(of: try SocketAddress(ipAddress: "127.0.0.8", port: 1))
        #expect(name == nil)
        #expect(dns.log.contains("query[PTR] 8.0.0.127.in-addr.arpa"), "log:\n\(dns.log)")
    }

    @Test func ipv6AddressIsLookedUpUnderIP6Arpa() async throws {
        let dns = try await Dnsmasq(records: Self.records, extraArguments: Self.arguments)
        let name = try await Self.resolver(dns).reverseName(of: try SocketAddress(ipAddress: "::1", port: 1))
        #expect(name == "six.test", "log:\n\(dns.log)")
    }

    @Test func serverFailureOnThePTRQueryIsThrownNotNil() async throws {
        let failing = try await FakeDNSServer { [FakeDNSServer.response(to: $0, rcode: 2)] }
        let resolver = MXResolver(configuration: DNSConfiguration(servers: [failing.address], timeout: .seconds(2)))
        await #expect(throws: DNSError.serverFailure(name: "5.0.0.127.in-addr.arpa", rcode: 2)) {
            try await resolver.reverseName(of: try SocketAddress(ipAddress: "127.0.0.5", port: 1))
        }
    }

    /// RFC 1035 §4.1.4: the PTR target may end in a pointer into the question.
    @Test func compressedPTRTargetIsDecoded() throws {
        var bytes: [UInt8] = [0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]
        for label in ["5", "0", "0", "127", "in-addr", "arpa"] { bytes += [UInt8(label.utf8.count)] + Array(label.utf8) }
        bytes += [0, 0, 12, 0, 1]
        // Answer: name → question (offset 12); RDATA "client" + pointer to "in-addr.arpa" (offset 22).
        bytes += [0xC0, 12, 0, 12, 0, 1, 0, 0, 0x0E, 0x10, 0, 9, 6] + Array("client".utf8) + [0xC0, 22]
        let message = try DNSMessage(decoding: bytes)
        #expect(message.answers.first?.data == .ptr("client.in-addr.arpa"))
        #expect(message.answers.first?.type == .ptr)
    }

    /// A PTR target with bytes outside hostname characters (here a CR LF) is never queried or returned.
    @Test func ptrTargetWithHostileBytesIsIgnored() async throws {
        let server = try await FakeDNSServer { query in
            let answer = DNSMessage.ResourceRecord(name: query.questions[0].name, type: .ptr, ttl: 60,
                                                   data: .ptr("evil\r\n.test"))
            return [FakeDNSServer.response(to: query, answers: query.questions[0].type == .ptr ? [answer] : [])]
        }
        let resolver = MXResolver(configuration: DNSConfiguration(servers: [server.address], timeout: .seconds(2)))
        #expect(try await resolver.reverseName(of: try SocketAddress(ipAddress: "127.0.0.5", port: 1)) == nil)
        #expect(server.queries.map(\.questions[0].type) == [.ptr])
    }
}
