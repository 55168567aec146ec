// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import MailMessage
@testable import MailQueue
import Testing

/// A finished message's file is kept in `tmp/` and written over by a later message, instead of
/// one file being deleted and another created (QueueDisk.retireMessage).
@Suite("Spare queue files")
struct SpareFileTests {
    @Test func finishedMessagesFileIsWrittenOverByTheNextMessage() async throws {
        let dir = try ScratchDirectory()
        let queue = try await recoveredQueue(dir)
        let long = sampleMessage(body: "Subject: long\r\n\r\n" + String(repeating: "a long line of text\r\n", count: 500))
        let first = try await queue.enqueue(long)
        let firstInode = try inode(dir.file("msg/\(first.id)"))
        #expect(try await queue.record(first.id, [.delivered(index: 0, reply: "250 ok"), .delivered(index: 1, reply: "250 ok")]) == nil)
        #expect(dir.names("msg").isEmpty)
        #expect(dir.names("tmp") == ["spare-1"])

        let short = sampleMessage(recipients: ["dave@example.org"], body: "Subject: short\r\n\r\nHi\r\n")
        let second = try await queue.enqueue(short)
        #expect(try inode(dir.file("msg/\(second.id)")) == firstInode, "the spare file was not reused")
        #expect(dir.names("tmp").isEmpty)
        #expect(try storedBytes(second.message) == short.content)
        let size = try FileManager.default.attributesOfItem(atPath: dir.file("msg/\(second.id)"))[.size] as? Int
        #expect(size == Int(second.message.offset + second.message.length) + QueueFile.trailer(bodyLength: second.message.length).count,
                "the longer old content must be cut off")

        // Read back from disk as after a restart: the written-over file is a whole, valid queue file.
        await queue.close()
        let restarted = makeQueue(dir)
        let recovered = try await restarted.recover()
        #expect(recovered.map(\.id) == [second.id])
        #expect(recovered.first?.envelope.recipients.map(\.address.description) == ["dave@example.org"])
        #expect(try storedBytes(recovered[0].message) == short.content)
        #expect(await restarted.lastRecoveryStatistics.movedToCorrupt == 0)
    }

    @Test func sparesAreLimitedInNumberAndSize() async throws {
        let dir = try ScratchDirectory()
        let queue = try await recoveredQueue(dir, spareFiles: 2, spareFileMaximumSize: 4096)
        var entries: [QueueEntry] = []
        for _ in 0..<3 { entries.append(try await queue.enqueue(sampleMessage(recipients: ["bob@example.org"]))) }
        let big = try await queue.enqueue(sampleMessage(recipients: ["bob@example.org"],
                                                        body: "Subject: big\r\n\r\n" + String(repeating: "x", count: 5000) + "\r\n"))
        _ = try await queue.record(big.id, [.delivered(index: 0, reply: "250 ok")])
        #expect(dir.names("tmp").isEmpty, "a file over the size limit is unlinked, not kept")
        for entry in entries { _ = try await queue.record(entry.id, [.delivered(index: 0, reply: "250 ok")]) }
        #expect(dir.names("msg").isEmpty)
        #expect(dir.names("tmp").count == 2, "at most two spares: \(dir.names("tmp"))")

        await queue.removeSpareFiles()
        #expect(dir.names("tmp").isEmpty)
        // The count of spares went back to zero: the next finished message is kept again.
        let next = try await queue.enqueue(sampleMessage(recipients: ["bob@example.org"]))
        _ = try await queue.record(next.id, [.delivered(index: 0, reply: "250 ok")])
        #expect(dir.names("tmp").count == 1)
    }

    @Test func noSpareIsKeptWhenTurnedOff() async throws {
        let dir = try ScratchDirectory()
        let queue = try await recoveredQueue(dir, spareFiles: 0)
        let entry = try await queue.enqueue(sampleMessage(recipients: ["bob@example.org"]))
        _ = try await queue.record(entry.id, [.delivered(index: 0, reply: "250 ok")])
        #expect(dir.names("msg").isEmpty && dir.names("tmp").isEmpty)
    }

    /// Someone who hard-linked a queue file to keep a copy must not see it change.
    @Test func spareWithASecondLinkIsNotWrittenOver() async throws {
        let dir = try ScratchDirectory()
        let queue = try await recoveredQueue(dir)
        let first = try await queue.enqueue(sampleMessage(recipients: ["bob@example.org"]))
        _ = try await queue.record(first.id, [.delivered(index: 0, reply: "250 ok")])
        let kept = dir.file("kept-copy")
        #expect(link(dir.file("tmp/spare-1"), kept) == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: kept))

        let second = try await queue.enqueue(sampleMessage(recipients: ["carol@example.net"]))
        #expect(try inode(dir.file("msg/\(second.id)")) != inode(kept))
        #expect(try Data(contentsOf: URL(fileURLWithPath: kept)) == before)
        #expect(dir.names("tmp").isEmpty, "the linked spare's name is dropped, not left behind")
    }

    /// One spare serves a steady stream, and a restart empties tmp/.
    @Test func restartRemovesSpareFiles() async throws {
        let dir = try ScratchDirectory()
        let queue = try await recoveredQueue(dir)
        for _ in 0..<3 {
            let entry = try await queue.enqueue(sampleMessage(recipients: ["bob@example.org"]))
            _ = try await queue.record(entry.id, [.delivered(index: 0, reply: "250 ok")])
        }
        #expect(dir.names("tmp").count == 1, "one spare, reused by each next message and kept again: \(dir.names("tmp"))")
        await queue.close()
        let restarted = makeQueue(dir)
        #expect(try await restarted.recover().isEmpty)
        #expect(dir.names("tmp").isEmpty)
    }

    private func inode(_ path: String) throws -> UInt {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw POSIXError(.ENOENT) }
        return UInt(info.st_ino)
    }
}
