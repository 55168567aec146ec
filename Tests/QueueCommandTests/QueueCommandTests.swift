// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailMessage
import MailrootTestSupport
import Testing

/// `mailroot queue list|show` against a queue filled by the real daemon: one recipient delivered
/// to drop/, one deferred because its MX (127.0.80.1) has nothing listening.
@Suite struct QueueCommandTests {
    /// A running mailroot holding one message with a delivered and a deferred recipient.
    final class DeferredQueue: @unchecked Sendable {
        let dns: Dnsmasq
        let mailroot: MailrootInstance
        let id: String

        init() async throws {
            (dns, mailroot) = try await startWithDownMX("127.0.80.1", label: "queuecmd")
            let name = try mailroot.dropIntoPickup("""
                From: alice@origin.test
                To: bob@down.test, carol@localhost
                Subject: stuck in the queue
                X-Marker: queue-command-test

                The body is long enough to be recognised if it were ever printed: BODY-MARKER.

                """)
            id = try await mailroot.queueID(ofPickupFile: name)
            try await Self.waitForJournal(in: "\(mailroot.queue)/state/\(id)", containing: ["deferred 0 ", "delivered 1 "])
        }

        /// The daemon gives no signal another process can wait on but the journal itself.
        static func waitForJournal(in path: String, containing texts: [String]) async throws {
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                if let journal = try? String(contentsOfFile: path, encoding: .utf8), texts.allSatisfy(journal.contains) { return }
                try await Task.sleep(for: .milliseconds(20))
            }
            throw HarnessError.timedOut("waiting for \(texts) in \(path)")
        }

        func run(_ arguments: [String]) async throws -> CommandRun {
            try await CommandRun.mailroot(arguments + ["--config", mailroot.configPath], in: mailroot.directory)
        }
    }

    @Test func listShowsTheDeferredRecipientWithItsAttemptAndTheDeliveredOne() async throws {
        let queue = try await DeferredQueue()
        let result = try await queue.run(["queue", "list"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix(queue.id) == true, "\(result.stdout)")
        #expect(lines.first?.contains("from alice@origin.test") == true)
        let bob = try #require(lines.first { $0.contains("bob@down.test") })
        #expect(bob.contains("deferred (1 attempt, next try in "), "\(bob)")
        let carol = try #require(lines.first { $0.contains("carol@localhost") })
        #expect(carol.contains("delivered"))
        #expect(lines.last?.hasPrefix("-- 1 message, 1 recipient pending, oldest ") == true, "\(result.stdout)")
        #expect(!result.stdout.contains("BODY-MARKER"))
    }

    @Test func listJSONParsesAndCarriesEveryRecipientState() async throws {
        let queue = try await DeferredQueue()
        let result = try await queue.run(["queue", "list", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let messages = try #require(document["messages"] as? [[String: Any]])
        try #require(messages.count == 1)
        #expect(messages[0]["id"] as? String == queue.id)
        #expect(messages[0]["sender"] as? String == "alice@origin.test")
        let recipients = try #require(messages[0]["recipients"] as? [[String: Any]])
        let bob = try #require(recipients.first { $0["address"] as? String == "bob@down.test" })
        #expect(bob["state"] as? String == "deferred")
        #expect(bob["attempts"] as? Int == 1)
        #expect(bob["next_attempt"] is String)
        #expect((bob["last_reply"] as? String)?.isEmpty == false)
        #expect(recipients.first { $0["address"] as? String == "carol@localhost" }?["state"] as? String == "delivered")
        let summary = try #require(document["summary"] as? [String: Any])
        #expect(summary["messages"] as? Int == 1)
        #expect(summary["recipients_pending"] as? Int == 1)
    }

    @Test func showPrintsEnvelopeAttemptsLastReplyNextTryAndHeadersButNotTheBody() async throws {
        let queue = try await DeferredQueue()
        let result = try await queue.run(["queue", "show", queue.id])
        #expect(result.status == 0, "\(result.stderr)")
        let text = result.stdout
        #expect(text.contains("Queue ID:     \(queue.id)"))
        #expect(text.contains("Sender:       alice@origin.test"))
        #expect(text.contains("Recipient 1: bob@down.test"))
        #expect(text.contains("State:      deferred, 1 attempt"))
        #expect(text.contains("Attempt:") && text.contains(" deferred: "))
        #expect(text.contains("Last reply: "))
        #expect(text.contains("Next try:   "))
        #expect(text.contains("State:      delivered"))
        #expect(text.contains("  Subject: stuck in the queue"))
        #expect(text.contains("  X-Marker: queue-command-test"))
        #expect(!text.contains("BODY-MARKER"))
    }

    @Test func showOfAnUnknownIDExitsNonZeroWithAMessage() async throws {
        let queue = try await DeferredQueue()
        let unknown = QueueID.generate().description
        let result = try await queue.run(["queue", "show", unknown])
        #expect(result.status == 1)
        #expect(result.stderr.contains("no message \(unknown)"))
        let malformed = try await queue.run(["queue", "show", "../../etc/passwd"])
        #expect(malformed.status != 0)
        #expect(malformed.stderr.contains("is not a queue ID"))
    }

    @Test func anUnreadableQueueFileIsReportedAndLeftWhereItIs() async throws {
        let queue = try await DeferredQueue()
        let stray = QueueID.generate().description
        let path = "\(queue.mailroot.queue)/msg/\(stray)"
        try "MAILROOT-QUEUE 1\nid \(stray)\n".write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await queue.run(["queue", "list"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("unreadable: msg/\(stray)"))
        #expect(result.stdout.contains("-- 1 message,"))
        #expect(FileManager.default.fileExists(atPath: path))
    }

    @Test func listAndShowGiveTheSameAnswerWithTheDaemonStopped() async throws {
        let queue = try await DeferredQueue()
        let running = try await queue.run(["queue", "list", "--json"])
        queue.mailroot.stop()
        let stopped = try await queue.run(["queue", "list", "--json"])
        #expect(stopped.status == 0, "\(stopped.stderr)")
        // Same messages and states; only the ages may have moved on.
        func states(_ json: String) throws -> [String] {
            let document = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            let messages = try #require(document["messages"] as? [[String: Any]])
            return messages.flatMap { message in
                ((message["recipients"] as? [[String: Any]]) ?? []).map { "\(message["id"] ?? "")/\($0["address"] ?? "")/\($0["state"] ?? "")" }
            }
        }
        #expect(try states(stopped.stdout) == states(running.stdout))
        #expect(try states(stopped.stdout).count == 2)
        let show = try await queue.run(["queue", "show", queue.id])
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("bob@down.test"), "\(show.stdout)")
    }

    @Test func queueHelpListsEveryCommand() async throws {
        let directory = try TemporaryDirectory("queuecmd")
        let result = try await CommandRun.mailroot(["queue", "--help"], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        for command in ["list", "show", "flush", "hold", "release", "delete", "bounce"] {
            #expect(result.stdout.contains("  \(command) "), "queue \(command) missing from --help: \(result.stdout)")
        }
    }
}
