// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import MailrootDaemon

@Suite struct ConfigurationErrorTests {
    @Test func aMisspeltKeyIsNamedWithTheClosestKnownKey() throws {
        let error = try #require(configurationError("[delivery]\nmax_conections = 5\n"))
        #expect(error.key == "delivery.max_conections")
        #expect(error.description == "mailroot.toml: delivery.max_conections: unknown key \"max_conections\" (did you mean \"max_connections\"?)")
    }

    @Test func anUnknownTopLevelKeyIsRefusedEvenWithoutASuggestion() throws {
        let error = try #require(configurationError("colour = \"blue\"\n"))
        #expect(error.key == "colour")
        #expect(error.message == "unknown key \"colour\"")
    }

    @Test func aKeyInTheWrongTableSaysWhereItBelongs() throws {
        let top = try #require(configurationError("retry = [\"1m\"]\n"))
        #expect(top.message.contains("belongs in the [delivery] table"))
        // Closer to "root" by spelling, but far likelier to be delivery's port in the wrong place.
        let port = try #require(configurationError("port = 2525\n"))
        #expect(port.message == "unknown key \"port\" (\"port\" belongs in the [delivery] table)")
        let nested = try #require(configurationError("[dns]\nhostname = \"a.example\"\n"))
        #expect(nested.key == "dns.hostname")
        #expect(nested.message.contains("top-level key"))
    }

    @Test func aPortInTheSMTPTableIsPointedAtListen() throws {
        let error = try #require(configurationError("[smtp]\nport = 25\n"))
        #expect(error.key == "smtp.port")
        #expect(error.message == "unknown key \"port\" (ports are part of each listen address, e.g. listen = [\"0.0.0.0:25\"])")
    }

    @Test func aBadDurationNamesTheArrayElementAndTheAcceptedUnits() throws {
        let error = try #require(configurationError("[delivery]\nretry = [\"15m\", \"30m\", \"5x\"]\n"))
        #expect(error.key == "delivery.retry[2]")
        #expect(error.description == "mailroot.toml: delivery.retry[2]: \"5x\" is not a duration (use ms, s, m, h or d, e.g. \"15m\")")
    }

    @Test func aBareNumberIsNotADuration() throws {
        let error = try #require(configurationError("[dns]\ntimeout = 5\n"))
        #expect(error.key == "dns.timeout")
        #expect(error.message == "expected a duration string such as \"15m\", found integer 5")
    }

    @Test func aZeroTimeoutIsRefused() throws {
        let error = try #require(configurationError("[delivery]\nconnect_timeout = \"0s\"\n"))
        #expect(error.key == "delivery.connect_timeout")
        #expect(error.message == "\"0s\" must be greater than zero")
    }

    @Test func aBadSizeIsExplained() throws {
        let error = try #require(configurationError("max_message_size = \"35 megs\"\n"))
        #expect(error.key == "max_message_size")
        #expect(error.message.hasPrefix("\"35 megs\" is not a size (use B, KB, MB or GB"))
        let zero = try #require(configurationError("max_message_size = 0\n"))
        #expect(zero.message == "must be greater than 0 bytes")
    }

    @Test func aWrongTypeNamesTheExpectedType() throws {
        let port = try #require(configurationError("[delivery]\nport = \"25\"\n"))
        #expect(port.description == "mailroot.toml: delivery.port: expected an integer, found string \"25\"")
        let table = try #require(configurationError("delivery = 3\n"))
        #expect(table.message == "expected a table, found integer 3")
        let flag = try #require(configurationError("[pickup]\ndot_stuffed = \"yes\"\n"))
        #expect(flag.message == "expected a boolean (true or false), found string \"yes\"")
        let list = try #require(configurationError("local_domains = \"example.com\"\n"))
        #expect(list.message == "expected an array, found string \"example.com\"")
    }

    @Test func aSyntaxErrorGivesTheLineAndColumn() throws {
        let error = try #require(configurationError("hostname = \"a.example\"\n[delivery]\nport = = 25\n"))
        #expect(error.line == 3)
        #expect(error.column != nil)
        #expect(error.description.hasPrefix("mailroot.toml:3:"))
        #expect(error.message.hasPrefix("TOML syntax error: "))
    }

