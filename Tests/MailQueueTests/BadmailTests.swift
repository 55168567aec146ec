// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import MailMessage
import MailQueue
import Testing

@Test func pickupFileIsMovedUnchangedWithAReason() throws {
    let dir = try ScratchDirectory()
    try FileManager.default.createDirectory(atPath: dir.file("pickup"), withIntermediateDirectories: true)
    let original = Array("no from header\r\n\r\nbody\r\n".utf8)
    writeRaw(dir.file("pickup/x.eml"), original)
    let badmail = Badmail(directory: dir.file("badmail"))
    let name = try badmail.move(fileAt: dir.file("pickup/x.eml"), originalName: "x.eml",
                                reason: "no From: header\nand no x-sender: line", status: .mediaError)
    #expect(name.hasSuffix(".bad"))
    #expect(dir.names("pickup").isEmpty)
    #expect(FileManager.default.contents(atPath: dir.file("badmail/\(name)")) == Data(original))
    let stem = String(name.dropLast(4))
    let report = try String(contentsOfFile: dir.file("badmail/\(stem).bdr"), encoding: .utf8)
    #expect(report.hasPrefix("Date: "))
    #expect(report.contains("\nOriginal-File: x.eml\nStatus: 5.6.0\nReason: no From: header and no x-sender: line\n"))
}

@Test func symlinkInPickupIsMovedAsALinkNotFollowed() throws {
    let dir = try ScratchDirectory()
    try FileManager.default.createDirectory(atPath: dir.file("pickup"), withIntermediateDirectories: true)
    #expect(symlink("/etc/passwd", dir.file("pickup/link")) == 0)
    let name = try Badmail(directory: dir.file("badmail")).move(
        fileAt: dir.file("pickup/link"), originalName: "link", reason: "symbolic link", status: .mediaError)
    let moved = try FileManager.default.destinationOfSymbolicLink(atPath: dir.file("badmail/\(name)"))
    #expect(moved == "/etc/passwd")
}

@Test func queuedMessageBytesAreCopiedToBadmail() async throws {
    let dir = try ScratchDirectory()
    let queue = makeQueue(dir)
    let message = sampleMessage()
    let entry = try await queue.enqueue(message)
    let name = try Badmail(directory: dir.file("badmail")).write(
        message: entry.message, originalName: entry.id.description, reason: "bounce undeliverable", status: .mediaError)
    #expect(FileManager.default.contents(atPath: dir.file("badmail/\(name)")) == Data(message.content))
    #expect(dir.names("badmail").count == 2)
}
