// SPDX-License-Identifier: Apache-2.0
import Logging
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import MailrootDaemon

@Suite struct ConfigurationParsingTests {
    @Test func theDocumentedExampleParsesToItsValues() throws {
        let configuration = try parseConfiguration("""
            root = "mailroot"
            hostname = "relay.example.com"
            local_domains = ["localhost"]
            max_message_size = "35MB"
            [dns]
            servers = ["127.0.0.1:5353"]
            timeout = "5s"
            [delivery]
            port = 25
            retry = ["15m", "30m", "1h", "4h"]
            expire = "2d"
            max_connections = 100
            max_connections_per_domain = 10
            """)
        #expect(configuration.root == "mailroot")
        #expect(configuration.rootPath == "/srv/mail/mailroot")
        #expect(configuration.hostname == "relay.example.com")
        #expect(configuration.localDomains == ["localhost"])
        #expect(configuration.maxMessageSize == 36_700_160)
        #expect(configuration.dns.servers == [.init(host: "127.0.0.1", port: 5353)])
        #expect(configuration.dns.timeout == .seconds(5))
        #expect(configuration.delivery.port == 25)
        #expect(configuration.delivery.retry == [.seconds(900), .seconds(1800), .seconds(3600), .seconds(14_400)])
        #expect(configuration.delivery.expire == .seconds(172_800))
        #expect(configuration.delivery.maxConnections == 100)
        #expect(configuration.delivery.maxConnectionsPerDomain == 10)
    }

    @Test func everyKeyIsReadWhenWritten() throws {
        let configuration = try parseConfiguration("""
            root = "/var/spool/mailroot/"
            hostname = "MX1.Example.COM."
            local_domains = ["Example.org", "example.net", "EXAMPLE.ORG"]
            max_message_size = 1048576
            max_received_headers = 50
            [pickup]
            dot_stuffed = true
            scan_interval = "1500ms"
            memory_budget = "16MB"
            [dns]
            servers = ["10.0.0.1", "[::1]:53", "2001:db8::1", "[2001:db8::2]"]
            timeout = "2s"
            [delivery]
            port = 2525
            retry = ["1m"]
            expire = "1d12h"
            max_connections = 5
            max_connections_per_domain = 2
            connection_cache_time = "0s"
            max_recipients_per_transaction = 50
            opportunistic_tls = false
            connect_timeout = "10s"
            greeting_timeout = "1m"
            command_timeout = "2m"
            data_timeout = "3m"
            [log]
            level = "debug"
            format = "json"
            """)
        #expect(configuration.rootPath == "/var/spool/mailroot")
        #expect(configuration.hostname == "mx1.example.com")
        #expect(configuration.localDomains == ["example.org", "example.net"])
        #expect(configuration.maxMessageSize == 1_048_576)
        #expect(configuration.maxReceivedHeaders == 50)
        #expect(configuration.pickup.dotStuffed)
        #expect(configuration.pickup.scanInterval == .milliseconds(1500))
        #expect(configuration.pickup.memoryBudget == 16 * 1024 * 1024)
        #expect(configuration.dns.servers.map(\.description) == ["10.0.0.1:53", "[::1]:53", "[2001:db8::1]:53", "[2001:db8::2]:53"])
        #expect(configuration.dns.timeout == .seconds(2))
        let delivery = configuration.delivery
        #expect(delivery.port == 2525)
        #expect(delivery.retry == [.seconds(60)])
        #expect(delivery.connectionCacheTime == .zero)
        #expect(delivery.expire == .seconds(36 * 3600))
        #expect([delivery.maxConnections, delivery.maxConnectionsPerDomain, delivery.maxRecipientsPerTransaction] == [5, 2, 50])
        #expect(!delivery.opportunisticTLS)
        #expect([delivery.connectTimeout, delivery.greetingTimeout, delivery.commandTimeout, delivery.dataTimeout]
            == [.seconds(10), .seconds(60), .seconds(120), .seconds(180)])
        #expect(configuration.log.level == .debug)
        #expect(configuration.log.format == .json)
    }

    @Test func anEmptyFileEqualsTheDefaults() throws {
        let parsed = try parseConfiguration("")
        #expect(parsed == MailrootConfiguration.defaults(environment: testEnvironment))
    }

    @Test func defaultsWithoutAFileAreTheDocumentedOnes() {
        let configuration = MailrootConfiguration.defaults(environment: testEnvironment)
        #expect(configuration.root == "mailroot")
        #expect(configuration.rootPath == "/srv/mail/mailroot")
        #expect(configuration.hostname == "host.test.example")
        #expect(configuration.localDomains == ["localhost"])
        #expect(configuration.maxMessageSize == 35 * 1024 * 1024)
        #expect(configuration.maxReceivedHeaders == 30)
        #expect(configuration.pickup == .init())
        #expect(!configuration.pickup.dotStuffed)
        #expect(configuration.pickup.scanInterval == .seconds(30))
        #expect(configuration.dns.servers == [.init(host: "192.0.2.53", port: 53)])
        #expect(configuration.dns.timeout == .seconds(5))
        let delivery = configuration.delivery
        #expect(delivery.port == 25)
        #expect(delivery.retry.map(ConfigurationUnits.format) == ["15m", "30m", "1h", "4h"])
        #expect(delivery.expire == .seconds(2 * 86_400))
        #expect([delivery.maxConnections, delivery.maxConnectionsPerDomain, delivery.maxRecipientsPerTransaction] == [100, 10, 100])
        #expect(delivery.opportunisticTLS)
        #expect([delivery.connectTimeout, delivery.greetingTimeout, delivery.commandTimeout, delivery.dataTimeout].map(ConfigurationUnits.format)
            == ["30s", "5m", "5m", "10m"])
        #expect(configuration.log.level == .info)
        #expect(configuration.log.format == .text)
    }

    @Test func rootIsResolvedAgainstTheWorkingDirectory() throws {
        let configuration = try MailrootConfiguration.parse(
            "root = \"../spool/./mailroot\"", path: "m.toml", workingDirectory: "/home/relay/etc")
        #expect(configuration.root == "../spool/./mailroot")
        #expect(configuration.rootPath == "/home/relay/spool/mailroot")
    }

    @Test func theCommentedExampleFileParses() throws {
        let repository = String(#filePath).split(separator: "/").dropLast(3).joined(separator: "/")
        let path = "/" + repository + "/contrib/mailroot.toml"
        let configuration = try MailrootConfiguration.load(path: path)
        #expect(configuration.hostname == "relay.example.com")
        #expect(configuration.delivery.retry.count == 4)
        #expect(configuration.smtp == MailrootConfiguration.SMTP(), "the example shows the listener defaults")
    }

    @Test func loadReadsAFileFromDisk() throws {
        let path = "/tmp/mailroot-configuration-test-\(getpid()).toml"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        try #require(fd >= 0)
        defer { unlink(path) }
        let text = Array("hostname = \"disk.example\"\n[log]\nlevel = \"Warning\"\n".utf8)
        #expect(write(fd, text, text.count) == text.count)
        close(fd)
        let configuration = try MailrootConfiguration.load(path: path)
        #expect(configuration.hostname == "disk.example")
        #expect(configuration.log.level == .warning)
    }
}
