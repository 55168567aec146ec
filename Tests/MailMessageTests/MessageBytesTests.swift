// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
@testable import MailMessage

@Test(arguments: [
    ("a\nb\n", "a\r\nb\r\n"),
    ("a\r\nb\r\n", "a\r\nb\r\n"),
    ("a\rb\r", "a\r\nb\r\n"),
    ("a\r\r\nb", "a\r\n\r\nb\r\n"),
    ("no ending", "no ending\r\n"),
    ("", ""),
])
func lineEndingsBecomeCRLF(_ input: String, _ expected: String) {
    let result = MessageBytes.normalizingLineEndings(Array(input.utf8))
    #expect(String(decoding: result, as: UTF8.self) == expected)
    #expect(MessageBytes.hasOnlyCRLFLineEndings(result))
}

@Test func nulAndEightBitAreDetected() {
    #expect(MessageBytes.firstNUL(in: Array("abc\0d".utf8)) == 3)
    #expect(MessageBytes.firstNUL(in: Array("abc".utf8)) == nil)
    #expect(MessageBytes.hasEightBitBytes(Array("é".utf8)))
    #expect(!MessageBytes.hasEightBitBytes(Array("plain".utf8)))
}

@Test(arguments: [
    (0.0, "Thu, 1 Jan 1970 00:00:00 +0000"),
    (1_795_926_600.0, "Sun, 29 Nov 2026 04:30:00 +0000"),
    (951_782_400.0, "Tue, 29 Feb 2000 00:00:00 +0000"),
    (-86_400.0, "Wed, 31 Dec 1969 00:00:00 +0000"),
])
func datesAreFormattedPerRFC5322(_ seconds: Double, _ expected: String) {
    #expect(MailDate.format(Date(timeIntervalSince1970: seconds)) == expected)
}

@Test func receivedFieldForPickupNamesHostAndQueueID() throws {
    let id = try #require(QueueID("0123456789ABCDEF"))
    let field = TraceFields.localReceived(hostname: "mx.example.org", queueID: id, date: Date(timeIntervalSince1970: 1_795_926_600))
    #expect(String(decoding: field, as: UTF8.self)
        == "Received: by mx.example.org (mailroot) with local id 0123456789ABCDEF;\r\n Sun, 29 Nov 2026 04:30:00 +0000\r\n")
}

@Test func receivedFieldForSMTPFoldsAtWhitespaceUnder78Columns() throws {
    let received = TraceFields.Received(
        from: "client.example (rdns.client.example [192.0.2.7])", by: "mx.example.org",
        with: "ESMTPS", withDetail: "TLSv1.3 TLS_AES_256_GCM_SHA384", id: "0123456789ABCDEF",
        forRecipient: MailAddress("bob@example.org"), date: Date(timeIntervalSince1970: 0))
    let text = String(decoding: received.field, as: UTF8.self)
    #expect(text.hasPrefix("Received: from client.example (rdns.client.example [192.0.2.7])"))
    #expect(text.hasSuffix("Thu, 1 Jan 1970 00:00:00 +0000\r\n"))
    let lines = text.components(separatedBy: "\r\n").dropLast()
    #expect(lines.count > 1)
    #expect(lines.allSatisfy { $0.utf8.count <= 78 })
    #expect(lines.dropFirst().allSatisfy { $0.hasPrefix(" ") })
    // Unfolding gives back the value exactly.
    #expect(text.replacingOccurrences(of: "\r\n ", with: " ") == "Received: " + received.value + "\r\n")
    #expect(received.value.contains("with ESMTPS (TLSv1.3 TLS_AES_256_GCM_SHA384) id 0123456789ABCDEF for <bob@example.org>;"))
}

@Test func messageIDUsesQueueIDTimeAndHost() throws {
    let id = try #require(QueueID("0123456789ABCDEF"))
    #expect(TraceFields.messageID(queueID: id, date: Date(timeIntervalSince1970: 1_795_926_600), hostname: "h.example")
        == "<0123456789ABCDEF.1795926600@h.example>")
}

@Test func aWordLongerThanTheLineStaysWhole() {
    let long = String(repeating: "x", count: 100)
    #expect(TraceFields.fold("X-Test: " + long) == "X-Test:\r\n " + long)
}

@Test(arguments: [[UInt8](), [0], [65, 66, 0, 67, 0], Array(repeating: 65, count: 4097) + [0x80], Array(repeating: 0x7F, count: 33)])
func wholeMessageScansAgreeWithTheGenericOnes(bytes: [UInt8]) {
    // The [UInt8] overloads (memchr, one OR pass) must answer exactly as the generic versions.
    #expect(MessageBytes.firstNUL(in: bytes) == MessageBytes.firstNUL(in: AnySequence(bytes)))
    #expect(MessageBytes.hasEightBitBytes(bytes) == MessageBytes.hasEightBitBytes(AnySequence(bytes)))
}
