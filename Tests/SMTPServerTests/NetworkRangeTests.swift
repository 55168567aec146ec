// SPDX-License-Identifier: Apache-2.0
import NIOCore
import SMTPServer
import Testing

@Test(arguments: [
    ("127.0.0.0/8", "127.1.2.3", true),
    ("127.0.0.1/32", "127.0.0.5", false),
    ("127.0.0.1", "127.0.0.1", true),
    ("10.0.0.0/9", "10.127.255.255", true),
    ("10.0.0.0/9", "10.128.0.0", false),
    ("0.0.0.0/0", "192.0.2.1", true),
    ("::1/128", "::1", true),
    ("::1/128", "127.0.0.1", false),
    ("2001:db8::/32", "2001:db8:ffff::1", true),
    ("2001:db8::/32", "2001:db9::1", false),
    ("127.0.0.0/8", "::ffff:127.0.0.1", true),
])
func relayNetworksMatchByPrefix(range: String, address: String, inside: Bool) throws {
    let network = try #require(NetworkRange(range))
    #expect(network.contains(try SocketAddress(ipAddress: address, port: 25)) == inside)
}

@Test(arguments: ["", "127.0.0.1/33", "::1/129", "example.org/8", "127.0.0.1/", "127.0.0.1/8/8", "1.2.3.4/-1"])
func malformedNetworksAreRejected(text: String) {
    #expect(NetworkRange(text) == nil)
}
