// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailrootTestSupport
import Testing

/// The listener against Postfix, the MTA most likely to sit in front of it (README "The SMTP
/// listener"): Postfix's load generator `smtp-source` opening many sessions at once, and a real
/// Postfix instance relaying through mailroot the way `relayhost` + SASL is set up in practice
/// (STARTTLS required, AUTH PLAIN from the client side's Cyrus SASL). Loopback addresses
/// 127.0.90.x belong to these tests only.
@Suite struct PostfixInteropTests {
    /// 20 concurrent sessions, 200 messages: every one is acknowledged only after it is queued, so
    /// drop/ must end up with 200 distinct files and nothing may be refused or misfiled.
    @Test func smtpSourceWithManySessionsIsAllAccepted() async throws {
        let port = try freePort()
        // At the default max_connections_per_ip = 20: smtp-source reconnects the moment it reads
        // 221, so the slot must already be free by then (it is released before the 221 is sent).
        let scenario = try await ListenerScenarioTests.world(listen: port, smtp: "")
        let run = try await runClient("/usr/sbin/smtp-source", ["-s", "20", "-m", "200", "-c", "-f", "sender@example.test",
                                                                "-t", "you@localhost", "127.0.0.1:\(port)"],
                                      in: scenario.mailroot.directory)
        #expect(run.status == 0, "\(run.output)")

        let names = try await scenario.mailroot.waitForFiles(in: scenario.mailroot.drop, count: 200, timeout: .seconds(60))
        #expect(names.count == 200)
        // Drop files are named <queue ID>-<recipient index>.eml: one recipient each, so 200 IDs.
        let ids = Set(names.compactMap { $0.split(separator: "-").first.map(String.init) })
        #expect(ids.count == 200)
        #expect(scenario.mailroot.files(in: scenario.mailroot.badmail).isEmpty)
        let errors = scenario.mailroot.log.split(separator: "\n").filter { $0.localizedCaseInsensitiveContains("error") }
        #expect(errors.isEmpty, "\(errors)")
    }

    /// Postfix with `relayhost = [127.0.0.1]:port`, `smtp_tls_security_level = encrypt` and SASL:
    /// its client must negotiate TLS, log in as a `[[smtp.users]]` user, and be allowed to relay
    /// although 127.0.0.1 is outside `relay_networks`; the message reaches the remote MX.
    @Test func postfixRelaysIntoMailrootOverSTARTTLSWithAuth() async throws {
        let certificateDirectory = try TemporaryDirectory("postfix-cert")
        let (certificate, key) = try await makeSelfSignedCertificate(commonName: Scenario.hostname, in: certificateDirectory)
        let hash = try await SubmissionScenarioTests.passwd("pf-secret", in: certificateDirectory)
        let mx = try await SMTPTestServer(host: "127.0.90.10", port: Scenario.mxPort)
        defer { mx.stop() }
        let listen = try freePort()
        let scenario = try await Scenario.authenticatedListener(
            ports: "listen = [\"127.0.0.1:\(listen)\"]", relayNetworks: "127.0.0.2/32",
            certificate: certificate, key: key, passwordHash: hash, remoteMX: mx, label: "postfix-relay")
        try await scenario.mailroot.start()
        try await scenario.mailroot.waitForLog(containing: "smtp: listening on 127.0.0.1:\(listen)")

        let postfix = try PostfixInstance(relayhost: "[127.0.0.1]:\(listen)", user: "app1", password: "pf-secret")
        try await postfix.start()
        defer { postfix.stop() }
        try await postfix.sendmail(from: "a@example.test", to: "you@remote.test",
                                   message: "Subject: through postfix\n\nRelayed by Postfix.\n")

        let messages: [SMTPTestServer.ReceivedMessage]
        do {
            messages = try await mx.waitForMessages(count: 1, timeout: .seconds(60))
        } catch {
            Issue.record("--- postfix log ---\n\(postfix.log)\n--- mailroot log ---\n\(scenario.mailroot.log)")
            throw error
        }
        #expect(messages.first?.recipients == ["you@remote.test"])
        #expect(messages.first?.mailFrom == "a@example.test")
        let received = messages.first.map { headerFields(of: $0.data).filter { $0.name == "received" }.map(\.value) } ?? []
        #expect(received.contains { $0.contains("by \(Scenario.hostname)") && $0.contains("with ESMTPSA (TLSv1.") }, "\(received)")
        try await postfix.waitForLog(containing: "status=sent")
        #expect(postfix.log.contains("relay=127.0.0.1[127.0.0.1]:\(listen)"), "\(postfix.log)")
        #expect(scenario.mailroot.log.contains("client=smtp:[127.0.0.1]"), "\(scenario.mailroot.log)")
    }
}

