// SPDX-License-Identifier: Apache-2.0
import MailMessage
import MailrootTestSupport
import NIOCore
import SMTPClient
import SMTPProtocol
import Testing

private func connect(_ server: ScriptedServer, timeout: Duration = .seconds(5)) async throws -> SMTPConnection {
    try await SMTPConnection.connect(to: server.address, serverName: "mx.test", configuration: configuration(timeout: timeout), logger: testLogger)
}

@Suite struct MisbehavingServerTests {
    @Test func repliesInjectedAfterTheSTARTTLS220EndTheConnection() async throws {
        let server = try await ScriptedServer(respond: ordinaryServer(["STARTTLS"]) { line in
            line == "STARTTLS" ? "220 ready\r\n250-injected\r\n250 PIPELINING\r\n" : nil
        })
        await #expect {
            try await connect(server)
        } throws: { error in
            guard case .protocolViolation(stage: .startTLS, let text) = error as? SMTPClientError else { return false }
            return text.contains("STARTTLS")
        }
    }

    @Test func aFailedTLSHandshakeIsTLSHandshakeFailed() async throws {
        let server = try await ScriptedServer(respond: ordinaryServer(["STARTTLS"]) { line in
            line == "STARTTLS" ? "220 ready\r\n" : (line.hasPrefix("EHLO") ? nil : "500 not TLS\r\n")
        })
        // The scripted server never answers the ClientHello: the handshake stalls until the deadline.
        await #expect {
            try await connect(server, timeout: .milliseconds(500))
        } throws: { error in
            guard case .tlsHandshakeFailed = error as? SMTPClientError else { return false }
            return true
        }
    }

    @Test func helloFallsBackToHELOWhenEHLOIsRefused() async throws {
        let server = try await ScriptedServer(respond: ordinaryServer([]) { line in
            line.hasPrefix("EHLO") ? "502 5.5.1 what is EHLO\r\n" : nil
        })
        let connection = try await connect(server)
        #expect(connection.capabilities == .none)
        await connection.quit()
        let commands = server.reads.all.joined()
        #expect(commands.contains("HELO relay.mailroot.test\r\n"))
    }

    @Test func aTransientEHLORefusalIsHeloRejected() async throws {
        let server = try await ScriptedServer(respond: ordinaryServer([]) { line in
            line.hasPrefix("EHLO") ? "421 4.3.2 busy\r\n" : nil
        })
        await #expect {
            try await connect(server)
        } throws: { error in
            guard case .heloRejected(let reply) = error as? SMTPClientError else { return false }
            return reply.code == 421
        }
    }

    @Test func pipeliningSendsMailRcptAndDataInOneWrite() async throws {
        let directory = try TemporaryDirectory("scripted")
        let server = try await ScriptedServer(respond: ordinaryServer(["PIPELINING"]))
        let connection = try await connect(server)
        let result = try await connection.send(OutgoingTransaction(sender: address("a@example.org"),
                                                                   recipients: recipients("b@example.net", "c@example.net"),
                                                                   message: try storedMessage(simpleMessage, in: directory)))
        await connection.quit()
        #expect(result.pipelined && result.dataReply?.code == 250)
        let reads = server.reads.all
        #expect(reads.contains { $0 == "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n" })
    }

    @Test func withoutPipeliningCommandsGoOneAtATime() async throws {
        let directory = try TemporaryDirectory("scripted")
        let server = try await ScriptedServer(respond: ordinaryServer([]))
        let connection = try await connect(server)
        let result = try await connection.send(OutgoingTransaction(sender: address("a@example.org"), recipients: recipients("b@example.net"),
                                                                   message: try storedMessage(simpleMessage, in: directory)))
        await connection.quit()
        #expect(!result.pipelined && result.dataReply?.code == 250)
        let reads = server.reads.all
        #expect(reads.contains("MAIL FROM:<a@example.org>\r\n") && reads.contains("RCPT TO:<b@example.net>\r\n"))
    }

    @Test func aRefusedMailGivesEveryRecipientTheMailReply() async throws {
        let directory = try TemporaryDirectory("scripted")
        let server = try await ScriptedServer(respond: ordinaryServer(["PIPELINING"]) { line in
            if line.hasPrefix("MAIL") { return "550 5.7.1 sender refused\r\n" }
            if line.hasPrefix("RCPT") || line == "DATA" { return "503 5.5.1 need MAIL\r\n" }
            return nil
        })
        let connection = try await connect(server)
        let result = try await connection.send(OutgoingTransaction(sender: address("a@example.org"),
                                                                   recipients: recipients("b@example.net", "c@example.net"),
                                                                   message: try storedMessage(simpleMessage, in: directory)))
        await connection.quit()
        #expect(result.recipientReplies.map(\.code) == [550, 550])
        #expect(result.dataReply == nil)
    }

    @Test func anOverlongReplyIsAProtocolViolation() async throws {
        let server = try await ScriptedServer(greeting: "220 " + String(repeating: "x", count: 5000) + "\r\n", respond: ordinaryServer([]))
        await #expect {
            try await connect(server)
        } throws: { error in
            guard case .protocolViolation(stage: .greeting, _) = error as? SMTPClientError else { return false }
            return true
        }
    }

    @Test func aServerThatStopsAnsweringMidTransactionTimesOut() async throws {
        let directory = try TemporaryDirectory("scripted")
        let server = try await ScriptedServer(respond: ordinaryServer([]) { line in
            line.hasPrefix("RCPT") ? "" : nil
        })
        let connection = try await connect(server, timeout: .milliseconds(300))
        await #expect(throws: SMTPClientError.timeout(stage: .rcpt)) {
            try await connection.send(OutgoingTransaction(sender: address("a@example.org"), recipients: recipients("b@example.net"),
                                                          message: try storedMessage(simpleMessage, in: directory)))
        }
        await #expect(throws: SMTPClientError.connectionUnusable) {
            try await connection.reset()
        }
        await connection.quit()
    }
}
