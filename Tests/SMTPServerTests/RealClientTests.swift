// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailMessage
import MailrootTestSupport
import SMTPProtocol
@testable import SMTPServer
import Testing

@Test func pythonSmtplibDeliversAMessage() async throws {
    let receiver = InMemoryReceiver()
    let (status, output) = try await withServer(receiver: receiver) { port, _ in
        try await python("""
        import smtplib, sys
        with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example") as s:
            s.set_debuglevel(1)
            s.sendmail("alice@example.org", ["bob@local.test", "carol@local.test"],
                       "Subject: hello\\r\\n\\r\\n.leading dot\\r\\nbody\\r\\n")
        print("SENT")
        """, port: port)
    }
    #expect(status == 0, "\(output)")
    #expect(output.contains("SENT"))
    let messages = await receiver.messages
    try #require(messages.count == 1)
    let message = messages[0]
    #expect(message.envelope.sender == MailAddress("alice@example.org"))
    #expect(message.envelope.recipients.map(\.address.description) == ["bob@local.test", "carol@local.test"])
    // Unfolded (RFC 5322 §2.2.3) so the checks do not depend on where the field was folded.
    let text = String(decoding: message.content, as: UTF8.self).replacingOccurrences(of: "\r\n ", with: " ")
    #expect(text.hasPrefix("Received: from client.example ([127.0.0.1])"))
    #expect(text.contains("by mx.local.test (mailroot) with ESMTP id \(message.queueID)"))
    #expect(text.hasSuffix("Subject: hello\r\n\r\n.leading dot\r\nbody\r\n"))
    #expect(output.contains("queued as \(message.queueID)"))
    #expect(message.protocolName == "ESMTP")
}

@Test func swaksDeliversAMessage() async throws {
    try requirePeer("swaks")
    let receiver = InMemoryReceiver()
    let directory = try TemporaryDirectory("swaks")
    let (status, output) = try await withServer(receiver: receiver) { port, _ in
        let child = try ChildProcess("swaks", [
            "--server", "127.0.0.1:\(port)", "--to", "you@local.test", "--from", "me@example.org",
            "--helo", "swaks.example", "--header", "Subject: from swaks", "--body", "hello from swaks",
        ], logPath: directory.file("swaks.log"))
        return (await child.waitForExit(), child.output)
    }
    #expect(status == 0, "\(output)")
    #expect(output.contains("<-  250 2.0.0 Ok: queued as"))
    let messages = await receiver.messages
    try #require(messages.count == 1)
    #expect(messages[0].envelope.recipients.map(\.address.description) == ["you@local.test"])
    let text = String(decoding: messages[0].content, as: UTF8.self)
    #expect(text.contains("Subject: from swaks"))
    #expect(text.contains("hello from swaks"))
    #expect(text.contains("for <you@local.test>"))
}

@Test func smtplibSTARTTLSGivesESMTPSWithTLS12OrLater() async throws {
    let directory = try TemporaryDirectory("smtp-tls")
    let files = try await selfSignedCertificate(in: directory)
    let receiver = InMemoryReceiver()
    let configuration = testConfiguration { $0.tls = files }
    let (status, output) = try await withServer(configuration, receiver: receiver) { port, _ in
        try await python("""
        import smtplib, ssl, sys
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
            s.ehlo("tls.example")
            assert s.has_extn("starttls"), s.esmtp_features
            s.starttls(context=context)
            s.ehlo("tls.example")
            assert not s.has_extn("starttls"), "STARTTLS offered twice"
            print("CIPHER", s.sock.version())
            print("SUITE", s.sock.cipher()[0])
            s.sendmail("a@example.org", ["bob@local.test"], "Subject: tls\\r\\n\\r\\nsecret\\r\\n")
        print("SENT")
        """, port: port)
    }
    #expect(status == 0, "\(output)")
    #expect(output.contains("CIPHER TLSv1.3") || output.contains("CIPHER TLSv1.2"))
    let messages = await receiver.messages
    try #require(messages.count == 1)
    #expect(messages[0].protocolName == "ESMTPS")
    let text = String(decoding: messages[0].content, as: UTF8.self).replacingOccurrences(of: "\r\n ", with: " ")
    // Python reports TLS 1.3 suites by their IANA names, as Received: does.
    let suite = try #require(output.split(separator: "\n").first { $0.hasPrefix("SUITE ") }?.dropFirst(6))
    #expect(text.contains("with ESMTPS (TLSv1.3 with cipher \(suite))"), "\(text)")
}

