// SPDX-License-Identifier: Apache-2.0
import Delivery
import Testing
@testable import MailrootDaemon

@Suite struct ShutdownGraceConfigurationTests {
    @Test func shutdownGraceDefaultsToTenSecondsAndReachesDelivery() throws {
        #expect(try parseConfiguration("").shutdownGrace == .seconds(10))
        let configuration = try parseConfiguration("shutdown_grace = \"45s\"\n")
        #expect(configuration.shutdownGrace == .seconds(45))
        let delivery = deliveryConfiguration(configuration, folders: MailrootFolders(root: "/srv/mail"))
        #expect(delivery.shutdownGrace == .seconds(45))
        #expect(try parseConfiguration("shutdown_grace = \"1500ms\"\n").shutdownGrace == .milliseconds(1500))
    }

    @Test func shutdownGraceMustBeAPositiveDurationOfAtMostTenMinutes() throws {
        #expect(try parseConfiguration("shutdown_grace = \"10m\"\n").shutdownGrace == .seconds(600))
        let long = try #require(configurationError("shutdown_grace = \"11m\"\n"))
        #expect(long.description.contains("shutdown_grace: 11m is longer than 10m"), "\(long)")
        #expect(configurationError("shutdown_grace = \"0s\"\n")?.description.contains("greater than zero") == true)
        #expect(configurationError("shutdown_grace = 10\n")?.description.contains("expected a duration") == true)
        // It is a top-level key: written under [delivery] it says where it belongs.
        let misplaced = try #require(configurationError("[delivery]\nshutdown_grace = \"5s\"\n"))
        #expect(misplaced.description.contains("top-level key"), "\(misplaced)")
    }
}
