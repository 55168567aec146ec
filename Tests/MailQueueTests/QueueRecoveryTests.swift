// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import MailMessage
@testable import MailQueue
import SafeIO
import Testing

@Test func enqueuedMessageRecoversWithSameEnvelopeAndExactBytes() async throws {
    let dir = try ScratchDirectory()
    var message = sampleMessage(body: "Subject: caf\u{e9}\r\n\r\nbody line\r\n.\r\n")
    message.envelope.recipients[0].originalRecipient = "rfc822;evil\r\nrcpt injected@example.org"
    let first = makeQueue(dir)
    _ = try await first.recover()
    let queued = try await first.enqueue(message)
    #expect(try storedBytes(queued.message) == message.content)
    await first.close()

    let second = makeQueue(dir)
    let recovered = try await second.recover()
    let entry = try #require(recovered.first)
    #expect(recovered.count == 1)
    #expect(entry.id == message.id)
    #expect(entry.envelope == message.envelope, "got: \(entry.envelope), want: \(message.envelope)")
    #expect(entry.arrival == queued.arrival)
    #expect(entry.source == "pickup:test file.eml")
    #expect(entry.message == queued.message)
    #expect(entry.message.hasEightBitContent)
    #expect(try storedBytes(entry.message) == message.content)
    #expect(entry.recipients.map(\.state) == [.pending, .pending])
    #expect(await second.count == 1)
}

@Test(arguments: ["truncated", "garbage", "empty", "wrong-id"])
func unreadableMessageFileIsSetAsideAndOthersStillLoad(kind: String) async throws {
    let dir = try ScratchDirectory()
    let first = makeQueue(dir)
    _ = try await first.recover()
    let good = try await first.enqueue(sampleMessage())
    let bad = try await first.enqueue(sampleMessage())
    await first.close()
    let badPath = dir.file("msg/\(bad.id)")
    let original = try #require(FileManager.default.contents(atPath: badPath))
    switch kind {
    case "truncated": writeRaw(badPath, Array(original.dropLast(10)))
    case "garbage": writeRaw(badPath, Array("\u{0}\u{1}not a queue file\n\n\nEND 3\n".utf8))
    case "empty": writeRaw(badPath, [])
    default: writeRaw(badPath, Array(String(decoding: original, as: UTF8.self).replacingOccurrences(of: "id \(bad.id)", with: "id \(good.id)").utf8))
    }
    writeRaw(dir.file("state/\(bad.id)"), Array("delivered 0 1 1 - bob@example.org 250 ok\n".utf8))

    let second = makeQueue(dir)
    let recovered = try await second.recover()
    #expect(recovered.map(\.id) == [good.id])
    #expect(dir.names("corrupt") == ["\(bad.id)", "\(bad.id).journal"])
    #expect(dir.names("msg") == ["\(good.id)"])
    #expect(await second.lastRecoveryStatistics.movedToCorrupt == 1)
}

@Test func fileLeftInTmpIsRemovedAtStartAndOrphanJournalDeleted() async throws {
    let dir = try ScratchDirectory()
    _ = try await makeQueue(dir).recover()
    writeRaw(dir.file("tmp/0000000000ABCDEF"), Array("half written".utf8))
    writeRaw(dir.file("state/0000000000ABCDEF"), Array("delivered 0 1 1 - a@b.c x\n".utf8))
    let queue = makeQueue(dir)
    #expect(try await queue.recover().isEmpty)
    #expect(dir.names("tmp").isEmpty)
    #expect(dir.names("state").isEmpty)
    let statistics = await queue.lastRecoveryStatistics
    #expect(statistics.temporaryFilesRemoved == 1 && statistics.orphanJournalsRemoved == 1)
}

