// SPDX-License-Identifier: Apache-2.0
//
// SUMMARY
//   `mailroot sendmail`: the sendmail(1) interface, so cron, PHP's mail(), git hooks and
//   monitoring scripts can hand mail to mailroot the way they hand it to Postfix.
//
// DESCRIPTION
//   Reads one message from standard input, takes the envelope from the command line (and, with
//   -t, from To/Cc/Bcc), adds From:/Date:/Message-ID: when missing, and drops the result into the
//   configured root's pickup/ as a file with x-sender:/x-receiver: lines (SendmailMessage). It
//   needs no running daemon: the file waits in pickup/. The same code runs when the binary is
//   started through a link named `sendmail` (Sources/mailroot/Mailroot.swift), because
//   applications cannot pass our flags; the configuration then comes from MAILROOT_CONFIG.
//   Options follow Postfix's sendmail(1) (SendmailOptions); exit codes follow sysexits.h
//   (SendmailError). docs/sendmail.md is the user-facing description.
//
// SAFETY
//   Callers are often web applications passing user input, so every argument that reaches a
//   header-like line (-f, -F, recipients) is refused with EX_USAGE when it holds CR, LF, NUL or
//   any control character, or does not parse as an address; x-sender/x-receiver fields inside
//   the message are removed so the message cannot extend its own envelope. Before anything is
//   written, the file is run through the daemon's own pickup parser: a message the daemon would
//   send to badmail is refused here (EX_DATAERR) and the caller learns it at once. The file is
//   written under a dot name, fsynced and linked in (SendmailDrop): exit 0 means durably queued
//   for pickup, and a failure leaves nothing behind.
//
// SEE ALSO
//   Postfix sendmail(1) and postdrop(1); sysexits.h; RFC 5322 §3.6 (required fields);
//   Sources/Pickup/PickupFileParser.swift (the format written here); docs/sendmail.md.
import ArgumentParser
import Foundation
import MailMessage
import MailrootDaemon
import Pickup

/// `mailroot sendmail [options] [recipient ...]`: the argument parser only collects the raw
/// arguments; sendmail's own getopt-style syntax is parsed by `SendmailOptions`.
struct Sendmail: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Queue a message read from standard input (sendmail(1) compatible).",
        discussion: """
        Usage: mailroot sendmail [--config FILE] [-t] [-i] [-f SENDER] [-F NAME] [RECIPIENT ...]
        Link the binary as /usr/sbin/sendmail to use it from cron, PHP and other programs; \
        set MAILROOT_CONFIG to the config file they should use. See docs/sendmail.md.
        """,
        // -h is sendmail's hop count option, so only --help asks for help.
        helpNames: [.long])

    @Argument(parsing: .captureForPassthrough, help: "sendmail options and recipients.")
    var arguments: [String] = []

    func run() throws {
        let status = SendmailProgram.run(arguments: arguments)
        if status != 0 { throw ExitCode(status) }
    }
}

/// The whole sendmail program, callable without ArgumentParser (argv[0] dispatch).
public enum SendmailProgram {
    /// Runs sendmail with `arguments` (without argv[0]), reading standard input; returns the exit status.
    public static func run(arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment) -> Int32 {
        do {
            try submit(arguments: arguments, environment: environment)
            return 0
        } catch {
            FileHandle.standardError.write(Data("sendmail: \(error.message)\n".utf8))
            return error.status.rawValue
        }
    }

    static let usage = """
        usage: sendmail [--config FILE] [-t] [-i] [-f SENDER] [-F FULL_NAME] [-N DSN] [--] [RECIPIENT ...]
          -t            also send to the To:, Cc: and Bcc: addresses of the message
          -i, -oi       a line holding only "." does not end the message
          -f SENDER     envelope sender (-f '<>' for the null sender); default: you@hostname
          -F NAME       full name for the From: field added when the message has none
          -N DSN        never, or success,delay,failure: when to send delivery reports
          --config FILE mailroot configuration (default: $MAILROOT_CONFIG, else ./mailroot)
        Other sendmail options (-oem, -odi, -B8BITMIME, -v, ...) are accepted and ignored.
        Exit status: 0 queued; 64 usage; 65 bad message; 73 cannot create; 75 try later; 78 config.

        """

