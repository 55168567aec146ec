// SPDX-License-Identifier: Apache-2.0
@testable import MailrootCommands
import Testing

/// The pieces of `check`'s settings printer that reflection relies on.
@Suite struct CheckSettingsTests {
    @Test func swiftNamesBecomeTheTOMLKeys() {
        #expect(CheckSettings.snakeCase("maxConnectionsPerIP") == "max_connections_per_ip")
        #expect(CheckSettings.snakeCase("opportunisticTLS") == "opportunistic_tls")
        #expect(CheckSettings.snakeCase("tlsCertificate") == "tls_certificate")
        #expect(CheckSettings.snakeCase("port") == "port")
    }

    @Test func credentialLikeKeysAreMasked() {
        #expect(CheckSettings.isSecret("smtp.users.password_hash"))
        #expect(CheckSettings.isSecret("relay.client_secret"))
        #expect(!CheckSettings.isSecret("smtp.tls_key"))
        #expect(!CheckSettings.isSecret("hostname"))
    }
}
