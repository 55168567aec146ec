// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging
import MailMessage
import MailQueue
import Testing
@testable import Pickup

/// A pickup watcher over a temporary root, with a real queue, running until the test ends.
private final class PickupHarness: Sendable {
    let root: String
    let queue: Queue
    let queued: AsyncStream<QueueEntry>
    private let continuation: AsyncStream<QueueEntry>.Continuation
    private let task: Task<Void, any Error>
    let watcher: PickupWatcher

    var pickup: String { "\(root)/pickup" }
    var badmail: String { "\(root)/badmail" }

    init(preload: (String) throws -> Void = { _ in }, adjust: (inout PickupConfiguration) -> Void = { _ in }) async throws {
        root = NSTemporaryDirectory() + "mailroot-pickup-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: "\(root)/pickup", withIntermediateDirectories: true)
        try preload("\(root)/pickup")
        queue = Queue(configuration: QueueConfiguration(directory: "\(root)/queue"), logger: Logger(label: "test"))
        _ = try await queue.recover()
        (queued, continuation) = AsyncStream.makeStream(of: QueueEntry.self)
        var configuration = PickupConfiguration(directory: "\(root)/pickup",
                                                parseOptions: PickupParseOptions(hostname: "relay.test"))
        configuration.settleTime = .milliseconds(50)
        adjust(&configuration)
        watcher = PickupWatcher(configuration: configuration, queue: queue, badmail: Badmail(directory: "\(root)/badmail"),
                                    logger: Logger(label: "test"), onQueued: { [continuation] in continuation.yield($0) })
        // No wait for readiness is needed: the watcher sets its inotify watch before its start-up
        // scan, so a file dropped at any moment after this is seen by one or the other.
        task = Task { [watcher] in try await watcher.run() }
    }

    deinit {
        task.cancel()
        try? FileManager.default.removeItem(atPath: root)
    }

    func nextQueued(timeout: Duration = .seconds(10)) async throws -> QueueEntry {
        try await withThrowingTaskGroup(of: QueueEntry?.self) { group in
            group.addTask { [queued] in
                for await entry in queued { return entry }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            let first = try await group.next()!
            group.cancelAll()
            return try #require(first, "no message was queued within \(timeout)")
        }
    }

    func badmailFiles(timeout: Duration = .seconds(10), count: Int = 2) async throws -> [String] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: badmail))?.filter { !$0.hasPrefix(".") } ?? []
            if names.count >= count { return names.sorted() }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("badmail never held \(count) files")
        return []
    }
}

private let simpleMessage = "From: app@example.org\nTo: you@localhost\nSubject: hi\n\nhello\n"

@Suite("Pickup watcher")
struct PickupWatcherTests {
    @Test func fileRenamedIntoPickupIsQueuedAndRemoved() async throws {
        let harness = try await PickupHarness()
        try simpleMessage.write(toFile: "\(harness.pickup)/.writing", atomically: false, encoding: .utf8)
        rename("\(harness.pickup)/.writing", "\(harness.pickup)/one.eml")
        let entry = try await harness.nextQueued()
        #expect(entry.envelope.sender?.description == "app@example.org")
        #expect(entry.recipients.map(\.recipient.address.description) == ["you@localhost"])
        #expect(!FileManager.default.fileExists(atPath: "\(harness.pickup)/one.eml"))
        #expect(await harness.queue.entry(entry.id) != nil)
    }

    @Test func fileWrittenInPlaceIsTakenWhenItsWriterClosesIt() async throws {
        let harness = try await PickupHarness()
        let path = "\(harness.pickup)/direct.eml"
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.write(Data(simpleMessage.utf8))
        try handle.close()
        let entry = try await harness.nextQueued()
        #expect(entry.source.contains("direct.eml"))
    }

    /// `ln` (and maildir-style writers' link(2)) gives only IN_CREATE: no close, no rename. The
    /// file is taken once it has settled, long before the 30 s scan.
    @Test func fileHardLinkedIntoPickupIsTakenWithoutWaitingForTheScan() async throws {
        let harness = try await PickupHarness()
        let outside = "\(harness.root)/composed.eml"
        try simpleMessage.write(toFile: outside, atomically: false, encoding: .utf8)
        #expect(link(outside, "\(harness.pickup)/linked.eml") == 0)
        let entry = try await harness.nextQueued(timeout: .seconds(10))
        #expect(entry.source.contains("linked.eml"))
        #expect(FileManager.default.fileExists(atPath: outside), "only the link in pickup/ is removed")
    }