    private static func submit(arguments: [String], environment: [String: String]) throws(SendmailError) {
        let options = try SendmailOptions.parse(arguments)
        switch options.mode {
        case .help:
            FileHandle.standardOutput.write(Data(usage.utf8))
            return
        case .newAliases, .ignoredQueueInterval:
            // Nothing to do, and package scripts that run `newaliases` must not fail.
            return
        case .deliver:
            break
        }
        guard options.extractRecipients || !options.recipients.isEmpty else {
            throw .usage("no recipients given (name them as arguments, or use -t to take them from the message)")
        }
        if let fullName = options.fullName { try SendmailAddresses.requirePrintable(fullName, what: "-F") }
        let configuration = try loadConfiguration(options.configPath ?? environment["MAILROOT_CONFIG"])
        let identity = try SendmailIdentity.current(environment: environment)
        let hostname = configuration.hostname
        guard let userAddress = MailAddress(localPart: identity.loginName, domain: hostname) else {
            throw .init(status: .osError, message: "the login name \(SendmailOptions.printable(identity.loginName)) does not make an address with \(hostname)")
        }
        let sender = try options.sender.map { raw throws(SendmailError) in try SendmailAddresses.sender(raw, qualifyingWith: hostname) } ?? userAddress
        let recipients = try SendmailAddresses.recipients(options.recipients, qualifyingWith: hostname)
        // Everything about the command line is settled before reading: a usage error never
        // makes the caller write the whole message first.
        let input = try SendmailInput.read(fd: 0, dotEndsInput: options.dotEndsInput, limit: configuration.maxMessageSize)
        let now = Date()
        let queueID = QueueID.generate(at: now)
        let context = SendmailMessage.Context(hostname: hostname, userAddress: userAddress, fullName: identity.fullName, now: now, queueID: queueID)
        let message = try SendmailMessage.compose(input: input, options: options, sender: sender, arguments: recipients, context: context)
        let file = configuration.pickup.dotStuffed ? dotStuffed(message.file) : message.file
        try validate(file, configuration: configuration, queueID: queueID, now: now)
        _ = try SendmailDrop.write(file, into: MailrootFolders(root: configuration.rootPath).pickup, queueID: queueID)
    }

    /// --config, else $MAILROOT_CONFIG, else the defaults `mailroot serve` uses without --config.
    private static func loadConfiguration(_ path: String?) throws(SendmailError) -> MailrootConfiguration {
        guard let path, !path.isEmpty else {
            return MailrootConfiguration.defaults(workingDirectory: FileManager.default.currentDirectoryPath)
        }
        do {
            return try MailrootConfiguration.load(path: path)
        } catch {
            throw .init(status: .configuration, message: "\(error)")
        }
    }

    /// The daemon's own parser must accept the file; otherwise it would go to badmail after we
    /// had told the caller it was queued.
    private static func validate(_ file: [UInt8], configuration: MailrootConfiguration, queueID: QueueID, now: Date) throws(SendmailError) {
        let parseOptions = PickupParseOptions(hostname: configuration.hostname, maxMessageSize: configuration.maxMessageSize,
                                              dotStuffed: configuration.pickup.dotStuffed,
                                              maxReceivedHeaders: configuration.maxReceivedHeaders)
        if case .rejected(let rejection) = parsePickupFile(file, queueID: queueID, options: parseOptions, now: now) {
            throw .dataError("the message cannot be queued: \(rejection.reason) (\(rejection.status))")
        }
    }

    /// For `[pickup] dot_stuffed = true` the daemon reads files as SMTP DATA (RFC 5321
    /// §4.5.2), so every line starting with "." gets a second one.
    static func dotStuffed(_ file: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(file.count + 64)
        var atLineStart = true
        for byte in file {
            if atLineStart && byte == UInt8(ascii: ".") { out.append(byte) }
            out.append(byte)
            atLineStart = byte == 0x0A
        }
        return out
    }
}
