// SPDX-License-Identifier: Apache-2.0
import Logging
import MailMessage
import MailQueue
import SMTPServer

/// The listener's `MessageReceiver` over the durable queue: what the SMTP listener accepts goes
/// into the same queue as the pickup's files and follows the same routing, drop and bounce rules.
///
/// `receive` returns only after `Queue.enqueue` has fsynced the message (the listener's `250`
/// follows), then hands the entry to delivery through `onQueued`, as the pickup does. A queue
/// failure becomes the reply it names (a full disk `452 4.3.1`), so the client keeps the message
/// and tries again; the queue keeps nothing half-written.
struct QueueMessageReceiver: MessageReceiver {
    let queue: Queue
    /// More `Received:` fields than this (ours included) is a mail loop (RFC 5321 §6.3).
    let maxReceivedHeaders: Int
    let logger: Logger
    let onQueued: @Sendable (QueueEntry) async -> Void

    func receive(_ message: ReceivedMessage) async throws -> ReceiptOutcome {
        try refuseLoops(message)
        let new = NewMessage(id: message.queueID, envelope: message.envelope, content: message.content,
                             hasEightBitContent: message.hasEightBitContent,
                             needsSMTPUTF8: Self.needsSMTPUTF8(message), source: message.sourceDescription)
        let entry: QueueEntry
        do {
            entry = try await queue.enqueue(new)
        } catch {
            logger.warning("\(message.queueID): smtp refused from \(message.sourceDescription): \(error)")
            throw Self.refusal(for: error)
        }
        DaemonMetrics.smtpReceived.increment()
        // The queue logs "ID: client=smtp:[address], from=..., nrcpt=..., size=..." itself.
        await onQueued(entry)
        return .queued(entry.id)
    }

    /// The pickup refuses the same count, so a loop between an application and the listener ends
    /// the same way whichever door the message came in by.
    private func refuseLoops(_ message: ReceivedMessage) throws(ReceiptRefusal) {
        guard let section = try? HeaderSection(parsing: message.content) else { return }
        let received = section.fields(named: "Received").count
        guard received > maxReceivedHeaders else { return }
        logger.warning("\(message.queueID): smtp refused from \(message.sourceDescription): \(received) Received: fields, a mail loop")
        throw ReceiptRefusal(code: 554, status: .routingLoop, "Too many hops (\(received) Received: fields), mail loop")
    }

    /// RFC 6531 §3.2: a client that declared SMTPUTF8 may have put UTF-8 in header fields, and a
    /// relay must not then pass the message to a server without SMTPUTF8. Addresses are checked
    /// by the queue; here only the header section is looked at (a UTF-8 body needs 8BITMIME only).
    static func needsSMTPUTF8(_ message: ReceivedMessage) -> Bool? {
        guard message.smtpUTF8, message.hasEightBitContent else { return nil }
        let separator: [UInt8] = [13, 10, 13, 10]
        let content = message.content
        var end = content.count
        if content.count >= 4 {
            for index in 0...(content.count - 4) where content[index..<index + 4].elementsEqual(separator) {
                end = index
                break
            }
        }
        return content[..<end].contains { $0 >= 0x80 } ? true : nil
    }

    /// The reply the queue's error names (RFC 3463 §3.4: a full disk is 452 4.3.1). The client
    /// sees the class of trouble, never a path or errno text from our disk.
    static func refusal(for error: QueueError) -> ReceiptRefusal {
        let text = switch error {
        case .diskFull: "Insufficient system storage, try again later"
        case .invalidRequest: "Message refused by the queue"
        default: "Local error in processing, try again later"
        }
        return ReceiptRefusal(code: error.replyCode, status: error.status, text)
    }
}
