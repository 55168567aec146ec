// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailMessage
import Testing
@testable import Pickup

private let queueID = QueueID("0123456789ABCDEF")!
private let now = Date(timeIntervalSince1970: 1_795_926_600)
private let options = PickupParseOptions(hostname: "relay.example.net", maxMessageSize: 100_000)

private func parse(_ text: String, _ options: PickupParseOptions = options) -> PickupParseResult {
    parsePickupFile(Array(text.utf8), queueID: queueID, options: options, now: now)
}

private func accepted(_ text: String, _ options: PickupParseOptions = options,
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> ParsedPickupMessage {
    switch parse(text, options) {
    case .accepted(let message): return message
    case .rejected(let rejection):
        Issue.record("got: rejected \(rejection), want: accepted", sourceLocation: sourceLocation)
        throw rejection
    }
}

private func rejection(_ text: String, _ options: PickupParseOptions = options) -> PickupRejection? {
    if case .rejected(let rejection) = parse(text, options) { return rejection }
    return nil
}

private func output(_ message: ParsedPickupMessage) -> String { String(decoding: message.message, as: UTF8.self) }
private func recipients(_ message: ParsedPickupMessage) -> [String] { message.envelope.recipients.map(\.address.description) }

private let received = "Received: by relay.example.net (mailroot) with local id 0123456789ABCDEF;\r\n Sun, 29 Nov 2026 04:30:00 +0000\r\n"

// .NET SmtpClient (SmtpDeliveryMethod.SpecifiedPickupDirectory) output, as written by .NET 8.
@Test func dotNetSmtpClientFileUsesXLinesAndKeepsHeaders() throws {
    let file = "X-Sender: app@corp.example\r\nX-Receiver: alice@example.com\r\nX-Receiver: hidden@example.org\r\n"
        + "MIME-Version: 1.0\r\nFrom: app@corp.example\r\nTo: alice@example.com\r\n"
        + "Date: 29 Nov 2026 05:30:00 +0100\r\nSubject: Report\r\nContent-Type: text/plain; charset=us-ascii\r\n"
        + "Content-Transfer-Encoding: quoted-printable\r\n\r\nHello=0D=0A\r\n"
    let message = try accepted(file)
    #expect(message.envelope.sender?.description == "app@corp.example")
    #expect(recipients(message) == ["alice@example.com", "hidden@example.org"])
    #expect(output(message) == received + "MIME-Version: 1.0\r\nFrom: app@corp.example\r\nTo: alice@example.com\r\n"
        + "Date: 29 Nov 2026 05:30:00 +0100\r\nSubject: Report\r\nContent-Type: text/plain; charset=us-ascii\r\n"
        + "Content-Transfer-Encoding: quoted-printable\r\n"
        + "Message-ID: <0123456789ABCDEF.1795926600@relay.example.net>\r\n\r\nHello=0D=0A\r\n")
    #expect(!message.hasEightBitContent)
    #expect(!message.needsSMTPUTF8)
}

// CDO / IIS replay shape: lower-case x- lines, angle brackets, ESMTP parameters.
@Test func xLinesAcceptAngleAddressesAndKeepDSNParameters() throws {
    let file = "x-receiver: <bob@example.com> NOTIFY=success,failure ORCPT=rfc822;bob@old.example SIZE=10\r\n"
        + "x-sender: \"Ops Team\" <ops@corp.example> ENVID=QQ314159 BODY=8BITMIME\r\n"
        + "x-receiver: Carol <carol@Example.COM>\r\nx-receiver: dave@example.com\r\n"
        + "From: ops@corp.example\r\nSubject: t\r\n\r\nbody\r\n"
    let message = try accepted(file)
    #expect(message.envelope.sender?.description == "ops@corp.example")
    #expect(message.envelope.envelopeID == "QQ314159")
    #expect(recipients(message) == ["bob@example.com", "carol@example.com", "dave@example.com"])
    #expect(message.envelope.recipients[0].notify == "SUCCESS,FAILURE")
    #expect(message.envelope.recipients[0].originalRecipient == "rfc822;bob@old.example")
    #expect(message.envelope.recipients[1].notify == nil)
    #expect(!output(message).lowercased().contains("x-sender"))
    #expect(!output(message).lowercased().contains("x-receiver"))
}

@Test func xSenderOfAngleBracketsIsTheNullSender() throws {
    let message = try accepted("x-sender: <>\nx-receiver: a@b.example\nFrom: MAILER-DAEMON@corp.example\n\nx\n")
    #expect(message.envelope.sender == nil)
}

@Test(arguments: [
    ("x-receiver: a@b.example\nFrom: c@d.example\n\nx\n", "no x-sender"),
    ("x-sender: a@b.example\nx-sender: c@b.example\nx-receiver: a@b.example\nFrom: c@d.example\n\nx\n", "2 x-sender"),
    ("x-sender: a@b.example\nFrom: c@d.example\nTo: e@f.example\n\nx\n", "no x-receiver"),
])
func xLinesNeedExactlyOneSenderAndSomeReceivers(_ file: String, _ words: String) throws {
    let rejected = try #require(rejection(file))
    #expect(rejected.reason.contains(words))
}

