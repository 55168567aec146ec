// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailrootTestSupport
import Synchronization
import Testing

/// Submission with the real binary (README "The SMTP listener"): a password hashed by
/// `mailroot passwd`, `[[smtp.users]]`, the submission port (587 style, STARTTLS + AUTH) and
/// the submissions port (465 style, implicit TLS + AUTH), relaying through a fake MX on
/// 127.0.70.x, which only these tests use.
@Suite struct SubmissionScenarioTests {
    private static let mxCounter = Atomic<Int>(0)

    /// `mailroot passwd` with the password on a pipe; returns the hash line.
    static func passwd(_ password: String, in directory: TemporaryDirectory) async throws -> String {
        let run = try await runClient("sh", ["-c", "printf '%s\\n' \"$1\" | \"$2\" passwd", "sh", password,
                                             MailrootInstance.binaryPath], in: directory)
        try #require(run.status == 0, "\(run.output)")
        return try #require(run.output.split(separator: "\n").last { $0.hasPrefix("$pbkdf2-sha256$") }.map(String.init))
    }

    @Test func passwdHashesAPipedPasswordThatPythonVerifies() async throws {
        let directory = try TemporaryDirectory("passwd")
        let hash = try await Self.passwd("correct horse", in: directory)
        #expect(hash.hasPrefix("$pbkdf2-sha256$i=210000$"))
        let check = try await runClient("python3", ["-c", """
            import base64, hashlib, sys
            _, scheme, rounds, salt, key = sys.argv[1].split("$")
            ok = hashlib.pbkdf2_hmac("sha256", b"correct horse", base64.b64decode(salt), int(rounds[2:])) == base64.b64decode(key)
            print("VERIFIED" if ok and len(base64.b64decode(salt)) == 16 else "MISMATCH")
            """, hash], in: directory)
        #expect(check.output.contains("VERIFIED"), "\(check.output)")
    }

    /// On a terminal the password is asked twice and never echoed.
    @Test func passwdOnATerminalDoesNotEchoThePassword() async throws {
        let directory = try TemporaryDirectory("passwd-tty")
        let run = try await runClient("python3", ["-c", """
            import os, pty, signal, sys, time
            signal.alarm(30)  # a hang (e.g. a typed-ahead password flushed away) fails the test, never blocks the suite
            pid, fd = pty.fork()
            if pid == 0:
                os.execv(sys.argv[1], [sys.argv[1], "passwd"])
            seen = b""
            def until(marker):
                global seen
                while marker not in seen:
                    seen += os.read(fd, 1024)
            until(b"Password: ")
            os.write(fd, b"hidden-pw\\n")
            until(b"Again: ")
            os.write(fd, b"hidden-pw\\n")
            try:
                while True:
                    chunk = os.read(fd, 1024)
                    if not chunk: break
                    seen += chunk
            except OSError:
                pass
            os.waitpid(pid, 0)
            print("ECHOED" if b"hidden-pw" in seen else "SILENT")
            print("HASHED" if b"$pbkdf2-sha256$i=210000$" in seen else "NO HASH")
            """, MailrootInstance.binaryPath], in: directory)
        #expect(run.output.contains("SILENT") && run.output.contains("HASHED"), "\(run.output)")
    }

    @Test func authenticatedClientsRelayOverSubmissionAndSubmissionsAndOthersAreRefused() async throws {
        let certificateDirectory = try TemporaryDirectory("submission-cert")
        let (certificate, key) = try await makeSelfSignedCertificate(commonName: Scenario.hostname, in: certificateDirectory)
        let hash = try await Self.passwd("app-secret", in: certificateDirectory)
        let n = Self.mxCounter.add(1, ordering: .relaxed).newValue
        let mx = try await SMTPTestServer(host: "127.0.70.\(10 + n % 200)", port: Scenario.mxPort)
        defer { mx.stop() }
        let (relay, submission, submissions) = (try freePort(), try freePort(), try freePort())
        let scenario = try await Scenario.authenticatedListener(
            ports: """
                listen = ["127.0.0.1:\(relay)"]
                submission = ["127.0.0.1:\(submission)"]
                submissions = ["127.0.0.1:\(submissions)"]
                """,
            relayNetworks: "127.0.0.1/32", certificate: certificate, key: key, passwordHash: hash, remoteMX: mx, label: "submission")
        try await scenario.mailroot.start()
        try await scenario.mailroot.waitForLog(containing: "smtp: listening on")
        #expect(scenario.mailroot.log.contains("AUTH for 1 user(s)"))

        let run = try await runClient("python3", ["-c", Self.clientScript, String(submission), String(submissions), String(relay)],
                                      in: scenario.mailroot.directory)
        try #require(run.status == 0, "\(run.output)\n--- mailroot log ---\n\(scenario.mailroot.log)")
        // Submission ignores relay_networks: 127.0.0.1 must still log in.
        #expect(run.output.contains("587 MAIL BEFORE AUTH 530 5.7.0"), "\(run.output)")
        #expect(run.output.contains("587 WRONG PASSWORD 535"), "\(run.output)")
        #expect(run.output.contains("587 SENT"), "\(run.output)")
        #expect(run.output.contains("465 SENT"), "\(run.output)")
        #expect(run.output.contains("25 FROM OUTSIDE 554"), "\(run.output)")

        let messages = try await mx.waitForMessages(count: 2)
        #expect(Set(messages.flatMap(\.recipients)) == ["friend@remote.test", "other@remote.test"])
        for message in messages {
            let received = headerFields(of: message.data).filter { $0.name == "received" }.map(\.value)
            // STARTTLS on 587 and implicit TLS on 465 both name the negotiated cipher.
            #expect(received.contains { $0.contains("with ESMTPSA (TLSv1.") && $0.contains(" with cipher TLS_") }, "\(received)")
            #expect(!received.contains { $0.contains("app1") }, "the user name is not disclosed: \(received)")
        }
    }

    private static let clientScript = #"""
        import smtplib, ssl, sys
        submission, submissions, relay = (int(p) for p in sys.argv[1:4])
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        message = "Subject: submitted\r\n\r\nHello.\r\n"

        s = smtplib.SMTP("127.0.0.1", submission, local_hostname="app.example", timeout=30)
        s.starttls(context=context)
        s.ehlo()
        code, text = s.mail("app@example.com")
        print("587 MAIL BEFORE AUTH", code, text.decode())
        s.rset()
        try:
            s.login("app1", "not-it")
        except smtplib.SMTPAuthenticationError as error:
            print("587 WRONG PASSWORD", error.smtp_code)
        s.quit()

        with smtplib.SMTP("127.0.0.1", submission, local_hostname="app.example", timeout=30) as s:
            s.starttls(context=context)
            s.login("app1", "app-secret")
            s.sendmail("app@example.com", ["friend@remote.test"], message)
        print("587 SENT")

        with smtplib.SMTP_SSL("127.0.0.1", submissions, local_hostname="app.example", context=context, timeout=30) as s:
            s.login("app1", "app-secret")
            s.sendmail("app@example.com", ["other@remote.test"], message)
        print("465 SENT")

        with smtplib.SMTP("127.0.0.1", relay, local_hostname="app.example", source_address=("127.0.0.9", 0), timeout=30) as s:
            s.ehlo()
            s.mail("app@example.com")
            code, _ = s.rcpt("friend@remote.test")
            print("25 FROM OUTSIDE", code)
        """#
}
