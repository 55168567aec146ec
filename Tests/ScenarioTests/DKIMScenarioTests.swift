// SPDX-License-Identifier: Apache-2.0
import DKIM
import Foundation
import Glibc
import MailrootTestSupport
import Testing

/// DKIM signing end to end: the real daemon relays to a fake MX, and dkimpy verifies what the MX
/// received byte for byte, with the public key of the key file the config names.
@Suite(.serialized) struct DKIMScenarioTests {
    static func dkimSettings(_ entries: [(domain: String, selector: String, key: String)]) -> String {
        entries.map { "[[dkim]]\ndomain = \"\($0.domain)\"\nselector = \"\($0.selector)\"\nprivate_key = \"\($0.key)\"\n" }
            .joined(separator: "\n")
    }

    static func received(_ messages: [SMTPTestServer.ReceivedMessage], subject: String) throws -> [UInt8] {
        try #require(messages.first { $0.text.contains("Subject: \(subject)\r\n") }, "no message \(subject)").data
    }

    @Test func mailFromASigningDomainLeavesSignedAndOtherMailDoesNot() async throws {
        let keys = try TemporaryDirectory("dkim-scenario-keys")
        let ed = try await DKIMPeer.makeKey(.ed25519, in: keys)
        let rsa = try await DKIMPeer.makeKey(.rsa2048, in: keys)
        let mx = try await FakeMX(name: "mx.dest.test", port: Scenario.mxPort)
        defer { mx.server.stop() }
        let scenario = try await Scenario(port: Scenario.mxPort, records: mx.records(for: "dest.test"),
                                          settings: Self.dkimSettings([("example.com", "ed1", ed), ("example.org", "rsa1", rsa)]),
                                          label: "dkim")
        try await scenario.mailroot.start()
        // Two recipients in one domain, one local: a single signed transaction, and a drop.
        try scenario.mailroot.dropIntoPickup(mail(from: "Alice <alice@Example.COM>", to: ["bob@dest.test", "bea@dest.test", "local@localhost"],
                                              subject: "ed25519", body: "Trailing spaces  \n\n.a dot line\n\n\n"))
        try scenario.mailroot.dropIntoPickup(mail(from: "carol@example.org", to: ["dave@dest.test"], subject: "rsa"))
        try scenario.mailroot.dropIntoPickup(mail(from: "erin@unsigned.test", to: ["frank@dest.test"], subject: "other domain"))
        try scenario.mailroot.dropIntoPickup(mail(from: "gina@sub.example.com", to: ["hal@dest.test"], subject: "subdomain"))
        let messages = try await mx.server.waitForMessages(count: 4)

        let edKey = try DKIMKey(contentsOfFile: ed), rsaKey = try DKIMKey(contentsOfFile: rsa)
        let signedByEd = try Self.received(messages, subject: "ed25519")
        var verdict = try await DKIMPeer.verify(signedByEd, recordName: "ed1._domainkey.example.com", record: edKey.dnsRecord, in: keys)
        #expect(verdict.passed, "\(verdict.output)\n\(String(decoding: signedByEd, as: UTF8.self))")
        #expect(String(decoding: signedByEd, as: UTF8.self).hasPrefix("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; s=ed1;"))
        let signedByRSA = try Self.received(messages, subject: "rsa")
        verdict = try await DKIMPeer.verify(signedByRSA, recordName: "rsa1._domainkey.example.org", record: rsaKey.dnsRecord, in: keys)
        #expect(verdict.passed, "\(verdict.output)")
        // Another key of the same kind fails: the verifier really checks. (dkimpy itself fails,
        // rather than reports, when the record's key type differs from the signature's.)
        let otherKeys = try TemporaryDirectory("dkim-other-key")
        let otherKey = try DKIMKey(contentsOfFile: try await DKIMPeer.makeKey(.ed25519, in: otherKeys))
        verdict = try await DKIMPeer.verify(signedByEd, recordName: "ed1._domainkey.example.com", record: otherKey.dnsRecord, in: keys)
        #expect(verdict.exitCode == 1, "\(verdict.output)")
        for subject in ["other domain", "subdomain"] {
            let unsigned = try Self.received(messages, subject: subject)
            verdict = try await DKIMPeer.verify(unsigned, recordName: "ed1._domainkey.example.com", record: edKey.dnsRecord, in: keys)
            #expect(verdict.exitCode == 2, "\(subject) was signed: \(verdict.output)")
        }
        // Local delivery is not signed; the log says what was.
        let drops = try await scenario.mailroot.waitForFiles(in: scenario.mailroot.drop, count: 1)
        let dropped = try scenario.read(scenario.mailroot.drop, drops[0])
        #expect(!String(decoding: dropped, as: UTF8.self).contains("DKIM-Signature"))
        #expect(scenario.mailroot.log.contains("DKIM-Signature added (d=example.com, s=ed1)"), "\(scenario.mailroot.log)")
        #expect(scenario.mailroot.log.contains("DKIM-Signature added (d=example.org, s=rsa1)"))
    }

