// SPDX-License-Identifier: Apache-2.0
@testable import DNSResolver
import Testing

/// The codec alone, with hand-built and hostile packets: no sockets.
@Suite struct DNSMessageTests {
    static let header: [UInt8] = [0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]

    /// alpha.test MX, answered with `mx1.alpha.test` written as "mx1" + pointer to offset 12.
    static let compressedMXAnswer: [UInt8] = header
        + [5] + Array("alpha".utf8) + [4] + Array("test".utf8) + [0, 0, 15, 0, 1]
        + [0xC0, 12, 0, 15, 0, 1, 0, 0, 0x0E, 0x10, 0, 8, 0, 10, 3] + Array("mx1".utf8) + [0xC0, 12]

    @Test func compressedNamesAreExpanded() throws {
        let message = try DNSMessage(decoding: Self.compressedMXAnswer)
        #expect(message.header.id == 0x1234)
        #expect(message.header.isResponse && message.header.recursionDesired && message.header.recursionAvailable)
        #expect(message.questions == [DNSMessage.Question(name: "alpha.test", type: .mx)])
        #expect(message.answers == [DNSMessage.ResourceRecord(name: "alpha.test", type: .mx, ttl: 3600,
                                                               data: .mx(preference: 10, exchange: "mx1.alpha.test"))])
    }

    @Test func encodedMessagesDecodeToTheSameValue() throws {
        var header = DNSMessage.Header(id: 7)
        header.isResponse = true
        header.isTruncated = true
        header.isAuthoritative = true
        header.rcode = 3
        let soa = DNSMessage.StartOfAuthority(primaryServer: "ns.test", mailbox: "root.test", serial: 1,
                                              refresh: 2, retry: 3, expire: 4, minimum: 5)
        let message = DNSMessage(
            header: header, questions: [.init(name: "x.test", type: .aaaa)],
            answers: [.init(name: "x.test", type: .cname, ttl: 1, data: .cname("y.test")),
                      .init(name: "y.test", type: .a, ttl: 2, data: .a([127, 0, 0, 1])),
                      .init(name: "y.test", type: .aaaa, ttl: 3, data: .aaaa(Array(repeating: 0, count: 15) + [1])),
                      .init(name: "y.test", type: .mx, ttl: 4, data: .mx(preference: 0, exchange: "")),
                      .init(name: "y.test", type: .txt, ttl: 5, data: .other([3, 97, 98, 99]))],
            authorities: [.init(name: "test", type: .soa, ttl: 6, data: .soa(soa))])
        #expect(try DNSMessage(decoding: message.encoded()) == message)
    }

    @Test func queryCarriesRecursionDesiredAndAnEDNSPayloadSize() throws {
        let bytes = DNSMessage.query(id: 0xBEEF, name: "alpha.test", type: .mx).encoded()
        #expect(Array(bytes[0..<12]) == [0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1])
        // OPT: root name, type 41, class = 1232 (0x04D0), TTL 0, RDLENGTH 0 (RFC 6891 §6.1.2).
        #expect(Array(bytes.suffix(11)) == [0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0])
    }

    @Test func extendedRcodeFromOPTIsIncluded() throws {
        var header = DNSMessage.Header(id: 1)
        header.isResponse = true
        let message = DNSMessage(header: header, additionals: [.init(name: "", type: .opt, recordClass: 1232,
                                                                      ttl: 1 << 24, data: .other([]))])
        #expect(try DNSMessage(decoding: message.encoded()).rcode == 16)
    }

    static func withAnswerName(_ name: [UInt8]) -> [UInt8] {
        header + [1, 97, 0, 0, 15, 0, 1] + name + [0, 15, 0, 1, 0, 0, 0, 1, 0, 3, 0, 1, 0]
    }

    @Test(arguments: [
        ("pointer to itself", [0xC0, 19] as [UInt8]),
        ("pointer forwards", [0xC0, 40]),
        ("pointer past the end", [0xFF, 0xFF]),
        ("truncated pointer", [0xC0]),
        ("two pointers forming a loop", [1, 98, 0xC0, 19]),
        ("extended label type", [0x41, 0]),
        ("label past the end", [60, 97]),
    ])
    func hostileNamesAreMalformedNotFatal(_ label: String, name: [UInt8]) {
        #expect(throws: DNSError.self, "\(label)") { try DNSMessage(decoding: Self.withAnswerName(name)) }
    }

    @Test func pointerLoopThroughEarlierLabelsIsRefused() {
        // Offset 12: "a" then a pointer back to 12 — would repeat "a.a.a…" forever.
        let bytes = Self.header + [1, 97, 0xC0, 12, 0, 15, 0, 1]
        #expect(throws: DNSError.self) { try DNSMessage(decoding: bytes) }
    }

    @Test func expandedNameOver255OctetsIsRefused() {
        // 5 labels of 63 octets = 320 octets on the wire.
        let label: [UInt8] = [63] + Array(repeating: 97, count: 63)
        let long: [UInt8] = Array(repeating: label, count: 5).flatMap { $0 } + [0]
        #expect(throws: DNSError.self) { try DNSMessage(decoding: Self.header + long + [0, 15, 0, 1]) }
    }

    @Test func rdataLengthThatDisagreesWithContentsIsRefused() {
        var bytes = Self.compressedMXAnswer
        bytes[bytes.count - 9] = 10  // RDLENGTH 8 → 10
        #expect(throws: DNSError.self) { try DNSMessage(decoding: bytes + [0, 0]) }
        var wrongAddress = Self.header + [1, 97, 0, 0, 1, 0, 1, 0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 3, 1, 2, 3]
        #expect(throws: DNSError.self) { try DNSMessage(decoding: wrongAddress) }
        wrongAddress[wrongAddress.count - 4] = 4
        #expect(throws: DNSError.self) { try DNSMessage(decoding: wrongAddress) }
    }

    @Test func oddBytesInLabelsAreEscaped() throws {
        let bytes = Self.header + [3, 0x61, 0x2E, 0x0A, 0, 0, 15, 0, 1] + [0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 1, 0, 2, 0xC0, 12]
        let message = try DNSMessage(decoding: bytes)
        #expect(message.questions.first?.name == "a\\046\\010")
    }

    @Test func everyPrefixOfAValidMessageFailsCleanly() {
        let full = Self.compressedMXAnswer
        for length in 0..<full.count {
            #expect(throws: DNSError.self, "prefix \(length)") { try DNSMessage(decoding: Array(full.prefix(length))) }
        }
    }

    /// Random packets and random mutations of a valid one: decoding may succeed or throw, but must
    /// never trap or hang. Seeded, so a failure can be replayed.
    @Test func randomAndMutatedPacketsNeverCrash() {
        var random = SplitMix64(seed: 0x6d61_696c_726f_6f74)
        for _ in 0..<20_000 {
            let length = Int(random.next() % 600)
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            _ = try? DNSMessage(decoding: bytes)
            _ = try? DNSMessage.decodeHeaderAndQuestions(bytes)
        }
        for _ in 0..<20_000 {
            var bytes = Self.compressedMXAnswer
            for _ in 0..<(1 + random.next() % 4) {
                bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
            }
            if let message = try? DNSMessage(decoding: bytes) {
                _ = message.encoded()
            }
        }
    }

    @Test(arguments: [("Example.COM.", "example.com"), ("mx-1.example.com", "mx-1.example.com"),
                      ("_dmarc.example", "_dmarc.example"), ("\(String(repeating: "a", count: 63)).x", "\(String(repeating: "a", count: 63)).x")])
    func namesAreNormalised(_ input: String, _ expected: String) throws {
        #expect(try DNSName.normalize(input) == expected)
    }

    @Test func resolvConfNameserversAreRead() {
        let text = "# comment\nsearch example.com\nnameserver 192.0.2.1\nnameserver\t2001:db8::1\nnameserver fe80::1%eth0\n;nameserver 192.0.2.9\n"
        let servers = DNSConfiguration.parseResolvConf(text)
        #expect(servers.map(\.ipAddress) == ["192.0.2.1", "2001:db8::1"])
        #expect(servers.map(\.port) == [53, 53])
        #expect(DNSConfiguration.systemServers(resolvConf: "/nonexistent/resolv.conf").map(\.port) == [53])
    }
}

/// A small deterministic generator (Steele et al., "Fast splittable pseudorandom number generators").
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
