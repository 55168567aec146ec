// SUMMARY
//   SafeIO: files that survive a crash, and opens that cannot be tricked.
// DESCRIPTION
//   A durable write is: create a temporary name in the same directory (O_EXCL, O_NOFOLLOW),
//   write everything, fsync the file, rename it over the final name, fsync the directory.
//   The rename is atomic, so a reader sees the old file or the whole new one; the directory
//   fsync is what makes the rename itself survive power loss on Linux (ext4/xfs do not persist
//   a rename without it; chasquid and Exim both learned this). The lower-level pieces
//   (`createExclusive`, `writeAll`, `syncFile`, `fsyncDirectory`) are public so the queue can
//   share one directory fsync among many files (group commit).
// SAFETY
//   Never follows a symlink at the final path component (O_NOFOLLOW → ELOOP), never blocks
//   opening a FIFO (O_NONBLOCK until fstat proves a regular file), never reads past a limit,
//   retries EINTR and short writes, and closes every descriptor it opened on every path
//   (O_CLOEXEC so none leaks into a child process). Errors carry errno and path; ENOSPC and
//   EDQUOT are recognisable (`SafeIOError.isDiskFull`).
// SEE ALSO
//   POSIX rename(2), fsync(2), open(2) O_NOFOLLOW; Postfix util/safe_open.c, sane_rename.c;
//   chasquid internal/safeio; Sources/MailQueue (the main user).
import Glibc

/// Replaces (or creates) `path` with `bytes` so that after a crash it holds either its old
/// content or all of `bytes`, never a mixture or nothing.
public func writeFileDurably(path: String, bytes: [UInt8], mode: mode_t = 0o600) throws(SafeIOError) {
    let temporary = try writeTemporarySibling(of: path, bytes: bytes, mode: mode)
    guard rename(temporary, path) == 0 else {
        let error = SafeIOError.lastError("rename", path)
        unlink(temporary)
        throw error
    }
    try fsyncDirectory(parentDirectory(of: path))
}

/// Like `writeFileDurably`, but fails with EEXIST instead of replacing an existing `path`
/// (a hard link, not a rename, puts the complete file in place). Used to reserve a name.
public func createFileDurably(path: String, bytes: [UInt8], mode: mode_t = 0o600) throws(SafeIOError) {
    let temporary = try writeTemporarySibling(of: path, bytes: bytes, mode: mode)
    defer { unlink(temporary) }
    guard link(temporary, path) == 0 else { throw .lastError("link", path) }
    try fsyncDirectory(parentDirectory(of: path))
}

/// Writes `bytes` to a fresh `.<name>.tmp-<random>` beside `path` and fsyncs it; returns its path.
private func writeTemporarySibling(of path: String, bytes: [UInt8], mode: mode_t) throws(SafeIOError) -> String {
    let directory = parentDirectory(of: path)
    let name = path.split(separator: "/").last.map(String.init) ?? path
    var attempts = 0
    while true {
        let temporary = "\(directory)/.\(name).tmp-\(UInt32.random(in: 0...UInt32.max))"
        let fd: Int32
        do {
            fd = try createExclusive(temporary, mode: mode)
        } catch where error.errno == EEXIST && attempts < 8 {
            attempts += 1
            continue
        }
        do {
            defer { close(fd) }
            try writeAll(fd: fd, bytes: bytes, path: temporary)
            try syncFile(fd: fd, path: temporary)
        } catch {
            unlink(temporary)
            throw error
        }
        return temporary
    }
}

/// Creates `path` for writing; fails if anything (even a dangling symlink) is already there.
public func createExclusive(_ path: String, mode: mode_t = 0o600) throws(SafeIOError) -> Int32 {
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
    guard fd >= 0 else { throw .lastError("open", path) }
    return fd
}

/// Opens an existing file to write it over from the start, or nil when `path` is not a regular
/// file with exactly one link (a file someone linked elsewhere must not change under them).
/// For reusing a file instead of creating one (the queue's spare files).
public func openForRewriting(_ path: String) -> Int32? {
    let fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
    guard fd >= 0 else { return nil }
    var info = stat()
    guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_nlink == 1 else {
        close(fd)
        return nil
    }
    return fd
}

/// Cuts the file at `length` (after writing a shorter content over a longer one).
public func truncateFile(fd: Int32, length: Int, path: String) throws(SafeIOError) {
    while ftruncate(fd, off_t(length)) != 0 {
        if errno == EINTR { continue }
        throw .lastError("ftruncate", path)
    }
}

/// Opens (creating if needed) `path` for appending; refuses a symlink.
public func openForAppend(_ path: String, mode: mode_t = 0o600) throws(SafeIOError) -> Int32 {
    let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode)
    guard fd >= 0 else { throw .lastError("open", path) }
    return fd
}

/// Writes every byte, retrying short writes and EINTR.
public func writeAll(fd: Int32, bytes: [UInt8], path: String) throws(SafeIOError) {
    let failure: SafeIOError? = bytes.withUnsafeBytes { buffer in
        var done = 0
        while done < buffer.count {
            let written = write(fd, buffer.baseAddress! + done, buffer.count - done)
            if written < 0 {
                if errno == EINTR { continue }
                return .lastError("write", path)
            }
            done += written
        }
        return nil
    }
    if let failure { throw failure }
}

/// fsync(2): data and metadata of the file reach the disk.
public func syncFile(fd: Int32, path: String) throws(SafeIOError) {
    while fsync(fd) != 0 {
        if errno == EINTR { continue }
        throw .lastError("fsync", path)
    }
}

/// fdatasync(2): enough for appends to an existing file (the size is still persisted).
public func syncFileData(fd: Int32, path: String) throws(SafeIOError) {
    while fdatasync(fd) != 0 {
        if errno == EINTR { continue }
        throw .lastError("fdatasync", path)
    }
}

/// The directory part of `path` ("." for a bare name, "/" for a top-level entry).
public func parentDirectory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}
