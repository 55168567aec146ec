// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailMessage
import MailrootTestSupport
import SMTPClient
import SMTPProtocol
import Testing

@Suite(.serialized) struct DeliveryToAiosmtpdTests {
    @Test func deliversTheMessageByteExactWithDotsAndEightBitContent() async throws {
        let directory = try TemporaryDirectory("client")
        let server = try await SMTPTestServer()
        let body = "From: Zoë <a@example.org>\r\nTo: b@example.net\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n\r\n"
            + ".starts with a dot\r\n..two dots\r\n.\r\nend of the line.\r\nGrüße, ☃\r\n"
        let message = try storedMessage(body, in: directory)
        #expect(message.hasEightBitContent)
        let connection = try await connect(to: server)
        let result = try await connection.send(OutgoingTransaction(sender: address("a@example.org"),
                                                                   recipients: recipients("b@example.net"), message: message))
        await connection.quit()
        #expect(result.dataReply?.code == 250)
        #expect(result.isDelivered(recipient: 0))
        let received = try await server.waitForMessages(count: 1)
        #expect(received[0].data == Array(body.utf8))
        #expect(received[0].mailFrom == "a@example.org")
        #expect(received[0].recipients == ["b@example.net"])
        #expect(received[0].helo == "relay.mailroot.test")
        #expect(received[0].mailOptions.contains("BODY=8BITMIME"))
    }

    @Test func aBodyWithoutFinalCRLFArrivesWithOneAdded() async throws {
        let directory = try TemporaryDirectory("client")
        let server = try await SMTPTestServer()
        let body = "Subject: x\r\n\r\nno line break at the end"
        let connection = try await connect(to: server)
        let result = try await connection.send(OutgoingTransaction(sender: nil, recipients: recipients("b@example.net"),
                                                                   message: try storedMessage(body, in: directory)))
        await connection.quit()
        #expect(result.dataReply?.code == 250)
        let received = try await server.waitForMessages(count: 1)
        #expect(received[0].data == Array((body + "\r\n").utf8))
        #expect(received[0].mailFrom == "<>", "aiosmtpd records the null reverse-path as <>")
    }

    @Test func aRefusedRecipientGetsItsOwnReplyWhileTheOthersReceiveTheMessage() async throws {
        var options = SMTPTestServer.Options()
        options.rejectRecipients = ["nobody@example.net"]
        options.deferRecipients = ["later@example.net"]
        let directory = try TemporaryDirectory("client")
        let server = try await SMTPTestServer(options: options)
        let connection = try await connect(to: server)
        let result = try await connection.send(OutgoingTransaction(
            sender: address("a@example.org"),
            recipients: recipients("one@example.net", "nobody@example.net", "later@example.net", "two@example.net"),
            message: try storedMessage(simpleMessage, in: directory)))
        await connection.quit()
        #expect(result.recipientReplies.map(\.code) == [250, 550, 451, 250])
        #expect(result.recipientReplies[1].enhancedStatus == .badMailbox)
        #expect(result.effectiveReply(forRecipient: 1).isPermanent)
        #expect(result.effectiveReply(forRecipient: 2).isTransient)
        #expect(result.effectiveReply(forRecipient: 3).code == 250)
        #expect(result.isDelivered(recipient: 0) && !result.isDelivered(recipient: 1))
        let received = try await server.waitForMessages(count: 1)
        #expect(received[0].recipients == ["one@example.net", "two@example.net"])
    }

    @Test func aDeferredDataIsReportedAndTheConnectionStaysUsable() async throws {
        var options = SMTPTestServer.Options()
        options.deferFirst = 1
        let directory = try TemporaryDirectory("client")
        let server = try await SMTPTestServer(options: options)
        let connection = try await connect(to: server)
        let transaction = OutgoingTransaction(sender: address("a@example.org"), recipients: recipients("b@example.net"),
                                              message: try storedMessage(simpleMessage, in: directory))
        let first = try await connection.send(transaction)
        #expect(first.dataReply?.code == 451)
        #expect(first.effectiveReply(forRecipient: 0).isTransient)
        #expect(!first.isDelivered(recipient: 0))
        let second = try await connection.send(transaction)
        await connection.quit()
        #expect(second.dataReply?.code == 250)
        #expect(try await server.waitForMessages(count: 1).count == 1)
    }

