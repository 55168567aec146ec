// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import MailrootDaemon

/// `mailroot badmail`: look at the messages mailroot refused to queue or gave up on.
struct BadmailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "badmail",
        abstract: "Look at badmail/, requeue or delete its entries (safe while serve runs).",
        discussion: """
        Each entry is NAME.bad (the message, unchanged) and NAME.bdr (why). requeue moves the \
        message back into pickup/ after you fixed its cause; delete removes both files. \
        See docs/operations.md.
        """,
        subcommands: [BadmailList.self, BadmailShow.self, BadmailRequeue.self, BadmailDelete.self])
}

struct BadmailList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List badmail entries: name, date, status, original file, reason.")

    @OptionGroup var options: ConfigOption

    func run() throws {
        try reportingFailures {
            let configuration = try options.load()
            let folder = BadmailFolder(directory: MailrootFolders(root: configuration.rootPath).badmail)
            let items = try folder.items()
            var out = ""
            for item in items {
                out += "\(item.name)  \(terminalSafe(item.date))  \(terminalSafe(item.status))  "
                    + "\(terminalSafe(item.originalFile))  \(terminalSafe(item.reason))"
                if !item.hasMessage { out += "  (no .bad file: the message stayed where it was)" }
                out += "\n"
            }
            out += "-- \(items.count) badmail entr\(items.count == 1 ? "y" : "ies") in \(terminalSafe(folder.directory))\n"
            print(out, terminator: "")
        }
    }
}

struct BadmailShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one badmail entry: its .bdr report and the headers of its .bad file.")

    @OptionGroup var entry: BadmailEntryOptions

    func run() throws {
        try reportingFailures {
            let (folders, item) = try entry.locate()
            let folder = BadmailFolder(directory: folders.badmail)
            var out = "Name:   \(item.name)\n"
            out += "Files:  " + [item.hasMessage ? "\(item.name).bad" : nil, item.hasReport ? "\(item.name).bdr" : nil]
                .compactMap { $0 }.joined(separator: " ") + "\n"
            out += "\nReport (.bdr):\n"
            if item.hasReport {
                for line in item.reportText.split(separator: "\n") {
                    out += "  \(terminalSafe(String(line)))\n"
                }
            } else {
                out += "  (none)\n"
            }
            out += "\nHeaders (.bad):\n"
            if let headers = try folder.messageHeaders(of: item) {
                for line in headerLines(headers) { out += "  \(line)\n" }
            } else {
                out += "  (no .bad file)\n"
            }
            print(out, terminator: "")
        }
    }
}
