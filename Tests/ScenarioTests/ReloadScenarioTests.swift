// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import MailrootTestSupport
import Testing

/// SIGHUP (README "Reloading the configuration"): the real daemon reads its file again and
/// applies it to new sessions without dropping open ones; a broken file changes nothing.
@Suite(.serialized) struct ReloadScenarioTests {
    /// Replaces `old` by `new` in the scenario's config file, sends SIGHUP, and waits for the log
    /// line that says how the reload went.
    static func edit(_ scenario: Scenario, replacing old: String, with new: String, expect logLine: String) async throws {
        let path = scenario.mailroot.configPath
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try #require(text.contains(old), "the config has no \(old)")
        try text.replacingOccurrences(of: old, with: new).write(toFile: path, atomically: true, encoding: .utf8)
        scenario.mailroot.send(SIGHUP)
        try await scenario.mailroot.waitForLog(containing: logLine)
    }

    @Test func newRelayNetworksApplyToTheNextSessionAndAnOpenSessionKeepsItsOwn() async throws {
        let port = try freePort()
        let mx = try await ListenerMX(name: "mx.remote.test")
        defer { mx.server.stop() }
        let scenario = try await ListenerScenarioTests.world(listen: port, records: mx.records(for: "remote.test"),
                                                            smtp: "relay_networks = [\"127.0.0.1/32\"]")
        // A session from 127.0.0.5 opened before the reload, paused after MAIL until "go" exists.
        let go = scenario.mailroot.directory.file("go")
        let open = try ChildProcess("python3", ["-u", "-c", Self.pausedClient, String(port), go],
                                    logPath: scenario.mailroot.directory.file("paused-client.log"))
        try await open.waitForOutput(containing: "PAUSED")

        let before = try await smtplib(port: port, source: "127.0.0.5", from: "app@example.com",
                                       to: ["friend@remote.test"], in: scenario)
        #expect(before.rcpt[0].code == 554, "\(before.rcpt)")

        try await Self.edit(scenario, replacing: "relay_networks = [\"127.0.0.1/32\"]",
                            with: "relay_networks = [\"127.0.0.0/24\"]", expect: "reload: applied smtp.relay_networks")

        let after = try await smtplib(port: port, source: "127.0.0.5", from: "app@example.com",
                                      to: ["friend@remote.test"], in: scenario)
        #expect(after.rcpt[0].code == 250, "\(after.rcpt)")
        #expect(after.data?.code == 250)
        let received = try await mx.server.waitForMessages(count: 1)
        #expect(received[0].recipients == ["friend@remote.test"])

        // The paused session is still connected and still under the rules it started with.
        _ = FileManager.default.createFile(atPath: go, contents: nil)
        #expect(await open.waitForExit() == 0, "\(open.output)")
        #expect(open.output.contains("RCPT 554"), "\(open.output)")
        #expect(open.output.contains("QUIT 221"), "\(open.output)")
    }

    @Test func aBrokenConfigIsRefusedAndTheRunningOneStays() async throws {
        let port = try freePort()
        let mx = try await ListenerMX(name: "mx.remote.test")
        defer { mx.server.stop() }
        let scenario = try await ListenerScenarioTests.world(listen: port, records: mx.records(for: "remote.test"),
                                                            smtp: "relay_networks = [\"127.0.0.1/32\"]")
        try await Self.edit(scenario, replacing: "relay_networks = [\"127.0.0.1/32\"]",
                            with: "relay_netwroks = [\"127.0.0.0/24\"]",
                            expect: "reload: refused, the running configuration stays in effect:")
        #expect(scenario.mailroot.log.contains("relay_netwroks"), "the log names the bad key")
        let stranger = try await smtplib(port: port, source: "127.0.0.5", from: "app@example.com",
                                         to: ["friend@remote.test"], in: scenario)
        #expect(stranger.rcpt[0].code == 554, "the old relay_networks still apply: \(stranger.rcpt)")
        let trusted = try await smtplib(port: port, from: "app@example.com", to: ["friend@remote.test"], in: scenario)
        #expect(trusted.data?.code == 250)
        _ = try await mx.server.waitForMessages(count: 1)
    }

