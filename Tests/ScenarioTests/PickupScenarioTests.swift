// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailrootTestSupport
import Testing

/// Pickup rules (README "Pickup rules") seen from outside: files in, drop/ and badmail/ out.
@Suite struct PickupScenarioTests {
    @Test func pickupFileForALocalRecipientLandsInDropWithEnvelopeAndTraceFields() async throws {
        let scenario = try await Scenario(port: Scenario.mxPort, records: [])
        try await scenario.mailroot.start()
        let name = try scenario.mailroot.dropIntoPickup(mail(from: "me@example.test", to: ["you@localhost"],
                                                              subject: "hello", body: "Hi there.\nSecond line.\n"))
        let id = try await scenario.queueID(ofPickupFile: name)
        let drops = try await scenario.mailroot.waitForFiles(in: scenario.mailroot.drop, count: 1)
        #expect(drops == ["\(id)-0.eml"])
        let bytes = try scenario.read(scenario.mailroot.drop, drops[0])
        let text = String(decoding: bytes, as: UTF8.self)

        #expect(text.hasPrefix("x-sender: <me@example.test>\r\nx-receiver: <you@localhost>\r\n"))
        #expect(hasOnlyCRLF(bytes))
        let fields = headerFields(of: bytes)
        let received = try #require(fields.first { $0.name == "received" }?.value)
        #expect(received.contains("by \(Scenario.hostname)"))
        #expect(received.contains("mailroot"))
        #expect(received.contains("id \(id)"))
        #expect(fields.contains { $0.name == "date" })
        let messageID = try #require(fields.first { $0.name == "message-id" }?.value)
        #expect(messageID.hasPrefix("<") && messageID.hasSuffix("@\(Scenario.hostname)>"))
        #expect(fields.first { $0.name == "subject" }?.value == "hello")
        #expect(body(of: bytes) == "Hi there.\r\nSecond line.\r\n")
        // The pickup file is gone only once queued; the queue forgets the message once delivered.
        try await scenario.waitUntilRemoved(id)
        #expect(scenario.mailroot.files(in: scenario.mailroot.pickup).isEmpty)
    }

    @Test func fileWrittenStraightIntoPickupIsTakenOnlyOnceItsWriterClosesIt() async throws {
        let scenario = try await Scenario(port: Scenario.mxPort, records: [])
        try await scenario.mailroot.start()
        // As .NET's SmtpClient does: create in pickup/ itself and write in pieces.
        let path = "\(scenario.mailroot.pickup)/direct.eml"
        // open(2) itself, not FileManager.createFile: that writes an empty file elsewhere and renames it
        // in, which is a complete (empty) file as far as any watcher can tell.
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        try #require(descriptor >= 0)
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        try handle.write(contentsOf: Data("From: me@example.test\nTo: you@localhost\nSubject: slow\n\nfirst half\n".utf8))
        // The writer pauses longer than scan_interval (1s) but less than the 2s the scan waits.
        try await Task.sleep(for: .milliseconds(1500))
        try handle.write(contentsOf: Data("second half\n".utf8))
        try handle.close()

        let drops = try await scenario.mailroot.waitForFiles(in: scenario.mailroot.drop, count: 1)
        let bytes = try scenario.read(scenario.mailroot.drop, drops[0])
        #expect(body(of: bytes) == "first half\r\nsecond half\r\n")
        #expect(scenario.mailroot.files(in: scenario.mailroot.badmail).isEmpty)
    }