@Test(arguments: [
    ("x-sender: not-an-address\nx-receiver: a@b.example\nFrom: c@d.example\n\nx\n", EnhancedStatusCode.badSenderSyntax),
    ("x-sender: a@b.example\nx-receiver: bob\nFrom: c@d.example\n\nx\n", .badAddressSyntax),
    ("x-sender: a@b.example\nx-receiver: <>\nFrom: c@d.example\n\nx\n", .badAddressSyntax),
    ("x-sender: a@b.example\nx-receiver: b@c.example NOTIFY=SOMETIMES\nFrom: c@d.example\n\nx\n", .invalidParameters),
    ("From: ok@corp.example\nTo: Doe, John <j@example.com>\n\nx\n", .badAddressSyntax),
    ("From: broken@@corp.example\nTo: j@example.com\n\nx\n", .badSenderSyntax),
    ("From: undisclosed:;\nTo: j@example.com\n\nx\n", .badSenderSyntax),
])
func invalidAddressesAreRejectedWithTheRightStatus(_ file: String, _ status: EnhancedStatusCode) throws {
    let rejected = try #require(rejection(file))
    #expect(rejected.status == status, "got: \(rejected), want: \(status)")
}

// A shell script: printf 'From: …\nTo: …\nSubject: …\n\n…' > pickup/x
@Test func bareLineFeedShellFileBecomesCRLFWithEnvelopeFromHeaders() throws {
    let message = try accepted("From: cron@host.example\nTo: root@example.com\nSubject: disk\n\nfull\nlast line without newline")
    #expect(message.envelope.sender?.description == "cron@host.example")
    #expect(recipients(message) == ["root@example.com"])
    let text = output(message)
    #expect(text.hasPrefix(received + "From: cron@host.example\r\nTo: root@example.com\r\nSubject: disk\r\n"
        + "Date: Sun, 29 Nov 2026 04:30:00 +0000\r\nMessage-ID: <0123456789ABCDEF.1795926600@relay.example.net>\r\n\r\n"))
    #expect(text.hasSuffix("\r\nfull\r\nlast line without newline\r\n"))
    #expect(MessageBytes.hasOnlyCRLFLineEndings(message.message))
}

@Test func senderFieldWinsOverFromAndRecipientsComeFromToCcBccWithoutDuplicates() throws {
    let file = "From: \"Smith, Ann\" <ann@corp.example>, bob@corp.example\r\nSender: secretary@corp.example\r\n"
        + "To: team: x@example.com, \"Y, Why\" <y@Example.com>;, z@example.com\r\nCc: X@example.com, x@EXAMPLE.com (again)\r\n"
        + "Bcc: secret@example.org,\r\n y@example.com\r\nSubject: =?utf-8?B?w6TDtsO8?=\r\n\r\nbody\r\n"
    let message = try accepted(file)
    #expect(message.envelope.sender?.description == "secretary@corp.example")
    #expect(recipients(message) == ["x@example.com", "y@example.com", "z@example.com", "X@example.com", "secret@example.org"])
    #expect(!output(message).contains("Bcc"))
    #expect(!output(message).contains("secret@example.org"))
    #expect(output(message).contains("Subject: =?utf-8?B?w6TDtsO8?=\r\n"))
}

@Test func bccIsKeptWhenXLinesGaveTheEnvelope() throws {
    let message = try accepted("x-sender: a@b.example\nx-receiver: c@d.example\nFrom: a@b.example\nBcc: c@d.example\n\nx\n")
    #expect(output(message).contains("Bcc: c@d.example\r\n"))
}

@Test func undisclosedRecipientsAloneMeansNoRecipients() throws {
    let rejected = try #require(rejection("From: a@b.example\nTo: undisclosed-recipients:;\n\nx\n"))
    #expect(rejected.status == .badAddressSyntax)
    #expect(rejected.reason.contains("no recipients"))
}

@Test func missingFromIsRejected() throws {
    let rejected = try #require(rejection("To: a@b.example\nSubject: x\n\nbody\n"))
    #expect(rejected.status == .mediaError)
    #expect(rejected.reason.contains("From"))
}

@Test(arguments: [
    "From: a@b.example\nTo: c@d.example\nthis line is not a header\n\nbody\n",
    " From: a@b.example\nTo: c@d.example\n\nbody\n",
    "\nFrom: a@b.example\n",
    "",
])
func unparsableHeaderSectionIsRejected(_ file: String) throws {
    let rejected = try #require(rejection(file))
    #expect(rejected.status == .mediaError)
}

@Test func nulByteAnywhereIsRejected() throws {
    let rejected = try #require(rejection("From: a@b.example\nTo: c@d.example\n\nbo\0dy\n"))
    #expect(rejected.status == .mediaError)
    #expect(rejected.reason.contains("NUL"))
}

@Test func oversizedFileIsRejected() throws {
    var small = options
    small.maxMessageSize = 50
    let rejected = try #require(rejection("From: a@b.example\nTo: c@d.example\n\n" + String(repeating: "x", count: 100), small))
    #expect(rejected.status == .messageTooBig)
}

