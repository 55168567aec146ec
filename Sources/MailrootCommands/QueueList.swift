// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import MailQueue
import MailrootDaemon

/// `mailroot queue list [--json]`: every queued message with its recipients' states, and a summary.
struct QueueList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List queued messages: ID, age, size, sender, each recipient's state.",
        discussion: """
        One block per message, oldest first: the ID, age, size and sender, then one line per \
        recipient: pending (not tried yet), deferred (attempts, next try, last reply), delivered \
        or failed. The last line sums up. Reads only the queue files' headers and journals, \
        takes no lock, and is safe while serve runs.
        """)

    @OptionGroup var options: ConfigOption

    @Flag(help: "Print one JSON object (messages, summary, unreadable files) for scripts.")
    var json = false

    func run() throws {
        try reportingFailures {
            let configuration = try options.load()
            let directory = MailrootFolders(root: configuration.rootPath).queue
            let snapshot = try QueueListing.load(directory: directory)
            print(json ? try snapshot.json() : snapshot.text(), terminator: "")
        }
    }
}

/// The queue as listed at one instant.
struct QueueListing {
    var messages: [QueueSnapshotMessage]
    var unreadable: [String: String]
    var now: Date

    static func load(directory: String, now: Date = Date()) throws -> QueueListing {
        // A root where serve never ran has no queue yet: that is an empty queue, not an error.
        guard FileManager.default.fileExists(atPath: "\(directory)/msg") else {
            return QueueListing(messages: [], unreadable: [:], now: now)
        }
        let (messages, unreadable) = try QueueSnapshot.load(directory: directory)
        return QueueListing(messages: messages, unreadable: unreadable, now: now)
    }

    var pendingRecipients: Int { messages.reduce(0) { $0 + $1.entry.pendingIndices.count } }
    var oldestAge: TimeInterval? { messages.map { now.timeIntervalSince($0.entry.arrival) }.max() }

    func text() -> String {
        var out = ""
        for message in messages {
            let entry = message.entry
            out += "\(entry.id)  \(formatAge(now.timeIntervalSince(entry.arrival)))  \(formatSize(message.size))  from \(message.senderText)"
            out += entry.isHeld ? "  HELD (mailroot queue release \(entry.id))\n" : "\n"
            for status in entry.recipients {
                out += "    \(terminalSafe(status.recipient.address.description))  \(recipientSummary(status))\n"
            }
        }
        for (name, reason) in unreadable.sorted(by: { $0.key < $1.key }) {
            out += "unreadable: msg/\(terminalSafe(name)): \(terminalSafe(reason))\n"
        }
        let count = messages.count
        out += "-- \(count) message\(count == 1 ? "" : "s"), \(pendingRecipients) recipient\(pendingRecipients == 1 ? "" : "s") pending"
        let held = messages.filter(\.entry.isHeld).count
        if held > 0 { out += ", \(held) held" }
        if let oldestAge { out += ", oldest \(formatAge(oldestAge))" }
        return out + "\n"
    }

    /// `deferred (2 attempts, next try in 41m): 451 4.7.1 Try later`.
    func recipientSummary(_ status: RecipientStatus) -> String {
        var text = stateName(status)
        if status.state == .pending && status.attempts > 0 {
            text += " (\(status.attempts) attempt\(status.attempts == 1 ? "" : "s"), next try \(formatDue(status.nextAttempt, now: now)))"
        }
        if let reply = status.lastReply, !reply.isEmpty {
            let line = terminalSafe(reply)
            text += ": " + (line.count > 100 ? line.prefix(100) + "…" : line)
        }
        return text
    }

    func json() throws -> String {
        let document = JSONListing(
            messages: messages.map { JSONMessage($0, now: now) },
            summary: .init(messages: messages.count, recipientsPending: pendingRecipients,
                           oldestAgeSeconds: oldestAge.map { Int($0) }),
            unreadable: unreadable.sorted { $0.key < $1.key }.map { .init(name: $0.key, reason: $0.value) })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(document), as: UTF8.self) + "\n"
    }
}

/// The `--json` document. Keys are snake_case; times ISO 8601 UTC; strings are JSON-escaped
/// (control characters included), so they are printed as recorded.
struct JSONListing: Encodable {
    struct Summary: Encodable {
        var messages: Int
        var recipientsPending: Int
        var oldestAgeSeconds: Int?
    }
    struct Unreadable: Encodable {
        var name: String
        var reason: String
    }
    var messages: [JSONMessage]
    var summary: Summary
    var unreadable: [Unreadable]
}

struct JSONMessage: Encodable {
    struct Recipient: Encodable {
        var address: String
        var state: String
        var attempts: Int
        var nextAttempt: Date?
        var lastReply: String?
    }
    var id: String
    var arrival: Date
    var ageSeconds: Int
    var size: Int64
    var sender: String
    var source: String
    var held: Bool
    var recipients: [Recipient]

    init(_ message: QueueSnapshotMessage, now: Date) {
        let entry = message.entry
        id = entry.id.description
        arrival = entry.arrival
        ageSeconds = max(0, Int(now.timeIntervalSince(entry.arrival)))
        size = message.size
        sender = entry.envelope.sender?.description ?? ""
        source = entry.source
        held = entry.isHeld
        recipients = entry.recipients.map { status in
            Recipient(address: status.recipient.address.description, state: stateName(status), attempts: status.attempts,
                      nextAttempt: status.state == .pending ? status.nextAttempt : nil, lastReply: status.lastReply)
        }
    }
}
