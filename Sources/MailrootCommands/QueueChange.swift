// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import Logging
import MailMessage
import MailrootDaemon

/// `mailroot queue flush|hold|release|delete|bounce`: the commands that change the queue. With
/// the daemon running they go through its control socket and act at once; without it they act
/// on the files under the queue's lock. Either way the change is durable when they return.
struct QueueChangeOptions: ParsableArguments {
    @OptionGroup var options: ConfigOption

    @Argument(help: "The queue ID (16 characters, as printed by queue list and in every log line).")
    var id: String

    /// Carries out the request for this ID; a malformed ID is a usage error (64).
    func perform(_ request: (QueueID) -> ControlRequest) async throws {
        let queueID: QueueID
        do { queueID = try parseQueueID(id) } catch { throw CommandFailure.exit(error) }
        try await performQueueChange(request(queueID), options: options)
    }
}

/// The queue ID typed by the administrator; anything else is a usage error (64).
func parseQueueID(_ text: String) throws -> QueueID {
    guard let queueID = QueueID(text) else {
        throw CommandFailure("\(terminalSafe(text)) is not a queue ID (16 characters, e.g. K1CBGVZ6Z0628W69)", status: 64)
    }
    return queueID
}

/// Sends `request` (or does it here, with no daemon), prints the outcome, exits with its status.
func performQueueChange(_ request: ControlRequest, options: ConfigOption) async throws {
    let configuration: MailrootConfiguration
    do {
        configuration = try options.load()
    } catch {
        throw CommandFailure.exit(error)
    }
    // Warnings only: the offline path recovers the queue, whose routine lines are noise here.
    let logger = Logger(label: "mailroot") { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = .warning
        return handler
    }
    let reply = await QueueControl.perform(request, configuration: configuration, logger: logger)
    guard reply.status == 0 else { throw CommandFailure.exit(CommandFailure(reply.text, status: reply.status)) }
    print(terminalSafe(reply.text))
}

struct QueueFlush: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flush",
        abstract: "Try every waiting message now, or one message.",
        discussion: """
        Without an ID, every deferred message becomes due at once (held ones stay held), like \
        'postqueue -f'. With an ID, that message is tried at once. Without a running daemon the \
        due times are brought forward on disk and the messages are tried when it starts.
        """)

    @OptionGroup var options: ConfigOption

    @Argument(help: "A queue ID; all waiting messages when omitted.")
    var id: String?

    func run() async throws {
        let queueID: QueueID?
        do { queueID = try id.map(parseQueueID) } catch { throw CommandFailure.exit(error) }
        try await performQueueChange(.flush(queueID), options: options)
    }
}

struct QueueHold: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hold",
        abstract: "Keep a message in the queue without trying it until released.",
        discussion: """
        A delivery attempt already in progress is allowed to finish first; recipients it \
        delivers stay delivered. The hold survives restarts (queue/hold/ID).
        """)

    @OptionGroup var change: QueueChangeOptions

    func run() async throws {
        try await change.perform(ControlRequest.hold)
    }
}

struct QueueRelease: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "Release a held message and try it now.")

    @OptionGroup var change: QueueChangeOptions

    func run() async throws {
        try await change.perform(ControlRequest.release)
    }
}

struct QueueDelete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Remove a message from the queue without delivering it or telling the sender.",
        discussion: """
        For spam or a message sent by mistake. A delivery attempt already in progress finishes \
        first; if it delivers the last recipients, there is nothing left to delete and the \
        command says so (exit 1). Use 'bounce' to tell the sender instead.
        """)

    @OptionGroup var change: QueueChangeOptions

    func run() async throws {
        try await change.perform(ControlRequest.delete)
    }
}

struct QueueBounce: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bounce",
        abstract: "Give up on a message now and send its sender a non-delivery report.",
        discussion: """
        Every recipient not yet delivered fails with status 5.0.0 ("returned to sender by the \
        mail administrator") and one RFC 3464 report is queued for the sender. A message with a \
        null sender (itself a report) is copied to badmail/ instead.
        """)

    @OptionGroup var change: QueueChangeOptions

    func run() async throws {
        try await change.perform(ControlRequest.bounce)
    }
}
