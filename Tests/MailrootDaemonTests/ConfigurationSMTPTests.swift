// SPDX-License-Identifier: Apache-2.0
import NIOCore
import Testing
@testable import MailrootDaemon

@Suite struct ConfigurationSMTPTests {
    @Test func theListenerDefaultsAreLoopbackOnlyWithoutTLS() throws {
        let smtp = try parseConfiguration("").smtp
        #expect(smtp.listen.map(\.description) == ["127.0.0.1:2525"])
        #expect(smtp.relayNetworks.map(\.description) == ["127.0.0.0/8", "::1/128"])
        #expect(smtp.tlsCertificate == nil && smtp.tlsKey == nil)
        #expect([smtp.maxRecipients, smtp.maxConnections, smtp.maxConnectionsPerIP] == [100, 1000, 20])
        #expect(smtp.idleTimeout == .seconds(300))
        #expect(try parseConfiguration("[smtp]\n") == parseConfiguration(""))
    }

    @Test func everyKeyIsRead() throws {
        let configuration = try MailrootConfiguration.parse("""
            [smtp]
            listen = ["0.0.0.0:25", "[::]:25", "192.0.2.7:2525"]
            relay_networks = ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]
            tls_certificate = "tls/cert.pem"
            tls_key = "/etc/mailroot/key.pem"
            max_recipients = 500
            max_connections = 50
            max_connections_per_ip = 5
            idle_timeout = "90s"
            """, path: "m.toml", workingDirectory: "/etc/mailroot")
        let smtp = configuration.smtp
        #expect(smtp.listen.map(\.description) == ["0.0.0.0:25", "[::]:25", "192.0.2.7:2525"])
        #expect(smtp.relayNetworks.map(\.description) == ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"])
        #expect(smtp.tlsCertificate == "/etc/mailroot/tls/cert.pem")
        #expect(smtp.tlsKey == "/etc/mailroot/key.pem")
        #expect([smtp.maxRecipients, smtp.maxConnections, smtp.maxConnectionsPerIP] == [500, 50, 5])
        #expect(smtp.idleTimeout == .seconds(90))
    }

    @Test func anEmptyListenListTurnsTheListenerOff() throws {
        let configuration = try parseConfiguration("[smtp]\nlisten = []\n")
        #expect(configuration.smtp.listen.isEmpty)
        #expect(smtpServerConfiguration(configuration) == nil)
    }

    @Test func emptyTLSPathsMeanNoTLS() throws {
        let smtp = try parseConfiguration("[smtp]\ntls_certificate = \"\"\ntls_key = \"\"\n").smtp
        #expect(smtp.tlsCertificate == nil && smtp.tlsKey == nil)
    }

