// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import MailrootTestSupport
import Testing

/// `mailroot queue flush|hold|release|delete|bounce` against the real daemon (through its control
/// socket) and with no daemon (on the files, under the queue lock). The remote MX is an aiosmtpd
/// on port 25 of its own 127.0.81.x address: absent while the test wants the message deferred,
/// started when it wants it delivered, stalled in DATA when a command must race a delivery.
@Suite(.serialized) struct QueueChangeTests {
    /// A running mailroot with one message for bob@down.test, whose MX is `mxAddress`.
    final class StuckMessage: @unchecked Sendable {
        let dns: Dnsmasq
        let mailroot: MailrootInstance
        let mxAddress: String
        private(set) var id = ""

        init(mxAddress: String) async throws {
            self.mxAddress = mxAddress
            (dns, mailroot) = try await startWithDownMX(mxAddress, label: "queuechange")
        }

        /// Drops the message and waits until mailroot has queued it (and, when `deferred`, until
        /// the first attempt found nobody at the MX and was recorded).
        func send(deferred: Bool = true) async throws {
            let name = try mailroot.dropIntoPickup("""
                From: alice@localhost
                To: bob@down.test
                Subject: held up

                Body.

                """)
            id = try await mailroot.queueID(ofPickupFile: name)
            if deferred {
                try await QueueCommandTests.DeferredQueue.waitForJournal(in: "\(mailroot.queue)/state/\(id)", containing: ["deferred 0 "])
            }
        }

        func run(_ arguments: [String]) async throws -> CommandRun {
            try await CommandRun.mailroot(arguments + ["--config", mailroot.configPath], in: mailroot.directory)
        }

        func startMX(_ options: SMTPTestServer.Options = .init()) async throws -> SMTPTestServer {
            try await SMTPTestServer(host: mxAddress, port: 25, options: options)
        }

        var messageFileExists: Bool { FileManager.default.fileExists(atPath: "\(mailroot.queue)/msg/\(id)") }
    }

    @Test func flushRetriesAtOnceAMessageWhoseServerWasDownAndIsNowUp() async throws {
        let stuck = try await StuckMessage(mxAddress: "127.0.81.1")
        try await stuck.send()
        let mx = try await stuck.startMX()
        // The next try is an hour away (retry = ["1h"]): only the flush can bring it now.
        let flush = try await stuck.run(["queue", "flush", stuck.id])
        #expect(flush.status == 0, "\(flush.stderr)")
        #expect(flush.stdout.contains("\(stuck.id): delivery attempt started"), "\(flush.stdout)")
        let received = try await mx.waitForMessages(count: 1, timeout: .seconds(15))
        #expect(received[0].recipients == ["bob@down.test"])
        try await stuck.mailroot.waitForLog(containing: "\(stuck.id): removed")
    }

    @Test func flushWithoutAnIDMakesEveryWaitingMessageDue() async throws {
        let stuck = try await StuckMessage(mxAddress: "127.0.81.2")
        try await stuck.send()
        let mx = try await stuck.startMX()
        let flush = try await stuck.run(["queue", "flush"])
        #expect(flush.status == 0, "\(flush.stderr)")
        #expect(flush.stdout.contains("1 waiting message(s) made due now"), "\(flush.stdout)")
        _ = try await mx.waitForMessages(count: 1, timeout: .seconds(15))
    }

    @Test func aHeldMessageIsNotTriedAcrossARestartUntilReleased() async throws {
        let stuck = try await StuckMessage(mxAddress: "127.0.81.3")
        try await stuck.send()
        let hold = try await stuck.run(["queue", "hold", stuck.id])
        #expect(hold.status == 0, "\(hold.stderr)")
        #expect(hold.stdout.contains("\(stuck.id): held"), "\(hold.stdout)")
        let mx = try await stuck.startMX()

        let refused = try await stuck.run(["queue", "flush", stuck.id])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("held; release it first"), "\(refused.stderr)")

        stuck.mailroot.stop()
        try await stuck.mailroot.start()
        let list = try await stuck.run(["queue", "list"])
        #expect(list.stdout.contains("HELD (mailroot queue release \(stuck.id))"), "\(list.stdout)")
        #expect(list.stdout.contains("1 held"), "\(list.stdout)")
        let stillRefused = try await stuck.run(["queue", "flush", stuck.id])
        #expect(stillRefused.stderr.contains("held; release it first"), "\(stillRefused.stderr)")
        #expect(try mx.receivedMessages().isEmpty)

