// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailMessage
import SMTPProtocol
import Testing

private func machine(users: Bool = true, tls: Bool = false, loopback: Bool = false, required: Bool = false,
                     mayRelay: Bool = false, maximumFailures: Int = 3) -> ServerSessionStateMachine {
    ServerSessionStateMachine(configuration: ServerSessionConfiguration(
        hostname: "mx.local.test", maximumMessageSize: 1000, tlsAvailable: true,
        relayPolicy: ServerRelayPolicy(localDomains: ["local.test"], clientMayRelay: mayRelay),
        authenticationAvailable: users, clientIsLoopback: loopback, authenticationRequired: required,
        maximumAuthenticationFailures: maximumFailures), tlsActive: tls)
}

private func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

private let alicePlain = base64("\u{0}alice\u{0}s3cret")
private let alice = ServerCredentials(username: "alice", password: Array("s3cret".utf8))

@Suite struct ServerSessionAuthTests {
    @Test(arguments: [
        // (tls, loopback, users, offered)
        (true, false, true, true),
        (false, true, true, true),
        (false, false, true, false),
        (true, true, false, false),
    ])
    func authIsOfferedOnlyUnderTLSOrFromLoopback(tls: Bool, loopback: Bool, users: Bool, offered: Bool) {
        var session = machine(users: users, tls: tls, loopback: loopback)
        let ehlo = session.send("EHLO client.example").reply
        #expect(ehlo.lines.contains("AUTH PLAIN LOGIN") == offered)
    }

    @Test func authWithoutTLSFromAfarIsRefusedWithEncryptionRequired() {
        var session = machine()
        _ = session.send("EHLO c")
        #expect(session.send("AUTH PLAIN \(alicePlain)").reply == ServerReplies.authNeedsTLS)
    }

    @Test func authWithoutUsersIsNotImplemented() {
        var session = machine(users: false, tls: true)
        _ = session.send("EHLO c")
        #expect(session.code("AUTH PLAIN \(alicePlain)") == 502)
    }

