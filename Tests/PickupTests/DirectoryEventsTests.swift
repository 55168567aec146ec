// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
@testable import Pickup

@Suite("inotify events of the pickup directory")
struct DirectoryEventsTests {
    /// A writer that composes under a dot name causes IN_CREATE and IN_CLOSE_WRITE for that name
    /// and IN_MOVED_TO for the final one; only the final name reaches the pickup.
    @Test func namesTheFilterRefusesAreNotHandedOut() async throws {
        let directory = NSTemporaryDirectory() + "directory-events-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let events = try DirectoryEvents(directory: directory, accepts: PickupProcessor.isCandidate)
        defer { events.stop() }

        for index in 0..<3 {
            let temporary = "\(directory)/.message-\(index).eml.tmp"
            #expect(FileManager.default.createFile(atPath: temporary, contents: Data("x-sender: a@b\r\n".utf8)))
            try FileManager.default.moveItem(atPath: temporary, toPath: "\(directory)/message-\(index).eml")
        }
        var seen: [DirectoryEvents.Event] = []
        for await event in events.events {
            seen.append(event)
            if event == .file("message-2.eml") { break }
        }
        #expect(seen == [.file("message-0.eml"), .file("message-1.eml"), .file("message-2.eml")])
    }
}
