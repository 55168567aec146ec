// SPDX-License-Identifier: Apache-2.0
import Glibc

/// Opens `path` for reading only if it is a regular file, without following a final symlink and
/// without blocking on a FIFO. Returns the descriptor (caller closes it) and the size at open time.
///
/// O_NONBLOCK matters because opening a FIFO for reading blocks until a writer appears: an
/// attacker who can create a FIFO in `pickup/` would otherwise hang the reader forever. The flag
/// is cleared after `fstat` proves a regular file, so later reads behave normally.
public func openRegularFileNoFollow(_ path: String) throws(SafeIOError) -> (fd: Int32, size: Int64) {
    let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
    guard fd >= 0 else {
        let code = errno
        if code == ELOOP { throw .notARegularFile(kind: FileKind.symbolicLink.description, path: path) }
        throw .system(operation: "open", errno: code, path: path)
    }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
        let error = SafeIOError.lastError("fstat", path)
        close(fd)
        throw error
    }
    let kind = FileKind(mode: info.st_mode)
    guard kind == .regular else {
        close(fd)
        throw .notARegularFile(kind: kind.description, path: path)
    }
    let flags = fcntl(fd, F_GETFL)
    guard flags >= 0, fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0 else {
        let error = SafeIOError.lastError("fcntl", path)
        close(fd)
        throw error
    }
    return (fd, Int64(info.st_size))
}

/// Reads from the current offset to end of file. Stops as soon as more than `limit` bytes have
/// been seen and throws `tooLarge`, so a huge (or growing) file cannot exhaust memory.
public func readAll(fd: Int32, limit: Int, path: String = "") throws(SafeIOError) -> [UInt8] {
    var result: [UInt8] = []
    let chunk = 64 * 1024
    var buffer = [UInt8](repeating: 0, count: chunk)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, chunk) }
        if count < 0 {
            if errno == EINTR { continue }
            throw .lastError("read", path)
        }
        if count == 0 { return result }
        guard result.count + count <= limit else { throw .tooLarge(limit: limit, path: path) }
        result.append(contentsOf: buffer[0..<count])
    }
}

/// pread(2) of up to `count` bytes at `offset`; shorter only at end of file.
public func readAt(fd: Int32, offset: Int64, count: Int, path: String = "") throws(SafeIOError) -> [UInt8] {
    var result = [UInt8](repeating: 0, count: count)
    var done = 0
    while done < count {
        let got = result.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
        if got < 0 {
            if errno == EINTR { continue }
            throw .lastError("pread", path)
        }
        if got == 0 { break }
        done += got
    }
    result.removeSubrange(done...)
    return result
}