    @Test func symlinkInPickupGoesToBadmailAndItsTargetIsNeverRead() async throws {
        let scenario = try await Scenario(port: Scenario.mxPort, records: [])
        try await scenario.mailroot.start()
        // The target is a valid message: had mailroot followed the link, it would be in drop/.
        let target = scenario.mailroot.directory.file("secret.eml")
        let secret = mail(from: "me@example.test", to: ["you@localhost"], subject: "secret")
        try secret.write(toFile: target, atomically: true, encoding: .utf8)
        let link = scenario.mailroot.directory.file("link.eml")
        #expect(symlink(target, link) == 0)
        #expect(rename(link, "\(scenario.mailroot.pickup)/link.eml") == 0)

        let badmail = try await scenario.mailroot.waitForFiles(in: scenario.mailroot.badmail, count: 2)
        let bad = try #require(badmail.first { $0.hasSuffix(".bad") })
        let badPath = "\(scenario.mailroot.badmail)/\(bad)"
        // Moved as it is: still a link to the same target.
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: badPath) == target)
        let reason = String(decoding: try scenario.read(scenario.mailroot.badmail, bad.replacingOccurrences(of: ".bad", with: ".bdr")), as: UTF8.self)
        #expect(reason.contains("Original-File: link.eml"))
        #expect(reason.contains("Reason:"))
        #expect(try String(contentsOfFile: target, encoding: .utf8) == secret)
        #expect(scenario.mailroot.files(in: scenario.mailroot.pickup).isEmpty)
        #expect(scenario.mailroot.files(in: scenario.mailroot.drop).isEmpty)
        #expect(!scenario.mailroot.log.contains("pickup file=link.eml"))
    }

    @Test func malformedFileGoesToBadmailWithReasonAndOriginalBytesUnchanged() async throws {
        let scenario = try await Scenario(port: Scenario.mxPort, records: [])
        try await scenario.mailroot.start()
        // LF endings, 8-bit text and no recipient at all: the .bad must keep every byte as written.
        let original = Array("From: me@example.test\nSubject: caf\u{e9} sans destinataire\n\nno To, Cc, Bcc or x-receiver\n".utf8)
        let name = try scenario.mailroot.dropIntoPickup(original)

        let badmail = try await scenario.mailroot.waitForFiles(in: scenario.mailroot.badmail, count: 2)
        let bad = try #require(badmail.first { $0.hasSuffix(".bad") })
        #expect(try scenario.read(scenario.mailroot.badmail, bad) == original)
        let reason = String(decoding: try scenario.read(scenario.mailroot.badmail, bad.replacingOccurrences(of: ".bad", with: ".bdr")), as: UTF8.self)
        #expect(reason.contains("Original-File: \(name)"))
        #expect(reason.contains("Status: 5."))
        #expect(reason.contains("no recipients"))
        #expect(scenario.mailroot.files(in: scenario.mailroot.pickup).isEmpty)
        #expect(scenario.mailroot.files(in: scenario.mailroot.drop).isEmpty)
    }

    @Test func messageWithTooManyReceivedFieldsIsALoopAndGoesToBadmail() async throws {
        let scenario = try await Scenario(port: Scenario.mxPort, records: [])
        try await scenario.mailroot.start()
        let hops = (1...31).map { "Received: from hop\($0).example.test by hop\($0 + 1).example.test; Sat, 28 Nov 2026 10:00:00 +0000" }
        let original = hops.joined(separator: "\n") + "\n" + mail(from: "me@example.test", to: ["you@localhost"], subject: "loop")
        let name = try scenario.mailroot.dropIntoPickup(original)

        let badmail = try await scenario.mailroot.waitForFiles(in: scenario.mailroot.badmail, count: 2)
        let bad = try #require(badmail.first { $0.hasSuffix(".bad") })
        #expect(try scenario.read(scenario.mailroot.badmail, bad) == Array(original.utf8))
        let reason = String(decoding: try scenario.read(scenario.mailroot.badmail, bad.replacingOccurrences(of: ".bad", with: ".bdr")), as: UTF8.self)
        #expect(reason.contains("Original-File: \(name)"))
        #expect(reason.contains("Status: 5.4.6"))
        #expect(reason.contains("Received"))
        #expect(scenario.mailroot.files(in: scenario.mailroot.drop).isEmpty)
    }
}
