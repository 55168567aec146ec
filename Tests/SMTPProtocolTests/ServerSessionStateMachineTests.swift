// SPDX-License-Identifier: Apache-2.0
import MailMessage
import SMTPProtocol
import Testing

private func machine(mayRelay: Bool = false, tls: Bool = false, maximumRecipients: Int = 100,
                     maximumErrors: Int = 10) -> ServerSessionStateMachine {
    ServerSessionStateMachine(configuration: ServerSessionConfiguration(
        hostname: "mx.local.test", maximumMessageSize: 1000, maximumRecipients: maximumRecipients,
        maximumErrors: maximumErrors, tlsAvailable: tls,
        relayPolicy: ServerRelayPolicy(localDomains: ["local.test"], clientMayRelay: mayRelay)))
}

extension ServerSessionStateMachine {
    mutating func send(_ line: String) -> ServerAction { receivedCommandLine(Array(line.utf8)) }

    /// Sends the line and returns the reply code of whatever action came back.
    mutating func code(_ line: String) -> Int {
        switch send(line) {
        case .reply(let reply), .replyAndClose(let reply), .startTLS(let reply), .beginData(let reply, _): return reply.code
        case .authenticate: return 0
        }
    }
}

extension ServerAction {
    var reply: SMTPReply {
        switch self {
        case .reply(let reply), .replyAndClose(let reply), .startTLS(let reply), .beginData(let reply, _): return reply
        case .authenticate: return SMTPReply(code: 0, "authenticate")
        }
    }
}

private func finishedDecoder(_ wire: String, limit: Int = 1000) -> ServerDataDecoder {
    var decoder = ServerDataDecoder(maximumSize: limit)
    _ = decoder.decode(Array(wire.utf8))
    return decoder
}

@Test func ordinaryTransactionYieldsEnvelopeAndContent() throws {
    var session = machine()
    #expect(session.greeting.code == 220)
    let ehlo = session.send("EHLO client.example").reply
    #expect(ehlo.code == 250)
    #expect(ehlo.lines.contains("PIPELINING") && ehlo.lines.contains("SIZE 1000") && ehlo.lines.contains("8BITMIME")
        && ehlo.lines.contains("SMTPUTF8") && ehlo.lines.contains("ENHANCEDSTATUSCODES"))
    #expect(!ehlo.lines.contains("STARTTLS"))
    #expect(session.code("MAIL FROM:<a@remote.example> BODY=8BITMIME SIZE=10") == 250)
    #expect(session.code("RCPT TO:<bob@local.test>") == 250)
    #expect(session.send("DATA") == .beginData(ServerReplies.startData, maximumSize: 1000))
    let action = session.receivedData(finishedDecoder("Subject: x\r\n\r\n..hi\r\n.\r\n"))
    guard case .deliver(let transaction) = action else { Issue.record("got: \(action), want: deliver"); return }
    #expect(transaction.envelope.sender == MailAddress("a@remote.example"))
    #expect(transaction.envelope.recipients.map(\.address) == [try #require(MailAddress("bob@local.test"))])
    #expect(transaction.content == Array("Subject: x\r\n\r\n.hi\r\n".utf8))
    #expect(transaction.bodyType == .eightBitMIME)
    #expect(transaction.heloName == "client.example")
    #expect(transaction.protocolName == "ESMTP")
    // The transaction is over: a new MAIL is accepted without RSET.
    #expect(session.code("MAIL FROM:<>") == 250)
}

@Test func everyNonGreetingReplyCarriesAnEnhancedCode() {
    var session = machine(tls: true)
    for line in ["MAIL FROM:<a@b.example>", "EHLO x", "NOOP", "VRFY bob", "HELP", "RSET", "MAIL FROM:<a@b.example>",
                 "MAIL FROM:<a@b.example>", "RCPT TO:<x@remote.example>", "DATA", "FOO", "EXPN x",
                 "RCPT TO:<bob@local.test>", "STARTTLS"] {
        let reply = session.send(line).reply
        // RFC 2034 §3 exempts the EHLO/HELO reply (and the greeting); 354 has no class 3 code.
        guard line != "EHLO x", reply.code != 354 else { continue }
        #expect(reply.enhancedStatus != nil, "no enhanced code in reply to \(line): \(reply)")
    }
}

