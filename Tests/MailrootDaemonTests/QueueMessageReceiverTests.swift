// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging
import MailMessage
import MailQueue
import SMTPServer
import Synchronization
import Testing
@testable import MailrootDaemon

@Suite struct QueueMessageReceiverTests {
    static func message(receivedFields: Int, id: QueueID = .generate()) -> ReceivedMessage {
        var text = ""
        for hop in 0..<receivedFields { text += "Received: from hop\(hop).example by hop\(hop + 1).example; Sun, 1 Nov 2026 00:00:00 +0000\r\n" }
        text += "From: <a@example.com>\r\nSubject: t\r\n\r\nHello.\r\n"
        let envelope = Envelope(sender: MailAddress("a@example.com"), recipients: [EnvelopeRecipient(MailAddress("b@example.org")!)])
        return ReceivedMessage(queueID: id, envelope: envelope, content: Array(text.utf8), hasEightBitContent: false,
                               smtpUTF8: false, bodyType: .sevenBit, clientAddress: nil, heloName: "client.example",
                               protocolName: "ESMTP")
    }

    /// A queue in a fresh directory, and the entries handed on to "delivery".
    static func receiver(maxReceivedHeaders: Int = 30) async throws -> (QueueMessageReceiver, Queue, Handed, String) {
        let directory = NSTemporaryDirectory() + "mailroot-receiver-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let queue = Queue(configuration: QueueConfiguration(directory: directory), logger: Logger(label: "test"))
        _ = try await queue.recover()
        let handed = Handed()
        let receiver = QueueMessageReceiver(queue: queue, maxReceivedHeaders: maxReceivedHeaders, logger: Logger(label: "test"),
                                            onQueued: { entry in handed.ids.withLock { $0.append(entry.id) } })
        return (receiver, queue, handed, directory)
    }

    @Test func anAcceptedMessageIsQueuedUnderTheListenersIDAndHandedToDelivery() async throws {
        let (receiver, queue, handed, directory) = try await Self.receiver()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let message = Self.message(receivedFields: 1)
        let outcome = try await receiver.receive(message)
        #expect(outcome == .queued(message.queueID))
        let entry = try #require(await queue.entry(message.queueID))
        #expect(entry.source == "smtp:[unknown]")
        #expect(entry.envelope == message.envelope)
        #expect(handed.ids.withLock { $0 } == [message.queueID])
    }

    @Test func moreReceivedFieldsThanTheLimitIsRefusedAsALoopAndNothingIsQueued() async throws {
        let (receiver, queue, handed, directory) = try await Self.receiver(maxReceivedHeaders: 5)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = try await receiver.receive(Self.message(receivedFields: 5))
        await #expect(throws: ReceiptRefusal(code: 554, status: .routingLoop, "Too many hops (6 Received: fields), mail loop")) {
            try await receiver.receive(Self.message(receivedFields: 6))
        }
        #expect(await queue.count == 1)
        #expect(handed.ids.withLock { $0.count } == 1)
    }

    @Test func aFullDiskIs452WithStatus4_3_1AndOtherQueueTroubleIs451() {
        let full = QueueMessageReceiver.refusal(for: .diskFull("ENOSPC on /var/spool/mailroot/queue"))
        #expect(full.reply.code == 452)
        #expect(full.reply.enhancedStatus == .mailSystemFull)
        #expect(!full.description.contains("/var/spool"), "no paths on the wire")
        let io = QueueMessageReceiver.refusal(for: .io("EIO"))
        #expect(io.reply.code == 451)
        #expect(io.reply.enhancedStatus == EnhancedStatusCode(.persistentTransientFailure, 3, 0))
    }

    @Test func aDuplicateQueueIDIsRefusedTemporarilyNotAcceptedTwice() async throws {
        let (receiver, _, handed, directory) = try await Self.receiver()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let message = Self.message(receivedFields: 0)
        _ = try await receiver.receive(message)
        await #expect(throws: ReceiptRefusal.self) { try await receiver.receive(message) }
        #expect(handed.ids.withLock { $0.count } == 1)
    }
}

/// The entries the receiver handed on to delivery.
final class Handed: Sendable {
    let ids = Mutex<[QueueID]>([])
}