    @Test func anUnreadableFileNamesTheFileAndTheSystemError() throws {
        let path = "/nonexistent-\(UInt64.random(in: 0...UInt64.max))/mailroot.toml"
        #expect(throws: ConfigurationError.self) { try MailrootConfiguration.load(path: path) }
        do {
            _ = try MailrootConfiguration.load(path: path)
        } catch {
            #expect(error.file == path)
            #expect(error.description == "\(path): cannot open: No such file or directory")
        }
        do {
            _ = try MailrootConfiguration.load(path: "/")
        } catch {
            #expect(error.description == "/: cannot read: is a directory")
        }
    }

    @Test func anOutOfRangePortIsRefused() throws {
        let zero = try #require(configurationError("[delivery]\nport = 0\n"))
        #expect(zero.description == "mailroot.toml: delivery.port: must be from 1 to 65535, not 0")
        let large = try #require(configurationError("[delivery]\nport = 65536\n"))
        #expect(large.key == "delivery.port")
        let dns = try #require(configurationError("[dns]\nservers = [\"127.0.0.1:70000\"]\n"))
        #expect(dns.key == "dns.servers[0]")
        #expect(dns.message.contains("port must be a number from 1 to 65535"))
    }

    @Test func anEmptyRetryListIsRefused() throws {
        let error = try #require(configurationError("[delivery]\nretry = []\n"))
        #expect(error.key == "delivery.retry")
        #expect(error.message.hasPrefix("must list at least one delay"))
    }

    @Test func anExpiryShorterThanTheFirstRetryIsRefused() throws {
        let error = try #require(configurationError("[delivery]\nexpire = \"10m\"\n"))
        #expect(error.key == "delivery.expire")
        #expect(error.message.hasPrefix("10m is shorter than the first retry delay (15m)"))
    }

    @Test func connectionLimitsMustBePositive() throws {
        let error = try #require(configurationError("[delivery]\nmax_connections_per_domain = 0\n"))
        #expect(error.message == "must be at least 1, not 0")
    }

    @Test func aConnectionCacheTimeBeyondFiveMinutesIsRefused() throws {
        let error = try #require(configurationError("[delivery]\nconnection_cache_time = \"10m\"\n"))
        #expect(error.key == "delivery.connection_cache_time")
        #expect(error.message == "10m is longer than 5m")
        #expect(configurationError("[delivery]\nconnection_cache_time = \"0s\"\n") == nil)
    }

    @Test func anInvalidHostnameOrLocalDomainIsRefused() throws {
        let host = try #require(configurationError("hostname = \"relay_1.example.com\"\n"))
        #expect(host.key == "hostname")
        #expect(host.message == "\"relay_1.example.com\" is not a valid domain name")
        let local = try #require(configurationError("local_domains = [\"example.com\", \"-bad.example\"]\n"))
        #expect(local.key == "local_domains[1]")
    }

    @Test func anEmptyServerListIsRefused() throws {
        let error = try #require(configurationError("[dns]\nservers = []\n"))
        #expect(error.key == "dns.servers")
    }

    @Test func unknownLogLevelsAndFormatsListTheChoices() throws {
        let level = try #require(configurationError("[log]\nlevel = \"verbose\"\n"))
        #expect(level.message == "\"verbose\" is not a log level (use one of trace, debug, info, notice, warning, error, critical)")
        let format = try #require(configurationError("[log]\nformat = \"xml\"\n"))
        #expect(format.key == "log.format")
    }

    @Test func hostileValuesAreEscapedInMessages() throws {
        let error = try #require(configurationError("hostname = \"evil\\u001b[2Jhost\"\n"))
        #expect(!error.description.contains("\u{1B}"))
        #expect(error.description.contains("\\u{1b}"))
    }

    @Test func aNULByteIsRefusedRatherThanTruncatingTheFile() throws {
        let error = try #require(configurationError("hostname = \"a.example\"\n\u{0}[delivery]\nport = 0\n"))
        #expect(error.message.contains("NUL"))
    }
}
