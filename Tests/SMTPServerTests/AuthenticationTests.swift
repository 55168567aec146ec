// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging
import MailMessage
import MailrootTestSupport
import SMTPProtocol
@testable import SMTPServer
import Synchronization
import Testing

/// "s3cret" for user "app1", hashed once per test run (PBKDF2 is slow by design).
let app1Hash = try! PasswordHash(hashing: Array("s3cret".utf8))

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let current = Mutex(ContinuousClock.now)
    var now: ContinuousClock.Instant { current.withLock { $0 } }
    func advance(_ duration: Duration) { current.withLock { $0 += duration } }
}

/// Runs a server with users and returns the ports of `listen`, `submission` and `submissions`
/// (those configured, in that order).
func withAuthServer<Result: Sendable>(_ change: (inout SMTPServerConfiguration) -> Void = { _ in },
                                      receiver: InMemoryReceiver = InMemoryReceiver(),
                                      throttle: AuthenticationThrottle = AuthenticationThrottle(),
                                      _ body: ([Int]) async throws -> Result) async throws -> Result {
    var logger = Logger(label: "smtp-auth-test")
    logger.logLevel = .critical
    let configuration = testConfiguration {
        $0.users = ["app1": app1Hash]
        change(&$0)
    }
    let server = try SMTPServer(configuration: configuration, receiver: receiver, logger: logger,
                                authenticationThrottle: throttle)
    let task = Task { try await server.run() }
    defer { task.cancel() }
    let ports = try await server.listeningAddresses().compactMap(\.port)
    return try await body(ports)
}

@Suite struct PasswordHashTests {
    @Test func theRightPasswordVerifiesAndAWrongOneDoesNot() throws {
        #expect(app1Hash.verify(Array("s3cret".utf8)))
        #expect(!app1Hash.verify(Array("s3cret ".utf8)))
        #expect(!app1Hash.verify([]))
    }

    @Test func theEncodedFormRoundTripsAndIsSalted() throws {
        let text = app1Hash.encoded
        #expect(text.hasPrefix("$pbkdf2-sha256$i=210000$"))
        #expect(try PasswordHash(encoded: text) == app1Hash)
        let again = try PasswordHash(hashing: Array("s3cret".utf8))
        #expect(again.salt != app1Hash.salt && again.key != app1Hash.key)
        #expect(app1Hash.salt.count == 16 && app1Hash.key.count == 32)
        #expect(!"\(app1Hash)".contains(text.split(separator: "$").last!))
    }

    /// RFC 6070-style vector computed with Python's hashlib.pbkdf2_hmac: an independent implementation.
    @Test func theKeyIsStandardPBKDF2HMACSHA256() throws {
        let hash = try PasswordHash(encoded: "$pbkdf2-sha256$i=210000$tsyHEYHFZRP6lWelHPJiJw==$g/rCtXRiZFgzkm5paqHdCQrt6dt0DlFJyp+7LzrIVtA=")
        #expect(hash.verify(Array("secret".utf8)))
    }

    @Test(arguments: ["", "hunter2", "$pbkdf2-sha1$i=210000$AAAAAAAAAAAAAAAAAAAAAA==$AAAA",
                      "$pbkdf2-sha256$i=100$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                      "$pbkdf2-sha256$i=210000$AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                      "$pbkdf2-sha256$i=210000$AAAAAAAAAAAAAAAAAAAAAA==$AAAA",
                      "$pbkdf2-sha256$i=210000$!!$AAAA"])
    func malformedHashesAreRefused(text: String) {
        #expect(throws: PasswordHash.FormatError.self) { try PasswordHash(encoded: text) }
    }
}

@Suite struct AuthenticationThrottleTests {
    @Test func anAddressIsBlockedAfterTooManyFailuresUntilTheWindowPasses() {
        let clock = ManualClock()
        let throttle = AuthenticationThrottle(policy: .init(maximumFailures: 3, window: .seconds(300)), now: { clock.now })
        for _ in 0..<2 { throttle.recordFailure("192.0.2.1") }
        #expect(!throttle.isBlocked("192.0.2.1"))
        throttle.recordFailure("192.0.2.1")
        #expect(throttle.isBlocked("192.0.2.1"))
        #expect(!throttle.isBlocked("192.0.2.2"))
        clock.advance(.seconds(299))
        #expect(throttle.isBlocked("192.0.2.1"))
        clock.advance(.seconds(2))
        #expect(!throttle.isBlocked("192.0.2.1"))
    }