    @Test(arguments: [
        // (file, key, message)
        ("listen = [\"127.0.0.1\"]", "smtp.listen[0]",
         "\"127.0.0.1\" has no port; use an IP address and a port, e.g. \"127.0.0.1:25\", \"0.0.0.0:25\" or \"[::]:25\""),
        ("listen = [\"127.0.0.1:25\", \"localhost:25\"]", "smtp.listen[1]",
         "\"localhost:25\" is not a listen address (use an IP address and a port, e.g. \"127.0.0.1:25\", \"0.0.0.0:25\" or \"[::]:25\")"),
        ("listen = [\"::1:25\"]", "smtp.listen[0]",
         "\"::1:25\" has no port; use an IP address and a port, e.g. \"127.0.0.1:25\", \"0.0.0.0:25\" or \"[::]:25\""),
        ("listen = [\"127.0.0.1:0\"]", "smtp.listen[0]", "\"127.0.0.1:0\": port must be a number from 1 to 65535"),
        ("listen = [\"[::1]:70000\"]", "smtp.listen[0]", "\"[::1]:70000\": port must be a number from 1 to 65535"),
        ("listen = [\"127.0.0.1:25\", \"127.0.0.1:25\"]", "smtp.listen[1]", "127.0.0.1:25 is listed twice"),
        ("listen = \"127.0.0.1:25\"", "smtp.listen", "expected an array, found string \"127.0.0.1:25\""),
        ("listen = [\"0.0.0.0:25\", \"127.0.0.1:25\"]", "smtp.listen[1]",
         "127.0.0.1:25 is already covered by 0.0.0.0:25 (one socket cannot be bound twice); list one or the other"),
        ("listen = [\"[::1]:25\", \"[::]:25\"]", "smtp.listen[1]",
         "[::]:25 already covers [::1]:25 (one socket cannot be bound twice); list one or the other"),
        ("relay_networks = [\"10.0.0.0/33\"]", "smtp.relay_networks[0]",
         "\"10.0.0.0/33\" is not a network (use CIDR notation, e.g. \"192.0.2.0/24\" or \"2001:db8::/32\")"),
        ("relay_networks = [\"example.com/24\"]", "smtp.relay_networks[0]",
         "\"example.com/24\" is not a network (use CIDR notation, e.g. \"192.0.2.0/24\" or \"2001:db8::/32\")"),
        ("relay_networks = [\"192.168.1.10/2\"]", "smtp.relay_networks[0]",
         "\"192.168.1.10/2\" has bits set beyond the /2 prefix; did you mean \"192.0.0.0/2\"?"),
        ("relay_networks = [\"0.0.0.0/0\"]", "smtp.relay_networks[0]",
         "\"0.0.0.0/0\" covers every address and would make mailroot an open relay"),
        ("relay_networks = [\"::/0\"]", "smtp.relay_networks[0]",
         "\"::/0\" covers every address and would make mailroot an open relay"),
        ("tls_certificate = \"cert.pem\"", "smtp.tls_key",
         "must be set together with tls_certificate (both PEM files, or neither for no STARTTLS)"),
        ("tls_key = \"key.pem\"\ntls_certificate = \"\"", "smtp.tls_certificate",
         "must be set together with tls_key (both PEM files, or neither for no STARTTLS)"),
        ("max_recipients = 0", "smtp.max_recipients", "must be at least 1, not 0"),
        ("max_connections = -1", "smtp.max_connections", "must be at least 1, not -1"),
        ("max_connections_per_ip = \"20\"", "smtp.max_connections_per_ip", "expected an integer, found string \"20\""),
        ("idle_timeout = 300", "smtp.idle_timeout", "expected a duration string such as \"15m\", found integer 300"),
        ("idle_timeout = \"0s\"", "smtp.idle_timeout", "\"0s\" must be greater than zero"),
        ("max_conections = 5", "smtp.max_conections", "unknown key \"max_conections\" (did you mean \"max_connections\"?)"),
        ("mynetworks = [\"10.0.0.0/8\"]", "smtp.mynetworks",
         "unknown key \"mynetworks\" (the networks allowed to relay go in relay_networks)"),
    ])
    func badValuesAreRefusedWithTheKey(file: String, key: String, message: String) throws {
        let error = try #require(configurationError("[smtp]\n\(file)\n"))
        #expect(error.key == key)
        #expect(error.message == message)
        #expect(error.description == "mailroot.toml: \(key): \(message)")
    }

    /// A real hash (PBKDF2 of "s3cret", 210,000 iterations); the tests never need the password.
    static let hash = "$pbkdf2-sha256$i=210000$tsyHEYHFZRP6lWelHPJiJw==$g/rCtXRiZFgzkm5paqHdCQrt6dt0DlFJyp+7LzrIVtA="

    @Test func submissionPortsAndUsersAreRead() throws {
        let configuration = try parseConfiguration("""
            [smtp]
            listen = ["127.0.0.1:25"]
            submission = ["127.0.0.1:587"]
            submissions = ["127.0.0.1:465"]
            tls_certificate = "/c.pem"
            tls_key = "/k.pem"
            [[smtp.users]]
            name = "app1"
            password_hash = "\(Self.hash)"
            [[smtp.users]]
            name = "app2@example.org"
            password_hash = "\(Self.hash)"
            """)
        let smtp = configuration.smtp
        #expect(smtp.submission.map(\.description) == ["127.0.0.1:587"])
        #expect(smtp.submissions.map(\.description) == ["127.0.0.1:465"])
        #expect(smtp.users.keys.sorted() == ["app1", "app2@example.org"])
        #expect(smtp.users["app1"]?.iterations == 210_000)
        let server = try #require(smtpServerConfiguration(configuration))
        #expect(server.submission == smtp.submission && server.submissions == smtp.submissions && server.users == smtp.users)
    }

    @Test func aSubmissionPortAloneStartsTheListener() throws {
        let configuration = try parseConfiguration("""
            [smtp]
            listen = []
            submission = ["127.0.0.1:587"]
            [[smtp.users]]
            name = "app1"
            password_hash = "\(Self.hash)"
            """)
        #expect(smtpServerConfiguration(configuration)?.submission.map(\.description) == ["127.0.0.1:587"])
    }