@Test func commandsOutOfOrderAreRefusedWith503() {
    var session = machine()
    #expect(session.code("MAIL FROM:<a@b.example>") == 503)
    #expect(session.code("HELO x") == 250)
    #expect(session.code("RCPT TO:<bob@local.test>") == 503)
    #expect(session.code("DATA") == 503)
    #expect(session.code("MAIL FROM:<a@b.example>") == 250)
    #expect(session.code("MAIL FROM:<a@b.example>") == 503)
    #expect(session.code("DATA") == 503)
    #expect(session.code("RSET") == 250)
    #expect(session.code("RCPT TO:<bob@local.test>") == 503)
}

@Test(arguments: [
    ("MAIL FROM:<a@b.example> SIZE=1001", 552),
    ("MAIL FROM:<a@b.example> SIZE=abc", 501),
    ("MAIL FROM:<a@b.example> BODY=BINARYMIME", 501),
    ("MAIL FROM:<a@b.example> RET=FULL", 555),
    ("MAIL FROM:a@b.example", 501),
    ("MAIL FROM:<a@b@c.example>", 553),
    ("MAIL FROM:<jörg@b.example>", 553),
    ("MAIL FROM:<jörg@b.example> SMTPUTF8", 250),
    ("MAIL FROM: <a@b.example>", 250),
    ("mail from:<>", 250),
])
func mailParametersAreChecked(line: String, code: Int) {
    var session = machine()
    _ = session.send("EHLO x")
    #expect(session.code(line) == code)
}