/// The cipher in Received: is the one the client really negotiated: a TLS 1.2 client limited to
/// one suite (OpenSSL name) must find that suite's IANA name in the header.
@Test(arguments: [("ECDHE-RSA-AES128-GCM-SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
                  ("ECDHE-RSA-AES256-GCM-SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
                  ("ECDHE-RSA-CHACHA20-POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256")])
func receivedNamesTheTLS12CipherTheClientNegotiated(openSSLName: String, ianaName: String) async throws {
    let directory = try TemporaryDirectory("smtp-tls12")
    let files = try await selfSignedCertificate(in: directory)
    let receiver = InMemoryReceiver()
    let configuration = testConfiguration { $0.tls = files }
    let (status, output) = try await withServer(configuration, receiver: receiver) { port, _ in
        try await python("""
        import smtplib, ssl, sys
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers("\(openSSLName)")
        with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
            s.starttls(context=context)
            print("SUITE", s.sock.version(), s.sock.cipher()[0])
            s.sendmail("a@example.org", ["bob@local.test"], "Subject: tls\\r\\n\\r\\nsecret\\r\\n")
        """, port: port)
    }
    #expect(status == 0, "\(output)")
    #expect(output.contains("SUITE TLSv1.2 \(openSSLName)"), "\(output)")
    let messages = await receiver.messages
    try #require(messages.count == 1)
    let text = String(decoding: messages[0].content, as: UTF8.self).replacingOccurrences(of: "\r\n ", with: " ")
    #expect(text.contains("with ESMTPS (TLSv1.2 with cipher \(ianaName))"), "\(text)")
}

@Test func tls11ClientsAreRefused() async throws {
    let directory = try TemporaryDirectory("smtp-tls-old")
    let files = try await selfSignedCertificate(in: directory)
    let configuration = testConfiguration { $0.tls = files }
    let (status, output) = try await withServer(configuration) { port, _ in
        try await python("""
        import smtplib, ssl, sys
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        try:
            context.minimum_version = ssl.TLSVersion.TLSv1_1
            context.maximum_version = ssl.TLSVersion.TLSv1_1
        except ValueError:
            print("REFUSED (client cannot even offer TLS 1.1)")
            sys.exit(0)
        s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
        s.ehlo("old.example")
        try:
            s.starttls(context=context)
            print("HANDSHAKE SUCCEEDED")
        except (ssl.SSLError, OSError, smtplib.SMTPException) as error:
            print("REFUSED", error)
        """, port: port)
    }
    #expect(status == 0, "\(output)")
    #expect(output.contains("REFUSED") && !output.contains("HANDSHAKE SUCCEEDED"), "\(output)")
}

@Test func pipelinedTransactionGetsEveryReplyInOrder() async throws {
    let receiver = InMemoryReceiver()
    let replies = try await withServer(receiver: receiver) { port, _ in
        try await dialogue(port: port, [
            .read(1),
            .send("EHLO pipe.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@local.test>\r\nRCPT TO:<c@local.test>\r\nDATA\r\n"),
            .read(5),
            .send("Subject: piped\r\n\r\nbody\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<d@local.test>\r\nDATA\r\n"),
            .read(4),
            .send("second\r\n.\r\nQUIT\r\n"),
            .readUntilClose,
        ])
    }
    #expect(codes(replies) == [220, 250, 250, 250, 250, 354, 250, 250, 250, 354, 250, 221, 0], "\(replies)")
    let messages = await receiver.messages
    #expect(messages.count == 2)
    #expect(messages.last?.envelope.sender == nil)
}

@Test func receiverFailureMapsToItsReplyAndNothingIsAcknowledged() async throws {
    let receiver = InMemoryReceiver(refusal: ReceiptRefusal(code: 452, status: .mailSystemFull, "Insufficient system storage"))
    let replies = try await withServer(receiver: receiver) { port, _ in
        try await dialogue(port: port, [
            .read(1),
            .send("HELO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@local.test>\r\nDATA\r\n"), .read(4),
            .send("hi\r\n.\r\n"), .read(1),
        ])
    }
    #expect(replies.last == ["452 4.3.1 Insufficient system storage"])
}

/// RFC 5321 §6.1: the 250 after DATA waits for the receiver (the queue's fsync).
@Test func replyAfterDataWaitsForTheReceiver() async throws {
    let receiver = InMemoryReceiver(delay: .milliseconds(600))
    let (status, output) = try await withServer(receiver: receiver) { port, _ in
        try await python("""
        import smtplib, sys, time
        with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
            s.ehlo("slow.example")
            s.mail("a@example.org")
            s.rcpt("bob@local.test")
            start = time.monotonic()
            code, text = s.data("Subject: slow\\r\\n\\r\\nx\\r\\n")
            print("DATA", code, round(time.monotonic() - start, 3))
        """, port: port)
    }
    #expect(status == 0, "\(output)")
    let words = try #require(output.split(separator: "\n").first { $0.hasPrefix("DATA ") }?.split(separator: " "))
    #expect(words[1] == "250")
    #expect(Double(words[2]) ?? 0 >= 0.6, "250 came \(words[2]) s after the dot, before the receiver returned")
    #expect(await receiver.messages.count == 1)
}
