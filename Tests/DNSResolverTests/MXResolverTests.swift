// SPDX-License-Identifier: Apache-2.0
import DNSResolver
import MailrootTestSupport
import NIOCore
import Testing

/// Lookups against a real dnsmasq on loopback, and against scripted servers for failures.
@Suite struct MXResolverTests {
    static func resolver(_ servers: [SocketAddress], timeout: TimeAmount = .seconds(2), attempts: Int = 2,
                         cache: Bool = false) -> MXResolver {
        MXResolver(configuration: DNSConfiguration(servers: servers, timeout: timeout,
                                                   attemptsPerServer: attempts, cacheEnabled: cache))
    }

    static let zone: [Dnsmasq.Record] = [
        .mx("alpha.test", host: "mx2.alpha.test", preference: 20),
        .mx("alpha.test", host: "MX1.Alpha.test", preference: 10),
        .host("mx1.alpha.test", addresses: ["127.0.0.2"]),
        .host("only-a.test", addresses: ["127.0.0.3"]),
        .host("dual.test", addresses: ["127.0.0.4", "::1"]),
        .nullMX("nullmx.test"),
        .cname("alias.test", target: "alpha.test"),
        .cname("www.test", target: "only-a.test"),
    ]

    @Test func twoMXRecordsComeBackSortedByPreferenceAndLowerCased() async throws {
        let dns = try await Dnsmasq(records: Self.zone)
        let mx = try await Self.resolver([dns.address]).mxRecords(for: "Alpha.Test.")
        #expect(mx.map(\.exchange) == ["mx1.alpha.test", "mx2.alpha.test"], "log:\n\(dns.log)")
        #expect(mx.map(\.preference) == [10, 20])
    }

    @Test func domainWithOnlyAnAddressHasNoMXButHasItsAddress() async throws {
        let dns = try await Dnsmasq(records: Self.zone)
        let resolver = Self.resolver([dns.address])
        #expect(try await resolver.mxRecords(for: "only-a.test") == [])
        #expect(try await resolver.addresses(of: "only-a.test", port: 25) == [try SocketAddress(ipAddress: "127.0.0.3", port: 25)])
    }

    @Test func hostWithIPv4AndIPv6ReturnsBothIPv4First() async throws {
        let dns = try await Dnsmasq(records: Self.zone)
        let addresses = try await Self.resolver([dns.address]).addresses(of: "dual.test", port: 2525)
        #expect(addresses == [try SocketAddress(ipAddress: "127.0.0.4", port: 2525), try SocketAddress(ipAddress: "::1", port: 2525)])
    }

    @Test func nullMXIsPreferenceZeroWithEmptyExchange() async throws {
        let dns = try await Dnsmasq(records: Self.zone)
        let mx = try await Self.resolver([dns.address]).mxRecords(for: "nullmx.test")
        #expect(mx.count == 1)
        #expect(mx.first?.preference == 0)
        #expect(mx.first?.exchange == "")
        #expect(mx.first?.isNullMX == true)
    }

    @Test func nonexistentDomainThrowsNameDoesNotExist() async throws {
        let dns = try await Dnsmasq(records: Self.zone)
        let resolver = Self.resolver([dns.address])
        await #expect(throws: DNSError.nameDoesNotExist("nowhere.test")) { try await resolver.mxRecords(for: "nowhere.test") }
        await #expect(throws: DNSError.nameDoesNotExist("nowhere.test")) { try await resolver.addresses(of: "nowhere.test", port: 25) }
    }

    @Test func cnameToAnMXDomainIsFollowed() async throws {
        let dns = try await Dnsmasq(records: Self.zone)
        let resolver = Self.resolver([dns.address])
        #expect(try await resolver.mxRecords(for: "alias.test").map(\.exchange) == ["mx1.alpha.test", "mx2.alpha.test"])
        #expect(try await resolver.addresses(of: "www.test", port: 25) == [try SocketAddress(ipAddress: "127.0.0.3", port: 25)])
    }

    /// dnsmasq answers `alias.test A` with only the CNAME and no SOA: the target is asked for.
    @Test func cnameWhoseTargetRecordsAreMissingIsRequeried() async throws {
        let dns = try await Dnsmasq(records: Self.zone)
        #expect(try await Self.resolver([dns.address]).addresses(of: "alias.test", port: 25) == [])
        #expect(dns.log.contains("query[A] alpha.test"), "log:\n\(dns.log)")
    }

