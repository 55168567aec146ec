// SPDX-License-Identifier: Apache-2.0
// The mailroot executable: everything lives in MailrootCommands so tests can drive it in-process.
import MailrootCommands

@main
struct Main {
    static func main() async {
        await MailrootCommand.main()
    }
}