    @Test func noAcceptedRecipientMeansNoContentIsSent() async throws {
        var options = SMTPTestServer.Options()
        options.rejectRecipients = ["x@example.net"]
        let directory = try TemporaryDirectory("client")
        let server = try await SMTPTestServer(options: options)
        let connection = try await connect(to: server)
        let result = try await connection.send(OutgoingTransaction(sender: address("a@example.org"), recipients: recipients("x@example.net"),
                                                                   message: try storedMessage(simpleMessage, in: directory)))
        #expect(result.dataReply == nil)
        #expect(result.recipientReplies[0].code == 550)
        // The connection is still in step: a NOOP-free proof is another transaction that works.
        let options2 = try await connection.send(OutgoingTransaction(sender: address("a@example.org"), recipients: recipients("y@example.net"),
                                                                     message: try storedMessage(simpleMessage, in: directory)))
        await connection.quit()
        #expect(options2.dataReply?.code == 250)
        #expect(try server.receivedMessages().count == 1)
    }

    @Test func twoTransactionsWithRSETOnOneConnection() async throws {
        let directory = try TemporaryDirectory("client")
        let server = try await SMTPTestServer()
        let connection = try await connect(to: server)
        for index in 1...2 {
            let result = try await connection.send(OutgoingTransaction(
                sender: address("a@example.org"), recipients: recipients("r\(index)@example.net"),
                message: try storedMessage("Subject: \(index)\r\n\r\nbody \(index)\r\n", in: directory, name: "m\(index)")))
            #expect(result.dataReply?.code == 250)
            try await connection.reset()
        }
        await connection.quit()
        let received = try await server.waitForMessages(count: 2)
        #expect(received.map(\.recipients) == [["r1@example.net"], ["r2@example.net"]])
        #expect(received[1].text == "Subject: 2\r\n\r\nbody 2\r\n")
    }

    @Test func aThreeMebibyteMessageStreamsByteExact() async throws {
        let directory = try TemporaryDirectory("client")
        let server = try await SMTPTestServer()
        var body = Array("Subject: big\r\n\r\n".utf8)
        var line = 0
        while body.count < 3 * 1024 * 1024 {
            let text = line % 7 == 0 ? ".dot line \(line)\r\n" : "line \(line) \(String(repeating: "x", count: line % 200))\r\n"
            body += Array(text.utf8)
            line += 1
        }
        let connection = try await connect(to: server)
        let result = try await connection.send(OutgoingTransaction(sender: address("a@example.org"), recipients: recipients("b@example.net"),
                                                                   message: try storedMessage(body, in: directory)))
        await connection.quit()
        #expect(result.dataReply?.code == 250)
        let received = try await server.waitForMessages(count: 1)
        #expect(received[0].data.count == body.count)
        #expect(received[0].data == body)
    }

    @Test func aMessageOverTheAnnouncedSizeIsNotSent() async throws {
        var options = SMTPTestServer.Options()
        options.sizeLimit = 1000
        let directory = try TemporaryDirectory("client")
        let server = try await SMTPTestServer(options: options)
        let connection = try await connect(to: server)
        #expect(connection.capabilities.sizeLimit == 1000)
        // aiosmtpd checks SIZE= itself and removes it from the recorded options.
        let big = try storedMessage("Subject: big\r\n\r\n" + String(repeating: "0123456789\r\n", count: 200), in: directory)
        let result = try await connection.send(OutgoingTransaction(sender: address("a@example.org"),
                                                                   recipients: recipients("b@example.net", "c@example.net"), message: big))
        #expect(result.recipientReplies.map(\.code) == [552, 552])
        #expect(result.recipientReplies.allSatisfy { $0.enhancedStatus == .messageTooBig })
        #expect(result.dataReply == nil)
        let small = try await connection.send(OutgoingTransaction(sender: address("a@example.org"), recipients: recipients("b@example.net"),
                                                                  message: try storedMessage(simpleMessage, in: directory, name: "s")))
        await connection.quit()
        #expect(small.dataReply?.code == 250)
        let received = try await server.waitForMessages(count: 1)
        #expect(received.count == 1 && received[0].text == simpleMessage)
    }

