// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailMessage
import MailrootTestSupport
import SMTPProtocol
@testable import SMTPServer
import Testing

private let transactionStart = "EHLO probe.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<bob@local.test>\r\nDATA\r\n"

/// From 127.0.0.5 with relay_networks = 127.0.0.1/32, over a real socket: every address trick
/// is refused, plain local mail still goes through.
@Test(arguments: [
    ("<bob@remote.example>", 554),
    ("<bob%remote.example@local.test>", 554),
    ("<remote.example!bob@local.test>", 554),
    ("<\"bob@remote.example\"@local.test>", 554),
    ("<bob@remote.example@local.test>", 553),
    ("<@local.test:bob@remote.example>", 554),
    ("<@local.test,@local.test:bob@remote.example>", 554),
    ("<bob@[127.0.0.1]>", 554),
    ("<bob@local.test>", 250),
    ("<postmaster@local.test>", 250),
])
func relayTricksAreRefusedFromOutsideTheRelayNetworks(recipient: String, code: Int) async throws {
    let replies = try await withServer { port, _ in
        try await dialogue(port: port, source: "127.0.0.5", [
            .read(1), .send("EHLO outside.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:\(recipient)\r\n"), .read(3),
        ])
    }
    #expect(codes(replies) == [220, 250, 250, code], "\(recipient): \(replies)")
}

@Test func relayNetworksMayRelayOverTheWire() async throws {
    let replies = try await withServer { port, _ in
        try await dialogue(port: port, source: "127.0.0.1", [
            .read(1), .send("EHLO inside.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<bob@remote.example>\r\n"), .read(3),
        ])
    }
    #expect(codes(replies) == [220, 250, 250, 250])
}

/// SMTP smuggling probes: a fake end of data followed by a second transaction. The server must
/// see one message (refused, because of the bare line ending) and never a second one.
@Test(arguments: ["\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r\n.\r"])
func smugglingProbesNeverYieldASecondMessage(fake: String) async throws {
    let receiver = InMemoryReceiver()
    let smuggled = "MAIL FROM:<ceo@local.test>\r\nRCPT TO:<victim@local.test>\r\nDATA\r\nSubject: spoofed\r\n\r\nx\r\n"
    let replies = try await withServer(receiver: receiver) { port, _ in
        try await dialogue(port: port, [
            .read(1), .send(transactionStart), .read(4),
            .send("Subject: innocent\r\n\r\nbody" + fake + smuggled + ".\r\nQUIT\r\n"),
            .readUntilClose,
        ])
    }
    #expect(codes(replies).suffix(3) == [554, 221, 0], "\(replies)")
    #expect(await receiver.messages.isEmpty)
}

@Test func bareLineFeedInACommandClosesTheSession() async throws {
    let receiver = InMemoryReceiver()
    let replies = try await withServer(receiver: receiver) { port, _ in
        try await dialogue(port: port, [.read(1), .send("EHLO x\nMAIL FROM:<a@example.org>\r\n"), .readUntilClose])
    }
    #expect(codes(replies) == [220, 554, 0], "\(replies)")
    #expect(await receiver.messages.isEmpty)
}

@Test func clientThatStopsMidDataLeavesNothing() async throws {
    let receiver = InMemoryReceiver()
    try await withServer(receiver: receiver) { port, server in
        _ = try await dialogue(port: port, [.read(1), .send(transactionStart), .read(4), .send("Subject: half\r\n\r\nhalf a bo"), .close])
        try await waitForIdle(server)
        // The server is still serving.
        let replies = try await dialogue(port: port, [.read(1), .send("QUIT\r\n"), .read(1)])
        #expect(codes(replies) == [220, 221])
    }
    #expect(await receiver.messages.isEmpty)
}

@Test func clientThatDisconnectsRightAfterTheDotStillHasItsMessageStored() async throws {
    // At-least-once: the message is stored even if the 250 cannot be delivered.
    let receiver = InMemoryReceiver()
    try await withServer(receiver: receiver) { port, server in
        _ = try await dialogue(port: port, [.read(1), .send(transactionStart), .read(4), .send("hi\r\n.\r\n"), .close])
        try await waitForIdle(server)
    }
    #expect(await receiver.messages.count == 1)
}

@Test func overlongCommandLineIsAnErrorNotACrash() async throws {
    let replies = try await withServer { port, _ in
        try await dialogue(port: port, [.read(1), .send(String(repeating: "A", count: 200_000) + "\r\nNOOP\r\n"), .read(2)])
    }
    #expect(replies.dropFirst().first == ["500 5.5.2 Line too long"])
    #expect(codes(replies).last == 250)
}

@Test func overlongDataLineIsRefused() async throws {
    let receiver = InMemoryReceiver()
    let replies = try await withServer(receiver: receiver) { port, _ in
        try await dialogue(port: port, [
            .read(1), .send(transactionStart), .read(4),
            .send(String(repeating: "x", count: 5000) + "\r\n.\r\nNOOP\r\n"), .read(2),
        ])
    }
    #expect(codes(replies).suffix(2) == [554, 250])
    #expect(await receiver.messages.isEmpty)
}

