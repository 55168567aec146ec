// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailrootTestSupport
import Testing

/// `mailroot badmail list|show` after the daemon refused a pickup file, and `mailroot check`.
@Suite struct BadmailAndCheckTests {
    /// A config for a mailroot whose DNS servers are `servers` (host:port strings).
    static func instance(servers: [String], extra: String = "") throws -> MailrootInstance {
        try MailrootInstance(config: """
            hostname = "mx.check.test"
            \(extra)
            [pickup]
            scan_interval = "1s"
            [dns]
            servers = [\(servers.map { "\"\($0)\"" }.joined(separator: ", "))]
            timeout = "1s"
            """, label: "checkcmd")
    }

    static func run(_ arguments: [String], _ mailroot: MailrootInstance) async throws -> CommandRun {
        try await CommandRun.mailroot(arguments + ["--config", mailroot.configPath], in: mailroot.directory)
    }

    @Test func badmailListAndShowDescribeARefusedPickupFileWithoutPassingEscapes() async throws {
        let dns = try await Dnsmasq(records: [])
        let mailroot = try Self.instance(servers: ["127.0.0.1:\(dns.port)"])
        try await mailroot.start()
        // No From: and no x-sender: the daemon cannot know who sent it. The ESC sequence would
        // retitle an xterm if printed raw.
        try mailroot.dropIntoPickup("To: bob@localhost\nSubject: refused\nX-Evil: \u{1B}]0;pwned\u{07}\n\nbody\n", name: "refused.eml")
        let files = try await mailroot.waitForFiles(in: mailroot.badmail, count: 2)
        let name = try #require(files.first { $0.hasSuffix(".bad") }).replacingOccurrences(of: ".bad", with: "")

        let list = try await Self.run(["badmail", "list"], mailroot)
        #expect(list.status == 0, "\(list.stderr)")
        let line = try #require(list.stdout.split(separator: "\n").first { $0.hasPrefix(name) })
        #expect(line.contains("refused.eml"))
        #expect(line.contains("5."), "status code shown: \(line)")
        #expect(list.stdout.contains("-- 1 badmail entry"))

        let show = try await Self.run(["badmail", "show", "\(name).bad"], mailroot)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("Original-File: refused.eml"))
        #expect(show.stdout.contains("Reason: "))
        #expect(show.stdout.contains("  Subject: refused"))
        #expect(show.stdout.contains("X-Evil: \\x1B]0;pwned\\x07"))
        #expect(!show.stdout.contains("\u{1B}"))
        #expect(!show.stdout.contains("body"))

