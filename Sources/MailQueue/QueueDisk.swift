// SPDX-License-Identifier: Apache-2.0
import Glibc
import MailMessage
import SafeIO

/// The queue directory's paths and the blocking steps of a commit. Everything here runs on the
/// NIOThreadPool, never on the actor.
struct QueueDisk: Sendable {
    let root: String
    /// Stored, not built on each use: every queued message's StoredMessage shares this one
    /// string as its directory, so 100,000 messages hold no directory bytes of their own.
    let msg: String
    var tmp: String { root + "/tmp" }
    var state: String { root + "/state" }
    var corrupt: String { root + "/corrupt" }

    init(root: String) {
        self.root = root
        msg = root + "/msg"
    }

    func messagePath(_ id: QueueID) -> String { "\(msg)/\(id)" }
    func journalPath(_ id: QueueID) -> String { "\(state)/\(id)" }

    func createLayout() throws(SafeIOError) {
        for directory in [root, tmp, msg, state, corrupt] { try createDirectories(directory) }
    }

    /// Writes one message into `tmp/`, fsyncs it and renames it into `msg/`. The caller fsyncs
    /// `msg/` once for the whole batch; until then the message is not acknowledged.
    /// `spare`: a finished message's file to write over instead of creating one (see
    /// `retireMessage`); when it cannot be reused, a new file is created as usual.
    func writeMessage(header: [UInt8], content: [UInt8], trailer: [UInt8], id: QueueID, reusing spare: String? = nil) throws(SafeIOError) {
        var temporary = "\(tmp)/\(id)"
        var reused = false
        let fd: Int32
        if let spare, let spareFD = openForRewriting(spare) {
            temporary = spare
            reused = true
            fd = spareFD
        } else {
            if let spare { unlink(spare) }
            fd = try createExclusive(temporary)
        }
        do {
            defer { close(fd) }
            try writeAll(fd: fd, bytes: header, path: temporary)
            try writeAll(fd: fd, bytes: content, path: temporary)
            try writeAll(fd: fd, bytes: trailer, path: temporary)
            if reused { try truncateFile(fd: fd, length: header.count + content.count + trailer.count, path: temporary) }
            try syncFile(fd: fd, path: temporary)
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, messagePath(id)) == 0 else {
            let error = SafeIOError.system(operation: "rename", errno: errno, path: temporary)
            unlink(temporary)
            throw error
        }
    }

    /// `tmp/spare-N`: where a finished message's file waits to be written over by a new message.
    func sparePath(_ number: Int) -> String { "\(tmp)/spare-\(number)" }

    /// The first half of a finished message's removal, keeping its file for reuse: `msg/ID` is
    /// renamed to `spare` rather than unlinked. Either way the name `msg/ID` is gone, which is
    /// what records the message as finished. Why reuse: every file created and deleted costs an
    /// inode allocation and release, and on ext4 without a journal each allocation also walks the
    /// inodes deleted in the last minute (BENCHMARKS.md, finding 4); PostgreSQL recycles its WAL
    /// segment files for the same reason. Returns whether the file was kept, or the error that
    /// left `msg/ID` in place. Falls back to unlinking when the rename fails.
    func retireMessage(_ id: QueueID, keepingAs spare: String?) -> (kept: Bool, error: SafeIOError?) {
        if let spare, rename(messagePath(id), spare) == 0 { return (true, nil) }
        return (false, unlinkMessage(id))
    }

    /// Removes finished messages: every `msg/` file first, one fsync of `msg/`, then the journals.
    /// The order matters: were a journal's removal to reach the disk before its message's, a
    /// crash would bring the message back with no record of its delivered recipients. An orphan
    /// journal left by a crash is harmless (deleted at recovery), so `state/` is not fsynced.
    /// Returns, per ID, the error that kept its message file in place or its removal from being
    /// durable (nil = removed).
    func removeMessages(_ ids: [QueueID]) -> [SafeIOError?] {
        let unlinked = ids.map(unlinkMessage)
        let removed = ids.indices.filter { unlinked[$0] == nil }
        let committed = commitRemovals(removed.map { ids[$0] })
        return unlinked.map { $0 ?? committed }
    }

    /// The first half of a removal: the message file's name goes (nil = gone). From here a
    /// process crash cannot bring the message back; a power cut can, until `commitRemovals`.
    func unlinkMessage(_ id: QueueID) -> SafeIOError? {
        do throws(SafeIOError) {
            try removeFile(messagePath(id))
            return nil
        } catch {
            return error
        }
    }

    /// The second half, for messages already unlinked: one fsync of `msg/`, then the journals of
    /// `journaled` (those of them that have one).
    /// Returns the fsync's error (the journals then stay: the messages may come back).
    func commitRemovals(_ journaled: [QueueID]) -> SafeIOError? {
        do throws(SafeIOError) {
            try fsyncDirectory(msg)
        } catch {
            return error
        }
        for id in journaled { try? removeFile(journalPath(id)) }
        return nil
    }

    /// Sets a file aside in `corrupt/` under a name not yet used there.
    func setAside(_ path: String, as name: String) throws(SafeIOError) -> String {
        var target = "\(corrupt)/\(name)"
        var suffix = 1
        while (try? fileKind(atPath: target)) != nil {
            target = "\(corrupt)/\(name).\(suffix)"
            suffix += 1
        }
        guard rename(path, target) == 0 else { throw .system(operation: "rename", errno: errno, path: path) }
        return target
    }
}
