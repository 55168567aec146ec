// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import MailMessage
import MailQueue
import MailrootDaemon

/// `mailroot badmail requeue|delete`. These need no daemon: badmail is only files, the daemon
/// keeps nothing of it in memory, and each change is one atomic rename or unlink (a requeued
/// file appears in pickup/ whole, where the running daemon's watcher takes it within
/// milliseconds, or the next start does).
struct BadmailRequeue: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requeue",
        abstract: "Send a badmail message through pickup/ again, after its cause is fixed.",
        discussion: """
        The .bad file is moved, unchanged, into pickup/ as NAME.requeued and its .bdr report is \
        removed. If the message is still not valid mail it comes back to badmail/ with a new \
        report. A message mailroot gave up on in the queue (a non-delivery report that could \
        not be delivered) has no x-sender/x-receiver lines: pickup then takes its recipients \
        from To/Cc/Bcc, so look at it with 'badmail show' first.
        """)

    @OptionGroup var entry: BadmailEntryOptions

    func run() throws {
        try reportingFailures {
            let (folders, item) = try entry.locate()
            guard item.hasMessage, let id = QueueID(item.name) else {
                throw CommandFailure("\(item.name) has no .bad file (the message stayed where it was when this report was written); nothing to requeue")
            }
            let target = try Badmail(directory: folders.badmail).requeue(id, into: folders.pickup)
            print("\(item.name): moved to \(terminalSafe(folders.pickup))/\(target)")
        }
    }
}

struct BadmailDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete a badmail entry: its .bad message and its .bdr report.")

    @OptionGroup var entry: BadmailEntryOptions

    func run() throws {
        try reportingFailures {
            let (folders, item) = try entry.locate()
            guard let id = QueueID(item.name), try Badmail(directory: folders.badmail).delete(id) else {
                throw CommandFailure("no badmail entry \(terminalSafe(entry.name)) in \(folders.badmail)")
            }
            print("\(item.name): deleted")
        }
    }
}

/// `[--config FILE] NAME`, shared by show, requeue and delete.
struct BadmailEntryOptions: ParsableArguments {
    @OptionGroup var options: ConfigOption

    @Argument(help: "The name as printed by badmail list (with or without .bad/.bdr).")
    var name: String

    /// The folders and the entry called `name`, or a failure naming the folder.
    func locate() throws -> (MailrootFolders, BadmailItem) {
        let folders = MailrootFolders(root: try options.load().rootPath)
        guard let item = try BadmailFolder(directory: folders.badmail).item(named: name) else {
            throw CommandFailure("no badmail entry \(terminalSafe(name)) in \(folders.badmail)")
        }
        return (folders, item)
    }
}