@Test func deliveredRecipientStaysDeliveredAndTornLastLineIsIgnored() async throws {
    let dir = try ScratchDirectory()
    let first = makeQueue(dir)
    _ = try await first.recover()
    let entry = try await first.enqueue(sampleMessage(recipients: ["bob@example.org", "carol@example.net", "dan@example.net"]))
    let next = Date(timeIntervalSince1970: 1_800_000_000)
    let updated = try #require(try await first.record(entry.id, [
        .delivered(index: 0, reply: "250 2.0.0 Ok\r\nqueued"),
        .deferred(index: 1, reply: "451 4.7.1 later", nextAttempt: next),
    ]))
    #expect(updated.pendingIndices == [1, 2])
    await first.close()
    // A crash in the middle of an append: the last record has no LF.
    let journal = dir.file("state/\(entry.id)")
    let handle = try #require(FileHandle(forWritingAtPath: journal))
    try handle.seekToEnd()
    try handle.write(contentsOf: Data("failed 2 1712345678000000 1 - dan@example.net 550 no such".utf8))
    try handle.close()

    let second = makeQueue(dir)
    let recovered = try #require(try await second.recover().first)
    #expect(recovered.recipients.map(\.state) == [.delivered, .pending, .pending])
    #expect(recovered.recipients[0].lastReply == "250 2.0.0 Ok  queued")
    #expect(recovered.recipients[1].attempts == 1)
    #expect(recovered.recipients[1].nextAttempt == next)
    #expect(recovered.nextAttempt == recovered.arrival)  // dan is still due at arrival
    let text = try String(contentsOfFile: journal, encoding: .utf8)
    #expect(text.hasSuffix("\n") && !text.contains("no such"), "torn line truncated, got: \(text)")
}

@Test func finishedMessageIsRemovedFromDisk() async throws {
    let dir = try ScratchDirectory()
    let queue = try await recoveredQueue(dir)
    let entry = try await queue.enqueue(sampleMessage())
    let partial = try await queue.record(entry.id, [.delivered(index: 0, reply: "250 ok")])
    #expect(partial?.pendingIndices == [1])
    #expect(dir.names("state") == ["\(entry.id)"])
    // A duplicate report for a delivered recipient changes nothing.
    #expect(try await queue.record(entry.id, [.failed(index: 0, reply: "550 late")])?.recipients[0].state == .delivered)
    let done = try await queue.record(entry.id, [.failed(index: 1, reply: "550 5.1.1 unknown")])
    #expect(done == nil)
    #expect(dir.names("msg").isEmpty && dir.names("state").isEmpty)
    #expect(await queue.count == 0)
    await #expect(throws: QueueError.self) { try await queue.record(entry.id, [.delivered(index: 1, reply: "")]) }
}

@Test func outcomeForAMissingRecipientIsRefused() async throws {
    let dir = try ScratchDirectory()
    let queue = makeQueue(dir)
    let entry = try await queue.enqueue(sampleMessage())
    await #expect(throws: QueueError.self) { try await queue.record(entry.id, [.delivered(index: 5, reply: "")]) }
    await #expect(throws: QueueError.self) { try await queue.enqueue(NewMessage(id: entry.id, envelope: entry.envelope, content: [], source: "dup")) }
}

@Test func thousandConcurrentEnqueuesAllRecoverWithFewerDirectorySyncs() async throws {
    let dir = try ScratchDirectory()
    let queue = try await recoveredQueue(dir)
    let ids = try await withThrowingTaskGroup(of: QueueID.self) { group in
        for index in 0..<1000 {
            group.addTask { try await queue.enqueue(sampleMessage(body: "Subject: \(index)\r\n\r\nx\r\n")).id }
        }
        return try await group.reduce(into: Set<QueueID>()) { $0.insert($1) }
    }
    #expect(ids.count == 1000)
    let batches = await queue.commitBatchCount
    #expect(batches < 1000, "got: \(batches) batches for 1000 enqueues")
    await queue.close()
    let recovered = try await makeQueue(dir).recover()
    #expect(Set(recovered.map(\.id)) == ids)
}

