// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import MailMessage

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

@Test func fieldsAndBodyOffsetAreFoundWithCRLF() throws {
    let message = bytes("From: a@b.example\r\nSubject: hi\r\n there\r\n\r\nbody\r\n")
    let section = try HeaderSection(parsing: message)
    #expect(section.fields.map(\.name) == ["From", "Subject"])
    #expect(section.first(named: "subject")?.value == "hi there")
    #expect(section.first(named: "SUBJECT")?.raw == bytes("Subject: hi\r\n there\r\n"))
    #expect(Array(message[section.bodyOffset...]) == bytes("body\r\n"))
}

@Test func bareLineFeedMessagesParseToo() throws {
    let message = bytes("From: a@b.example\nTo: c@d.example\n\nbody\n")
    let section = try HeaderSection(parsing: message)
    #expect(section.fields.count == 2)
    #expect(Array(message[section.bodyOffset...]) == bytes("body\n"))
}

@Test func messageWithOnlyHeadersAndNoEmptyLineIsFine() throws {
    let section = try HeaderSection(parsing: bytes("From: a@b.example\r\nSubject: x"))
    #expect(section.fields.count == 2)
    #expect(section.bodyOffset == section.bytes.count)
    #expect(section.first(named: "Subject")?.value == "x")
}

@Test(arguments: [
    "From: a@b\r\nthis is not a header\r\n\r\nbody",
    " continuation first: x\r\n\r\n",
    "\r\nbody only",
    "",
    "From a@b Sat Jan  3 01:05:34 1996\r\nSubject: mbox\r\n\r\n",
    ": empty name\r\n\r\n",
    "From: a@b\r\nno colon and no empty line",
])
func malformedHeaderSectionsAreRefused(_ text: String) {
    #expect(throws: HeaderSectionError.self) { try HeaderSection(parsing: bytes(text)) }
}

@Test func obsoleteWhitespaceBeforeColonIsTolerated() throws {
    let section = try HeaderSection(parsing: bytes("Subject : old\r\n\r\n"))
    #expect(section.first(named: "Subject")?.value == "old")
}

@Test func overlongLinesBeyondTheLimitAreRefusedButLongOnesAccepted() throws {
    let long = "X-Long: " + String(repeating: "a", count: 5000) + "\r\n\r\n"
    #expect(throws: Never.self) { try HeaderSection(parsing: bytes(long)) }
    let hostile = "X-Long: " + String(repeating: "a", count: 70_000) + "\r\n\r\n"
    #expect(throws: HeaderSectionError.self) { try HeaderSection(parsing: bytes(hostile)) }
    #expect(throws: HeaderSectionError.self) { try HeaderSection(parsing: bytes(long), maxLineLength: 998) }
}

@Test func removingBccKeepsEveryOtherByteExactly() throws {
    let text = "From: a@b\r\nBcc: hidden@x.example,\r\n\tother@y.example\r\nTo:  c@d \r\nbcc: again@z\r\n\r\nBcc: in body\r\n"
    let section = try HeaderSection(parsing: bytes(text))
    let result = section.removingFields(named: ["Bcc"])
    #expect(String(decoding: result, as: UTF8.self) == "From: a@b\r\nTo:  c@d \r\n\r\nBcc: in body\r\n")
}

@Test func eightBitHeaderValuesDecodeAsUTF8() throws {
    let section = try HeaderSection(parsing: bytes("Subject: Grüße\r\n\r\n"))
    #expect(section.first(named: "subject")?.value == "Grüße")
}