@Test func tooManyReceivedFieldsIsALoop() throws {
    let hops = String(repeating: "Received: from a by b; Sun, 29 Nov 2026 04:30:00 +0000\n", count: 30)
    let rejected = try #require(rejection(hops + "From: a@b.example\nTo: c@d.example\n\nx\n"))
    #expect(rejected.status == .routingLoop)
    let fewer = String(repeating: "Received: from a by b; Sun, 29 Nov 2026 04:30:00 +0000\n", count: 29)
    #expect(rejection(fewer + "From: a@b.example\nTo: c@d.example\n\nx\n") == nil)
}

@Test func existingDateAndMessageIDAreKept() throws {
    let message = try accepted("From: a@b.example\nTo: c@d.example\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-Id: <x@y>\n\nx\n")
    let text = output(message)
    #expect(text.components(separatedBy: "Date:").count == 2)
    #expect(!text.contains("Message-ID:"))
    #expect(text.contains("Message-Id: <x@y>\r\n"))
}

@Test func dotStuffedFilesLoseOneLeadingDotAndEndAtALoneDot() throws {
    var stuffed = options
    stuffed.dotStuffed = true
    let file = "From: a@b.example\r\nTo: c@d.example\r\n\r\n..leading dot\r\n...two\r\nplain\r\n.\r\n\r\n"
    let message = try accepted(file, stuffed)
    #expect(output(message).hasSuffix("\r\n\r\n.leading dot\r\n..two\r\nplain\r\n"))
    let unstuffed = try accepted(file)
    #expect(output(unstuffed).hasSuffix("\r\n..leading dot\r\n...two\r\nplain\r\n.\r\n\r\n"))
}

@Test func textAfterTheEndOfDataDotIsRefusedNotDropped() throws {
    var stuffed = options
    stuffed.dotStuffed = true
    let rejected = try #require(rejection("From: a@b.example\nTo: c@d.example\n\nbody\n.\nmore\n", stuffed))
    #expect(rejected.status == .mediaError)
}

@Test func eightBitBodyAndUTF8AddressesSetTheFlags() throws {
    let latin = try accepted("From: a@b.example\nTo: c@d.example\nSubject: Grüße\n\nÄpfel\n")
    #expect(latin.hasEightBitContent)
    #expect(!latin.needsSMTPUTF8)
    let utf8 = try accepted("From: Jörg <jörg@bücher.example>\nTo: c@d.example\n\nhi\n")
    #expect(utf8.needsSMTPUTF8)
    #expect(utf8.envelope.sender?.description == "jörg@bücher.example")
}

@Test func loneCarriageReturnsBecomeLineBreaks() throws {
    let message = try accepted("From: a@b.example\rTo: c@d.example\r\rbody\r")
    #expect(output(message).hasSuffix("To: c@d.example\r\nDate: Sun, 29 Nov 2026 04:30:00 +0000\r\nMessage-ID: <0123456789ABCDEF.1795926600@relay.example.net>\r\n\r\nbody\r\n"))
}

@Test func headersOnlyMessageIsAccepted() throws {
    let message = try accepted("From: a@b.example\nTo: c@d.example\nSubject: nothing else")
    #expect(output(message).hasSuffix("Subject: nothing else\r\nDate: Sun, 29 Nov 2026 04:30:00 +0000\r\nMessage-ID: <0123456789ABCDEF.1795926600@relay.example.net>\r\n"))
}

@Test func hostileInputsNeverCrash() {
    let shapes = ["x-sender: =\nx-receiver: a@b.example =\nFrom: a\n\n", "x-sender: <\nx-receiver: >\n\n",
                  "From: (((((\n\n", "From: \"\\\n\n", "x-sender: \"a b\"@c.example\nx-receiver: a@b.example\nFrom: a@b.example\n\n",
                  String(repeating: "To: a@b.example\n", count: 1000) + "From: a@b.example\n\n"]
    for shape in shapes { _ = parse(shape) }
}

@Test func randomFilesAreAcceptedOrRejectedButNeverCrash() {
    var state: UInt64 = 1_234_567
    func next(_ bound: Int) -> Int {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((state >> 33) % UInt64(bound))
    }
    let pieces = ["x-sender: ", "x-receiver: ", "From: ", "To: ", "Bcc: ", "a@b.example", "<", ">", "\"", ",", ";", ":",
                  "\n", "\r\n", "\r", " ", ".", "..", "NOTIFY=", "ORCPT=", "=?utf-8?q?x?=", "(", ")", "é", "\u{1}"]
    var stuffed = options
    stuffed.dotStuffed = true
    var accepted = 0
    for _ in 0..<3000 {
        let file = (0..<next(30)).map { _ in pieces[next(pieces.count)] }.joined()
        if case .accepted(let message) = parse(file, next(2) == 0 ? options : stuffed) {
            accepted += 1
            #expect(MessageBytes.hasOnlyCRLFLineEndings(message.message))
            #expect(!message.envelope.recipients.isEmpty)
        }
    }
    #expect(accepted < 3000)
}