@Test func nulBytesAreRefusedInCommandsAndContent() async throws {
    let receiver = InMemoryReceiver()
    let replies = try await withServer(receiver: receiver) { port, _ in
        try await dialogue(port: port, [
            .read(1), .send("NO\u{0}OP\r\n"), .read(1), .send(transactionStart), .read(4),
            .send("a\u{0}b\r\n.\r\n"), .read(1),
        ])
    }
    #expect(codes(replies) == [220, 500, 250, 250, 250, 354, 554])
    #expect(await receiver.messages.isEmpty)
}

@Test func messageOverTheSizeLimitIsRefusedAndTheSessionGoesOn() async throws {
    let receiver = InMemoryReceiver()
    let configuration = testConfiguration { $0.maximumMessageSize = 1000 }
    let replies = try await withServer(configuration, receiver: receiver) { port, _ in
        try await dialogue(port: port, [
            .read(1), .send("EHLO x\r\nMAIL FROM:<a@example.org> SIZE=5000\r\n"), .read(2),
            .send("MAIL FROM:<a@example.org>\r\nRCPT TO:<bob@local.test>\r\nDATA\r\n"), .read(3),
            .send(String(repeating: "0123456789\r\n", count: 200) + ".\r\nRSET\r\n"), .read(2),
        ])
    }
    #expect(replies[2] == ["552 5.3.4 Message size exceeds fixed limit"])
    #expect(replies.suffix(2).map { $0.last ?? "" } == ["552 5.3.4 Message size exceeds fixed limit", "250 2.0.0 Ok"])
    #expect(await receiver.messages.isEmpty)
}

@Test func tenThousandRecipientsGetTheLimitReplyAndThe421() async throws {
    let recipients = String(repeating: "RCPT TO:<bob@local.test>\r\n", count: 10_000)
    let replies = try await withServer { port, server in
        let replies = try await dialogue(port: port, [
            .read(1), .send("EHLO x\r\nMAIL FROM:<a@example.org>\r\n"), .read(2),
            .sendInBackground(recipients), .readUntilClose,
        ])
        // The server survived and serves the next client.
        let next = try await dialogue(port: port, [.read(1), .send("QUIT\r\n"), .read(1)])
        #expect(codes(next) == [220, 221])
        return replies
    }
    let all = codes(replies)
    #expect(all.filter { $0 == 250 }.count == 102)
    #expect(all.contains(452))
    #expect(all.suffix(2) == [421, 0])
}

@Test func idleClientsAreDisconnectedWith421() async throws {
    let configuration = testConfiguration { $0.idleTimeout = .milliseconds(300) }
    let replies = try await withServer(configuration) { port, _ in
        try await dialogue(port: port, [.read(1), .send("EHLO x\r\n"), .readUntilClose])
    }
    #expect(replies.suffix(2).map { $0.last ?? "" } == ["421 4.4.2 Idle timeout, closing connection", "EOF"])
}

@Test func connectionsOverThePerAddressLimitGet421AtGreeting() async throws {
    let configuration = testConfiguration { $0.maximumConnectionsPerIP = 1 }
    try await withServer(configuration) { port, _ in
        // While the first session is open, a second one from the same address is refused.
        let (status, output) = try await python("""
        import socket, sys
        a = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
        assert a.recv(512).startswith(b"220"), "first greeting"
        b = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
        print("SECOND", b.recv(512))
        """, port: port)
        #expect(status == 0 && output.contains("SECOND b'421 4.7.0"), "\(output)")
    }
}

/// CVE-2011-0411: commands pipelined behind STARTTLS in plaintext must not run inside TLS.
@Test func plaintextPipelinedBehindSTARTTLSIsDiscarded() async throws {
    let directory = try TemporaryDirectory("smtp-tls-inject")
    let files = try await selfSignedCertificate(in: directory)
    let configuration = testConfiguration { $0.tls = files }
    let replies = try await withServer(configuration) { port, _ in
        try await dialogue(port: port, [
            .read(1), .send("EHLO x\r\n"), .read(1),
            .send("STARTTLS\r\nEHLO evil.example\r\nMAIL FROM:<evil@example.org>\r\n"), .read(1),
            .startTLS,
            .send("RCPT TO:<bob@local.test>\r\n"), .read(1),
        ])
    }
    #expect(codes(replies) == [220, 250, 220, 503], "\(replies)")
}

@Test func clientDribblingOneLineSlowerThanTheTimeoutIsDisconnected() async throws {
    // Each byte comes well within the idle timeout, so only the line deadline can end this session.
    let configuration = testConfiguration { $0.idleTimeout = .milliseconds(600) }
    try await withServer(configuration) { port, _ in
        let (status, output) = try await python("""
        import socket, sys, time
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
        s.settimeout(10)
        assert s.recv(512).startswith(b"220")
        start = time.monotonic()
        reply = b""
        for byte in b"EHLO slowloris.example":
            try:
                s.send(bytes([byte]))
            except OSError:
                break
            time.sleep(0.15)
            s.setblocking(False)
            try:
                reply += s.recv(512)
            except BlockingIOError:
                pass
            s.setblocking(True)
            if reply:
                break
        print("ELAPSED", round(time.monotonic() - start, 2), "REPLY", reply)
        """, port: port)
        #expect(status == 0, "\(output)")
        #expect(output.contains("REPLY b'421 4.4.2"), "the dribbling client must get 421: \(output)")
    }
}
