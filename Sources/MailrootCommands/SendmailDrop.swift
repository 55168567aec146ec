// SPDX-License-Identifier: Apache-2.0
import Glibc
import MailMessage
import SafeIO

/// Puts a finished pickup file into `pickup/` so that the daemon sees all of it or none of it.
///
/// The file is written under a dot name (which the pickup watcher ignores), fsynced, given its
/// final mode, then renamed to `<queue id>.eml` with RENAME_NOREPLACE: it fails instead of
/// replacing a file that already has the name, so two submissions can never overwrite each
/// other, and the watcher sees a rename (IN_MOVED_TO) and takes the file at once. (A link(2)
/// would be just as safe, but inotify reports it only as IN_CREATE, which the watcher cannot tell
/// from a file still being written, so the file would wait for the next scan.) The directory is fsynced before we exit 0: once
/// the caller sees success, the message survives a power cut even if no daemon is running.
enum SendmailDrop {
    /// Mode of the final file: the daemon reads it through the group when it runs as another
    /// user (docs/sendmail.md: pickup/ is setgid to the daemon's group), nobody else can.
    /// Set with fchmod so a restrictive umask (077 in many cron setups) cannot hide it from the daemon.
    static let fileMode: mode_t = 0o640

    /// Writes `bytes` into `directory`; returns the final name.
    static func write(_ bytes: [UInt8], into directory: String, queueID: QueueID) throws(SendmailError) -> String {
        var info = stat()
        guard stat(directory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw .init(status: .cantCreate, message: "the pickup directory \(directory) does not exist; run `mailroot serve` once with this configuration, or create it")
        }
        let temporary = "\(directory)/.sendmail-\(queueID).tmp"
        let fd: Int32
        do {
            fd = try createExclusive(temporary, mode: fileMode)
        } catch {
            throw failure(error, creating: true)
        }
        do throws(SafeIOError) {
            defer { close(fd) }
            try writeAll(fd: fd, bytes: bytes, path: temporary)
            guard fchmod(fd, fileMode) == 0 else { throw SafeIOError.system(operation: "fchmod", errno: errno, path: temporary) }
            try syncFile(fd: fd, path: temporary)
        } catch {
            unlink(temporary)
            throw failure(error, creating: false)
        }
        var id = queueID
        for _ in 0..<8 {
            let name = "\(id).eml"
            do throws(SafeIOError) {
                try renameWithoutReplacing(from: temporary, to: "\(directory)/\(name)")
            } catch where error.errno == EEXIST {
                id = QueueID.generate()
                continue
            } catch {
                unlink(temporary)
                throw failure(error, creating: true)
            }
            do {
                try fsyncDirectory(directory)
            } catch {
                throw failure(error, creating: false)
            }
            return name
        }
        unlink(temporary)
        throw .init(status: .temporary, message: "could not find a free name in \(directory)")
    }

    /// EX_CANTCREAT when we may not create files there (permissions, read-only, gone),
    /// EX_TEMPFAIL for what may pass (disk full, quota, I/O error).
    private static func failure(_ error: SafeIOError, creating: Bool) -> SendmailError {
        let permanent: Set<Int32> = [EACCES, EPERM, ENOENT, ENOTDIR, EROFS, ELOOP]
        if creating, let code = error.errno, permanent.contains(code) {
            return .init(status: .cantCreate, message: "cannot create a file in the pickup directory: \(error)")
        }
        return .init(status: .temporary, message: "cannot write the message: \(error); nothing was queued, try again")
    }
}
