// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import MailrootDaemon

@Suite struct ConfigurationUnitsTests {
    @Test(arguments: [
        ("1500ms", Duration.milliseconds(1500)),
        ("0s", .zero),
        ("30s", .seconds(30)),
        ("15m", .seconds(900)),
        ("4h", .seconds(14_400)),
        ("2d", .seconds(172_800)),
        ("1h30m", .seconds(5400)),
        ("1d12h", .seconds(129_600)),
        ("1m30s250ms", .milliseconds(90_250)),
        ("007s", .seconds(7)),
    ])
    func validDurationsParse(text: String, expected: Duration) {
        #expect(ConfigurationUnits.parseDuration(text) == expected)
    }

    @Test(arguments: [
        "", "5", "5x", "m", "15 m", " 15m", "15m ", "-15m", "+15m", "1.5h", "15M", "15min",
        "30m1h", "1h1h", "1hh", "h1", "15m,", "9223372036854775807d", "99999999999999999999s",
        "１５m",
    ])
    func malformedDurationsAreRefused(text: String) {
        #expect(ConfigurationUnits.parseDuration(text) == nil)
    }

    @Test(arguments: [
        ("35MB", 35 * 1_048_576),
        ("35mb", 35 * 1_048_576),
        ("512KB", 524_288),
        ("1GB", 1_073_741_824),
        ("2GiB", 2_147_483_648),
        ("100B", 100),
        ("1048576", 1_048_576),
        ("0", 0),
    ])
    func validSizesParse(text: String, expected: Int) {
        #expect(ConfigurationUnits.parseSize(text) == expected)
    }

    @Test(arguments: ["", "MB", "35 MB", "35M", "35TB", "-1", "1.5MB", "35MBs", "99999999999999GB", "0x10"])
    func malformedSizesAreRefused(text: String) {
        #expect(ConfigurationUnits.parseSize(text) == nil)
    }

    @Test(arguments: ["15m", "1h30m", "1500ms", "1s500ms", "2d", "0s", "1d1h1m1s1ms"])
    func formattingReadsBackToTheSameDuration(text: String) throws {
        let duration = try #require(ConfigurationUnits.parseDuration(text))
        #expect(ConfigurationUnits.parseDuration(ConfigurationUnits.format(duration)) == duration)
    }

    @Test func formatUsesTheLargestUnits() {
        #expect(ConfigurationUnits.format(.seconds(5400)) == "1h30m")
        #expect(ConfigurationUnits.format(.milliseconds(1500)) == "1s500ms")
    }

    @Test func secondsHelpers() {
        let duration = Duration.milliseconds(1500)
        #expect(duration.inSeconds == 1.5)
        #expect(duration.wholeSeconds == 1)
        #expect(duration.wholeMilliseconds == 1500)
        #expect(Duration.seconds(172_800).wholeSeconds == 172_800)
    }

    @Test(arguments: [
        ("max_conections", "delivery", "max_connections"),
        ("Port", "delivery", "port"),
        ("opportunistic-tls", "delivery", "opportunistic_tls"),
        ("hostnme", "", "hostname"),
        ("deliver", "", "delivery"),
        ("sever", "dns", "servers"),
    ])
    func nearMisspellingsAreSuggested(key: String, table: String, expected: String) throws {
        let hint = try #require(ConfigurationSchema.suggestion(for: key, inTable: table))
        #expect(hint == "did you mean \"\(expected)\"?")
    }

    @Test func distantKeysGetNoSuggestion() {
        #expect(ConfigurationSchema.suggestion(for: "colour", inTable: "") == nil)
        #expect(ConfigurationSchema.suggestion(for: String(repeating: "x", count: 100_000), inTable: "dns") == nil)
    }
}