    @Test func theTableStaysBounded() {
        let clock = ManualClock()
        let throttle = AuthenticationThrottle(policy: .init(maximumFailures: 1, window: .seconds(300), maximumAddresses: 2),
                                              now: { clock.now })
        throttle.recordFailure("a")
        clock.advance(.seconds(1))
        throttle.recordFailure("b")
        clock.advance(.seconds(1))
        throttle.recordFailure("c")
        #expect(!throttle.isBlocked("a") && throttle.isBlocked("b") && throttle.isBlocked("c"))
    }
}

@Suite struct AuthenticationServerTests {
    @Test func smtplibLogsInOverSTARTTLSAndRelaysFromOutsideTheRelayNetworks() async throws {
        let directory = try TemporaryDirectory("smtp-auth-tls")
        let files = try await selfSignedCertificate(in: directory)
        let receiver = InMemoryReceiver()
        let (status, output) = try await withAuthServer({ $0.tls = files }, receiver: receiver) { ports in
            try await python("""
            import smtplib, ssl, sys
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), source_address=("127.0.0.5", 0)) as s:
                s.ehlo("app.example")
                try:
                    s.sendmail("a@example.org", ["x@remote.example"], "Subject: before\\r\\n\\r\\nno\\r\\n")
                    print("RELAYED WITHOUT AUTH")
                except smtplib.SMTPRecipientsRefused as refused:
                    print("REFUSED", refused.recipients["x@remote.example"][0])
                s.starttls(context=context)
                s.ehlo("app.example")
                print("FEATURES", s.esmtp_features.get("auth").strip())
                s.login("app1", "s3cret")
                s.sendmail("a@example.org", ["x@remote.example"], "Subject: after\\r\\n\\r\\nyes\\r\\n")
            print("SENT")
            """, port: ports[0])
        }
        #expect(status == 0, "\(output)")
        #expect(output.contains("REFUSED 554") && !output.contains("RELAYED WITHOUT AUTH"), "\(output)")
        #expect(output.contains("FEATURES PLAIN LOGIN"), "\(output)")
        #expect(output.contains("SENT"), "\(output)")
        let messages = await receiver.messages
        try #require(messages.count == 1)
        #expect(messages[0].protocolName == "ESMTPSA")
        let text = String(decoding: messages[0].content, as: UTF8.self).replacingOccurrences(of: "\r\n ", with: " ")
        #expect(text.contains("with ESMTPSA (TLSv1."))
        // The user name is not disclosed in the trace field.
        #expect(!text.contains("app1"))
    }

    @Test func aWrongPasswordGets535AndThreeEndTheSession() async throws {
        let (status, output) = try await withAuthServer { ports in
            try await python("""
            import smtplib, sys
            s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
            s.ehlo("app.example")
            for attempt in range(3):
                try:
                    s.login("app1", "wrong")
                except smtplib.SMTPAuthenticationError as error:
                    print("CODE", error.smtp_code, error.smtp_error.decode())
                except smtplib.SMTPServerDisconnected:
                    print("DISCONNECTED")
            """, port: ports[0])
        }
        #expect(status == 0, "\(output)")
        #expect(output.contains("CODE 535 5.7.8 Authentication credentials invalid"), "\(output)")
        // smtplib tries PLAIN then LOGIN per login(): the third failure in the session is the last.
        #expect(output.contains("421 4.7.0 Too many authentication failures") || output.contains("DISCONNECTED"), "\(output)")
    }

    /// Without TLS: AUTH is offered because 127.0.0.5 is loopback. Both mechanisms, outside the
    /// relay networks. (SwaksTLSTests does the same over STARTTLS.)
    @Test(arguments: ["PLAIN", "LOGIN"])
    func swaksAuthenticatesFromLoopbackAndRelays(mechanism: String) async throws {
        try requirePeer("swaks")
        let directory = try TemporaryDirectory("swaks-auth")
        let receiver = InMemoryReceiver()
        let (status, output) = try await withAuthServer(receiver: receiver) { ports in
            let child = try ChildProcess("swaks", [
                "--server", "127.0.0.1:\(ports[0])", "--local-interface", "127.0.0.5",
                "--to", "x@remote.example", "--from", "me@example.org", "--helo", "swaks.example",
                "--auth", mechanism, "--auth-user", "app1", "--auth-password", "s3cret",
            ], logPath: directory.file("swaks.log"))
            return (await child.waitForExit(), child.output)
        }
        #expect(status == 0, "\(output)")
        #expect(output.contains("235 2.7.0 Authentication successful"), "\(output)")
        let messages = await receiver.messages
        #expect(messages.count == 1 && messages.first?.protocolName == "ESMTPA")
    }

