// SPDX-License-Identifier: Apache-2.0
import MailMessage
import NIOCore
import SMTPProtocol
import Testing

private func decode(_ text: String) throws -> [SMTPReply] {
    var decoder = SMTPReplyDecoder()
    return try decoder.feed(ByteBuffer(string: text))
}

@Test func decodesASingleLineReplyWithEnhancedStatus() throws {
    let replies = try decode("250 2.1.0 Sender ok\r\n")
    #expect(replies == [SMTPReply(code: 250, enhancedStatus: EnhancedStatusCode(.success, 1, 0), "Sender ok")])
    #expect(replies[0].description == "250 2.1.0 Sender ok")
    #expect(replies[0].isPositive && !replies[0].isTransient && !replies[0].isPermanent)
}

@Test func decodesAMultiLineReplyAndStripsRepeatedEnhancedCodes() throws {
    let replies = try decode("550-5.1.1 No such user\r\n550-5.1.1 here at all\r\n550 5.1.1 sorry\r\n")
    #expect(replies.count == 1)
    #expect(replies[0].code == 550)
    #expect(replies[0].enhancedStatus == .badMailbox)
    #expect(replies[0].lines == ["No such user", "here at all", "sorry"])
    #expect(replies[0].text == "No such user here at all sorry")
    #expect(replies[0].isPermanent)
}

@Test func anEnhancedCodeOfAnotherClassIsKeptAsText() throws {
    let reply = try #require(try decode("451 5.1.1 odd\r\n").first)
    #expect(reply.enhancedStatus == nil)
    #expect(reply.lines == ["5.1.1 odd"])
    #expect(reply.isTransient)
}

@Test func decodesRepliesSplitAtEveryByte() throws {
    let wire = "220 mx.test ESMTP\r\n250-mx.test\r\n250-PIPELINING\r\n250 SIZE 1000\r\n354 go\n"
    var decoder = SMTPReplyDecoder()
    var replies: [SMTPReply] = []
    for byte in wire.utf8 {
        replies += try decoder.feed(ByteBuffer(bytes: [byte]))
    }
    #expect(replies.map(\.code) == [220, 250, 354])
    #expect(replies[1].lines == ["mx.test", "PIPELINING", "SIZE 1000"])
    #expect(!decoder.hasBufferedInput)
}

@Test func toleratesBareLineFeedsAndBareCodes() throws {
    let replies = try decode("250-first\n250\n")
    #expect(replies == [SMTPReply(code: 250, lines: ["first", ""])])
}

@Test func reportsBytesHeldAfterACompleteReply() throws {
    var decoder = SMTPReplyDecoder()
    let replies = try decoder.feed(ByteBuffer(string: "220 go ahead\r\n250 injected"))
    #expect(replies.count == 1)
    #expect(decoder.hasBufferedInput)
}

@Test func rejectsAMultiLineReplyThatChangesCode() {
    #expect(throws: SMTPProtocolError.inconsistentReplyCode(expected: 250, found: 550)) {
        try decode("250-a\r\n550 b\r\n")
    }
}

@Test func rejectsMalformedLines() {
    for bad in ["hello\r\n", "25\r\n", "2500 x\r\n", "250x\r\n", "150 x\r\n", "650 x\r\n", "\r\n"] {
        #expect(throws: SMTPProtocolError.self, "\(bad.debugDescription)") { try decode(bad) }
    }
}

@Test func rejectsOverlongLinesEvenBeforeTheLineEnds() throws {
    var decoder = SMTPReplyDecoder()
    let long = String(repeating: "x", count: SMTPReplyDecoder.maximumLineLength + 10)
    #expect(throws: SMTPProtocolError.replyLineTooLong) {
        try decoder.feed(ByteBuffer(string: "250 " + long))
    }
    let fits = "250 " + String(repeating: "y", count: SMTPReplyDecoder.maximumLineLength - 4) + "\r\n"
    #expect(try decode(fits).count == 1)
}

@Test func rejectsRepliesWithTooManyLines() {
    let lines = String(repeating: "250-x\r\n", count: SMTPReplyDecoder.maximumLines) + "250 end\r\n"
    #expect(throws: SMTPProtocolError.tooManyReplyLines) { try decode(lines) }
    let fits = String(repeating: "250-x\r\n", count: SMTPReplyDecoder.maximumLines - 1) + "250 end\r\n"
    #expect((try? decode(fits))?.count == 1)
}

@Test func replaceControlCharactersInReplyText() throws {
    let reply = try #require(try decode("250 evil\u{1B}[31m\ttab\r\n").first)
    #expect(reply.text == "evil?[31m tab")
}

@Test func encodesMultiLineRepliesWithContinuationAndRepeatedEnhancedCode() {
    let reply = SMTPReply(code: 250, enhancedStatus: .ok, lines: ["first", "second"])
    #expect(String(decoding: reply.encoded(), as: UTF8.self) == "250-2.0.0 first\r\n250 2.0.0 second\r\n")
    #expect(String(decoding: SMTPReply(code: 354, "go ahead").encoded(), as: UTF8.self) == "354 go ahead\r\n")
}

@Test func encodedRepliesDecodeToTheSameReply() throws {
    let reply = SMTPReply(code: 451, enhancedStatus: EnhancedStatusCode(.persistentTransientFailure, 3, 0), lines: ["a", "b c"])
    var decoder = SMTPReplyDecoder()
    #expect(try decoder.feed(ByteBuffer(bytes: reply.encoded())) == [reply])
}
