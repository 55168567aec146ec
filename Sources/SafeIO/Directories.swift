// SPDX-License-Identifier: Apache-2.0
import CLinuxShims
import Glibc

/// Makes the directory's entries (creations, renames, removals) durable. Linux needs this after
/// a rename or unlink: fsync of the file alone does not persist its name.
public func fsyncDirectory(_ path: String) throws(SafeIOError) {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw .lastError("open", path) }
    defer { close(fd) }
    try syncFile(fd: fd, path: path)
}

/// rename(2) then fsync of the destination directory and, when different, the source directory,
/// so that after power loss the file is in exactly one of the two places.
public func renameDurably(from source: String, to destination: String) throws(SafeIOError) {
    guard rename(source, destination) == 0 else { throw .lastError("rename", source) }
    let destinationDirectory = parentDirectory(of: destination)
    let sourceDirectory = parentDirectory(of: source)
    try fsyncDirectory(destinationDirectory)
    if sourceDirectory != destinationDirectory { try fsyncDirectory(sourceDirectory) }
}

/// `mkdir -p` with `mode` for the directories it creates. An existing symlink or file in the
/// way is an error (ENOTDIR), not something to follow.
public func createDirectories(_ path: String, mode: mode_t = 0o700) throws(SafeIOError) {
    let components = path.split(separator: "/")
    var prefix = path.hasPrefix("/") ? "" : "."
    for (position, component) in components.enumerated() {
        prefix += "/" + component
        if mkdir(prefix, mode) == 0 { continue }
        guard errno == EEXIST else { throw .lastError("mkdir", prefix) }
        // A symlink to a directory is accepted above the final component (/var → /private/var);
        // the directory itself must be real, so nobody can redirect the queue with a link.
        let isLast = position == components.count - 1
        let kind = isLast ? try fileKind(atPath: prefix) : followedKind(prefix)
        guard kind == .directory else { throw .system(operation: "mkdir", errno: ENOTDIR, path: prefix) }
    }
}

private func followedKind(_ path: String) -> FileKind? {
    var info = stat()
    return stat(path, &info) == 0 ? FileKind(mode: info.st_mode) : nil
}

/// The names in `path` except `.` and `..`, in no particular order.
public func directoryEntries(_ path: String) throws(SafeIOError) -> [String] {
    guard let directory = opendir(path) else { throw .lastError("opendir", path) }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

/// unlink(2); a file that is already gone is not an error (removal is idempotent on replay).
public func removeFile(_ path: String) throws(SafeIOError) {
    guard unlink(path) == 0 || errno == ENOENT else { throw .lastError("unlink", path) }
}

/// Moves `source` to `destination` unless something already has that name (EEXIST then), so
/// two writers can never replace each other's file. One rename(2): a watcher of the directory
/// sees the file appear whole (inotify IN_MOVED_TO). Where the file system does not support
/// RENAME_NOREPLACE, link(2) then unlink(2) gives the same guarantee (the name appears whole,
/// as IN_CREATE). Not durable by itself: fsync the directories after.
public func renameWithoutReplacing(from source: String, to destination: String) throws(SafeIOError) {
    if mailroot_rename_noreplace(source, destination) == 0 { return }
    guard errno == EINVAL || errno == ENOSYS else { throw .lastError("rename", destination) }
    guard link(source, destination) == 0 else { throw .lastError("link", destination) }
    unlink(source)
}