    /// 40 MX records with long, distinct names need ~3.4 kB: they cannot fit in one UDP answer
    /// (dnsmasq is also held to 512 octets), so getting all 40 proves the TCP path.
    @Test func truncatedAnswerIsFetchedAgainOverTCP() async throws {
        let long = String(repeating: "x", count: 55)
        let records = (1...40).map { Dnsmasq.Record.mx("big.test", host: "mx\($0)-\(long).big.test", preference: $0) }
        let dns = try await Dnsmasq(records: records, extraArguments: ["--edns-packet-max=512"])
        let resolver = Self.resolver([dns.address])
        let mx = try await resolver.mxRecords(for: "big.test")
        #expect(mx.count == 40)
        #expect(mx.first?.exchange == "mx1-\(long).big.test")
        #expect(resolver.tcpFallbackCount == 1)
    }

    @Test func serverThatNeverAnswersTimesOutWithinTheConfiguredTime() async throws {
        let silent = try await FakeDNSServer { _ in [] }
        let resolver = Self.resolver([silent.address], timeout: .milliseconds(300), attempts: 1)
        let clock = ContinuousClock()
        let start = clock.now
        await #expect(throws: DNSError.timeout("alpha.test")) { try await resolver.mxRecords(for: "alpha.test") }
        let elapsed = clock.now - start
        #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(5), "took \(elapsed)")
        #expect(silent.queryCount == 1)
    }

    @Test func attemptsPerServerRetriesASilentServer() async throws {
        let silent = try await FakeDNSServer { _ in [] }
        let resolver = Self.resolver([silent.address], timeout: .milliseconds(100), attempts: 3)
        await #expect(throws: DNSError.timeout("alpha.test")) { try await resolver.mxRecords(for: "alpha.test") }
        #expect(silent.queryCount == 3)
    }