    @Test func swaksWithAWrongPasswordGets535AndNothingIsRelayed() async throws {
        try requirePeer("swaks")
        let directory = try TemporaryDirectory("swaks-auth-bad")
        let receiver = InMemoryReceiver()
        let (status, output) = try await withAuthServer(receiver: receiver) { ports in
            let child = try ChildProcess("swaks", [
                "--server", "127.0.0.1:\(ports[0])", "--local-interface", "127.0.0.5",
                "--to", "x@remote.example", "--from", "me@example.org",
                "--auth", "PLAIN", "--auth-user", "app1", "--auth-password", "wrong",
            ], logPath: directory.file("swaks.log"))
            return (await child.waitForExit(), child.output)
        }
        #expect(status != 0)
        #expect(output.contains("535 5.7.8"), "\(output)")
        #expect(await receiver.messages.isEmpty)
    }

    @Test func theSubmissionPortRefusesMailBeforeAuthAndIgnoresRelayNetworks() async throws {
        let receiver = InMemoryReceiver()
        let (status, output) = try await withAuthServer({
            $0.listen = []
            $0.submission = [.init(host: "127.0.0.1", port: 0)]
            $0.relayNetworks = [NetworkRange("127.0.0.0/8")!]
        }, receiver: receiver) { ports in
            try await python("""
            import smtplib, sys
            with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
                s.ehlo("app.example")
                print("MAIL", s.mail("a@example.org"))
                s.login("app1", "s3cret")
                s.sendmail("a@example.org", ["x@remote.example"], "Subject: sub\\r\\n\\r\\nhi\\r\\n")
            print("SENT")
            """, port: ports[0])
        }
        #expect(status == 0, "\(output)")
        #expect(output.contains("MAIL (530, b'5.7.0 Authentication required')"), "\(output)")
        #expect(output.contains("SENT"))
        #expect(await receiver.messages.count == 1)
    }

    @Test func smtplibSendsOverImplicitTLSOnTheSubmissionsPort() async throws {
        let directory = try TemporaryDirectory("smtp-submissions")
        let files = try await selfSignedCertificate(in: directory)
        let receiver = InMemoryReceiver()
        let (status, output) = try await withAuthServer({
            $0.tls = files
            $0.listen = []
            $0.submissions = [.init(host: "127.0.0.1", port: 0)]
        }, receiver: receiver) { ports in
            try await python("""
            import smtplib, ssl, sys
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            with smtplib.SMTP_SSL("127.0.0.1", int(sys.argv[1]), context=context) as s:
                s.ehlo("app.example")
                assert not s.has_extn("starttls"), "STARTTLS offered inside TLS"
                print("MAIL", s.mail("a@example.org")[0])
                s.rset()
                s.login("app1", "s3cret")
                s.sendmail("a@example.org", ["x@remote.example"], "Subject: 465\\r\\n\\r\\nhi\\r\\n")
            print("SENT")
            """, port: ports[0])
        }
        #expect(status == 0, "\(output)")
        #expect(output.contains("MAIL 530"), "\(output)")
        #expect(output.contains("SENT"))
        let messages = await receiver.messages
        #expect(messages.count == 1 && messages.first?.protocolName == "ESMTPSA")
    }