    @Test func utf8AddressesNeedSMTPUTF8() async throws {
        let directory = try TemporaryDirectory("client")
        let message = try storedMessage(simpleMessage, in: directory)
        let transaction = OutgoingTransaction(sender: address("a@example.org"), recipients: recipients("δοκιμή@example.net"), message: message)
        let plain = try await SMTPTestServer()
        let refusedConnection = try await connect(to: plain)
        let refused = try await refusedConnection.send(transaction)
        await refusedConnection.quit()
        #expect(refused.recipientReplies[0].code == 553)
        #expect(refused.recipientReplies[0].enhancedStatus == .nonASCIIAddressNotPermitted)
        #expect(try plain.receivedMessages().isEmpty)

        var options = SMTPTestServer.Options()
        options.smtpUTF8 = true
        let capable = try await SMTPTestServer(options: options)
        let connection = try await connect(to: capable)
        let result = try await connection.send(transaction)
        await connection.quit()
        #expect(result.dataReply?.code == 250)
        let received = try await capable.waitForMessages(count: 1)
        #expect(received[0].recipients == ["δοκιμή@example.net"])
        #expect(received[0].mailOptions.contains("SMTPUTF8"))
    }

    @Test func eightBitContentGoesWithoutBodyParameterToAServerWithout8BITMIME() async throws {
        var options = SMTPTestServer.Options()
        options.eightBitMIME = false
        let directory = try TemporaryDirectory("client")
        let server = try await SMTPTestServer(options: options)
        let body = "Subject: x\r\n\r\nGrüße\r\n"
        let connection = try await connect(to: server)
        #expect(!connection.capabilities.eightBitMIME)
        let result = try await connection.send(OutgoingTransaction(sender: address("a@example.org"), recipients: recipients("b@example.net"),
                                                                   message: try storedMessage(body, in: directory)))
        await connection.quit()
        #expect(result.dataReply?.code == 250)
        let received = try await server.waitForMessages(count: 1)
        #expect(!received[0].mailOptions.contains { $0.uppercased().hasPrefix("BODY=") })
        #expect(received[0].data == Array(body.utf8))
    }

    @Test func dsnParametersGoOnlyToServersOfferingDSN() async throws {
        let directory = try TemporaryDirectory("client")
        let message = try storedMessage(simpleMessage, in: directory)
        let recipient = EnvelopeRecipient(address("b@example.net"), originalRecipient: "rfc822;b@example.net", notify: "FAILURE")
        let transaction = OutgoingTransaction(sender: address("a@example.org"), recipients: [recipient], message: message, envelopeID: "QID123")
        var options = SMTPTestServer.Options()
        options.dsn = true
        for dsn in [true, false] {
            let server = try await SMTPTestServer(options: dsn ? options : SMTPTestServer.Options())
            let connection = try await connect(to: server)
            _ = try await connection.send(transaction)
            await connection.quit()
            let received = try await server.waitForMessages(count: 1)
            #expect(received[0].mailOptions.contains("ENVID=QID123") == dsn)
            #expect((received[0].recipientOptions.first ?? []) == (dsn ? ["NOTIFY=FAILURE", "ORCPT=RFC822;B@EXAMPLE.NET"] : []), "aiosmtpd upper-cases options")
        }
    }

    @Test func pipelinedTransactionsKeepPerRecipientRepliesInOrder() async throws {
        var options = SMTPTestServer.Options()
        options.pipelining = true
        options.rejectRecipients = ["no@example.net"]
        let directory = try TemporaryDirectory("client")
        let server = try await SMTPTestServer(options: options)
        let body = "Subject: p\r\n\r\n.dot\r\nbody\r\n"
        let connection = try await connect(to: server)
        let result = try await connection.send(OutgoingTransaction(sender: address("a@example.org"),
                                                                   recipients: recipients("yes@example.net", "no@example.net"),
                                                                   message: try storedMessage(body, in: directory)))
        let refused = try await connection.send(OutgoingTransaction(sender: address("a@example.org"), recipients: recipients("no@example.net"),
                                                                    message: try storedMessage(body, in: directory, name: "2")))
        await connection.quit()
        #expect(result.pipelined)
        #expect(result.recipientReplies.map(\.code) == [250, 550])
        #expect(result.dataReply?.code == 250)
        #expect(refused.pipelined && refused.dataReply == nil && refused.recipientReplies[0].code == 550)
        let received = try await server.waitForMessages(count: 1)
        #expect(received[0].data == Array(body.utf8))
        #expect(try server.receivedMessages().count == 1)
    }
}
