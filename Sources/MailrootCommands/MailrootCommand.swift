// SPDX-License-Identifier: Apache-2.0
import ArgumentParser

/// `mailroot`: the root command; subcommands do the work.
public struct MailrootCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "mailroot",
        abstract: "A mail relay: pickup directory and SMTP in, DNS MX and SMTP out.",
        subcommands: [Serve.self, Sendmail.self, QueueCommand.self, BadmailCommand.self, Check.self, Passwd.self]
    )
    public init() {}
}