    @Test func aSubmissionsPortWithoutACertificateIsRefusedAtStartup() throws {
        let configuration = testConfiguration {
            $0.users = ["app1": app1Hash]
            $0.submissions = [.init(host: "127.0.0.1", port: 0)]
        }
        #expect(throws: SMTPServerError.self) {
            _ = try SMTPServer(configuration: configuration, receiver: InMemoryReceiver(), logger: Logger(label: "t"))
        }
    }

    @Test func repeatedFailuresFromOneAddressAreThrottledAcrossSessions() async throws {
        let clock = ManualClock()
        let throttle = AuthenticationThrottle(policy: .init(maximumFailures: 2, window: .seconds(300)), now: { clock.now })
        let login = """
            import smtplib, sys
            with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
                s.ehlo("app.example")
                code, text = s.docmd("AUTH", "PLAIN " + __import__("base64").b64encode(("\\0app1\\0" + sys.argv[2]).encode()).decode())
                print("CODE", code, text.decode())
            """
        let outputs = try await withAuthServer(throttle: throttle) { ports in
            var outputs: [String] = []
            for password in ["bad1", "bad2", "s3cret"] {
                outputs.append(try await python(login, port: ports[0], [password]).1)
            }
            clock.advance(.seconds(301))
            outputs.append(try await python(login, port: ports[0], ["s3cret"]).1)
            return outputs
        }
        #expect(outputs[0].contains("CODE 535") && outputs[1].contains("CODE 535"), "\(outputs)")
        // Even the right password is not checked while the address is throttled.
        #expect(outputs[2].contains("CODE 454 4.7.0"), "\(outputs)")
        #expect(outputs[3].contains("CODE 235 2.7.0"), "\(outputs)")
    }
}

@Suite struct AuthenticationWireTests {
    private static let plain = Data("\u{0}app1\u{0}s3cret".utf8).base64EncodedString()

    /// Commands pipelined behind AUTH wait for the (slow) password check and are then judged
    /// as an authenticated client's, in order.
    @Test func commandsPipelinedBehindAuthAreAnsweredInOrderAfterTheCheck() async throws {
        let replies = try await withAuthServer { ports in
            try await dialogue(port: ports[0], source: "127.0.0.5", [
                .read(1), .send("EHLO app.example\r\n"), .read(1),
                .send("AUTH PLAIN \(Self.plain)\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<x@remote.example>\r\nQUIT\r\n"),
                .read(4),
            ])
        }
        #expect(codes(replies) == [220, 250, 235, 250, 250, 221], "\(replies)")
    }

    @Test func aCancelledLoginIsRefusedAndTheSessionGoesOn() async throws {
        let replies = try await withAuthServer { ports in
            try await dialogue(port: ports[0], [
                .read(1), .send("EHLO app.example\r\n"), .read(1),
                .send("AUTH LOGIN\r\n"), .read(1), .send("*\r\n"), .read(1),
                .send("AUTH LOGIN\r\n"), .read(1), .send("%%%\r\n"), .read(1),
                .send("NOOP\r\n"), .read(1),
            ])
        }
        #expect(codes(replies) == [220, 250, 334, 501, 334, 501, 250], "\(replies)")
    }

    /// A bare LF inside an AUTH exchange is refused like anywhere else (no smuggling via SASL).
    @Test func aBareLineFeedInsideAuthClosesTheSession() async throws {
        let replies = try await withAuthServer { ports in
            try await dialogue(port: ports[0], [
                .read(1), .send("EHLO app.example\r\n"), .read(1),
                .send("AUTH PLAIN\r\n"), .read(1), .send("\(Self.plain)\nMAIL FROM:<a@example.org>\r\n"), .readUntilClose,
            ])
        }
        #expect(codes(replies).prefix(4) == [220, 250, 334, 554], "\(replies)")
        #expect(replies.last == ["EOF"], "\(replies)")
    }
}

@Suite struct AuthenticatedSenderDisclosureTests {
    @Test func theUserIsNamedInReceivedOnlyWhenConfigured() async throws {
        for disclose in [false, true] {
            let receiver = InMemoryReceiver()
            let (status, output) = try await withAuthServer({ $0.receivedShowsAuthenticatedUser = disclose }, receiver: receiver) { ports in
                try await python("""
                import smtplib, sys
                with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
                    s.ehlo("app.example")
                    s.login("app1", "s3cret")
                    s.sendmail("a@example.org", ["x@remote.example"], "Subject: who\\r\\n\\r\\nme\\r\\n")
                print("SENT")
                """, port: ports[0])
            }
            #expect(status == 0, "\(output)")
            let messages = await receiver.messages
            try #require(messages.count == 1)
            let text = String(decoding: messages[0].content, as: UTF8.self).replacingOccurrences(of: "\r\n ", with: " ")
            #expect(text.contains("(Authenticated sender: app1)") == disclose, "\(text)")
        }
    }
}
