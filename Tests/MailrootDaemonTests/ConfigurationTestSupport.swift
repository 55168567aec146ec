// SPDX-License-Identifier: Apache-2.0
@testable import MailrootDaemon

/// A machine with known defaults, so no test depends on this host's name or resolver.
let testEnvironment = ConfigurationEnvironment(
    workingDirectory: "/srv/mail",
    hostname: { "host.test.example" },
    systemDNSServers: { [MailrootConfiguration.DNS.Server(host: "192.0.2.53", port: 53)] })

func parseConfiguration(_ text: String) throws(ConfigurationError) -> MailrootConfiguration {
    try MailrootConfiguration.parse(text, path: "mailroot.toml", environment: testEnvironment)
}

/// The error `text` is refused with; a file that parses is itself a failure of the test.
func configurationError(_ text: String) -> ConfigurationError? {
    do {
        _ = try parseConfiguration(text)
        return nil
    } catch {
        return error
    }
}
