// SPDX-License-Identifier: Apache-2.0
import Glibc

/// Why a SafeIO call failed, with the path it concerned. Callers look at `isDiskFull` to answer
/// `452 4.3.1` (RFC 3463 §3.4 "mail system full") instead of a generic temporary failure.
public enum SafeIOError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A system call failed; `operation` is its name (`open`, `fsync`, `rename`, …).
    case system(operation: String, errno: Int32, path: String)
    /// The path names something that is not a regular file: "symbolic link", "FIFO",
    /// "directory", "device" or "socket". Reading a FIFO would hang; a symlink could point
    /// anywhere the daemon may read (`/etc/shadow`), so both are refused by type, not by content.
    case notARegularFile(kind: String, path: String)
    /// The file holds more than the caller's limit; nothing past the limit was kept.
    case tooLarge(limit: Int, path: String)

    public var path: String {
        switch self {
        case .system(_, _, let path), .notARegularFile(_, let path), .tooLarge(_, let path): path
        }
    }

    /// The errno of a failed system call; ELOOP for a symlink refused by `O_NOFOLLOW`.
    public var errno: Int32? {
        switch self {
        case .system(_, let code, _): code
        case .notARegularFile(let kind, _): kind == FileKind.symbolicLink.description ? ELOOP : nil
        case .tooLarge: EFBIG
        }
    }

    /// ENOSPC or EDQUOT: the disk or the quota is full, a transient condition (4.3.1).
    public var isDiskFull: Bool {
        guard case .system(_, let code, _) = self else { return false }
        return code == ENOSPC || code == EDQUOT
    }

    public var description: String {
        switch self {
        case .system(let operation, let code, let path):
            "\(operation) \(path): \(String(cString: strerror(code))) (errno \(code))"
        case .notARegularFile(let kind, let path):
            "\(path): is a \(kind), not a regular file"
        case .tooLarge(let limit, let path):
            "\(path): larger than the limit of \(limit) bytes"
        }
    }

    /// The error for the current `errno` after `operation` failed on `path`.
    static func lastError(_ operation: String, _ path: String) -> SafeIOError {
        .system(operation: operation, errno: Glibc.errno, path: path)
    }
}
