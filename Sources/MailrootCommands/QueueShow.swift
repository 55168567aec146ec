// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import MailMessage
import MailQueue
import MailrootDaemon

/// `mailroot queue show ID`: one message's envelope, every attempt per recipient, and its headers.
struct QueueShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one queued message: envelope, attempts, last reply, next try, headers.",
        discussion: """
        Prints the envelope (sender, source, DSN parameters), then for each recipient its state, \
        every recorded attempt with the server's reply, and the next try; then the message's \
        header fields. The body is never read. Exits 1 when the message is not in the queue \
        (delivered, bounced, or never queued).
        """)

    /// Headers beyond this are not shown: the pickup and SMTP limits keep real ones far smaller.
    static let headerLimit = 1024 * 1024

    @OptionGroup var options: ConfigOption

    @Argument(help: "The queue ID (16 characters, as printed by queue list and in every log line).")
    var id: String

    func run() throws {
        try reportingFailures {
            let queueID = try parseQueueID(id)
            let configuration = try options.load()
            let directory = MailrootFolders(root: configuration.rootPath).queue
            let notQueued = CommandFailure("no message \(queueID) in \(directory) (delivered, bounced or never queued)")
            guard let message = try QueueSnapshot.message(directory: directory, id: queueID) else { throw notQueued }
            // The body is left unread; a message finishing between the two reads is simply gone.
            guard let headers = try QueueSnapshot.headerSection(of: message.entry.message, limit: Self.headerLimit) else { throw notQueued }
            print(QueueShowReport(message: message, headers: headers, now: Date()).text(), terminator: "")
        }
    }
}

struct QueueShowReport {
    var message: QueueSnapshotMessage
    var headers: [UInt8]
    var now: Date

    func text() -> String {
        let entry = message.entry
        var out = "Queue ID:     \(entry.id)\n"
        out += "Arrival:      \(formatTime(entry.arrival)) (\(formatAge(now.timeIntervalSince(entry.arrival))) ago)\n"
        out += "Size:         \(message.size) bytes\n"
        out += "Sender:       \(message.senderText)\n"
        out += "Source:       \(terminalSafe(entry.source))\n"
        if entry.isHeld { out += "Held:         yes, not tried until 'mailroot queue release \(entry.id)'\n" }
        if let envelopeID = entry.envelope.envelopeID { out += "Envelope ID:  \(terminalSafe(envelopeID))\n" }
        let flags = (entry.message.hasEightBitContent ? ["8BITMIME"] : []) + (entry.needsSMTPUTF8 ? ["SMTPUTF8"] : [])
        if !flags.isEmpty { out += "Needs:        \(flags.joined(separator: " "))\n" }
        for (index, status) in entry.recipients.enumerated() {
            out += "\n" + recipientBlock(index: index, status: status)
        }
        out += "\nHeaders:\n"
        for line in headerLines(headers) { out += "  \(line)\n" }
        if headers.count >= QueueShow.headerLimit {
            out += "  (header section cut at \(QueueShow.headerLimit) bytes)\n"
        }
        return out
    }

    private func recipientBlock(index: Int, status: RecipientStatus) -> String {
        var out = "Recipient \(index + 1): \(terminalSafe(status.recipient.address.description))\n"
        if let orcpt = status.recipient.originalRecipient { out += "  ORCPT:      \(terminalSafe(orcpt))\n" }
        if let notify = status.recipient.notify { out += "  NOTIFY:     \(terminalSafe(notify))\n" }
        out += "  State:      \(stateName(status)), \(status.attempts) attempt\(status.attempts == 1 ? "" : "s")\n"
        for attempt in message.attempts where attempt.recipientIndex == index {
            out += "  Attempt:    \(formatTime(attempt.time)) \(attempt.outcome.rawValue): \(terminalSafe(attempt.reply))\n"
        }
        if let reply = status.lastReply { out += "  Last reply: \(terminalSafe(reply))\n" }
        if status.state == .pending {
            out += "  Next try:   \(formatTime(status.nextAttempt)) (\(formatDue(status.nextAttempt, now: now)))\n"
        }
        return out
    }
}
