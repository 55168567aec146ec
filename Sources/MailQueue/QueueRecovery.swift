// SPDX-License-Identifier: Apache-2.0
import Glibc
import Logging
import MailMessage
import SafeIO

/// What a recovery pass did, for logs and tests.
public struct RecoveryStatistics: Sendable, Equatable {
    public var messagesLoaded = 0
    public var movedToCorrupt = 0
    public var temporaryFilesRemoved = 0
    public var orphanJournalsRemoved = 0
    public var finishedMessagesRemoved = 0
    public var journalRecordsReplayed = 0
    /// Bytes read from message files: headers and end records only, never bodies.
    public var messageBytesRead = 0

    public init() {}
}

/// The blocking recovery scan (run on the thread pool). Nothing found on disk makes it throw:
/// a file it cannot use is set aside in `corrupt/` with a warning, because one bad file must not
/// keep every other message from being delivered (Haraka and OpenSMTPD died on one).
struct QueueRecovery {
    let disk: QueueDisk
    let logger: Logger
    var statistics = RecoveryStatistics()
    /// Names in `hold/`, read by `begin()`.
    private var heldNames: Set<String> = []
    /// Equal last replies (every message to a dead MX) share one copy in memory.
    private var replies = StringInterner(capacity: 256)

    init(disk: QueueDisk, logger: Logger) {
        self.disk = disk
        self.logger = logger
    }

    /// The whole recovery in one call (tests, and callers that want no batches).
    mutating func run() throws(SafeIOError) -> [QueueEntry] {
        let names = try begin()
        let entries = load(names[...])
        try end()
        return entries
    }

    /// Step 1: the folders, an empty `tmp/`, the hold markers; returns the `msg/` names, oldest first.
    mutating func begin() throws(SafeIOError) -> [String] {
        try disk.createLayout()
        try emptyTemporaryDirectory()
        heldNames = try heldMessageNames()
        return try directoryEntries(disk.msg).sorted()
    }

    /// Step 2, once per batch of names: the messages still queued, journals replayed. Finished
    /// ones (a crash after their last outcome) are removed here; unreadable ones set aside.
    mutating func load(_ names: ArraySlice<String>) -> [QueueEntry] {
        var entries: [QueueEntry] = []
        var finished: [QueueID] = []
        for name in names {
            guard var entry = load(name) else { continue }
            replayJournal(into: &entry)
            if entry.isFinished {
                finished.append(entry.id)
            } else {
                entry.isHeld = heldNames.contains(name)
                entries.append(entry)
            }
        }
        if !finished.isEmpty {
            // Their journals go with them (removeMessages), so the orphan pass need not know them.
            for (id, error) in zip(finished, disk.removeMessages(finished)) {
                if let error { logger.error("\(id): finished but could not be removed: \(error)") }
            }
            statistics.finishedMessagesRemoved += finished.count
        }
        statistics.messagesLoaded += entries.count
        return entries
    }

    /// Step 3, after every batch: journals and hold markers whose message file is gone are
    /// removed, and the directories are made durable. Judged by the file, not by the entries
    /// loaded, because delivery may already be running on the first batches: a bounce it queued
    /// meanwhile has a journal and no place in this recovery's list. A journal only ever exists
    /// beside its message (it is created after the message is committed and removed after it).
    mutating func end() throws(SafeIOError) {
        try removeOrphanJournals()
        removeOrphanHoldMarkers()
        // Names of journals created before a crash may not be durable yet; one fsync fixes all.
        try fsyncDirectory(disk.state)
        if statistics.movedToCorrupt > 0 {
            try fsyncDirectory(disk.corrupt)
            try fsyncDirectory(disk.msg)
        }
    }

    /// `tmp/` holds only writes that never committed (nobody was told they were queued) and spare
    /// files of finished messages (`QueueDisk.retireMessage`), which a new run does not need.
    private mutating func emptyTemporaryDirectory() throws(SafeIOError) {
        for name in try directoryEntries(disk.tmp) {
            do throws(SafeIOError) {
                try removeFile("\(disk.tmp)/\(name)")
                statistics.temporaryFilesRemoved += 1
            } catch {
                logger.warning("queue: cannot remove \(disk.tmp)/\(name): \(error)")
            }
        }
    }

    private mutating func load(_ name: String) -> QueueEntry? {
        let path = "\(disk.msg)/\(name)"
        guard let id = QueueID(name) else {
            setAside(path, name: name, reason: "name is not a queue ID")
            return nil
        }
        do {
            let (header, stored) = try QueueFile.read(directory: disk.msg, expectedID: id, bytesRead: &statistics.messageBytesRead)
            return QueueEntry(header: header, message: stored)
        } catch {
            setAside(path, name: name, reason: "\(error)")
            let journal = disk.journalPath(id)
            if (try? fileKind(atPath: journal)) != nil { _ = try? disk.setAside(journal, as: "\(name).journal") }
            return nil
        }
    }

    private mutating func setAside(_ path: String, name: String, reason: String) {
        do {
            let target = try disk.setAside(path, as: name)
            statistics.movedToCorrupt += 1
            logger.warning("\(name): unreadable queue file moved to \(target): \(reason)")
        } catch {
            logger.error("\(name): unreadable queue file (\(reason)) could not be moved aside: \(error)")
        }
    }

    private mutating func replayJournal(into entry: inout QueueEntry) {
        let path = disk.journalPath(entry.id)
        let bytes: [UInt8]
        do {
            let (fd, _) = try openRegularFileNoFollow(path)
            defer { close(fd) }
            bytes = try readAll(fd: fd, limit: QueueJournal.readLimit, path: path)
        } catch {
            if error.errno != ENOENT {
                logger.warning("\(entry.id): journal not replayed, every recipient will be retried: \(error)")
            }
            return
        }
        let replay = QueueJournal.parse(bytes)
        if replay.badLines > 0 { logger.warning("\(entry.id): \(replay.badLines) unreadable journal line(s) ignored") }
        for record in replay.records {
            guard entry.recipients.indices.contains(record.index),
                  entry.recipients[record.index].recipient.address.description == record.address else {
                logger.warning("\(entry.id): journal record for an unknown recipient ignored")
                continue
            }
            var shared = record
            shared.reply = replies.intern(record.reply)
            entry.apply(shared)
            statistics.journalRecordsReplayed += 1
        }
        if let complete = replay.completeLength {
            logger.notice("\(entry.id): torn last journal line ignored")
            do { try QueueJournal.truncate(path, to: complete) } catch {
                logger.warning("\(entry.id): cannot truncate torn journal: \(error)")
            }
        }
    }

    private func heldMessageNames() throws(SafeIOError) -> Set<String> {
        guard (try fileKind(atPath: disk.hold)) != nil else { return [] }
        return Set(try directoryEntries(disk.hold))
    }

    /// A crash between deleting a held message and its marker leaves a marker behind.
    private func removeOrphanHoldMarkers() {
        for name in heldNames where !messageExists(name) {
            try? removeFile("\(disk.hold)/\(name)")
        }
    }

    private func messageExists(_ name: String) -> Bool {
        guard let id = QueueID(name) else { return false }
        return (try? fileKind(atPath: disk.messagePath(id))) != nil
    }

    private mutating func removeOrphanJournals() throws(SafeIOError) {
        for name in try directoryEntries(disk.state) {
            guard QueueID(name) != nil else {
                logger.warning("queue: unexpected file \(disk.state)/\(name) left alone")
                continue
            }
            guard !messageExists(name) else { continue }
            try? removeFile("\(disk.state)/\(name)")
            statistics.orphanJournalsRemoved += 1
        }
    }
}
