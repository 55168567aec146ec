// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import MailrootDaemon

/// `mailroot check [--config FILE]`: is this configuration ready to run?
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate the config, print the effective settings, check folders and DNS servers.",
        discussion: """
        Loads the config exactly as serve does and prints every setting with its effective \
        value (defaults included; secrets as ***). Then checks that the folders under the root \
        are directories the current user can use (queue/ private to its owner, pickup/ \
        writable) and that each DNS server answers an MX query within dns.timeout. Lines start \
        with ok, warning or error; the exit status is 1 if there is any error. For each \
        [[dkim]] domain it prints the TXT record to publish. Run it as the \
        user serve runs as. Safe while serve runs: it changes nothing.
        """)

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let configuration: MailrootConfiguration
        do {
            configuration = try options.load()
        } catch {
            throw CommandFailure.exit(CommandFailure("config error: \(error)"))
        }
        print("# effective settings (\(options.config ?? "defaults, no --config"))")
        for line in CheckSettings.lines(configuration) { print(line) }
        print("")
        var findings = CheckFolders.run(MailrootFolders(root: configuration.rootPath), configuration: configuration)
        findings += await CheckDNS.run(configuration)
        findings += CheckSettings.dkimRecords(configuration)
        for finding in findings { print("\(finding.level.rawValue): \(terminalSafe(finding.text))") }
        let errors = findings.filter { $0.level == .error }
        if errors.isEmpty {
            print("mailroot check: ok")
            return
        }
        let summary = "mailroot check: \(errors.count) error\(errors.count == 1 ? "" : "s")\n"
            + errors.map { "  \(terminalSafe($0.text))\n" }.joined()
        FileHandle.standardError.write(Data(summary.utf8))
        throw ExitCode(1)
    }
}