    @Test func aRenewedCertificateIsServedAfterSIGHUPAndABrokenKeyKeepsTheOldOne() async throws {
        let port = try freePort()
        let directory = try TemporaryDirectory("reload-tls")
        let old = try await makeSelfSignedCertificate(commonName: "old.test", in: directory)
        let scenario = try await ListenerScenarioTests.world(listen: port, smtp: """
            tls_certificate = "\(old.certificate)"
            tls_key = "\(old.key)"
            """)
        #expect(try await Self.certificateName(port: port, in: directory) == "old.test")

        // Renewal as certbot does it: new files moved over the configured paths.
        let renewedDirectory = try TemporaryDirectory("reload-tls-new")
        let renewed = try await makeSelfSignedCertificate(commonName: "new.test", in: renewedDirectory)
        try #require(rename(renewed.certificate, old.certificate) == 0 && rename(renewed.key, old.key) == 0)
        scenario.mailroot.send(SIGHUP)
        try await scenario.mailroot.waitForLog(containing: "reload: no setting changed (TLS certificate and key read again)")
        #expect(try await Self.certificateName(port: port, in: directory) == "new.test")

        try "not a key".write(toFile: old.key, atomically: true, encoding: .utf8)
        scenario.mailroot.send(SIGHUP)
        try await scenario.mailroot.waitForLog(containing: "reload: refused, the running configuration stays in effect: smtp.tls_certificate")
        #expect(try await Self.certificateName(port: port, in: directory) == "new.test")
    }

    @Test func logLevelChangesAtSIGHUPUnlessGivenOnTheCommandLine() async throws {
        let directory = try TemporaryDirectory("reload-log")
        let config = directory.file("mailroot.toml")
        let text = """
            root = "\(directory.file("root"))"
            hostname = "mailroot.test"
            [smtp]
            listen = []
            [dns]
            servers = ["127.0.0.1:1"]
            [log]
            level = "warning"

            """
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let serve = try ChildProcess(MailrootInstance.binaryPath, ["serve", "--config", config], logPath: directory.file("serve.log"))
        defer { serve.stop() }
        // At "warning" start-up says nothing; the control socket shows it is serving.
        let deadline = ContinuousClock.now + .seconds(20)
        while !FileManager.default.fileExists(atPath: directory.file("root/queue/control.sock")), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        func drop(_ name: String) async throws {
            try "From: a@localhost\nTo: b@localhost\nSubject: \(name)\n\nbody\n".write(toFile: directory.file("root/pickup/\(name)"), atomically: true, encoding: .utf8)
        }
        try await drop("quiet.eml")
        let first = try await waitForFileCount(directory.file("root/drop"), 1)
        #expect(first == 1)
        #expect(!serve.output.contains("pickup file=quiet.eml"), "info lines are not logged at warning: \(serve.output)")

        try text.replacingOccurrences(of: "level = \"warning\"", with: "level = \"info\"").write(toFile: config, atomically: true, encoding: .utf8)
        kill(serve.pid, SIGHUP)
        try await serve.waitForOutput(containing: "reload: applied log.level")
        try await drop("loud.eml")
        try await serve.waitForOutput(containing: "pickup file=loud.eml")
    }

    /// Waits until `folder` holds `count` files; returns how many it holds.
    func waitForFileCount(_ folder: String, _ count: Int) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            if files.count >= count { return files.count }
            try await Task.sleep(for: .milliseconds(20))
        }
        return 0
    }

    /// The subject CN of the certificate the listener presents after STARTTLS (openssl s_client).
    static func certificateName(port: Int, in directory: TemporaryDirectory) async throws -> String? {
        let run = try await runClient("openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-starttls", "smtp",
                                                  "-servername", "mailroot.test"], in: directory)
        let line = run.output.split(separator: "\n").first { $0.hasPrefix("subject=") }
        guard let line, let range = line.range(of: "CN") else { return nil }
        return line[range.upperBound...].trimmingCharacters(in: CharacterSet(charactersIn: " ="))
    }

    /// Connects from 127.0.0.5, EHLO and MAIL, prints PAUSED, waits for the file argv[2], then
    /// tries a relay RCPT and QUIT, printing each reply code.
    static let pausedClient = #"""
        import os, smtplib, sys, time
        s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="paused.example",
                         source_address=("127.0.0.5", 0), timeout=30)
        s.ehlo()
        print("MAIL", s.mail("app@example.com")[0])
        print("PAUSED", flush=True)
        while not os.path.exists(sys.argv[2]):
            time.sleep(0.02)
        print("RCPT", s.rcpt("friend@remote.test")[0])
        print("QUIT", s.quit()[0])
        """#
}