    /// A program that creates its file in pickup/ and is slow to write it must not have it taken
    /// half-written because of the IN_CREATE check: only a file with a second link is.
    @Test func fileStillOpenForWritingIsNotTakenByItsCreationEvent() async throws {
        let harness = try await PickupHarness(adjust: { $0.settleTime = .seconds(1) })
        // First let the start-up scan, and any rescan it asks for, be over: a scan would take
        // a file older than the settle time whatever its links (the rule for every scan).
        try simpleMessage.write(toFile: "\(harness.pickup)/.sentinel", atomically: false, encoding: .utf8)
        rename("\(harness.pickup)/.sentinel", "\(harness.pickup)/sentinel.eml")
        _ = try await harness.nextQueued()
        try await Task.sleep(for: .milliseconds(1_200))

        let path = "\(harness.pickup)/slow.eml"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        try #require(fd >= 0)
        let half = simpleMessage.prefix(20), rest = simpleMessage.dropFirst(20)
        _ = Array(half.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        // Absence can only be shown by waiting: past the creation check (settle time + 50 ms).
        try await Task.sleep(for: .milliseconds(1_400))
        #expect(FileManager.default.fileExists(atPath: path), "the half-written file was taken")
        _ = Array(rest.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        let entry = try await harness.nextQueued()
        #expect(entry.source.contains("slow.eml"))
        #expect(entry.envelope.sender?.description == "app@example.org")
    }

    @Test func filePresentBeforeStartIsTakenByTheStartupScan() async throws {
        let harness = try await PickupHarness { pickup in
            try simpleMessage.write(toFile: "\(pickup)/waiting.eml", atomically: true, encoding: .utf8)
        }
        let entry = try await harness.nextQueued()
        #expect(entry.source.contains("waiting.eml"))
    }

    @Test(arguments: [".hidden.eml", "draft.tmp"])
    func dotAndTmpFilesAreLeftAlone(name: String) async throws {
        let harness = try await PickupHarness()
        try simpleMessage.write(toFile: "\(harness.pickup)/\(name)", atomically: false, encoding: .utf8)
        // A real message dropped afterwards proves the watcher is running and already passed the ignored one.
        try simpleMessage.write(toFile: "\(harness.pickup)/real.eml", atomically: false, encoding: .utf8)
        let entry = try await harness.nextQueued()
        #expect(entry.source.contains("real.eml"))
        #expect(FileManager.default.fileExists(atPath: "\(harness.pickup)/\(name)"))
        #expect(await harness.queue.count == 1)
    }

    @Test func symlinkGoesToBadmailWithoutBeingFollowed() async throws {
        let harness = try await PickupHarness()
        let secret = "\(harness.root)/secret.txt"
        try "From: a@b.c\nTo: you@localhost\n\nsecret\n".write(toFile: secret, atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: "\(harness.pickup)/link.eml", withDestinationPath: secret)
        // Symlinks do not trigger IN_CLOSE_WRITE; a rename of the link itself triggers IN_MOVED_TO.
        try FileManager.default.createSymbolicLink(atPath: "\(harness.pickup)/.l", withDestinationPath: secret)
        rename("\(harness.pickup)/.l", "\(harness.pickup)/moved-link.eml")
        let names = try await harness.badmailFiles(count: 2)
        let bad = try #require(names.first { $0.hasSuffix(".bad") })
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: "\(harness.badmail)/\(bad)")) == secret,
                "the link itself is in badmail, got: \(names)")
        let reason = try String(contentsOfFile: "\(harness.badmail)/\(bad.dropLast(4)).bdr", encoding: .utf8)
        #expect(reason.contains("symbolic link"))
        #expect(await harness.queue.count == 0)
        #expect(FileManager.default.fileExists(atPath: secret))
    }

    @Test func fifoGoesToBadmailWithoutHanging() async throws {
        let harness = try await PickupHarness()
        #expect(mkfifo("\(harness.pickup)/.fifo", 0o644) == 0)
        rename("\(harness.pickup)/.fifo", "\(harness.pickup)/pipe.eml")
        let names = try await harness.badmailFiles(count: 2)
        let bdr = try #require(names.first { $0.hasSuffix(".bdr") })
        #expect(try String(contentsOfFile: "\(harness.badmail)/\(bdr)", encoding: .utf8).contains("FIFO"))
    }

    @Test func messageWithoutFromGoesToBadmailUnchangedWithItsReason() async throws {
        let harness = try await PickupHarness()
        let original = "To: you@localhost\r\nSubject: no from\r\n\r\nbody\r\n"
        try original.write(toFile: "\(harness.pickup)/.x", atomically: false, encoding: .utf8)
        rename("\(harness.pickup)/.x", "\(harness.pickup)/nofrom.eml")
        let names = try await harness.badmailFiles(count: 2)
        let bad = try #require(names.first { $0.hasSuffix(".bad") })
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(harness.badmail)/\(bad)")) == Data(original.utf8))
        let reason = try String(contentsOfFile: "\(harness.badmail)/\(bad.dropLast(4)).bdr", encoding: .utf8)
        #expect(reason.contains("5.6.0"))
        #expect(reason.contains("nofrom.eml"))
        #expect(!FileManager.default.fileExists(atPath: "\(harness.pickup)/nofrom.eml"))
    }

    @Test func manyFilesDroppedTogetherAreAllQueued() async throws {
        let harness = try await PickupHarness()
        for index in 0..<200 {
            try simpleMessage.write(toFile: "\(harness.pickup)/.m\(index)", atomically: false, encoding: .utf8)
            rename("\(harness.pickup)/.m\(index)", "\(harness.pickup)/m\(index).eml")
        }
        var sources = Set<String>()
        for _ in 0..<200 { sources.insert(try await harness.nextQueued().source) }
        #expect(sources.count == 200)
        #expect(await harness.queue.count == 200)
        #expect(await harness.queue.commitBatchCount < 200, "group commit shares fsyncs")
    }

    @Test func claimedFileLeftByACrashIsTakenAgainUnderItsOwnQueueID() async throws {
        let id = QueueID.generate()
        let harness = try await PickupHarness { pickup in
            try simpleMessage.write(toFile: "\(pickup)/\(PickupProcessor.claimedName(id: id, original: "crashed.eml"))",
                                    atomically: true, encoding: .utf8)
        }
        let entry = try await harness.nextQueued()
        #expect(entry.id == id)
        #expect(entry.source.contains("crashed.eml"))
        #expect((try FileManager.default.contentsOfDirectory(atPath: harness.pickup)).isEmpty)
    }

    @Test func claimedFileWhoseMessageIsAlreadyQueuedIsRemovedNotQueuedTwice() async throws {
        let root = NSTemporaryDirectory() + "mailroot-reconcile-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let queued = QueueID.generate(), notQueued = QueueID.generate()
        for (id, name) in [(queued, "a.eml"), (notQueued, "b.eml")] {
            try simpleMessage.write(toFile: "\(root)/\(PickupProcessor.claimedName(id: id, original: name))", atomically: true, encoding: .utf8)
        }
        PickupWatcher.reconcileClaimedFiles(in: root, queued: [queued])
        let left = try FileManager.default.contentsOfDirectory(atPath: root)
        #expect(left == [PickupProcessor.claimedName(id: notQueued, original: "b.eml")])
    }
}

@Suite("Pickup memory")
struct PickupMemoryTests {
    /// Eight 1 MiB files dropped at once with a 2 MiB budget: every one is queued, and never more
    /// than two were held in memory together.
    @Test func filesTakenAtOnceStayWithinTheMemoryBudget() async throws {
        let megabyte = 1024 * 1024
        let body = String(repeating: String(repeating: "x", count: 76) + "\n", count: megabyte / 77)
        let harness = try await PickupHarness(preload: { pickup in
            for index in 1...8 {
                try (simpleMessage + body).write(toFile: "\(pickup)/big\(index).eml", atomically: true, encoding: .utf8)
            }
        }, adjust: { $0.memoryBudget = 2 * megabyte + 4096 })
        for _ in 1...8 { _ = try await harness.nextQueued(timeout: .seconds(30)) }
        let peak = harness.watcher.peakBytesInMemory
        #expect(peak > megabyte, "the budget was never used: \(peak)")
        #expect(peak <= 2 * megabyte + 4096)
    }
}