        let missing = try await Self.run(["badmail", "show", "../queue/lock"], mailroot)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no badmail entry"))
    }

    @Test func checkPassesOnAGoodConfigWhileServeRunsAndPrintsEveryKey() async throws {
        let dns = try await Dnsmasq(records: [])
        let mailroot = try Self.instance(servers: ["127.0.0.1:\(dns.port)"])
        try await mailroot.start()
        let result = try await Self.run(["check"], mailroot)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("ok: dns server 127.0.0.1:\(dns.port) answered MX check.test"))
        #expect(result.stdout.contains("ok: queue/ "))
        #expect(result.stdout.contains("ok: pickup/ "))
        #expect(result.stdout.hasSuffix("mailroot check: ok\n"))
        for key in ["root", "hostname", "local_domains", "max_message_size", "max_received_headers",
                    "pickup.dot_stuffed", "pickup.scan_interval", "pickup.memory_budget", "dns.servers", "dns.timeout",
                    "delivery.port", "delivery.retry", "delivery.expire", "delivery.max_connections",
                    "delivery.max_connections_per_domain", "delivery.connection_cache_time",
                    "delivery.max_recipients_per_transaction",
                    "delivery.opportunistic_tls", "delivery.connect_timeout", "delivery.greeting_timeout",
                    "delivery.command_timeout", "delivery.data_timeout", "smtp.listen", "smtp.relay_networks",
                    "smtp.tls_certificate", "smtp.tls_key", "smtp.max_recipients", "smtp.max_connections",
                    "smtp.max_connections_per_ip", "smtp.idle_timeout", "log.level", "log.format"] {
            #expect(result.stdout.contains("\n\(key) = "), "missing \(key)")
        }
        #expect(result.stdout.contains("dns.timeout = \"1s\""))
        // Keys found by reflection must not repeat ones printed by name (a misspelt name would).
        let keys = result.stdout.split(separator: "\n").compactMap { line in line.range(of: " = ").map { String(line[..<$0.lowerBound]) } }
        #expect(Set(keys).count == keys.count, "\(keys)")
    }

    @Test func checkShowsWhoMayLogInButNeverTheirPasswordHashes() async throws {
        let dns = try await Dnsmasq(records: [])
        // Made with `mailroot passwd`; the hash itself must never be printed.
        let hash = "$pbkdf2-sha256$i=210000$rtwotReUiiukz9vRp8eRIw==$iscjwh5MfLIrA/ssa5D9nE7Q+KqYjzt5+r2NkmXHFTk="
        let mailroot = try MailrootInstance(config: """
            hostname = "mx.check.test"
            [dns]
            servers = ["127.0.0.1:\(dns.port)"]
            timeout = "1s"
            [smtp]
            listen = []
            [[smtp.users]]
            name = "alice"
            password_hash = "\(hash)"
            """, label: "checkcmd")
        let result = try await Self.run(["check"], mailroot)
        #expect(result.stdout.contains("smtp.users = {\"alice\" = ***}"), "\(result.stdout)\n\(result.stderr)")
        #expect(!result.stdout.contains("pbkdf2") && !result.stderr.contains("pbkdf2"))
        #expect(!result.stdout.contains("iscjwh5M"))
    }

    @Test func checkPrintsTheDKIMRecordToPublishAndNeverTheKey() async throws {
        let dns = try await Dnsmasq(records: [])
        let keys = try TemporaryDirectory("check-dkim")
        let key = try await DKIMPeer.makeKey(.ed25519, in: keys)
        // The expected p= from openssl, not from our code: an Ed25519 SubjectPublicKeyInfo ends
        // with the 32 key bytes (RFC 8410).
        let publicDER = keys.file("public.der")
        let openssl = try ChildProcess("openssl", ["pkey", "-in", key, "-pubout", "-outform", "DER", "-out", publicDER],
                                       logPath: keys.file("openssl.log"))
        #expect(await openssl.waitForExit() == 0, "\(openssl.output)")
        let publicKey = Data(try Data(contentsOf: URL(fileURLWithPath: publicDER)).suffix(32)).base64EncodedString()
        let mailroot = try Self.instance(servers: ["127.0.0.1:\(dns.port)"], extra: """
            [[dkim]]
            domain = "example.com"
            selector = "mail2026"
            private_key = "\(key)"
            """)
        let result = try await Self.run(["check"], mailroot)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("dkim = [{ domain = \"example.com\", selector = \"mail2026\", private_key = \"\(key)\" }]"),
                "\(result.stdout)")
        #expect(result.stdout.contains("ok: dkim: mail from example.com is signed with ed25519-sha256 (selector mail2026); "
            + "publish this TXT record at mail2026._domainkey.example.com: \"v=DKIM1; k=ed25519; p=\(publicKey)\""), "\(result.stdout)")
        let pem = try String(contentsOfFile: key, encoding: .utf8)
        let secret = try #require(pem.split(separator: "\n").first { !$0.hasPrefix("-----") })
        #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret))
    }

    @Test func checkFailsNamingADNSServerThatDoesNotAnswer() async throws {
        let dns = try await Dnsmasq(records: [])
        let silentPort = try freePort(host: "127.0.80.2", udp: true)
        let silent = "127.0.80.2:\(silentPort)"
        let mailroot = try Self.instance(servers: ["127.0.0.1:\(dns.port)", silent])
        let result = try await Self.run(["check"], mailroot)
        #expect(result.status == 1)
        #expect(result.stdout.contains("ok: dns server 127.0.0.1:\(dns.port)"))
        #expect(result.stdout.contains("error: dns server \(silent) "))
        #expect(result.stderr.contains("dns server \(silent)"))
    }

    @Test func checkFailsOnAConfigErrorNamingTheKey() async throws {
        let mailroot = try Self.instance(servers: ["127.0.0.1:53"], extra: "max_mesage_size = \"10MB\"")
        let result = try await Self.run(["check"], mailroot)
        #expect(result.status != 0)
        #expect(result.stderr.contains("max_mesage_size"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test func checkFailsWhenTheQueueIsReadableByOthers() async throws {
        let dns = try await Dnsmasq(records: [])
        let mailroot = try Self.instance(servers: ["127.0.0.1:\(dns.port)"])
        for folder in ["pickup", "queue", "badmail", "drop"] {
            try FileManager.default.createDirectory(atPath: "\(mailroot.root)/\(folder)", withIntermediateDirectories: true)
        }
        chmod(mailroot.queue, 0o755)
        let result = try await Self.run(["check"], mailroot)
        #expect(result.status == 1)
        #expect(result.stdout.contains("error: queue/ \(mailroot.queue) has mode 755"), "\(result.stdout)")
    }
}
