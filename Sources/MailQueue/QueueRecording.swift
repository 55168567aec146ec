// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import Logging
import MailMessage
import NIOPosix
import SafeIO

extension Queue {
    /// Records delivery outcomes. Delivered and failed are durable when this returns; deferred
    /// is not synced (see QueueJournal). Returns the updated entry, or nil once every recipient
    /// is delivered or failed and the message has been removed — durably, `msg/` fsynced.
    /// An outcome for a recipient that is already delivered or failed is ignored.
    public func record(_ id: QueueID, _ outcomes: [RecipientOutcome]) async throws(QueueError) -> QueueEntry? {
        guard var entry = entries[id] else { throw .unknownMessage(id) }
        // Every recorded outcome counts an attempt, so a message none has been recorded for has no journal.
        let hasJournal = entry.recipients.contains { $0.attempts > 0 }
        if let bad = outcomes.first(where: { !entry.recipients.indices.contains($0.index) }) {
            throw .invalidRequest("\(id): no recipient with index \(bad.index)")
        }
        var records: [JournalRecord] = []
        for outcome in outcomes {
            let record = journalRecord(outcome, for: entry)
            if entry.apply(record) { records.append(record) }
        }
        guard !records.isEmpty else { return entry }
        let newRecords = records
        let path = disk.journalPath(id)
        if entry.isFinished {
            entries[id] = nil
            durableJournalNames.remove(id)
            try await finish(id, appending: newRecords, to: path, hasJournal: hasJournal,
                             fileSize: Int(entry.message.offset + entry.message.length))
            return nil
        }
        entries[id] = entry
        let needsSync = newRecords.contains { $0.kind != .deferred }
        let directory = needsSync && !durableJournalNames.contains(id) ? disk.state : nil
        try await runBlocking { () throws(SafeIOError) in
            try QueueJournal.append(newRecords, to: path, sync: needsSync, syncDirectory: directory)
        }
        if directory != nil { durableJournalNames.insert(id) }
        return entries[id]
    }

    /// The journal line for `outcome`, counting this attempt. A deferral's reply is interned:
    /// it is kept in memory, and many messages to one dead MX carry the same text.
    private func journalRecord(_ outcome: RecipientOutcome, for entry: QueueEntry) -> JournalRecord {
        let status = entry.recipients[outcome.index]
        let attempts = status.attempts + 1
        let address = status.recipient.address.description
        switch outcome {
        case .delivered(let index, let reply):
            return JournalRecord(kind: .delivered, index: index, time: Date(), attempts: attempts, nextAttempt: nil, address: address, reply: FieldEscaping.oneLine(reply))
        case .failed(let index, let reply):
            return JournalRecord(kind: .failed, index: index, time: Date(), attempts: attempts, nextAttempt: nil, address: address, reply: FieldEscaping.oneLine(reply))
        case .deferred(let index, let reply, let next):
            return JournalRecord(kind: .deferred, index: index, time: Date(), attempts: attempts, nextAttempt: next, address: address,
                                 reply: recentReplies.intern(FieldEscaping.oneLine(reply)))
        }
    }

    /// The last outcomes of a message are not written anywhere when all goes well: removing
    /// `msg/ID` is the record. The name goes at once (renamed to a spare file, or unlinked), so a
    /// process crash from here on cannot bring the message back, and the removal joins the next
    /// group fsync of `msg/`; only a
    /// power cut before that fsync can, inside the window after a remote 250 in which RFC 5321
    /// §6.1 allows a duplicate (the same window as before, when an unsynced final journal line was
    /// written first). Skipping that line spares most messages a journal file: one create, one
    /// write and one unlink each, and on ext4 every create costs more the more files were
    /// recently deleted (BENCHMARKS.md, finding 4). Should the file refuse to go, or its removal
    /// not become durable, the records are written to the journal and synced instead, so a
    /// restart still knows the outcomes.
    private func finish(_ id: QueueID, appending records: [JournalRecord], to path: String, hasJournal: Bool,
                        fileSize: Int) async throws(QueueError) {
        let disk = self.disk
        let spare = claimSpareName(forFileOf: fileSize)
        var failure: SafeIOError?
        var kept = false
        do {
            (kept, failure) = try await threadPool.runIfActive { disk.retireMessage(id, keepingAs: spare) }
        } catch {
            failure = .system(operation: "unlink", errno: ESHUTDOWN, path: disk.messagePath(id))
        }
        if failure == nil {
            failure = await withCheckedContinuation { continuation in
                if removals.add((id, hasJournal), continuation) { Task { await self.drainRemovals() } }
            }
        }
        if let spare {
            retiringSpares -= 1
            // Only a file whose old name is durably gone may get new content; otherwise it
            // waits in tmp/ until the next start empties it.
            if kept && failure == nil { spareFiles.append(spare) }
        }
        guard let failure else {
            logger.info("\(id): removed")
            return
        }
        logger.error("\(id): finished but not removed: \(failure); its outcomes are kept in its journal")
        try await runBlocking { () throws(SafeIOError) in
            try QueueJournal.append(records, to: path, sync: true, syncDirectory: disk.state)
        }
    }