    @Test(arguments: [
        // (file, key, message)
        ("submission = [\"127.0.0.1:587\"]", "smtp.submission",
         "requires AUTH, but no [[smtp.users]] are configured (add users made with `mailroot passwd`)"),
        ("submissions = [\"127.0.0.1:465\"]\n[[smtp.users]]\nname = \"a\"\npassword_hash = \"\(hash)\"", "smtp.submissions",
         "needs tls_certificate and tls_key (the submissions port speaks TLS from the first byte, RFC 8314)"),
        ("listen = [\"127.0.0.1:25\"]\nsubmission = [\"0.0.0.0:25\"]", "smtp.submission[0]",
         "0.0.0.0:25 already covers 127.0.0.1:25 (one socket cannot be bound twice); list one or the other"),
        ("[[smtp.users]]\nname = \"app1\"\npassword_hash = \"hunter2\"", "smtp.users[0].password_hash",
         "is not a password hash made by `mailroot passwd` ($pbkdf2-sha256$i=N$salt$key)"),
        ("[[smtp.users]]\nname = \"app1\"\npassword_hash = \"$pbkdf2-sha256$i=1000$tsyHEYHFZRP6lWelHPJiJw==$g/rCtXRiZFgzkm5paqHdCQrt6dt0DlFJyp+7LzrIVtA=\"",
         "smtp.users[0].password_hash", "has 1000 iterations; use between 210000 and 10000000"),
        ("[[smtp.users]]\nname = \"app1\"", "smtp.users[0]", "needs a password_hash (made by `mailroot passwd`)"),
        ("[[smtp.users]]\npassword_hash = \"\(hash)\"", "smtp.users[0]", "needs a name"),
        ("[[smtp.users]]\nname = \"a b\"\npassword_hash = \"\(hash)\"", "smtp.users[0].name",
         "\"a b\" is not a user name (1 to 255 characters, no spaces or control characters)"),
        ("[[smtp.users]]\nname = \"a\"\npassword_hash = \"\(hash)\"\n[[smtp.users]]\nname = \"a\"\npassword_hash = \"\(hash)\"",
         "smtp.users[1].name", "user \"a\" is listed twice"),
        ("[[smtp.users]]\nname = \"a\"\npassword = \"s3cret\"", "smtp.users[0].password", "unknown key \"password\""),
    ])
    func badAuthenticationSettingsAreRefusedWithTheKey(file: String, key: String, message: String) throws {
        let error = try #require(configurationError("[smtp]\n\(file)\n"))
        #expect(error.key == key)
        #expect(error.message == message)
    }

    @Test func theListenerTakesTheTopLevelNameDomainsAndSizeLimit() throws {
        let configuration = try parseConfiguration("""
            hostname = "relay.example.com"
            local_domains = ["example.org"]
            max_message_size = "1MB"
            [smtp]
            listen = ["127.0.0.1:2626"]
            tls_certificate = "/c.pem"
            tls_key = "/k.pem"
            """)
        let server = try #require(smtpServerConfiguration(configuration))
        #expect(server.hostname == "relay.example.com")
        #expect(server.localDomains == ["example.org"])
        #expect(server.maximumMessageSize == 1_048_576)
        #expect(server.listen.map(\.description) == ["127.0.0.1:2626"])
        #expect(server.tls?.certificateChainPath == "/c.pem")
        #expect(server.tls?.privateKeyPath == "/k.pem")
    }

    @Test func selfIsTheListenAddressAndPortOnly() throws {
        let configuration = try parseConfiguration("[smtp]\nlisten = [\"127.0.0.1:2626\", \"[::1]:2627\"]\n")
        let server = try #require(smtpServerConfiguration(configuration))
        let own = selfAddresses(of: server.listen, interfaces: { [] })
        #expect(own == [try SocketAddress(ipAddress: "127.0.0.1", port: 2626), try SocketAddress(ipAddress: "::1", port: 2627)])
        // Another loopback address, or our address on another port, is somebody else's server.
        #expect(!own.contains(try SocketAddress(ipAddress: "127.0.0.2", port: 2626)))
        #expect(!own.contains(try SocketAddress(ipAddress: "127.0.0.1", port: 25)))
    }

    @Test func aWildcardListenerIsSelfOnEveryInterfaceAddress() throws {
        let interfaces = [try SocketAddress(ipAddress: "192.0.2.10", port: 0), try SocketAddress(ipAddress: "2001:db8::10", port: 0)]
        let v4 = selfAddresses(of: [.init(host: "0.0.0.0", port: 25)], interfaces: { interfaces })
        #expect(v4 == [try SocketAddress(ipAddress: "192.0.2.10", port: 25)])
        let v6 = selfAddresses(of: [.init(host: "::", port: 25)], interfaces: { interfaces })
        #expect(v6 == [try SocketAddress(ipAddress: "2001:db8::10", port: 25)])
    }
}
