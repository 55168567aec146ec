// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailMessage
import MailrootTestSupport
import NIOCore
import SMTPClient
import Testing

/// Postfix's smtp-sink announces PIPELINING (aiosmtpd does not by itself).
@Suite(.serialized) struct PipeliningToSmtpSinkTests {
    @Test func transactionsArePipelinedToSmtpSink() async throws {
        try requirePeer("/usr/sbin/smtp-sink")
        let directory = try TemporaryDirectory("sink")
        let port = try freePort()
        let user = geteuid() == 0 ? ["-u", "nobody"] : []
        let sink = try ChildProcess("/usr/sbin/smtp-sink", user + ["-c", "127.0.0.1:\(port)", "100"], logPath: directory.file("sink.log"))
        defer { sink.stop() }
        try await waitForListener(port: port)
        let connection = try await SMTPConnection.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: port), serverName: "localhost",
                                                          configuration: configuration(), logger: testLogger)
        #expect(connection.capabilities.pipelining)
        for index in 0..<3 {
            let result = try await connection.send(OutgoingTransaction(
                sender: address("a@example.org"), recipients: recipients("b@example.net", "c@example.net"),
                message: try storedMessage("Subject: \(index)\r\n\r\n.dot\r\nbody\r\n", in: directory, name: "m\(index)")))
            #expect(result.pipelined)
            #expect(result.mailReply.code == 250)
            #expect(result.recipientReplies.map(\.code) == [250, 250])
            #expect(result.dataReply?.code == 250)
        }
        await connection.quit()
    }
}
