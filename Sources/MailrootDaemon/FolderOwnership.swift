// SPDX-License-Identifier: Apache-2.0
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Gives the folders under the root to the user the daemon is about to become, as Postfix's
/// `postfix set-permissions` does, so that a queue written by an earlier run as root (or under
/// another uid) is usable after the switch. Runs as root, before the switch.
///
/// queue/ and badmail/ are walked entirely: the daemon reads, rewrites and removes what is in
/// them. pickup/ and drop/ are changed only themselves: their files belong to the applications
/// that write or read them. The root directory itself is left as it is (root-owned, like
/// Postfix's queue_directory), so giving mailroot a root such as /var/spool cannot hand the
/// user anything beyond its four folders.
///
/// The walk runs as root over directories an unprivileged user may have written, so it never
/// follows a name twice: each entry is opened once with O_PATH | O_NOFOLLOW and then changed and
/// examined through that descriptor. Symbolic links, devices and FIFOs are skipped (none belongs
/// there); a regular file with more than one link that is not already the user's is skipped too,
/// because it may be a hard link to a file elsewhere (/etc/shadow) planted to be given away.
enum FolderOwnership {
    /// setgid: files created in pickup/ get the pickup group, through which the daemon reads
    /// them. sticky: one application cannot remove or replace another's waiting file. Group
    /// rwx: `mailroot sendmail` fsyncs the directory, which needs read permission (Postfix's
    /// maildrop is 1730 because postdrop does not). Others: nothing.
    static let pickupMode: mode_t = 0o3770
    private static let maximumDepth = 16
    /// O_PATH and AT_EMPTY_PATH (Linux ≥ 2.6.39) are behind _GNU_SOURCE, which the Glibc module
    /// does not import; the values are the kernel ABI's on x86-64 and AArch64.
    private static let linuxOpenPath: Int32 = 0o10000000
    private static let linuxEmptyPath: Int32 = 0x1000

    static func give(_ folders: MailrootFolders, to user: SystemAccount, pickupGroup: SystemAccount?,
                     logger: Logger) throws(DaemonError) {
        for tree in [folders.queue, folders.badmail] {
            try walk(tree, user: user, logger: logger)
        }
        try change(folders.drop, owner: user.id, group: user.group, mode: nil)
        if let pickupGroup {
            try givePickup(folders.pickup, owner: user.id, group: pickupGroup)
        } else {
            try change(folders.pickup, owner: user.id, group: user.group, mode: nil)
        }
    }

    /// pickup/ to `group` with `pickupMode`; `owner` nil keeps the owner.
    static func givePickup(_ path: String, owner: uid_t?, group: SystemAccount) throws(DaemonError) {
        do {
            try change(path, owner: owner ?? UInt32.max, group: group.id, mode: pickupMode)
        } catch {
            throw DaemonError(description: "pickup_group = \"\(group.name)\": \(error.description)")
        }
    }

    /// One directory, not its contents. `UInt32.max` (-1) leaves the owner as it is.
    private static func change(_ path: String, owner: uid_t, group: gid_t, mode: mode_t?) throws(DaemonError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open", path) }
        defer { close(fd) }
        guard fchown(fd, owner, group) == 0 else { throw failure("chown", path) }
        // chown may clear the setgid bit, so the mode is set after it.
        guard let mode else { return }
        guard fchmod(fd, mode) == 0 else { throw failure("chmod", path) }
        // The kernel drops the setgid bit without an error when the caller is neither in the
        // group nor holds CAP_FSETID (a systemd unit with too small a CapabilityBoundingSet).
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure("stat", path) }
        guard info.st_mode & 0o7777 == mode else {
            throw DaemonError(description: "cannot give \(path) mode \(String(mode, radix: 8)): it has mode \(String(info.st_mode & 0o7777, radix: 8)) (setting the setgid bit needs CAP_FSETID or membership of the group)")
        }
    }

    private static func walk(_ path: String, user: SystemAccount, logger: Logger) throws(DaemonError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open", path) }
        defer { close(fd) }
        try walk(directory: fd, path: path, user: user, depth: 0, logger: logger)
    }

    /// `directory` is an open descriptor that this function does not close.
    private static func walk(directory: Int32, path: String, user: SystemAccount, depth: Int,
                             logger: Logger) throws(DaemonError) {
        var info = stat()
        guard fstat(directory, &info) == 0 else { throw failure("stat", path) }
        if info.st_uid != user.id || info.st_gid != user.group {
            guard fchown(directory, user.id, user.group) == 0 else { throw failure("chown", path) }
        }
        guard depth < maximumDepth else {
            logger.warning("mailroot: \(path) is nested deeper than \(maximumDepth) levels; not changing its owner further down")
            return
        }
        for name in try entries(of: directory, path: path) {
            let child = openat(directory, name, linuxOpenPath | O_NOFOLLOW | O_CLOEXEC)
            guard child >= 0 else {
                if errno == ENOENT { continue }
                throw failure("open", "\(path)/\(name)")
            }
            defer { close(child) }
            try visit(child, path: "\(path)/\(name)", user: user, depth: depth, logger: logger)
        }
    }

    private static func visit(_ fd: Int32, path: String, user: SystemAccount, depth: Int, logger: Logger) throws(DaemonError) {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure("stat", path) }
        switch info.st_mode & S_IFMT {
        case S_IFDIR:
            let directory = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard directory >= 0 else { throw failure("open", path) }
            defer { close(directory) }
            try walk(directory: directory, path: path, user: user, depth: depth + 1, logger: logger)
        case S_IFREG, S_IFSOCK:
            guard info.st_uid != user.id || info.st_gid != user.group else { return }
            guard info.st_mode & S_IFMT != S_IFREG || info.st_nlink == 1 else {
                logger.warning("mailroot: not giving \(path) to \(user.name): it has \(info.st_nlink) hard links and may be a file from elsewhere")
                return
            }
            guard fchownat(fd, "", user.id, user.group, linuxEmptyPath) == 0 else { throw failure("chown", path) }
        case S_IFLNK:
            logger.warning("mailroot: not giving \(path) to \(user.name): a symbolic link has no place there")
        default:
            logger.warning("mailroot: not giving \(path) to \(user.name): not a file or directory")
        }
    }

    private static func entries(of directory: Int32, path: String) throws(DaemonError) -> [String] {
        let copy = dup(directory)
        guard copy >= 0, let stream = fdopendir(copy) else {
            if copy >= 0 { close(copy) }
            throw failure("opendir", path)
        }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    private static func failure(_ operation: String, _ path: String) -> DaemonError {
        DaemonError(description: "cannot \(operation) \(path): \(String(cString: strerror(errno)))")
    }
}
