// SPDX-License-Identifier: Apache-2.0
// The mailroot executable: everything lives in MailrootCommands so tests can drive it in-process.
// Started through a link named `sendmail` (`ln -s /usr/local/bin/mailroot /usr/sbin/sendmail`),
// it is `mailroot sendmail` with the same arguments: programs that call sendmail pass
// sendmail's options, never ours, so the name is the only way to tell. Through a link named
// `mailq` it is `mailroot queue list` (config from MAILROOT_CONFIG, as for sendmail).
import Foundation
import MailrootCommands

@main
struct Main {
    static func main() async {
        let invokedAs = CommandLine.arguments.first.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? ""
        if invokedAs == "sendmail" {
            exit(SendmailProgram.run(arguments: Array(CommandLine.arguments.dropFirst())))
        }
        if invokedAs == "mailq" {
            await MailrootCommand.main(["queue", "list"] + CommandLine.arguments.dropFirst())
            return
        }
        await MailrootCommand.main()
    }
}
