// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import MailMessage
import SafeIO

/// One attempt recorded in a message's journal, for `mailroot queue show`.
public struct QueueAttempt: Sendable, Hashable {
    public enum Outcome: String, Sendable, Hashable { case delivered, failed, deferred }

    /// Index into the message's `envelope.recipients`.
    public var recipientIndex: Int
    public var outcome: Outcome
    public var time: Date
    public var nextAttempt: Date?
    /// The reply as recorded (one line).
    public var reply: String
}

/// One queued message as read from disk by another process: the same `QueueEntry` the daemon
/// keeps in memory (envelope, per-recipient state), plus every attempt in journal order.
public struct QueueSnapshotMessage: Sendable {
    public var entry: QueueEntry
    public var attempts: [QueueAttempt]
    /// Size of the message itself (not the queue file's header), in bytes.
    public var size: Int64 { entry.message.length }
}

/// A read-only view of a queue directory, safe while `mailroot serve` owns it.
///
/// Why this can run beside the daemon without its lock: the daemon only ever renames complete,
/// fsynced files into `msg/` and never rewrites them (QueueFile.swift), and it appends whole
/// lines to journals in one write(2) (QueueJournal.swift). So a reader sees either no file or a
/// complete one, and at worst a journal line without its LF, which `QueueJournal.parse` ignores.
/// Taking the queue's flock would make the daemon refuse to start (or this command block) for
/// nothing. Nothing here writes, moves or truncates: recovery's repairs are the daemon's job.
///
/// A message can finish (and its files vanish) between listing `msg/` and reading a file; such
/// a message is simply left out, as it is no longer queued.
public enum QueueSnapshot {
    /// Every readable queued message, oldest first, and the `msg/` names that could not be read
    /// (name → reason; left in place, the daemon sets them aside at its next start).
    public static func load(directory: String) throws(SafeIOError) -> (messages: [QueueSnapshotMessage], unreadable: [String: String]) {
        let disk = QueueDisk(root: directory)
        var messages: [QueueSnapshotMessage] = []
        var unreadable: [String: String] = [:]
        for name in try directoryEntries(disk.msg).sorted() {
            guard let id = QueueID(name) else {
                unreadable[name] = "name is not a queue ID"
                continue
            }
            do {
                if let message = try read(disk: disk, id: id) { messages.append(message) }
            } catch {
                unreadable[name] = "\(error)"
            }
        }
        return (messages, unreadable)
    }

    /// The message `id`, or nil when it is not (or no longer) queued. Throws when the file is
    /// there but unreadable (the error names the problem).
    public static func message(directory: String, id: QueueID) throws -> QueueSnapshotMessage? {
        try read(disk: QueueDisk(root: directory), id: id)
    }

    /// The message's header section (up to and including the empty line), read in chunks from
    /// the queue file without reading the body. Capped at `limit` bytes; nil when the message
    /// file is gone (delivered meanwhile).
    public static func headerSection(of message: StoredMessage, limit: Int = 1024 * 1024) throws(SafeIOError) -> [UInt8]? {
        let fd: Int32
        do {
            (fd, _) = try openRegularFileNoFollow(message.path)
        } catch where error.errno == ENOENT {
            return nil
        }
        defer { close(fd) }
        let cap = Int(min(Int64(limit), message.length))
        var bytes: [UInt8] = []
        while bytes.count < cap {
            let chunk = try readAt(fd: fd, offset: message.offset + Int64(bytes.count),
                                   count: min(QueueFile.headerReadChunk, cap - bytes.count), path: message.path)
            if chunk.isEmpty { break }
            let searchFrom = max(0, bytes.count - 3)
            bytes += chunk
            if let end = endOfHeaderSection(bytes, from: searchFrom) { return Array(bytes[..<end]) }
        }
        return bytes
    }

    /// Index just past the CRLF CRLF that ends the header section (RFC 5322 §2.1).
    private static func endOfHeaderSection(_ bytes: [UInt8], from start: Int) -> Int? {
        var index = start
        while index + 3 < bytes.count {
            if bytes[index] == 0x0D && bytes[index + 1] == 0x0A && bytes[index + 2] == 0x0D && bytes[index + 3] == 0x0A {
                return index + 4
            }
            index += 1
        }
        return nil
    }

    private static func read(disk: QueueDisk, id: QueueID) throws -> QueueSnapshotMessage? {
        let path = disk.messagePath(id)
        var bytesRead = 0
        let header: QueueFile.Header, stored: StoredMessage
        do {
            (header, stored) = try QueueFile.read(directory: disk.msg, expectedID: id, bytesRead: &bytesRead)
        } catch let error as SafeIOError where error.errno == ENOENT {
            return nil
        }
        var entry = QueueEntry(header: header, message: stored)
        entry.isHeld = (try? fileKind(atPath: disk.holdPath(id))) != nil
        guard let journal = try readJournal(disk.journalPath(id)) else {
            // No journal: either no attempt yet, or the message finished (msg/ is removed before
            // state/) after we read its file. Only the first is still queued.
            return (try fileKind(atPath: path)) == nil ? nil : QueueSnapshotMessage(entry: entry, attempts: [])
        }
        var attempts: [QueueAttempt] = []
        // The same checks as recovery's replay (QueueRecovery.replayJournal), without its repairs.
        for record in QueueJournal.parse(journal).records {
            guard entry.recipients.indices.contains(record.index),
                  entry.recipients[record.index].recipient.address.description == record.address else { continue }
            entry.apply(record)
            attempts.append(QueueAttempt(recipientIndex: record.index, outcome: QueueAttempt.Outcome(record.kind),
                                         time: record.time, nextAttempt: record.nextAttempt, reply: record.reply))
        }
        return QueueSnapshotMessage(entry: entry, attempts: attempts)
    }

    /// The journal's bytes, or nil when there is none.
    private static func readJournal(_ path: String) throws(SafeIOError) -> [UInt8]? {
        do {
            let (fd, _) = try openRegularFileNoFollow(path)
            defer { close(fd) }
            return try readAll(fd: fd, limit: QueueJournal.readLimit, path: path)
        } catch where error.errno == ENOENT {
            return nil
        }
    }
}

extension QueueAttempt.Outcome {
    init(_ kind: JournalRecord.Kind) {
        switch kind {
        case .delivered: self = .delivered
        case .failed: self = .failed
        case .deferred: self = .deferred
        }
    }
}