        let release = try await stuck.run(["queue", "release", stuck.id])
        #expect(release.status == 0, "\(release.stderr)")
        #expect(release.stdout.contains("released; delivery starts now"), "\(release.stdout)")
        _ = try await mx.waitForMessages(count: 1, timeout: .seconds(15))
        try await stuck.mailroot.waitForLog(containing: "\(stuck.id): removed")
        #expect(!FileManager.default.fileExists(atPath: "\(stuck.mailroot.queue)/hold/\(stuck.id)"))
    }

    @Test func deleteRemovesTheMessageForGoodWithoutABounce() async throws {
        let stuck = try await StuckMessage(mxAddress: "127.0.81.4")
        try await stuck.send()
        let delete = try await stuck.run(["queue", "delete", stuck.id])
        #expect(delete.status == 0, "\(delete.stderr)")
        #expect(delete.stdout.contains("\(stuck.id): deleted, no bounce sent"), "\(delete.stdout)")
        #expect(!stuck.messageFileExists)
        #expect(!FileManager.default.fileExists(atPath: "\(stuck.mailroot.queue)/state/\(stuck.id)"))
        #expect(stuck.mailroot.files(in: stuck.mailroot.drop).isEmpty, "no bounce for a deleted message")
        let again = try await stuck.run(["queue", "delete", stuck.id])
        #expect(again.status == 1)
        #expect(again.stderr.contains("not in the queue"), "\(again.stderr)")
    }

    @Test func deleteRacingADeliveryThatSucceedsWaitsAndReportsItDelivered() async throws {
        let stuck = try await StuckMessage(mxAddress: "127.0.81.5")
        var options = SMTPTestServer.Options()
        options.stallData = true
        let mx = try await stuck.startMX(options)
        try await stuck.send(deferred: false)
        try await mx.waitForStalledData()
        async let delete = stuck.run(["queue", "delete", stuck.id])
        try await stuck.mailroot.waitForLog(containing: "\(stuck.id): a delivery attempt is in progress; the administrator's command waits")
        mx.releaseStalledData()
        let result = try await delete
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(stuck.id): not in the queue (delivered"), "\(result.stderr)")
        #expect(try mx.receivedMessages().count == 1)
        #expect(!stuck.mailroot.log.contains("deleted by the administrator"))
    }

    @Test func holdRacingADeliveryThatIsDeferredHoldsWhatIsLeft() async throws {
        let stuck = try await StuckMessage(mxAddress: "127.0.81.6")
        var options = SMTPTestServer.Options()
        options.stallData = true
        options.deferFirst = 1
        let mx = try await stuck.startMX(options)
        try await stuck.send(deferred: false)
        try await mx.waitForStalledData()
        async let hold = stuck.run(["queue", "hold", stuck.id])
        try await stuck.mailroot.waitForLog(containing: "\(stuck.id): a delivery attempt is in progress; the administrator's command waits")
        mx.releaseStalledData()
        let result = try await hold
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("\(stuck.id): held"), "\(result.stdout)")
        let journal = try String(contentsOfFile: "\(stuck.mailroot.queue)/state/\(stuck.id)", encoding: .utf8)
        #expect(journal.contains("deferred 0 "), "the attempt's outcome was recorded before the hold: \(journal)")
        // The server would now accept it; the hold keeps it.
        let flush = try await stuck.run(["queue", "flush", stuck.id])
        #expect(flush.stderr.contains("held; release it first"))
        #expect(try mx.receivedMessages().isEmpty)
    }

    @Test func bounceReturnsTheMessageToItsSenderWithOneReport() async throws {
        let stuck = try await StuckMessage(mxAddress: "127.0.81.7")
        try await stuck.send()
        let bounce = try await stuck.run(["queue", "bounce", stuck.id])
        #expect(bounce.status == 0, "\(bounce.stderr)")
        #expect(bounce.stdout.contains("\(stuck.id): returned to sender; non-delivery report "), "\(bounce.stdout)")
        // alice@localhost is local: the report lands in drop/.
        let reports = try await stuck.mailroot.waitForFiles(in: stuck.mailroot.drop, count: 1)
        let report = try String(contentsOfFile: "\(stuck.mailroot.drop)/\(reports[0])", encoding: .utf8)
        #expect(report.contains("Final-Recipient: rfc822; bob@down.test"), "\(report)")
        #expect(report.contains("Status: 5.0.0"))
        #expect(report.contains("returned to sender by the mail administrator"))
        #expect(!stuck.messageFileExists)
    }

    @Test func withNoDaemonHoldDeleteAndBounceActOnTheFilesAndTheDaemonHonoursThem() async throws {
        let stuck = try await StuckMessage(mxAddress: "127.0.81.8")
        try await stuck.send()
        let first = stuck.id
        try await stuck.send()
        let second = stuck.id
        try await stuck.send()
        let third = stuck.id
        stuck.mailroot.stop()

        let hold = try await stuck.run(["queue", "hold", first])
        #expect(hold.status == 0, "\(hold.stderr)")
        #expect(FileManager.default.fileExists(atPath: "\(stuck.mailroot.queue)/hold/\(first)"))
        let delete = try await stuck.run(["queue", "delete", second])
        #expect(delete.status == 0, "\(delete.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(stuck.mailroot.queue)/msg/\(second)"))
        let bounce = try await stuck.run(["queue", "bounce", third])
        #expect(bounce.status == 0, "\(bounce.stderr)")
        #expect(bounce.stdout.contains("non-delivery report"), "\(bounce.stdout)")

        let mx = try await stuck.startMX()
        try await stuck.mailroot.start()
        // The report queued offline goes out when the daemon starts.
        let reports = try await stuck.mailroot.waitForFiles(in: stuck.mailroot.drop, count: 1)
        let report = try String(contentsOfFile: "\(stuck.mailroot.drop)/\(reports[0])", encoding: .utf8)
        #expect(report.contains(third))
        let list = try await stuck.run(["queue", "list"])
        #expect(list.stdout.contains(first) && list.stdout.contains("HELD"), "\(list.stdout)")
        #expect(!list.stdout.contains(second) && !list.stdout.contains(third), "\(list.stdout)")
        let release = try await stuck.run(["queue", "release", first])
        #expect(release.status == 0, "\(release.stderr)")
        let received = try await mx.waitForMessages(count: 1, timeout: .seconds(15))
        #expect(received.count == 1)
    }

    @Test func withNoDaemonFlushBringsTheNextTryForwardForTheNextStart() async throws {
        let stuck = try await StuckMessage(mxAddress: "127.0.81.9")
        try await stuck.send()
        stuck.mailroot.stop()
        let flush = try await stuck.run(["queue", "flush", stuck.id])
        #expect(flush.status == 0, "\(flush.stderr)")
        #expect(flush.stdout.contains("made due now; tried when the daemon starts"), "\(flush.stdout)")
        let mx = try await stuck.startMX()
        try await stuck.mailroot.start()
        // Without the flush the next try would be an hour after the first.
        _ = try await mx.waitForMessages(count: 1, timeout: .seconds(15))
    }

    @Test func aCommandThatCannotReachAnAnsweringDaemonChangesNothing() async throws {
        let stuck = try await StuckMessage(mxAddress: "127.0.81.10")
        try await stuck.send()
        stuck.mailroot.stop()
        // Someone holds the queue lock but nobody answers on the control socket: a daemon
        // starting or stopping. The command must not touch the files under it.
        let fd = open("\(stuck.mailroot.queue)/lock", O_RDWR)
        try #require(fd >= 0)
        defer { close(fd) }
        try #require(flock(fd, LOCK_EX | LOCK_NB) == 0)
        let hold = try await stuck.run(["queue", "hold", stuck.id])
        #expect(hold.status == 75)
        #expect(hold.stderr.contains("does not answer"), "\(hold.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(stuck.mailroot.queue)/hold/\(stuck.id)"))
    }

    @Test func withNoQueueAtAllNothingIsCreated() async throws {
        let directory = try TemporaryDirectory("queuechange-none")
        let config = directory.file("mailroot.toml")
        try "root = \"\(directory.file("root"))\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let result = try await CommandRun.mailroot(["queue", "flush", "--config", config], in: directory)
        #expect(result.status == 1)
        #expect(result.stderr.contains("serve has never run with this configuration"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.file("root")))
    }

    @Test func aMalformedIDIsAUsageError() async throws {
        let stuck = try await StuckMessage(mxAddress: "127.0.81.11")
        let result = try await stuck.run(["queue", "delete", "../../etc/passwd"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("is not a queue ID"), "\(result.stderr)")
    }
}