    @Test(arguments: [UInt8(2), 4, 5])
    func failureRcodeFromEveryServerThrowsServerFailure(rcode: UInt8) async throws {
        let failing = try await FakeDNSServer { [FakeDNSServer.response(to: $0, rcode: rcode)] }
        let resolver = Self.resolver([failing.address])
        await #expect(throws: DNSError.serverFailure(name: "alpha.test", rcode: Int(rcode))) {
            try await resolver.mxRecords(for: "alpha.test")
        }
        #expect(failing.queryCount == 1, "a server that answered SERVFAIL is not asked again")
    }

    @Test func secondServerIsUsedWhenTheFirstFails() async throws {
        let dns = try await Dnsmasq(records: Self.zone)
        let failing = try await FakeDNSServer { [FakeDNSServer.response(to: $0, rcode: 2)] }
        let silent = try await FakeDNSServer { _ in [] }
        let afterFailure = Self.resolver([failing.address, dns.address])
        #expect(try await afterFailure.mxRecords(for: "alpha.test").count == 2)
        #expect(failing.queryCount == 1)
        let afterSilence = Self.resolver([silent.address, dns.address], timeout: .milliseconds(200))
        #expect(try await afterSilence.mxRecords(for: "alpha.test").count == 2)
        #expect(silent.queryCount == 1)
    }

    @Test func spoofedAnswersWithWrongIDOrQuestionAreIgnored() async throws {
        let server = try await FakeDNSServer { query in
            let evil = DNSMessage.ResourceRecord(name: "alpha.test", type: .mx, ttl: 60, data: .mx(preference: 1, exchange: "evil.example"))
            let good = DNSMessage.ResourceRecord(name: "alpha.test", type: .mx, ttl: 60, data: .mx(preference: 1, exchange: "good.example"))
            var otherQuestion = query
            otherQuestion.questions[0].name = "beta.test"
            return [
                FakeDNSServer.response(to: query, answers: [evil], id: query.header.id &+ 1),
                FakeDNSServer.response(to: otherQuestion, answers: [evil]),
                FakeDNSServer.response(to: query, rcode: 3, id: query.header.id ^ 0x8000),
                [0xde, 0xad],
                FakeDNSServer.response(to: query, answers: [good]),
            ]
        }
        let mx = try await Self.resolver([server.address]).mxRecords(for: "ALPHA.test")
        #expect(mx.map(\.exchange) == ["good.example"])
    }

    @Test func onlyASpoofedAnswerEndsInTimeout() async throws {
        let server = try await FakeDNSServer { [FakeDNSServer.response(to: $0, rcode: 3, id: $0.header.id &+ 1)] }
        let resolver = Self.resolver([server.address], timeout: .milliseconds(200), attempts: 1)
        await #expect(throws: DNSError.timeout("alpha.test")) { try await resolver.mxRecords(for: "alpha.test") }
    }

    @Test func queriesAskForRecursionAndAdvertiseEDNS() async throws {
        let server = try await FakeDNSServer { [FakeDNSServer.response(to: $0)] }
        #expect(try await Self.resolver([server.address]).mxRecords(for: "alpha.test") == [])
        let query = try #require(server.queries.first)
        #expect(query.header.recursionDesired)
        #expect(query.questions == [DNSMessage.Question(name: "alpha.test", type: .mx)])
        #expect(query.additionals.first?.type == .opt)
        #expect(query.additionals.first?.recordClass == 1232)
    }

    @Test func cnameLoopIsAMalformedResponse() async throws {
        let server = try await FakeDNSServer { query in
            let loop = [DNSMessage.ResourceRecord(name: "a.test", type: .cname, ttl: 60, data: .cname("b.test")),
                        DNSMessage.ResourceRecord(name: "b.test", type: .cname, ttl: 60, data: .cname("a.test"))]
            return [FakeDNSServer.response(to: query, answers: loop)]
        }
        await #expect(throws: DNSError.malformedResponse("a.test: CNAME loop at a.test")) {
            try await Self.resolver([server.address]).mxRecords(for: "a.test")
        }
    }

    @Test func cnameChainLongerThanEightHopsIsRefused() async throws {
        let server = try await FakeDNSServer { query in
            let chain = (0..<10).map { DNSMessage.ResourceRecord(name: "c\($0).test", type: .cname, ttl: 60, data: .cname("c\($0 + 1).test")) }
            return [FakeDNSServer.response(to: query, answers: chain)]
        }
        await #expect(throws: DNSError.malformedResponse("c0.test: more than 8 CNAME hops")) {
            try await Self.resolver([server.address]).mxRecords(for: "c0.test")
        }
    }

    @Test func answerThatMatchesButDoesNotParseIsMalformed() async throws {
        let server = try await FakeDNSServer { query in
            var bytes = FakeDNSServer.response(to: query)
            bytes[7] = 1  // claims one answer record that is not there
            return [bytes]
        }
        await #expect(throws: DNSError.self) { try await Self.resolver([server.address]).mxRecords(for: "alpha.test") }
        do {
            _ = try await Self.resolver([server.address]).mxRecords(for: "alpha.test")
        } catch {
            guard case .malformedResponse = error else { Issue.record("got: \(error), want: malformedResponse"); return }
        }
    }

    @Test(arguments: ["", ".", "a..test", "a/b.test", "\(String(repeating: "a", count: 64)).test",
                      Array(repeating: "abcdefghi", count: 26).joined(separator: "."), "bad name.test", "caf\u{e9}.test", "a\r\nb.test"])
    func invalidNamesAreRefusedBeforeAnyQuery(name: String) async throws {
        let server = try await FakeDNSServer { [FakeDNSServer.response(to: $0)] }
        let resolver = Self.resolver([server.address])
        await #expect(throws: DNSError.self) { try await resolver.mxRecords(for: name) }
        await #expect(throws: DNSError.self) { try await resolver.addresses(of: name, port: 25) }
        #expect(server.queryCount == 0)
    }

    @Test func positiveAndNegativeAnswersAreCachedByTTL() async throws {
        let server = try await FakeDNSServer { query in
            if query.questions[0].name == "gone.test" {
                let soa = DNSMessage.StartOfAuthority(primaryServer: "ns.test", mailbox: "root.test", serial: 1,
                                                      refresh: 60, retry: 60, expire: 60, minimum: 30)
                return [FakeDNSServer.response(to: query, rcode: 3, authorities: [
                    DNSMessage.ResourceRecord(name: "test", type: .soa, ttl: 600, data: .soa(soa))])]
            }
            let mx = DNSMessage.ResourceRecord(name: "alpha.test", type: .mx, ttl: 60, data: .mx(preference: 5, exchange: "mx.test"))
            return [FakeDNSServer.response(to: query, answers: [mx])]
        }
        let cached = Self.resolver([server.address], cache: true)
        for _ in 0..<3 {
            #expect(try await cached.mxRecords(for: "alpha.test").first?.exchange == "mx.test")
            await #expect(throws: DNSError.nameDoesNotExist("gone.test")) { try await cached.mxRecords(for: "gone.test") }
        }
        #expect(server.queryCount == 2)
        let uncached = Self.resolver([server.address], cache: false)
        _ = try await uncached.mxRecords(for: "alpha.test")
        _ = try await uncached.mxRecords(for: "alpha.test")
        #expect(server.queryCount == 4)
    }
}