    /// Each row: the lines the client sends after EHLO; the last must ask to authenticate alice.
    @Test(arguments: [
        ["AUTH PLAIN \(alicePlain)"],
        ["AUTH PLAIN", alicePlain],
        ["auth plain =", alicePlain],
        ["AUTH LOGIN", base64("alice"), base64("s3cret")],
        ["AUTH LOGIN \(base64("alice"))", base64("s3cret")],
        ["AUTH PLAIN \(base64("alice\u{0}alice\u{0}s3cret"))"],
    ])
    func plainAndLoginExchangesYieldTheCredentials(lines: [String]) {
        var session = machine(tls: true)
        _ = session.send("EHLO c")
        for line in lines.dropLast() { #expect(session.code(line) == 334) }
        #expect(session.send(lines.last!) == .authenticate(alice))
        #expect(session.authenticationFinished(.accepted) == .reply(ServerReplies.authSucceeded))
        #expect(session.isAuthenticated)
        #expect(session.protocolName == "ESMTPSA")
        #expect(!session.send("EHLO c").reply.lines.contains("AUTH PLAIN LOGIN"))
        #expect(session.code("AUTH PLAIN \(alicePlain)") == 503)
    }

    @Test func loginPromptsAreTheUsualBase64Words() {
        var session = machine(tls: true)
        _ = session.send("EHLO c")
        #expect(session.send("AUTH LOGIN").reply.lines == ["VXNlcm5hbWU6"])
        #expect(session.send(base64("alice")).reply.lines == ["UGFzc3dvcmQ6"])
    }

    @Test(arguments: [
        // (lines, final reply code)
        (["AUTH PLAIN", "*"], 501),                                   // RFC 4954 §4: cancelled
        (["AUTH PLAIN not-base64!"], 501),
        (["AUTH CRAM-MD5"], 504),
        (["AUTH"], 501),
        (["AUTH PLAIN \(base64("bob\u{0}alice\u{0}s3cret"))"], 535),  // acting as another user
        (["AUTH PLAIN \(base64("alice-and-no-password"))"], 535),
    ])
    func badExchangesAreRefusedAndTheSessionReadsCommandsAgain(lines: [String], code: Int) {
        var session = machine(tls: true)
        _ = session.send("EHLO c")
        for line in lines.dropLast() { #expect(session.code(line) == 334) }
        #expect(session.code(lines.last!) == code)
        #expect(!session.isAuthenticated)
        #expect(session.code("NOOP") == 250)
    }

    @Test func authNeedsEHLOAndNoOpenTransaction() {
        var session = machine(tls: true)
        #expect(session.code("AUTH PLAIN \(alicePlain)") == 503)
        _ = session.send("HELO c")
        #expect(session.code("AUTH PLAIN \(alicePlain)") == 503)
        _ = session.send("EHLO c")
        #expect(session.code("MAIL FROM:<a@local.test>") == 250)
        #expect(session.code("AUTH PLAIN \(alicePlain)") == 503)
    }

    @Test func wrongPasswordsGet535ThenTheSessionIsClosed() {
        var session = machine(tls: true, maximumFailures: 3)
        _ = session.send("EHLO c")
        for _ in 0..<2 {
            _ = session.send("AUTH PLAIN \(alicePlain)")
            #expect(session.authenticationFinished(.rejected) == .reply(ServerReplies.authFailed))
        }
        _ = session.send("AUTH PLAIN \(alicePlain)")
        #expect(session.authenticationFinished(.rejected) == .replyAndClose(ServerReplies.tooManyAuthFailures))
    }

    @Test func aThrottledClientGets454AndStaysUnauthenticated() {
        var session = machine(tls: true)
        _ = session.send("EHLO c")
        _ = session.send("AUTH PLAIN \(alicePlain)")
        let action = session.authenticationFinished(.throttled)
        #expect(action == .reply(ServerReplies.authThrottled))
        #expect(action.reply.code == 454 && action.reply.enhancedStatus == EnhancedStatusCode(.persistentTransientFailure, 7, 0))
        #expect(session.code("RCPT TO:<x@remote.example>") == 503)
    }

    @Test func relayIsDeniedBeforeAuthAndAllowedAfter() {
        var session = machine(tls: true)
        _ = session.send("EHLO c")
        #expect(session.code("MAIL FROM:<a@local.test>") == 250)
        #expect(session.send("RCPT TO:<x@remote.example>").reply == ServerReplies.relayDenied)
        _ = session.send("RSET")
        _ = session.send("AUTH PLAIN \(alicePlain)")
        _ = session.authenticationFinished(.accepted)
        #expect(session.code("MAIL FROM:<a@local.test>") == 250)
        #expect(session.code("RCPT TO:<x@remote.example>") == 250)
    }

    @Test func submissionRefusesMailBeforeAuth() {
        var session = machine(tls: true, required: true)
        _ = session.send("EHLO c")
        #expect(session.send("MAIL FROM:<a@local.test>").reply == ServerReplies.authRequired)
        _ = session.send("AUTH PLAIN \(alicePlain)")
        _ = session.authenticationFinished(.accepted)
        #expect(session.code("MAIL FROM:<a@local.test>") == 250)
    }

    @Test func startTLSForgetsAnEarlierLogin() {
        var session = machine(loopback: true)
        _ = session.send("EHLO c")
        _ = session.send("AUTH PLAIN \(alicePlain)")
        _ = session.authenticationFinished(.accepted)
        #expect(session.isAuthenticated)
        #expect(session.code("STARTTLS") == 220)
        #expect(!session.isAuthenticated)
    }

    @Test func anOverlongAuthResponseEndsTheExchange() {
        var session = machine(tls: true)
        _ = session.send("EHLO c")
        #expect(session.code("AUTH PLAIN") == 334)
        #expect(session.receivedFramerEvent(.lineTooLong).reply.code == 500)
        #expect(session.code("NOOP") == 250)
    }

    @Test func credentialsNeverPrintTheirPassword() {
        #expect(!"\(alice)".contains("s3cret"))
    }
}
