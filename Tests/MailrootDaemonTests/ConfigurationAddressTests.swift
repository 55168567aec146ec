// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import MailrootDaemon

@Suite struct ConfigurationAddressTests {
    @Test(arguments: [
        ("127.0.0.1", "127.0.0.1", 53),
        ("127.0.0.1:5353", "127.0.0.1", 5353),
        ("10.0.0.1", "10.0.0.1", 53),
        ("[::1]:53", "::1", 53),
        ("[::1]", "::1", 53),
        ("::1", "::1", 53),
        ("2001:db8::35", "2001:db8::35", 53),
        ("[2001:db8::35]:1053", "2001:db8::35", 1053),
    ])
    func nameServerAddressesParse(text: String, host: String, port: Int) throws {
        let server = try MailrootConfiguration.DNS.Server(parsing: text)
        #expect(server == .init(host: host, port: port))
    }

    @Test(arguments: [
        "", "ns1.example.com", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:53x",
        "[::1", "[::1]53", "[::1]:", "::1:53:", "[127.0.0.1]:53", "fe80::1%eth0", "256.0.0.1",
        "127.0.0.1:+53", "127.0.0.1: 53",
    ])
    func malformedNameServersAreRefused(text: String) {
        #expect(throws: ConfigurationProblem.self) { try MailrootConfiguration.DNS.Server(parsing: text) }
    }

    @Test(arguments: [
        ("example.com", "example.com"),
        ("Relay.Example.COM.", "relay.example.com"),
        ("localhost", "localhost"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("a-b.c0", "a-b.c0"),
    ])
    func domainNamesAreNormalised(text: String, expected: String) throws {
        #expect(try ConfigurationDomainName.normalized(text) == expected)
    }

    @Test(arguments: [
        "", ".", "a..b", "-a.example", "a-.example", "under_score.example", "bücher.example",
        "10.0.0.1", "a b.example", String(repeating: "a", count: 64) + ".example",
        String(repeating: "abcdefghi.", count: 26),
    ])
    func invalidDomainNamesAreRefused(text: String) {
        #expect(throws: ConfigurationProblem.self) { try ConfigurationDomainName.normalized(text) }
    }

    @Test func resolvConfNameserversBecomeTheDefaultServers() {
        let servers = ConfigurationSystem.parseResolvConf("""
            # generated
            search example.com
            nameserver 192.0.2.1
            nameserver\t2001:db8::53
            nameserver fe80::1%eth0
            ; nameserver 192.0.2.9
            options ndots:2
            """)
        #expect(servers == [.init(host: "192.0.2.1", port: 53), .init(host: "2001:db8::53", port: 53)])
    }

    @Test func aMissingResolvConfFallsBackToLocalhost() {
        let servers = ConfigurationSystem.resolvConfServers(path: "/nonexistent/resolv.conf")
        #expect(servers == [.init(host: "127.0.0.1", port: 53)])
    }

    @Test func pathsAreMadeAbsoluteLexically() {
        #expect(ConfigurationSystem.absolutePath("mailroot", relativeTo: "/srv") == "/srv/mailroot")
        #expect(ConfigurationSystem.absolutePath("/var//spool/./m/", relativeTo: "/srv") == "/var/spool/m")
        #expect(ConfigurationSystem.absolutePath("../../..", relativeTo: "/a") == "/")
    }
}
