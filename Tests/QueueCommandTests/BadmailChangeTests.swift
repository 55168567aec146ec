// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailrootTestSupport
import Testing

/// `mailroot badmail requeue|delete` on entries the real daemon wrote.
@Suite(.serialized) struct BadmailChangeTests {
    /// A mailroot whose `max_message_size` is `limit`, with one 3 KB pickup file refused for it.
    static func refusedForSize(limit: Int) async throws -> (MailrootInstance, String) {
        let mailroot = try MailrootInstance(config: """
            hostname = "mailroot.test"
            local_domains = ["localhost"]
            max_message_size = \(limit)
            [pickup]
            scan_interval = "1s"
            """, label: "badmailchange")
        try await mailroot.start()
        _ = try mailroot.dropIntoPickup("""
            From: alice@localhost
            To: bob@localhost
            Subject: too big for the first config

            \(String(repeating: "0123456789abcdef\n", count: 180))
            """)
        let files = try await mailroot.waitForFiles(in: mailroot.badmail, count: 2)
        let bad = try #require(files.first { $0.hasSuffix(".bad") })
        return (mailroot, String(bad.dropLast(4)))
    }

    static func run(_ arguments: [String], _ mailroot: MailrootInstance) async throws -> CommandRun {
        try await CommandRun.mailroot(arguments + ["--config", mailroot.configPath], in: mailroot.directory)
    }

    @Test func requeueAfterTheCauseIsFixedDeliversTheMessageAndClearsTheEntry() async throws {
        let (mailroot, name) = try await Self.refusedForSize(limit: 2048)
        // The administrator raises the limit and restarts, then requeues.
        mailroot.stop()
        let config = try String(contentsOfFile: mailroot.configPath, encoding: .utf8)
        try config.replacingOccurrences(of: "max_message_size = 2048", with: "max_message_size = 1048576")
            .write(toFile: mailroot.configPath, atomically: true, encoding: .utf8)
        try await mailroot.start()

        let requeue = try await Self.run(["badmail", "requeue", "\(name).bad"], mailroot)
        #expect(requeue.status == 0, "\(requeue.stderr)")
        #expect(requeue.stdout.contains("\(name): moved to \(mailroot.pickup)/\(name).requeued"), "\(requeue.stdout)")
        let dropped = try await mailroot.waitForFiles(in: mailroot.drop, count: 1)
        let message = try String(contentsOfFile: "\(mailroot.drop)/\(dropped[0])", encoding: .utf8)
        #expect(message.contains("Subject: too big for the first config"))
        #expect(mailroot.files(in: mailroot.badmail).isEmpty, "both .bad and .bdr are gone: \(mailroot.files(in: mailroot.badmail))")
    }

    @Test func requeueOfAStillBadMessageBringsItBackWithANewReport() async throws {
        let (mailroot, name) = try await Self.refusedForSize(limit: 2048)
        let requeue = try await Self.run(["badmail", "requeue", name], mailroot)
        #expect(requeue.status == 0, "\(requeue.stderr)")
        let files = try await mailroot.waitForFiles(in: mailroot.badmail, count: 2)
        #expect(!files.contains("\(name).bad") && !files.contains("\(name).bdr"), "\(files)")
        // The log names the requeued file (its line follows the files by a moment).
        try await mailroot.waitForLog(containing: "\(name).requeued")
        #expect(mailroot.files(in: mailroot.pickup).isEmpty)
    }

    @Test func deleteRemovesBothFilesAndRefusesNamesOutsideBadmail() async throws {
        let (mailroot, name) = try await Self.refusedForSize(limit: 2048)
        mailroot.stop()
        let delete = try await Self.run(["badmail", "delete", "\(name).bdr"], mailroot)
        #expect(delete.status == 0, "\(delete.stderr)")
        #expect(delete.stdout.contains("\(name): deleted"))
        #expect(mailroot.files(in: mailroot.badmail).isEmpty)
        let again = try await Self.run(["badmail", "delete", name], mailroot)
        #expect(again.status == 1)
        #expect(again.stderr.contains("no badmail entry"), "\(again.stderr)")
        let escape = try await Self.run(["badmail", "delete", "../queue/lock"], mailroot)
        #expect(escape.status == 1)
        #expect(FileManager.default.fileExists(atPath: "\(mailroot.queue)/lock"))
    }
}
