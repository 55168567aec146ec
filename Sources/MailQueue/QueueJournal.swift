// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import SafeIO

/// `state/<QueueID>`: an append-only journal of recipient outcomes, one line each, replayed over
/// the message file's recipients at recovery (Exim's `-J` journal does the same job).
///
///     delivered 0 1712345678123456 1 - bob@example.org 250 2.0.0 Ok: queued as 4Xyz
///     deferred 1 1712345678123999 1 1712346578123999 carol@example.net 451 4.7.1 Try later
///     failed 1 1712349999000000 2 - carol@example.net 550 5.1.1 No such user
///
/// Fields: outcome, recipient index (into the message file's `rcpt` lines), time (µs since 1970),
/// attempt count after this attempt, next attempt time (µs) or `-`, the address (escaped; for the
/// administrator, and checked on replay), then the reply as the rest of the line (control bytes
/// replaced by spaces, so it is one line).
///
/// Durability, and why:
/// - `delivered` and `failed` are fdatasync'd before `Queue.record` returns. The only window in
///   which a recipient is delivered twice is between the remote 250 and that sync: RFC 5321 §6.1
///   allows duplicates, never loss. A permanent failure must not be retried after a restart
///   (maddy's bug), so it is synced as well.
/// - The outcomes that finish a message are not written at all: the durable removal of `msg/ID`
///   records them (`Queue.finish`), so a message delivered at its first attempt never has a
///   journal. Only if that removal fails are they appended here, synced.
/// - `deferred` is not synced: losing it only makes the next attempt come early, with one
///   attempt fewer counted.
/// - A crash can leave a last line without its LF; replay ignores it, and recovery truncates the
///   file back to the last LF so the next append does not glue onto the torn piece.
/// - Records are absolute (attempt count, not "+1"), so replaying one twice changes nothing, and
///   a delivered or failed recipient never becomes pending again.
struct JournalRecord: Sendable, Equatable {
    enum Kind: String, Sendable { case delivered, failed, deferred }

    var kind: Kind
    var index: Int
    var time: Date
    var attempts: Int
    var nextAttempt: Date?
    var address: String
    var reply: String

    var encoded: String {
        let next = nextAttempt.map { String(QueueFile.microseconds($0)) } ?? "-"
        return "\(kind.rawValue) \(index) \(QueueFile.microseconds(time)) \(attempts) \(next) "
            + "\(FieldEscaping.escape(address)) \(FieldEscaping.oneLine(reply))\n"
    }

    init(kind: Kind, index: Int, time: Date, attempts: Int, nextAttempt: Date?, address: String, reply: String) {
        self.kind = kind
        self.index = index
        self.time = time
        self.attempts = attempts
        self.nextAttempt = nextAttempt
        self.address = address
        self.reply = reply
    }

    /// Nil for a line that does not parse (reported and skipped by the caller).
    init?(line: Substring) {
        let fields = line.split(separator: " ", maxSplits: 6, omittingEmptySubsequences: false)
        guard fields.count >= 6, let kind = Kind(rawValue: String(fields[0])),
              let index = Int(fields[1]), index >= 0, let time = Int64(fields[2]),
              let attempts = Int(fields[3]), attempts >= 0,
              let address = FieldEscaping.unescape(fields[5]) else { return nil }
        var next: Date?
        if fields[4] != "-" {
            guard let micros = Int64(fields[4]) else { return nil }
            next = QueueFile.date(microseconds: micros)
        }
        self.init(kind: kind, index: index, time: QueueFile.date(microseconds: time), attempts: attempts,
                  nextAttempt: next, address: address, reply: fields.count > 6 ? String(fields[6]) : "")
    }
}

enum QueueJournal {
    /// Journals are capped when read; a larger one is not replayed (the message is then retried
    /// for every recipient: duplicates, never loss).
    static let readLimit = 256 * 1024 * 1024

    struct Replay {
        var records: [JournalRecord] = []
        var badLines = 0
        /// When the last line has no LF: the length of the complete part.
        var completeLength: Int?
    }

    static func parse(_ bytes: [UInt8]) -> Replay {
        var replay = Replay()
        guard let lastNewline = bytes.lastIndex(of: 0x0A) else {
            if !bytes.isEmpty { replay.completeLength = 0 }
            return replay
        }
        if lastNewline != bytes.count - 1 { replay.completeLength = lastNewline + 1 }
        for line in bytes[...lastNewline].split(separator: 0x0A) {
            guard let text = String(validating: line, as: UTF8.self),
                  let record = JournalRecord(line: Substring(text)) else {
                replay.badLines += 1
                continue
            }
            replay.records.append(record)
        }
        return replay
    }

    /// Appends `records` to `path` in one write(2). When `sync`, fdatasync's the file and, when
    /// `syncDirectory` is given (the journal may be new), fsyncs that directory so the journal's
    /// name survives too.
    static func append(_ records: [JournalRecord], to path: String, sync: Bool, syncDirectory: String?) throws(SafeIOError) {
        let fd = try openForAppend(path)
        defer { close(fd) }
        try writeAll(fd: fd, bytes: Array(records.map(\.encoded).joined().utf8), path: path)
        guard sync else { return }
        try syncFileData(fd: fd, path: path)
        if let syncDirectory { try fsyncDirectory(syncDirectory) }
    }

    /// Cuts a torn last line off, durably, so later appends start on a fresh line.
    static func truncate(_ path: String, to length: Int) throws(SafeIOError) {
        let fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw .system(operation: "open", errno: errno, path: path) }
        defer { close(fd) }
        guard ftruncate(fd, off_t(length)) == 0 else { throw .system(operation: "ftruncate", errno: errno, path: path) }
        try syncFile(fd: fd, path: path)
    }
}
