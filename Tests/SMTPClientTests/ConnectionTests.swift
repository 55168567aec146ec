// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailMessage
import MailrootTestSupport
import NIOCore
import SMTPClient
import SMTPProtocol
import Testing

@Suite(.serialized) struct ConnectionTests {
    @Test func startTLSIsUsedWhenOfferedAndTheServerSeesTLS() async throws {
        let directory = try TemporaryDirectory("client-tls")
        let (certificate, key) = try makeCertificate(in: directory)
        var options = SMTPTestServer.Options()
        options.tlsCertificate = certificate
        options.tlsKey = key
        let server = try await SMTPTestServer(options: options)
        let connection = try await connect(to: server)
        #expect(connection.isEncrypted)
        #expect(connection.tlsDescription?.hasPrefix("TLSv1.") == true)
        #expect(!connection.capabilities.startTLS, "capabilities must come from the EHLO after TLS")
        let result = try await connection.send(OutgoingTransaction(sender: address("a@example.org"), recipients: recipients("b@example.net"),
                                                                   message: try storedMessage(simpleMessage, in: directory)))
        await connection.quit()
        #expect(result.dataReply?.code == 250)
        let received = try await server.waitForMessages(count: 1)
        #expect(received[0].tls)
        #expect(received[0].text == simpleMessage)
    }

    @Test func startTLSIsSkippedWhenDisabled() async throws {
        let directory = try TemporaryDirectory("client-tls")
        let (certificate, key) = try makeCertificate(in: directory)
        var options = SMTPTestServer.Options()
        options.tlsCertificate = certificate
        options.tlsKey = key
        let server = try await SMTPTestServer(options: options)
        let connection = try await connect(to: server, configuration(tls: false))
        #expect(!connection.isEncrypted && connection.tlsDescription == nil)
        #expect(connection.capabilities.startTLS)
        await connection.quit()
    }

    @Test func aGreetingOf554IsReportedWithItsReply() async throws {
        var options = SMTPTestServer.Options()
        options.greetingCode = 554
        let server = try await SMTPTestServer(options: options)
        await #expect {
            try await connect(to: server)
        } throws: { error in
            guard case .greetingRejected(let reply) = error as? SMTPClientError else { return false }
            return reply.code == 554 && reply.isPermanent
        }
    }

    @Test func aRefusedConnectionIsConnectionFailed() async throws {
        let port = try freePort()
        await #expect {
            try await SMTPConnection.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: port), serverName: "mx.test",
                                             configuration: configuration(), logger: testLogger)
        } throws: { error in
            guard case .connectionFailed = error as? SMTPClientError else { return false }
            return true
        }
    }

    @Test func aServerThatNeverGreetsTimesOut() async throws {
        let (listener, port) = try await silentListener()
        defer { listener.close(promise: nil) }
        let started = ContinuousClock.now
        await #expect(throws: SMTPClientError.timeout(stage: .greeting)) {
            try await SMTPConnection.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: port), serverName: "mx.test",
                                             configuration: configuration(timeout: .milliseconds(300)), logger: testLogger)
        }
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func tooManyOrNoRecipientsAreRefusedBeforeTheWire() async throws {
        let directory = try TemporaryDirectory("client")
        let server = try await SMTPTestServer()
        let connection = try await connect(to: server)
        let message = try storedMessage(simpleMessage, in: directory)
        let many = (0...SMTPConnection.maximumRecipients).map { EnvelopeRecipient(address("r\($0)@example.net")) }
        for list in [many, []] {
            await #expect {
                try await connection.send(OutgoingTransaction(sender: address("a@example.org"), recipients: list, message: message))
            } throws: { error in
                guard case .invalidTransaction = error as? SMTPClientError else { return false }
                return true
            }
        }
        let result = try await connection.send(OutgoingTransaction(sender: address("a@example.org"), recipients: recipients("b@example.net"),
                                                                   message: message))
        await connection.quit()
        #expect(result.dataReply?.code == 250)
    }

    @Test func aMissingMessageFileIsReportedWithoutBreakingTheConnection() async throws {
        let server = try await SMTPTestServer()
        let connection = try await connect(to: server)
        let missing = StoredMessage(path: "/nonexistent/mailroot/message", offset: 0, length: 10, hasEightBitContent: false)
        await #expect {
            try await connection.send(OutgoingTransaction(sender: nil, recipients: recipients("b@example.net"), message: missing))
        } throws: { error in
            guard case .messageUnreadable = error as? SMTPClientError else { return false }
            return true
        }
        try await connection.reset()
        await connection.quit()
    }
}