/// The address tricks that opened relays in old MTAs, from a client outside the relay networks:
/// only plain local recipients and postmaster are accepted.
@Test(arguments: [
    ("RCPT TO:<bob@local.test>", 250),
    ("RCPT TO:<Bob@LOCAL.TEST.>", 250),
    ("RCPT TO:<bob@remote.example>", 554),
    ("RCPT TO:<bob%remote.example@local.test>", 554),
    ("RCPT TO:<remote.example!bob@local.test>", 554),
    ("RCPT TO:<\"bob@remote.example\"@local.test>", 554),
    ("RCPT TO:<bob@remote.example@local.test>", 553),
    ("RCPT TO:<bob@local.test@remote.example>", 553),
    ("RCPT TO:<@local.test:bob@remote.example>", 554),
    ("RCPT TO:<@local.test,@relay.example:bob@remote.example>", 554),
    ("RCPT TO:<@remote.example:bob@local.test>", 250),
    ("RCPT TO:<remote.example!bob>", 553),
    ("RCPT TO:<bob@[127.0.0.1]>", 554),
    ("RCPT TO:<bob@local.test> NOTIFY=NEVER", 555),
    ("RCPT TO:<Postmaster>", 250),
    ("RCPT TO:<POSTMASTER@local.test>", 250),
    ("RCPT TO:<postmaster@remote.example>", 554),
    ("RCPT TO:bob@local.test", 501),
])
func relayTricksAreRefusedFromUntrustedClients(line: String, code: Int) {
    var session = machine()
    _ = session.send("EHLO x")
    _ = session.send("MAIL FROM:<a@remote.example>")
    let reply = session.send(line).reply
    #expect(reply.code == code, "\(line): got: \(reply), want: \(code)")
    if code == 554 { #expect(reply == ServerReplies.relayDenied) }
}

@Test func relayNetworksMayRelayAnywhere() {
    var session = machine(mayRelay: true)
    _ = session.send("EHLO x")
    _ = session.send("MAIL FROM:<a@local.test>")
    #expect(session.code("RCPT TO:<bob@remote.example>") == 250)
    #expect(session.code("RCPT TO:<bob%other.example@local.test>") == 250)
}

@Test func recipientsPastTheLimitGet452AndDoNotEndTheSession() {
    var session = machine(maximumRecipients: 3)
    _ = session.send("EHLO x")
    _ = session.send("MAIL FROM:<a@remote.example>")
    for _ in 0..<3 { #expect(session.code("RCPT TO:<bob@local.test>") == 250) }
    for _ in 0..<50 {
        #expect(session.send("RCPT TO:<bob@local.test>") == .reply(ServerReplies.tooManyRecipients))
    }
    #expect(session.code("DATA") == 354)
}

@Test func tenThousandRecipientsEndWith421NotACrash() {
    var session = machine()
    _ = session.send("EHLO x")
    _ = session.send("MAIL FROM:<a@remote.example>")
    var codes: [Int: Int] = [:]
    var closed = false
    for _ in 0..<10_000 {
        let action = session.send("RCPT TO:<bob@local.test>")
        codes[action.reply.code, default: 0] += 1
        if case .replyAndClose = action { closed = true; break }
    }
    #expect(codes[250] == 100)
    #expect(codes[452, default: 0] > 0)
    #expect(closed)
}

@Test func tooManyErrorsCloseWith421() {
    var session = machine(maximumErrors: 3)
    #expect(session.send("FOO") == .reply(ServerReplies.unrecognized))
    #expect(session.send("BAR").reply.code == 500)
    #expect(session.send("BAZ") == .replyAndClose(ServerReplies.tooManyErrors))
}

@Test(arguments: ["MAIL FROM:<a@b>\u{0}", "\u{0}", "NOOP\u{7F}", "EHLO \u{1B}x"])
func controlCharactersInCommandsAreRefused(line: String) {
    var session = machine()
    #expect(session.send(line) == .reply(ServerReplies.badCharacters))
}

@Test func framingErrorsMapToReplies() {
    var session = machine()
    #expect(session.receivedFramerEvent(.lineTooLong) == .reply(ServerReplies.lineTooLong))
    #expect(session.receivedFramerEvent(.bareLineEnding) == .replyAndClose(ServerReplies.bareLineEnding))
}

@Test func httpProbesCloseTheConnection() {
    var session = machine()
    #expect(session.send("GET / HTTP/1.1") == .replyAndClose(ServerReplies.httpRefused))
    var other = machine()
    #expect(other.send("Host: example.org") == .replyAndClose(ServerReplies.httpRefused))
}

@Test func startTLSResetsTheSessionAndIsOfferedOnlyOnce() {
    var session = machine(tls: true)
    #expect(session.send("EHLO x").reply.lines.contains("STARTTLS"))
    _ = session.send("MAIL FROM:<a@remote.example>")
    #expect(session.send("STARTTLS") == .startTLS(ServerReplies.startTLS))
    // RFC 3207 §4.2: the transaction and the EHLO before TLS are forgotten.
    #expect(session.code("RCPT TO:<bob@local.test>") == 503)
    #expect(session.code("MAIL FROM:<a@remote.example>") == 503)
    #expect(!session.send("EHLO x").reply.lines.contains("STARTTLS"))
    #expect(session.code("STARTTLS") == 503)
    #expect(session.protocolName == "ESMTPS")
}

@Test func startTLSWithoutCertificateIsNotImplemented() {
    var session = machine()
    #expect(session.send("STARTTLS") == .reply(ServerReplies.tlsUnavailable))
}

@Test(arguments: [
    (ServerDataDecoder.Failure.bareLineEnding, "a\nb\r\n.\r\n", 554),
    (.lineTooLong, String(repeating: "x", count: 999) + "\r\n.\r\n", 554),
    (.messageTooLarge, String(repeating: "x\r\n", count: 400) + ".\r\n", 552),
])
func refusedContentIsNotDelivered(failure: ServerDataDecoder.Failure, wire: String, code: Int) {
    var session = machine()
    _ = session.send("EHLO x")
    _ = session.send("MAIL FROM:<a@remote.example>")
    _ = session.send("RCPT TO:<bob@local.test>")
    _ = session.send("DATA")
    let decoder = finishedDecoder(wire)
    #expect(decoder.failure == failure)
    guard case .reply(let reply) = session.receivedData(decoder) else { Issue.record("refused content delivered"); return }
    #expect(reply.code == code)
    #expect(session.code("RCPT TO:<bob@local.test>") == 503)
}

@Test func quitClosesWith221() {
    var session = machine()
    #expect(session.send("QUIT") == .replyAndClose(ServerReplies.bye))
}
