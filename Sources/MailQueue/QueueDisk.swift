// SPDX-License-Identifier: Apache-2.0
import Glibc
import MailMessage
import SafeIO

/// The queue directory's paths and the blocking steps of a commit. Everything here runs on the
/// NIOThreadPool, never on the actor.
struct QueueDisk: Sendable {
    let root: String
    var tmp: String { root + "/tmp" }
    var msg: String { root + "/msg" }
    var state: String { root + "/state" }
    var corrupt: String { root + "/corrupt" }

    func messagePath(_ id: QueueID) -> String { "\(msg)/\(id)" }
    func journalPath(_ id: QueueID) -> String { "\(state)/\(id)" }

    func createLayout() throws(SafeIOError) {
        for directory in [root, tmp, msg, state, corrupt] { try createDirectories(directory) }
    }

    /// Writes one message into `tmp/`, fsyncs it and renames it into `msg/`. The caller fsyncs
    /// `msg/` once for the whole batch; until then the message is not acknowledged.
    func writeMessage(header: [UInt8], content: [UInt8], trailer: [UInt8], id: QueueID) throws(SafeIOError) {
        let temporary = "\(tmp)/\(id)"
        let fd = try createExclusive(temporary)
        do {
            defer { close(fd) }
            try writeAll(fd: fd, bytes: header, path: temporary)
            try writeAll(fd: fd, bytes: content, path: temporary)
            try writeAll(fd: fd, bytes: trailer, path: temporary)
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

    /// Removes finished messages: every `msg/` file first, one fsync of `msg/`, then the journals.
    /// The order matters: were a journal's removal to reach the disk before its message's, a
    /// crash would bring the message back with no record of its delivered recipients. An orphan
    /// journal left by a crash is harmless (deleted at recovery), so `state/` is not fsynced.
    /// Returns, per ID, the error that kept its message file in place (nil = removed).
    func removeMessages(_ ids: [QueueID]) -> [SafeIOError?] {
        var results: [SafeIOError?] = ids.map { id in
            do throws(SafeIOError) {
                try removeFile(messagePath(id))
                return nil
            } catch {
                return error
            }
        }
        do {
            try fsyncDirectory(msg)
        } catch {
            results = results.map { $0 ?? error }
        }
        for (id, result) in zip(ids, results) where result == nil {
            try? removeFile(journalPath(id))
        }
        return results
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

extension QueueDisk {
    /// fdatasync of a journal that already holds its records (the fallback when a finished
    /// message could not be removed, so its final outcomes are durable anyway).
    func syncJournal(_ id: QueueID) throws(SafeIOError) {
        let path = journalPath(id)
        let fd = try openForAppend(path)
        defer { close(fd) }
        try syncFileData(fd: fd, path: path)
        try fsyncDirectory(state)
    }
}
