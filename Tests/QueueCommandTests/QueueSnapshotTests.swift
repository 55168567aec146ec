// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging
import MailMessage
import MailQueue
import MailrootTestSupport
import Testing

/// `QueueSnapshot` directly: what the daemon's queue holds is what a second reader sees, the
/// reader changes nothing, and files vanishing under it are "no longer queued", not errors.
@Suite struct QueueSnapshotTests {
    static func message(body: String) -> NewMessage {
        let envelope = Envelope(sender: MailAddress("alice@example.com")!,
                                recipients: [EnvelopeRecipient(MailAddress("bob@example.org")!),
                                             EnvelopeRecipient(MailAddress("carol@example.net")!)])
        return NewMessage(envelope: envelope, content: Array(body.utf8), source: "pickup:x.eml")
    }

    /// A queue (lock held, as by the daemon) with one message whose first recipient was deferred.
    static func queueWithDeferral(_ directory: TemporaryDirectory, body: String) async throws -> (Queue, QueueEntry, Date) {
        let queue = Queue(configuration: QueueConfiguration(directory: directory.path), logger: Logger(label: "snapshot-test"))
        _ = try await queue.recover()
        let entry = try await queue.enqueue(message(body: body))
        let next = Date(timeIntervalSinceNow: 3600)
        _ = try await queue.record(entry.id, [.deferred(index: 0, reply: "451 4.7.1 Try later", nextAttempt: next)])
        return (queue, entry, next)
    }

    @Test func aSecondReaderSeesTheDaemonsStateWhileItHoldsTheLock() async throws {
        let directory = try TemporaryDirectory("snapshot")
        let (queue, entry, next) = try await Self.queueWithDeferral(directory, body: "Subject: hi\r\n\r\nbody\r\n")
        let (messages, unreadable) = try QueueSnapshot.load(directory: directory.path)
        #expect(unreadable.isEmpty)
        try #require(messages.count == 1)
        let seen = messages[0]
        #expect(seen.entry.id == entry.id)
        #expect(seen.entry.recipients.map(\.state) == [.pending, .pending])
        #expect(seen.entry.recipients[0].attempts == 1)
        #expect(seen.entry.recipients[0].lastReply == "451 4.7.1 Try later")
        #expect(abs(seen.entry.recipients[0].nextAttempt.timeIntervalSince(next)) < 0.001)
        #expect(seen.attempts.map(\.outcome) == [.deferred])
        #expect(seen.attempts.first?.recipientIndex == 0)
        let live = await queue.entry(entry.id)
        // Times are stored to the microsecond, so compare everything else exactly.
        #expect(live?.recipients.map(\.state) == seen.entry.recipients.map(\.state))
        #expect(live?.recipients.map(\.attempts) == seen.entry.recipients.map(\.attempts))
        #expect(live?.recipients.map(\.lastReply) == seen.entry.recipients.map(\.lastReply))
        await queue.close()
    }

    @Test func headerSectionStopsAtTheEmptyLineAndNeverReturnsTheBody() async throws {
        let directory = try TemporaryDirectory("snapshot")
        let body = "Subject: big\r\nX-A: 1\r\n\r\n" + String(repeating: "BODY-LINE-0123456789\r\n", count: 50_000)
        let (queue, entry, _) = try await Self.queueWithDeferral(directory, body: body)
        let seen = try #require(try QueueSnapshot.message(directory: directory.path, id: entry.id))
        let headers = try #require(try QueueSnapshot.headerSection(of: seen.entry.message))
        #expect(String(decoding: headers, as: UTF8.self) == "Subject: big\r\nX-A: 1\r\n\r\n")
        #expect(seen.size == Int64(body.utf8.count))
        await queue.close()
    }

    @Test func aMessageThatFinishedIsNoLongerListedAndItsHeadersAreGone() async throws {
        let directory = try TemporaryDirectory("snapshot")
        let (queue, entry, _) = try await Self.queueWithDeferral(directory, body: "Subject: x\r\n\r\nb\r\n")
        let seen = try #require(try QueueSnapshot.message(directory: directory.path, id: entry.id))
        _ = try await queue.record(entry.id, [.delivered(index: 0, reply: "250 ok"), .delivered(index: 1, reply: "250 ok")])
        #expect(try QueueSnapshot.message(directory: directory.path, id: entry.id) == nil)
        #expect(try QueueSnapshot.headerSection(of: seen.entry.message) == nil)
        #expect(try QueueSnapshot.load(directory: directory.path).messages.isEmpty)
        await queue.close()
    }

    @Test func readingChangesNothingEvenATornJournalLine() async throws {
        let directory = try TemporaryDirectory("snapshot")
        let (queue, entry, _) = try await Self.queueWithDeferral(directory, body: "Subject: x\r\n\r\nb\r\n")
        let journal = "\(directory.path)/state/\(entry.id)"
        let handle = try #require(FileHandle(forWritingAtPath: journal))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("delivered 1 17123".utf8))
        try handle.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: journal))
        let seen = try #require(try QueueSnapshot.message(directory: directory.path, id: entry.id))
        #expect(seen.entry.recipients[1].state == .pending, "a line without its LF is not a record yet")
        #expect(try Data(contentsOf: URL(fileURLWithPath: journal)) == before)
        await queue.close()
    }
}
