// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import MailMessage
import SafeIO

/// `hold/<QueueID>`: an empty marker beside `msg/<QueueID>` saying "do not deliver until
/// released" (Postfix's hold queue, without moving the message). A marker rather than a journal
/// record because holding is about the whole message, not a recipient, and because an
/// administrator can see and reason about `ls queue/hold` at 3 a.m.
extension QueueDisk {
    var hold: String { root + "/hold" }
    func holdPath(_ id: QueueID) -> String { "\(hold)/\(id)" }
}

extension Queue {
    /// Marks `id` held, durably (marker created, `hold/` fsynced). Holding a held message is a no-op.
    public func hold(_ id: QueueID) async throws(QueueError) -> QueueEntry {
        guard var entry = entries[id] else { throw .unknownMessage(id) }
        guard !entry.isHeld else { return entry }
        let disk = self.disk
        try await runBlocking { () throws(SafeIOError) in
            try createDirectories(disk.hold)
            do throws(SafeIOError) {
                let fd = try createExclusive(disk.holdPath(id))
                Glibc.close(fd)
            } catch where error.errno == EEXIST {}
            try fsyncDirectory(disk.hold)
        }
        entry.isHeld = true
        entries[id] = entry
        logger.info("\(id): held by the administrator")
        return entry
    }

    /// Clears the hold, durably. Releasing a message that is not held is a no-op.
    public func release(_ id: QueueID) async throws(QueueError) -> QueueEntry {
        guard var entry = entries[id] else { throw .unknownMessage(id) }
        guard entry.isHeld else { return entry }
        let disk = self.disk
        try await runBlocking { () throws(SafeIOError) in
            do throws(SafeIOError) { try removeFile(disk.holdPath(id)) } catch where error.errno == ENOENT {}
            try fsyncDirectory(disk.hold)
        }
        entry.isHeld = false
        entries[id] = entry
        logger.info("\(id): released by the administrator")
        return entry
    }

    /// Deletes `id` without delivering or bouncing it, durably: the message file goes first and
    /// `msg/` is fsynced (the same order as a finished message, see `QueueDisk.removeMessages`),
    /// then its journal and hold marker. The caller makes sure no delivery is in progress.
    public func delete(_ id: QueueID) async throws(QueueError) {
        guard let entry = entries[id] else { throw .unknownMessage(id) }
        let disk = self.disk
        let failure = try await runBlocking { () throws(SafeIOError) -> SafeIOError? in
            guard let failure = disk.removeMessages([id])[0] else {
                if entry.isHeld {
                    try? removeFile(disk.holdPath(id))
                    try? fsyncDirectory(disk.hold)
                }
                return nil
            }
            return failure
        }
        if let failure { throw QueueError(failure) }
        entries[id] = nil
        durableJournalNames.remove(id)
        logger.info("\(id): deleted by the administrator")
    }

    /// Makes every pending recipient of `id` due at `time`, in the journal, so that a daemon
    /// started later tries it then (the `flush` of an offline queue). Attempt counts and the last
    /// reply are kept; only the due time changes. Not synced: losing it only restores the old
    /// due time (QueueJournal's rule for deferrals).
    public func makeDue(_ id: QueueID, at time: Date = Date()) async throws(QueueError) -> QueueEntry {
        guard var entry = entries[id] else { throw .unknownMessage(id) }
        var records: [JournalRecord] = []
        for index in entry.pendingIndices where entry.recipients[index].nextAttempt > time {
            let status = entry.recipients[index]
            let record = JournalRecord(kind: .deferred, index: index, time: Date(), attempts: status.attempts,
                                       nextAttempt: time, address: status.recipient.address.description,
                                       reply: status.lastReply ?? "")
            if entry.apply(record) { records.append(record) }
        }
        guard !records.isEmpty else { return entry }
        let path = disk.journalPath(id), newRecords = records
        try await runBlocking { () throws(SafeIOError) in
            try QueueJournal.append(newRecords, to: path, sync: false, syncDirectory: nil)
        }
        entries[id] = entry
        return entry
    }
}