    /// A name for keeping the file of a finished message as a spare, or nil when it is too big
    /// or enough spares exist already.
    private func claimSpareName(forFileOf size: Int) -> String? {
        guard size <= configuration.spareFileMaximumSize, spareFiles.count + retiringSpares < configuration.spareFiles else { return nil }
        retiringSpares += 1
        nextSpareNumber += 1
        return disk.sparePath(nextSpareNumber)
    }

    /// Unlinks the spare files ready for reuse (at shutdown: a stopped queue's `tmp/` is empty).
    public func removeSpareFiles() async {
        let spares = spareFiles
        spareFiles.removeAll()
        guard !spares.isEmpty else { return }
        _ = try? await threadPool.runIfActive { for path in spares { unlink(path) } }
    }

    private func drainRemovals() async {
        while let batch = removals.takeBatch(limit: configuration.maxBatch) {
            let disk = self.disk
            let journaled = batch.filter(\.item.hasJournal).map(\.item.id)
            let failure: SafeIOError?
            do {
                failure = try await threadPool.runIfActive { disk.commitRemovals(journaled) }
            } catch {
                failure = .system(operation: "fsync", errno: ESHUTDOWN, path: disk.msg)
            }
            for waiter in batch { waiter.continuation.resume(returning: failure) }
            logger.debug("queue: removed \(batch.count) finished message(s), batch \(removals.batchCount)")
        }
    }

    /// Runs blocking file work on the thread pool, mapping errors to `QueueError`.
    func runBlocking<T: Sendable>(_ body: @escaping @Sendable () throws(SafeIOError) -> T) async throws(QueueError) -> T {
        do {
            return try await threadPool.runIfActive { try body() }
        } catch {
            throw QueueError(any: error)
        }
    }

    /// Creates the folders once (when `enqueue` comes before `recover`, as in a one-shot command).
    func prepareLayout() async throws(QueueError) {
        guard !layoutReady else { return }
        let disk = self.disk
        try await runBlocking { () throws(SafeIOError) in try disk.createLayout() }
        layoutReady = true
    }

    /// Takes the queue's lock now (recovery takes it anyway): for work that must happen under
    /// it before recovery starts handing messages to delivery.
    public func lock() async throws(QueueError) { try await takeLock() }

    /// flock(2) on `<queue>/lock`: two daemons sharing one queue would deliver everything twice
    /// and empty each other's `tmp/`. Held until the queue is closed or released.
    func takeLock() async throws(QueueError) {
        guard lockDescriptor < 0 else { return }
        let disk = self.disk
        let path = disk.root + "/lock"
        let fd = try await runBlocking { () throws(SafeIOError) -> Int32 in
            try disk.createLayout()
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
            guard fd >= 0 else { throw .system(operation: "open", errno: errno, path: path) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                let code = errno
                Glibc.close(fd)
                guard code == EWOULDBLOCK else { throw .system(operation: "flock", errno: code, path: path) }
                return -1
            }
            return fd
        }
        guard fd >= 0 else { throw .locked("\(path) is held by another process") }
        lockDescriptor = fd
    }

    /// Releases the directory lock (for a clean shutdown, or a test that reopens the queue).
    public func close() {
        if lockDescriptor >= 0 { Glibc.close(lockDescriptor) }
        lockDescriptor = -1
    }
}