    @Test func aReplacedKeyIsUsedAfterSIGHUPAndABrokenOneKeepsTheOld() async throws {
        let keys = try TemporaryDirectory("dkim-reload-keys")
        let path = try await DKIMPeer.makeKey(.ed25519, in: keys)
        let oldKey = try DKIMKey(contentsOfFile: path)
        let mx = try await FakeMX(name: "mx.dest.test", port: Scenario.mxPort)
        defer { mx.server.stop() }
        let scenario = try await Scenario(port: Scenario.mxPort, records: mx.records(for: "dest.test"),
                                          settings: Self.dkimSettings([("example.com", "s1", path)]), label: "dkim-reload")
        try await scenario.mailroot.start()
        let name = "s1._domainkey.example.com"
        try scenario.mailroot.dropIntoPickup(mail(from: "a@example.com", to: ["b@dest.test"], subject: "before"))
        var messages = try await mx.server.waitForMessages(count: 1)
        var verdict = try await DKIMPeer.verify(try Self.received(messages, subject: "before"), recordName: name, record: oldKey.dnsRecord, in: keys)
        #expect(verdict.passed, "\(verdict.output)")

        // Key rotation: a new file moved over the configured path, then SIGHUP.
        let newKeys = try TemporaryDirectory("dkim-reload-new")
        let newPath = try await DKIMPeer.makeKey(.ed25519, in: newKeys)
        let newKey = try DKIMKey(contentsOfFile: newPath)
        try #require(rename(newPath, path) == 0)
        scenario.mailroot.send(SIGHUP)
        try await scenario.mailroot.waitForLog(containing: "reload: applied dkim")
        try scenario.mailroot.dropIntoPickup(mail(from: "a@example.com", to: ["b@dest.test"], subject: "after"))
        messages = try await mx.server.waitForMessages(count: 2)
        let after = try Self.received(messages, subject: "after")
        verdict = try await DKIMPeer.verify(after, recordName: name, record: newKey.dnsRecord, in: keys)
        #expect(verdict.passed, "\(verdict.output)")
        verdict = try await DKIMPeer.verify(after, recordName: name, record: oldKey.dnsRecord, in: keys)
        #expect(verdict.exitCode == 1, "\(verdict.output)")

        try "not a key".write(toFile: path, atomically: true, encoding: .utf8)
        scenario.mailroot.send(SIGHUP)
        try await scenario.mailroot.waitForLog(containing: "reload: refused, the running configuration stays in effect:")
        try scenario.mailroot.dropIntoPickup(mail(from: "a@example.com", to: ["b@dest.test"], subject: "refused"))
        messages = try await mx.server.waitForMessages(count: 3)
        verdict = try await DKIMPeer.verify(try Self.received(messages, subject: "refused"), recordName: name,
                                            record: newKey.dnsRecord, in: keys)
        #expect(verdict.passed, "\(verdict.output)")
    }
}
