// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import MailrootDaemon

/// `user` and `pickup_group` are names checked for shape when the file is read; whether the
/// accounts exist is checked when `serve` starts (Tests/ScenarioTests/PrivilegeDropTests.swift).
@Suite struct PrivilegeDropConfigurationTests {
    @Test func userAndPickupGroupAreOffByDefaultAndReadAsNames() throws {
        let defaults = try parseConfiguration("")
        #expect(defaults.user == nil && defaults.pickupGroup == nil)
        let set = try parseConfiguration("user = \"mailroot\"\npickup_group = \"mailroot-pickup\"\n")
        #expect(set.user == "mailroot")
        #expect(set.pickupGroup == "mailroot-pickup")
        let off = try parseConfiguration("user = \"\"\npickup_group = \"\"\n")
        #expect(off.user == nil && off.pickupGroup == nil)
        #expect(try parseConfiguration("user = \"machine$\"\n").user == "machine$")
    }

    @Test func namesThatNoAccountCouldHaveAreRefusedWithTheKey() throws {
        for bad in ["-mailroot", "mail root", "mail/root", "a:b", "1000", String(repeating: "x", count: 33), "$"] {
            let error = try #require(configurationError("user = \"\(bad)\"\n"), "\(bad) was accepted")
            #expect(error.description.contains("user"), "\(error)")
        }
        let number = try #require(configurationError("pickup_group = \"1000\"\n"))
        #expect(number.description.contains("is a number; write the group name"))
        #expect(configurationError("user = 1000\n")?.description.contains("expected a string") == true)
    }

    @Test func theAccountsAreLookedUpOnlyAtStartAndAStrangerIsRefused() throws {
        var configuration = try parseConfiguration("user = \"root\"\n")
        // Already that user: nothing to switch.
        let same = try PrivilegePlan.resolve(configuration, effectiveUser: 0)
        #expect(same.switchTo == nil && same.user?.id == 0)
        // Another unprivileged user may not take the identity.
        #expect(throws: DaemonError.self) { try PrivilegePlan.resolve(configuration, effectiveUser: 12_345) }
        configuration.user = "mailroot-no-such-user"
        let missing = try #require(throws: DaemonError.self) { try PrivilegePlan.resolve(configuration, effectiveUser: 0) }
        #expect(missing.description == "user = \"mailroot-no-such-user\": no such user (create it with: useradd --system --no-create-home --shell /usr/sbin/nologin mailroot-no-such-user)")
    }
}
