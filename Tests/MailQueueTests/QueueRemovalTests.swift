// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import MailMessage
@testable import MailQueue
import Testing

/// How a finished message leaves the queue: its removal is the record of its last outcomes.
@Suite("Removing finished messages")
struct QueueRemovalTests {
    @Test func messageDeliveredAtTheFirstAttemptNeverCreatesAJournal() async throws {
        let dir = try ScratchDirectory()
        let queue = try await recoveredQueue(dir)
        let entry = try await queue.enqueue(sampleMessage())
        let watch = try CreationWatch(dir.file("state"))
        let done = try await queue.record(entry.id, [.delivered(index: 0, reply: "250 ok"), .delivered(index: 1, reply: "250 ok")])
        #expect(done == nil)
        #expect(dir.names("msg").isEmpty)
        #expect(watch.createdNames().isEmpty, "a journal was created (and removed) for a message finished at once")
    }

    @Test func finishedMessageWithAnEarlierDeferralLeavesNeitherFile() async throws {
        let dir = try ScratchDirectory()
        let queue = try await recoveredQueue(dir)
        let entry = try await queue.enqueue(sampleMessage())
        _ = try await queue.record(entry.id, [.deferred(index: 1, reply: "451 later", nextAttempt: Date())])
        #expect(dir.names("state") == ["\(entry.id)"])
        let done = try await queue.record(entry.id, [.delivered(index: 0, reply: "250 ok"), .delivered(index: 1, reply: "250 ok")])
        #expect(done == nil)
        #expect(dir.names("msg").isEmpty && dir.names("state").isEmpty)
    }

    /// A message file that cannot be unlinked (here a directory stands in its place, which
    /// unlink(2) refuses with EISDIR) must not lose its outcomes: they go to a synced journal,
    /// and a restart does not deliver the recipients again.
    /// (No spare files here: a directory can be renamed, and would be taken as a spare.)
    @Test func finishedMessageThatCannotBeRemovedKeepsItsOutcomesInTheJournal() async throws {
        let dir = try ScratchDirectory()
        let queue = try await recoveredQueue(dir, spareFiles: 0)
        let entry = try await queue.enqueue(sampleMessage())
        let path = dir.file("msg/\(entry.id)")
        let saved = try Data(contentsOf: URL(fileURLWithPath: path))
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path + "/blocker", withIntermediateDirectories: true)

        let done = try await queue.record(entry.id, [.delivered(index: 0, reply: "250 ok"), .failed(index: 1, reply: "550 no")])
        #expect(done == nil, "finished: nothing is left to deliver")
        let journal = try String(contentsOfFile: dir.file("state/\(entry.id)"), encoding: .utf8)
        #expect(journal.contains("delivered 0 ") && journal.contains("failed 1 "), "journal: \(journal)")
        await queue.close()

        try FileManager.default.removeItem(atPath: path)
        #expect(FileManager.default.createFile(atPath: path, contents: saved))
        let restarted = makeQueue(dir)
        let recovered = try await restarted.recover()
        #expect(recovered.isEmpty, "both recipients are final; recovery removes the message instead of retrying it")
        #expect(dir.names("msg").isEmpty)
    }
}

/// Names created in a directory while this watch lives (inotify IN_CREATE, read without blocking).
private final class CreationWatch {
    private let descriptor: Int32

    init(_ directory: String) throws {
        descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0, inotify_add_watch(descriptor, directory, UInt32(IN_CREATE)) >= 0 else {
            throw POSIXError(.EIO)
        }
    }

    deinit { close(descriptor) }

    func createdNames() -> [String] {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return [] }
        var names: [String] = []
        var offset = 0
        while offset + MemoryLayout<inotify_event>.size <= count {
            let length = buffer.withUnsafeBytes { $0.load(fromByteOffset: offset + 12, as: UInt32.self) }
            let nameStart = offset + MemoryLayout<inotify_event>.size
            let name = buffer[nameStart..<(nameStart + Int(length))].prefix { $0 != 0 }
            names.append(String(decoding: name, as: UTF8.self))
            offset = nameStart + Int(length)
        }
        return names
    }
}
