// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import MailMessage
import SafeIO

/// One badmail entry as found on disk: `<ID>.bdr` (why) and `<ID>.bad` (the message). Either may
/// be missing: an orphan `.bdr` is what a crash between the two steps of `Badmail.place` leaves
/// (the message stayed where it was), and a `.bad` alone was put there by hand.
struct BadmailItem {
    var name: String
    var hasReport: Bool
    var hasMessage: Bool
    /// The `.bdr` fields by name (Date, Original-File, Status, Reason), as written.
    var fields: [String: String] = [:]
    var reportText: String = ""

    var date: String { fields["Date"] ?? "-" }
    var status: String { fields["Status"] ?? "-" }
    var reason: String { fields["Reason"] ?? (hasReport ? "-" : "(no .bdr report)") }
    var originalFile: String { fields["Original-File"] ?? "-" }
}

/// Reads the badmail folder without changing it.
struct BadmailFolder {
    let directory: String
    /// A `.bdr` is a few lines; anything larger was not written by mailroot.
    static let reportLimit = 64 * 1024

    /// Every entry, oldest first (names are time-ordered queue IDs). Names that are not
    /// `<QueueID>.bad` / `<QueueID>.bdr` are not ours and are skipped.
    func items() throws(SafeIOError) -> [BadmailItem] {
        guard (try fileKind(atPath: directory)) != nil else { return [] }
        var byName: [String: BadmailItem] = [:]
        for file in try directoryEntries(directory) {
            guard let (name, suffix) = Self.split(file) else { continue }
            var item = byName[name] ?? BadmailItem(name: name, hasReport: false, hasMessage: false)
            if suffix == "bad" { item.hasMessage = true } else { item.hasReport = true }
            byName[name] = item
        }
        return byName.keys.sorted().map { name in load(byName[name]!) }
    }

    /// The entry called `name` (`ID`, `ID.bad` or `ID.bdr`); nil when neither file exists.
    /// Only a queue ID is accepted, so a name like `../queue/lock` cannot leave the folder.
    func item(named name: String) throws(SafeIOError) -> BadmailItem? {
        let base = Self.split(name)?.name ?? (QueueID(name) != nil ? name : nil)
        guard let base else { return nil }
        let hasMessage = (try fileKind(atPath: "\(directory)/\(base).bad")) != nil
        let hasReport = (try fileKind(atPath: "\(directory)/\(base).bdr")) != nil
        guard hasMessage || hasReport else { return nil }
        return load(BadmailItem(name: base, hasReport: hasReport, hasMessage: hasMessage))
    }

    /// The `.bad` file's header section (up to the first empty line, LF or CRLF), at most `limit`
    /// bytes; nil when the file is gone.
    func messageHeaders(of item: BadmailItem, limit: Int = 256 * 1024) throws(SafeIOError) -> [UInt8]? {
        let path = "\(directory)/\(item.name).bad"
        let fd: Int32
        do { (fd, _) = try openRegularFileNoFollow(path) } catch where error.errno == ENOENT { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        while bytes.count < limit {
            let chunk = try readAt(fd: fd, offset: Int64(bytes.count), count: min(4096, limit - bytes.count), path: path)
            if chunk.isEmpty { break }
            let from = max(0, bytes.count - 3)
            bytes += chunk
            if let end = Self.endOfHeaders(bytes, from: from) { return Array(bytes[..<end]) }
        }
        return bytes
    }

    private func load(_ item: BadmailItem) -> BadmailItem {
        var item = item
        guard item.hasReport else { return item }
        let path = "\(directory)/\(item.name).bdr"
        guard let bytes = try? readReport(path) else { return item }
        item.reportText = String(decoding: bytes, as: UTF8.self)
        for line in item.reportText.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].drop { $0 == " " }
            item.fields[String(line[..<colon])] = String(value)
        }
        return item
    }

    private func readReport(_ path: String) throws(SafeIOError) -> [UInt8] {
        let (fd, _) = try openRegularFileNoFollow(path)
        defer { close(fd) }
        return try readAll(fd: fd, limit: Self.reportLimit, path: path)
    }

    static func split(_ file: String) -> (name: String, suffix: String)? {
        for suffix in ["bad", "bdr"] where file.hasSuffix(".\(suffix)") {
            let name = String(file.dropLast(suffix.count + 1))
            if QueueID(name) != nil { return (name, suffix) }
        }
        return nil
    }

    /// Index past the empty line ending the headers: LF LF or CRLF CRLF (pickup files use
    /// either; queue messages given up are CRLF).
    static func endOfHeaders(_ bytes: [UInt8], from start: Int) -> Int? {
        var index = max(start, 1)
        while index < bytes.count {
            if bytes[index] == 0x0A {
                if bytes[index - 1] == 0x0A { return index + 1 }
                if index >= 3 && bytes[index - 1] == 0x0D && bytes[index - 2] == 0x0A && bytes[index - 3] == 0x0D { return index + 1 }
            }
            index += 1
        }
        return nil
    }
}