/// A private Postfix (its own config, queue and log under a temporary directory) with no
/// listener: mail enters through its `sendmail` and leaves through its SMTP client to `relayhost`.
/// Daemons are not chrooted, so the queue directory is all they need.
final class PostfixInstance: @unchecked Sendable {
    let directory: TemporaryDirectory
    var config: String { directory.file("conf") }
    var logPath: String { directory.file("postfix.log") }
    private var started = false

    init(relayhost: String, user: String, password: String) throws {
        directory = try TemporaryDirectory("postfix")
        // Postfix's daemons run as `postfix` and must reach their queue under this root-owned directory.
        chmod(directory.path, 0o755)
        for folder in ["conf", "queue", "data"] {
            try FileManager.default.createDirectory(atPath: directory.file(folder), withIntermediateDirectories: true)
        }
        try "\(relayhost) \(user):\(password)\n".write(toFile: "\(config)/sasl_passwd", atomically: true, encoding: .utf8)
        try """
            compatibility_level = 3.6
            queue_directory = \(directory.file("queue"))
            data_directory = \(directory.file("data"))
            mail_owner = postfix
            myhostname = postfix.test
            mydomain = postfix.test
            myorigin = postfix.test
            mydestination =
            inet_interfaces = loopback-only
            inet_protocols = ipv4
            relayhost = \(relayhost)
            smtp_tls_security_level = encrypt
            smtp_sasl_auth_enable = yes
            smtp_sasl_password_maps = texthash:\(config)/sasl_passwd
            smtp_sasl_security_options = noanonymous
            maillog_file = \(logPath)
            maillog_file_prefixes = \(directory.path)
            alias_maps =
            alias_database =
            local_recipient_maps =

            """.write(toFile: "\(config)/main.cf", atomically: true, encoding: .utf8)
        try Self.masterCF.write(toFile: "\(config)/master.cf", atomically: true, encoding: .utf8)
    }

    deinit { stop() }

    /// Debian's master.cf without smtpd, the pipe transports and chroot.
    private static let masterCF = """
        pickup    unix  n       -       n       60      1       pickup
        cleanup   unix  n       -       n       -       0       cleanup
        qmgr      unix  n       -       n       300     1       qmgr
        tlsmgr    unix  -       -       n       1000?   1       tlsmgr
        rewrite   unix  -       -       n       -       -       trivial-rewrite
        bounce    unix  -       -       n       -       0       bounce
        defer     unix  -       -       n       -       0       bounce
        trace     unix  -       -       n       -       0       bounce
        verify    unix  -       -       n       -       1       verify
        flush     unix  n       -       n       1000?   0       flush
        proxymap  unix  -       -       n       -       -       proxymap
        smtp      unix  -       -       n       -       -       smtp
        relay     unix  -       -       n       -       -       smtp
        showq     unix  n       -       n       -       -       showq
        error     unix  -       -       n       -       -       error
        retry     unix  -       -       n       -       -       error
        discard   unix  -       -       n       -       -       discard
        anvil     unix  -       -       n       -       1       anvil
        scache    unix  -       -       n       -       1       scache
        postlog   unix-dgram n  -       n       -       1       postlogd

        """

    /// `set-permissions` creates the queue folders with their owners, `check` verifies, `start` starts master.
    func start() async throws {
        for command in ["set-permissions", "check", "start"] {
            let run = try await runClient("/usr/sbin/postfix", ["-c", config, command], in: directory)
            try #require(run.status == 0, "postfix \(command) failed: \(run.output)\n\(log)")
            if command == "start" { started = true }
        }
        try await waitForLog(containing: "daemon started")
    }

    /// Stops master and its daemons; synchronous so a `defer` can run it when a test fails.
    func stop() {
        guard started else { return }
        started = false
        if let process = try? ChildProcess("/usr/sbin/postfix", ["-c", config, "stop"], logPath: directory.file("stop.log")) {
            _ = process.waitForExit(timeout: 30)
        }
    }

    func sendmail(from: String, to: String, message: String) async throws {
        let file = directory.file("message.eml")
        try message.write(toFile: file, atomically: true, encoding: .utf8)
        let run = try await runClient("sh", ["-c", "/usr/sbin/sendmail -C \"$1\" -f \"$2\" \"$3\" < \"$4\"", "sh",
                                             config, from, to, file], in: directory)
        try #require(run.status == 0, "sendmail failed: \(run.output)")
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func waitForLog(containing text: String, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if log.contains(text) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError.timedOut("waiting for Postfix log line containing \(text)\n--- postfix log ---\n\(log)")
    }
}