@Test func recoveryReadsHeadersNotBodies() async throws {
    let dir = try ScratchDirectory()
    let queue = try await recoveredQueue(dir)
    let body = "Subject: big\r\n\r\n" + String(repeating: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n", count: 128)
    let count = 5000
    try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<count { group.addTask { _ = try await queue.enqueue(sampleMessage(recipients: ["bob@example.org"], body: body)) } }
        try await group.waitForAll()
    }
    await queue.close()
    let second = makeQueue(dir)
    let recovered = try await second.recover()
    #expect(recovered.count == count)
    let statistics = await second.lastRecoveryStatistics
    let bodyBytes = count * body.utf8.count
    // Each file: one header chunk and the end record; bodies (8 KiB each) are never read.
    #expect(statistics.messageBytesRead <= count * (QueueFile.headerReadChunk + 32), "read \(statistics.messageBytesRead) of \(bodyBytes) body bytes")
    #expect(statistics.messageBytesRead < bodyBytes / 3)
}

@Test func secondQueueOnTheSameDirectoryIsRefused() async throws {
    let dir = try ScratchDirectory()
    let first = makeQueue(dir)
    _ = try await first.recover()
    await #expect(throws: QueueError.self) { try await makeQueue(dir).recover() }
    await first.close()
    _ = try await makeQueue(dir).recover()
}

@Test func diskFullMapsTo452AndStatus431() {
    let full = QueueError(SafeIOError.system(operation: "write", errno: ENOSPC, path: "/q/tmp/X"))
    guard case .diskFull = full else { Issue.record("got: \(full), want: diskFull"); return }
    #expect(full.status == .mailSystemFull && full.replyCode == 452)
    let quota = QueueError(SafeIOError.system(operation: "write", errno: EDQUOT, path: "/q/tmp/X"))
    #expect(quota.status.description == "4.3.1")
    let other = QueueError(SafeIOError.system(operation: "fsync", errno: EIO, path: "/q/msg"))
    #expect(other.status.description == "4.3.0" && other.replyCode == 451)
}

@Test func recoveryHandsOverBatchesOldestFirstAndSparesWhatIsQueuedMeanwhile() async throws {
    let dir = try ScratchDirectory()
    let first = makeQueue(dir)
    _ = try await first.recover()
    var ids: [QueueID] = []
    for _ in 0..<5 { ids.append(try await first.enqueue(sampleMessage()).id) }
    await first.close()
    writeRaw(dir.file("state/\(QueueID.generate())"), Array("deferred 0 1 1 - bob@example.org 451 later\n".utf8))

    let second = makeQueue(dir)
    let batches = Batches()
    // While recovery runs, delivery records an outcome for a message it already has and queues a
    // new one (a bounce) with its own journal: neither journal may be taken for an orphan.
    let recovered = try await second.recover(batchSize: 2) { batch in
        await batches.add(batch.map(\.id))
        guard await batches.count == 1 else { return }
        let bounce = try? await second.enqueue(sampleMessage())
        if let bounce {
            _ = try? await second.record(bounce.id, [.deferred(index: 0, reply: "451 later", nextAttempt: Date())])
            await batches.noteBounce(bounce.id)
        }
    }
    #expect(await batches.all == [Array(ids[0..<2]), Array(ids[2..<4]), [ids[4]]])
    #expect(recovered.map(\.id) == ids)
    let bounce = try #require(await batches.bounce)
    #expect(dir.names("state") == ["\(bounce)"], "the orphan went, the bounce's journal stayed")
    #expect(await second.count == 6)
}

private actor Batches {
    var all: [[QueueID]] = []
    var bounce: QueueID?
    var count: Int { all.count }
    func add(_ ids: [QueueID]) { all.append(ids) }
    func noteBounce(_ id: QueueID) { bounce = id }
}

@Test func theInternerReturnsEqualTextsAndStaysBounded() {
    var interner = StringInterner(capacity: 2)
    let first = interner.intern("451 4.4.1 connect to mx.down.example[192.0.2.7]:25: Connection refused")
    #expect(interner.intern(String(first)) == first)
    _ = interner.intern("b")
    _ = interner.intern("c")  // over capacity: starts over, still answers correctly
    #expect(interner.intern("c") == "c")
    #expect(interner.intern(first) == first)
}
