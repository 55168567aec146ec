// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import MailrootDaemon

@Suite struct DiskThreadsConfigurationTests {
    @Test func diskThreadsDefaultsToFourAndTakesAnyCountFromOneToSixtyFour() throws {
        #expect(try parseConfiguration("").diskThreads == 4)
        #expect(try parseConfiguration("disk_threads = 1\n").diskThreads == 1)
        #expect(try parseConfiguration("disk_threads = 64\n").diskThreads == 64)
    }

    @Test func diskThreadsOutsideOneToSixtyFourOrNotAnIntegerStopsStartUp() throws {
        for text in ["disk_threads = 0\n", "disk_threads = 65\n", "disk_threads = -1\n"] {
            let error = try #require(configurationError(text), "\(text) was accepted")
            #expect(error.description.contains("disk_threads"), "\(error)")
        }
        #expect(configurationError("disk_threads = \"4\"\n")?.description.contains("expected an integer") == true)
        let misplaced = try #require(configurationError("[pickup]\ndisk_threads = 2\n"))
        #expect(misplaced.description.contains("top-level key"), "\(misplaced)")
    }

    @Test func changingDiskThreadsOnReloadWaitsForARestart() throws {
        let started = try parseConfiguration("")
        let changed = try parseConfiguration("disk_threads = 8\n")
        let changes = ConfigurationChanges(inEffect: started, started: started, new: changed)
        #expect(changes.needRestart == ["disk_threads"])
        #expect(changes.applied.isEmpty)
        #expect(ConfigurationChanges.inEffect(started: started, new: changed).diskThreads == 4)
    }
}
