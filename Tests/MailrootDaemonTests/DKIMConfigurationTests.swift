// SPDX-License-Identifier: Apache-2.0
import MailrootTestSupport
import Testing
@testable import MailrootDaemon

/// `[[dkim]]`: each entry names an author domain, a selector and a PEM key, and the key is read
/// while the file is: a key that cannot sign stops start-up (and a reload) with the reason.
@Suite struct DKIMConfigurationTests {
    static func entry(domain: String = "example.com", selector: String = "mail2026", key: String) -> String {
        "[[dkim]]\ndomain = \"\(domain)\"\nselector = \"\(selector)\"\nprivate_key = \"\(key)\"\n"
    }

    @Test func entriesAreReadWithTheirKeysAndCarriedToDelivery() async throws {
        let directory = try TemporaryDirectory("dkim-config")
        let ed = try await DKIMPeer.makeKey(.ed25519, in: directory)
        let rsa = try await DKIMPeer.makeKey(.rsa2048, in: directory)
        let configuration = try parseConfiguration(Self.entry(domain: "Example.COM.", key: ed)
                                                   + Self.entry(domain: "example.org", selector: "Sel.2", key: rsa))
        #expect(configuration.dkim.map(\.domain) == ["example.com", "example.org"])
        #expect(configuration.dkim.map(\.selector) == ["mail2026", "sel.2"])
        #expect(configuration.dkim.map(\.key.algorithm.rawValue) == ["ed25519-sha256", "rsa-sha256"])
        #expect(configuration.dkim[0].recordName == "mail2026._domainkey.example.com")
        #expect(try parseConfiguration("").dkim.isEmpty)
    }

    @Test func aMissingOrUnusableKeyOrAMalformedEntryStopsStartUp() async throws {
        let directory = try TemporaryDirectory("dkim-config-bad")
        let ed = try await DKIMPeer.makeKey(.ed25519, in: directory)
        let short = try await DKIMPeer.makeKey(.rsa1024, in: directory)
        let cases: [(String, String)] = [
            (Self.entry(key: directory.file("missing.pem")), "missing.pem"),
            (Self.entry(key: short), "at least 2048 bits"),
            (Self.entry(selector: "bad selector", key: ed), "is not a selector"),
            (Self.entry(domain: "not a domain", key: ed), "not a valid domain name"),
            (Self.entry(key: ed) + Self.entry(key: ed), "listed twice"),
            ("[[dkim]]\ndomain = \"example.com\"\nprivate_key = \"\(ed)\"\n", "needs a selector"),
            ("[[dkim]]\ndomain = \"example.com\"\nselector = \"s\"\n", "needs a private_key"),
            (Self.entry(key: ed) + "algorithm = \"rsa\"\n", "algorithm"),
        ]
        for (text, expected) in cases {
            let error = try #require(configurationError(text), "accepted: \(text)")
            #expect(error.description.contains("dkim"), "\(error)")
            #expect(error.description.contains(expected), "\(error)")
        }
    }

    @Test func aChangedKeyIsAppliedByAReload() async throws {
        let directory = try TemporaryDirectory("dkim-config-reload")
        let first = try await DKIMPeer.makeKey(.ed25519, in: directory)
        let started = try parseConfiguration(Self.entry(key: first))
        let same = try parseConfiguration(Self.entry(key: first))
        #expect(ConfigurationChanges(inEffect: started, started: started, new: same).applied.isEmpty)
        let second = try await DKIMPeer.makeKey(.rsa2048, in: directory)
        let changed = try parseConfiguration(Self.entry(key: second))
        let changes = ConfigurationChanges(inEffect: started, started: started, new: changed)
        #expect(changes.applied == ["dkim"])
        #expect(changes.needRestart.isEmpty)
        #expect(ConfigurationChanges.inEffect(started: started, new: changed).dkim == changed.dkim)
    }
}
