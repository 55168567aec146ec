// SPDX-License-Identifier: Apache-2.0
import Glibc

/// What a directory entry is, as `lstat` sees it (a symlink is reported as itself, never followed).
public enum FileKind: Sendable, Hashable, CustomStringConvertible {
    case regular, directory, symbolicLink, fifo, device, socket, unknown

    init(mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFREG: self = .regular
        case S_IFDIR: self = .directory
        case S_IFLNK: self = .symbolicLink
        case S_IFIFO: self = .fifo
        case S_IFCHR, S_IFBLK: self = .device
        case S_IFSOCK: self = .socket
        default: self = .unknown
        }
    }

    /// The words used in `SafeIOError.notARegularFile(kind:)` and in badmail reasons.
    public var description: String {
        switch self {
        case .regular: "regular file"
        case .directory: "directory"
        case .symbolicLink: "symbolic link"
        case .fifo: "FIFO"
        case .device: "device"
        case .socket: "socket"
        case .unknown: "unknown file type"
        }
    }
}

/// What `lstat` says of a directory entry: its kind and size (a symlink's own).
public struct FileStatus: Sendable, Hashable {
    public var kind: FileKind
    public var size: Int
}

/// The kind and size of `path` without following a final symlink; nil when it does not exist.
public func fileStatus(atPath path: String) throws(SafeIOError) -> FileStatus? {
    var info = stat()
    guard lstat(path, &info) == 0 else {
        if errno == ENOENT { return nil }
        throw .lastError("lstat", path)
    }
    return FileStatus(kind: FileKind(mode: info.st_mode), size: Int(info.st_size))
}

/// The kind of `path` without following a final symlink; nil when it does not exist.
public func fileKind(atPath path: String) throws(SafeIOError) -> FileKind? {
    try fileStatus(atPath: path)?.kind
}
