// SPDX-License-Identifier: Apache-2.0
//
// SUMMARY
//   `mailroot queue list|show`, `mailroot badmail list|show`, `mailroot check`: the read-only
//   administration commands, safe to run while `mailroot serve` is running.
//
// DESCRIPTION
//   `queue` reads the queue directory through `QueueSnapshot` (Sources/MailQueue), the same
//   parsing and journal replay the daemon uses at start-up, so what it prints is what the daemon
//   would load. `badmail` reads the `.bdr` reports and the headers of the `.bad` files. `check`
//   loads the config exactly as `serve` does, prints every effective setting, checks the folders'
//   permissions and asks each DNS server one question. Output is plain text for people;
//   `queue list --json` is for scripts and monitoring.
//
// SAFETY
//   Nothing here writes, renames or locks anything under the root: the daemon commits files by
//   rename and appends whole journal lines, so a reader never sees half a file, and the queue's
//   flock is left to the daemon (taking it would stop `serve` from starting, or block on it).
//   A message that is delivered while being read is left out, not reported as an error. Only
//   message headers are read, never bodies (a queue of large messages is listed in
//   milliseconds). Everything printed that came from outside — headers, addresses, replies,
//   file names — passes through `terminalSafe`, so a hostile message cannot send escape
//   sequences to the administrator's terminal. The commands that change the queue are in
//   QueueChange.swift and BadmailChange.swift; they go through the daemon's control socket.
//
// SEE ALSO
//   docs/operations.md, docs/queue-format.md, Sources/MailQueue/QueueSnapshot.swift,
//   Postfix mailq(1)/postcat(1).
import ArgumentParser
import Foundation
import MailrootDaemon

/// `mailroot queue`: look at the messages waiting for delivery.
struct QueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Look at the queue and change it (safe while serve runs).",
        discussion: """
        list and show only read the files. flush, hold, release, delete and bounce go through \
        the running daemon's control socket (queue/control.sock) and act at once; with no \
        daemon running they change the files themselves, under the queue's lock. A change \
        never races a delivery in progress: the command waits for that attempt to end. \
        See docs/operations.md.
        """,
        subcommands: [QueueList.self, QueueShow.self, QueueFlush.self, QueueHold.self, QueueRelease.self,
                      QueueDelete.self, QueueBounce.self])
}

/// `--config FILE`, shared by the read-only commands: the same file `serve` is given.
struct ConfigOption: ParsableArguments {
    @Option(name: .shortAndLong, help: "The TOML config file (default: $MAILROOT_CONFIG, else ./mailroot as the root, as serve does).")
    var config: String?

    func load() throws -> MailrootConfiguration {
        // MAILROOT_CONFIG as for sendmail: `mailq`, like `sendmail`, is called without our flags.
        guard let config = config ?? ProcessInfo.processInfo.environment["MAILROOT_CONFIG"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            return MailrootConfiguration.defaults(workingDirectory: FileManager.default.currentDirectoryPath)
        }
        do {
            return try MailrootConfiguration.load(path: config)
        } catch {
            throw CommandFailure("\(error)")
        }
    }
}

/// A failure the command reports on standard error as one line, exiting with `status`.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    var status: Int32
    init(_ description: String, status: Int32 = 1) {
        self.description = description
        self.status = status
    }

    /// Prints the message and exits; ArgumentParser would add its usage text otherwise.
    static func exit(_ error: any Error) -> ExitCode {
        let failure = error as? CommandFailure ?? CommandFailure("\(error)")
        FileHandle.standardError.write(Data("mailroot: \(terminalSafe(failure.description))\n".utf8))
        return ExitCode(failure.status)
    }
}

/// Runs `body`, turning a `CommandFailure` (or any error) into a message and an exit status.
func reportingFailures(_ body: () throws -> Void) throws {
    do { try body() } catch let error as ExitCode { throw error } catch { throw CommandFailure.exit(error) }
}
