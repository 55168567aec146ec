// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import SafeIO
import Testing

/// A fresh directory per test (SafeIOTests does not depend on MailrootTestSupport).
final class ScratchDirectory: @unchecked Sendable {
    let path: String
    init() throws {
        var template = Array("/tmp/safeio-test-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { throw POSIXError(.EIO) }
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { "\(path)/\(name)" }
}

private func refusal(_ path: String) -> String? {
    do {
        let (fd, _) = try openRegularFileNoFollow(path)
        close(fd)
        return nil
    } catch {
        if case .notARegularFile(let kind, _) = error { return kind }
        return "other: \(error)"
    }
}

@Test func symlinkIsRefusedEvenWhenItPointsAtARegularFile() throws {
    let dir = try ScratchDirectory()
    try writeFileDurably(path: dir.file("target"), bytes: Array("secret".utf8))
    #expect(symlink(dir.file("target"), dir.file("link")) == 0)
    #expect(refusal(dir.file("link")) == "symbolic link")
    do {
        _ = try openRegularFileNoFollow(dir.file("link"))
    } catch {
        #expect(error.errno == ELOOP)
    }
    #expect(try fileKind(atPath: dir.file("link")) == .symbolicLink)
}

@Test func fifoIsRefusedWithoutBlocking() throws {
    let dir = try ScratchDirectory()
    #expect(mkfifo(dir.file("fifo"), 0o600) == 0)
    // Without O_NONBLOCK this open would wait forever for a writer.
    #expect(refusal(dir.file("fifo")) == "FIFO")
    #expect(try fileKind(atPath: dir.file("fifo")) == .fifo)
}

@Test func directoryAndDeviceAreRefused() throws {
    let dir = try ScratchDirectory()
    #expect(refusal(dir.path) == "directory")
    #expect(refusal("/dev/null") == "device")
}

@Test func regularFileOpensWithItsSizeAndReadsBack() throws {
    let dir = try ScratchDirectory()
    let bytes = Array("Subject: hi\r\n\r\nbody\r\n".utf8)
    try writeFileDurably(path: dir.file("m"), bytes: bytes)
    let (fd, size) = try openRegularFileNoFollow(dir.file("m"))
    defer { close(fd) }
    #expect(size == Int64(bytes.count))
    #expect(try readAll(fd: fd, limit: 1000) == bytes)
    #expect(try readAt(fd: fd, offset: 15, count: 100) == Array("body\r\n".utf8))
}

@Test func readAllStopsPastTheLimit() throws {
    let dir = try ScratchDirectory()
    try writeFileDurably(path: dir.file("big"), bytes: [UInt8](repeating: 65, count: 200_000))
    let (fd, _) = try openRegularFileNoFollow(dir.file("big"))
    defer { close(fd) }
    #expect(throws: SafeIOError.tooLarge(limit: 100_000, path: "big")) { try readAll(fd: fd, limit: 100_000, path: "big") }
}

@Test func durableWriteLeavesNoTemporaryFileAndReplacesContent() throws {
    let dir = try ScratchDirectory()
    try writeFileDurably(path: dir.file("f"), bytes: Array("one".utf8))
    try writeFileDurably(path: dir.file("f"), bytes: Array("two".utf8), mode: 0o640)
    #expect(try directoryEntries(dir.path) == ["f"])
    #expect(FileManager.default.contents(atPath: dir.file("f")) == Data("two".utf8))
    var info = stat()
    #expect(stat(dir.file("f"), &info) == 0 && info.st_mode & 0o777 == 0o640)
}

@Test func durableWriteIntoAMissingDirectoryFailsWithErrnoAndPath() throws {
    let dir = try ScratchDirectory()
    do {
        try writeFileDurably(path: dir.file("missing/f"), bytes: [1])
        Issue.record("write into a missing directory succeeded")
    } catch {
        #expect(error.errno == ENOENT)
        #expect(error.path.hasPrefix(dir.file("missing/.f.tmp-")), "got: \(error.path)")
    }
}

@Test func createFileDurablyRefusesToReplace() throws {
    let dir = try ScratchDirectory()
    try createFileDurably(path: dir.file("r"), bytes: Array("first".utf8))
    #expect(throws: SafeIOError.self) { try createFileDurably(path: dir.file("r"), bytes: Array("second".utf8)) }
    #expect(FileManager.default.contents(atPath: dir.file("r")) == Data("first".utf8))
    #expect(try directoryEntries(dir.path) == ["r"])
}

@Test func renameDurablyMovesBetweenDirectories() throws {
    let dir = try ScratchDirectory()
    try createDirectories(dir.file("a/b"))
    try createDirectories(dir.file("c"))
    try writeFileDurably(path: dir.file("a/b/x"), bytes: [1, 2, 3])
    try renameDurably(from: dir.file("a/b/x"), to: dir.file("c/y"))
    #expect(try fileKind(atPath: dir.file("a/b/x")) == nil)
    #expect(try fileKind(atPath: dir.file("c/y")) == .regular)
}

@Test func createDirectoriesRefusesASymlinkAsTheFinalDirectory() throws {
    let dir = try ScratchDirectory()
    try createDirectories(dir.file("real"))
    #expect(symlink(dir.file("real"), dir.file("link")) == 0)
    #expect(throws: SafeIOError.system(operation: "mkdir", errno: ENOTDIR, path: dir.file("link"))) {
        try createDirectories(dir.file("link"))
    }
    try createDirectories(dir.file("link/inner"))  // a link above the final component is fine
    #expect(try fileKind(atPath: dir.file("real/inner")) == .directory)
}

@Test(arguments: [(ENOSPC, true), (EDQUOT, true), (EIO, false), (EACCES, false)])
func diskFullIsRecognisedFromErrno(code: Int32, full: Bool) {
    #expect(SafeIOError.system(operation: "write", errno: code, path: "/q").isDiskFull == full)
}

@Test func renameWithoutReplacingRefusesAnExistingNameAndLeavesBothFiles() throws {
    let dir = try ScratchDirectory()
    try writeFileDurably(path: dir.file("new"), bytes: Array("new".utf8))
    try writeFileDurably(path: dir.file("taken"), bytes: Array("first".utf8))
    #expect(throws: SafeIOError.self) { try renameWithoutReplacing(from: dir.file("new"), to: dir.file("taken")) }
    do {
        try renameWithoutReplacing(from: dir.file("new"), to: dir.file("taken"))
    } catch {
        #expect(error.errno == EEXIST)
    }
    #expect(try String(contentsOfFile: dir.file("taken"), encoding: .utf8) == "first")
    #expect(try fileKind(atPath: dir.file("new")) == .regular)

    try renameWithoutReplacing(from: dir.file("new"), to: dir.file("free"))
    #expect(try fileKind(atPath: dir.file("new")) == nil)
    #expect(try String(contentsOfFile: dir.file("free"), encoding: .utf8) == "new")
}
