// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import MailMessage
import SafeIO

/// The badmail folder, as IIS kept it: `<ID>.bad` holds the message bytes unchanged (resend by
/// copying it into pickup/), `<ID>.bdr` beside it says why, for a human:
///
///     Date: Tue, 09 Apr 2024 12:34:56 +0000
///     Original-File: invoice.eml
///     Status: 5.6.0
///     Reason: no From: header and no x-sender: line
///
/// Order, so that a crash never leaves a message nowhere: the `.bdr` is created first (durably,
/// with O_EXCL semantics, which also reserves the name), then the `.bad` is put in place durably.
/// The original is removed by the caller only after that (for pickup files the rename itself
/// moves it). A crash in between leaves an orphan `.bdr` and the message still where it was
/// (pickup/ or the queue), so it is simply processed again — noise, not loss.
public struct Badmail: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// Moves the file at `path` (a pickup entry) into badmail by rename: never follows a symlink
    /// or reads a FIFO, and keeps the bytes unchanged. Both directories are fsynced. Returns the
    /// `.bad` name.
    public func move(fileAt path: String, originalName: String, reason: String,
                     status: EnhancedStatusCode) throws(SafeIOError) -> String {
        try place(originalName: originalName, reason: reason, status: status) { (target: String) throws(SafeIOError) in
            try renameDurably(from: path, to: target)
        }
    }

    /// Writes `bytes` as a new `.bad` file (a queue message being given up). Returns its name.
    public func write(bytes: [UInt8], originalName: String, reason: String,
                      status: EnhancedStatusCode) throws(SafeIOError) -> String {
        try place(originalName: originalName, reason: reason, status: status) { (target: String) throws(SafeIOError) in
            try createFileDurably(path: target, bytes: bytes)
        }
    }

    /// Copies a stored message's byte range into a new `.bad` file. Returns its name.
    public func write(message: StoredMessage, originalName: String, reason: String,
                      status: EnhancedStatusCode) throws(SafeIOError) -> String {
        let (fd, _) = try openRegularFileNoFollow(message.path)
        defer { close(fd) }
        let bytes = try readAt(fd: fd, offset: message.offset, count: Int(message.length), path: message.path)
        guard bytes.count == Int(message.length) else {
            throw .system(operation: "read", errno: EIO, path: message.path)
        }
        return try write(bytes: bytes, originalName: originalName, reason: reason, status: status)
    }

    private func place(originalName: String, reason: String, status: EnhancedStatusCode,
                       _ putBad: (String) throws(SafeIOError) -> Void) throws(SafeIOError) -> String {
        try createDirectories(directory)
        let (name, reasonPath) = try reserveName(report(originalName: originalName, reason: reason, status: status))
        do {
            try putBad("\(directory)/\(name).bad")
        } catch {
            unlink(reasonPath)
            throw error
        }
        return "\(name).bad"
    }

    /// Creates `<fresh ID>.bdr`; a clash (30 random bits per microsecond) is retried.
    private func reserveName(_ report: [UInt8]) throws(SafeIOError) -> (String, String) {
        var attempt = 0
        while true {
            let name = QueueID.generate().description
            let path = "\(directory)/\(name).bdr"
            do throws(SafeIOError) {
                guard (try fileKind(atPath: "\(directory)/\(name).bad")) == nil else { throw SafeIOError.system(operation: "link", errno: EEXIST, path: path) }
                try createFileDurably(path: path, bytes: report)
                return (name, path)
            } catch where error.errno == EEXIST && attempt < 5 {
                attempt += 1
            }
        }
    }

    private func report(originalName: String, reason: String, status: EnhancedStatusCode) -> [UInt8] {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 0)
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        let text = "Date: \(formatter.string(from: Date()))\n"
            + "Original-File: \(FieldEscaping.oneLine(originalName, limit: 1000))\n"
            + "Status: \(status)\n"
            + "Reason: \(FieldEscaping.oneLine(reason))\n"
        return Array(text.utf8)
    }
}
