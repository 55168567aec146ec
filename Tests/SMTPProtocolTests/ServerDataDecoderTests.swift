// SPDX-License-Identifier: Apache-2.0
import SMTPProtocol
import Testing

/// What came out of decoding `wire` fed in the given chunks.
private struct Decoded: Equatable {
    var content: [UInt8]
    var failure: ServerDataDecoder.Failure?
    /// Bytes left after the terminator, or nil if the terminator was never found.
    var rest: [UInt8]?
}

private func decode(_ wire: [UInt8], splitAt cuts: [Int] = [], limit: Int = 100_000) -> Decoded {
    var decoder = ServerDataDecoder(maximumSize: limit)
    var start = 0
    for end in cuts + [wire.count] where end >= start {
        let chunk = wire[start..<end]
        let used = decoder.decode(chunk)
        if decoder.isFinished {
            return Decoded(content: decoder.content, failure: decoder.failure, rest: Array(wire[(start + used)...]))
        }
        #expect(used == chunk.count)
        start = end
    }
    return Decoded(content: decoder.content, failure: decoder.failure, rest: nil)
}

private func decode(_ text: String, limit: Int = 100_000) -> Decoded { decode(Array(text.utf8), limit: limit) }

@Test(arguments: [
    (".\r\n", "", ""),
    ("a\r\n.\r\n", "a\r\n", ""),
    ("..\r\n.\r\n", ".\r\n", ""),
    ("...\r\n.\r\n", "..\r\n", ""),
    (".x\r\n.\r\n", "x\r\n", ""),
    ("a\r\n.\r\nQUIT\r\n", "a\r\n", "QUIT\r\n"),
    ("a\r\n. \r\n.\r\n", "a\r\n \r\n", ""),
    ("\r\n\r\n.\r\n", "\r\n\r\n", ""),
])
func wellFormedContentIsUnstuffed(wire: String, content: String, rest: String) {
    #expect(decode(wire) == Decoded(content: Array(content.utf8), failure: nil, rest: Array(rest.utf8)))
}

/// SMTP smuggling (CVE-2023-51764/5/6): each fake terminator is followed by a second
/// transaction. Only the real CRLF.CRLF may end the content; everything before it, the fake
/// "MAIL FROM" included, is swallowed as part of a refused message.
@Test(arguments: ["\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r\n.\r", "\r.\r\n", "\n\r.\r\n", "\r\n.\r\r\n"])
func smugglingVectorsNeverEndTheData(fake: String) {
    let smuggled = "MAIL FROM:<evil@spoof.example>\r\nRCPT TO:<victim@local.test>\r\nDATA\r\nspoofed\r\n"
    let wire = Array(("Subject: hi\r\n\r\nbody" + fake + smuggled + ".\r\nQUIT\r\n").utf8)
    for cut in 0...wire.count {
        let result = decode(wire, splitAt: [cut])
        #expect(result.failure == .bareLineEnding, "cut \(cut): got: \(String(describing: result.failure))")
        #expect(result.content.isEmpty)
        #expect(result.rest == Array("QUIT\r\n".utf8), "cut \(cut): the terminator was found in the wrong place")
    }
}

@Test func byteByByteFeedingGivesTheSameResult() {
    let wire = Array("a\r\n..b\r\n.c\r\n\r\n.\r\nNOOP\r\n".utf8)
    let whole = decode(wire)
    #expect(decode(wire, splitAt: Array(0...wire.count)) == whole)
    #expect(whole.content == Array("a\r\n.b\r\nc\r\n\r\n".utf8))
}

@Test func oversizedContentIsDroppedButReadToTheTerminator() {
    let result = decode(String(repeating: "0123456789\r\n", count: 100) + ".\r\nMAIL FROM:<a@b>\r\n", limit: 500)
    #expect(result.failure == .messageTooLarge)
    #expect(result.content.isEmpty)
    #expect(result.rest == Array("MAIL FROM:<a@b>\r\n".utf8))
}

@Test func contentExactlyAtTheLimitIsAccepted() {
    #expect(decode("0123456\r\n.\r\n", limit: 9).failure == nil)
    #expect(decode("01234567\r\n.\r\n", limit: 9).failure == .messageTooLarge)
}

@Test func textLinesOver1000OctetsAreRefused() {
    #expect(decode(String(repeating: "x", count: 998) + "\r\n.\r\n").failure == nil)
    let result = decode(String(repeating: "x", count: 999) + "\r\n.\r\nNOOP\r\n")
    #expect(result.failure == .lineTooLong)
    #expect(result.rest == Array("NOOP\r\n".utf8))
}

@Test func unfinishedDataIsNeverComplete() {
    let result = decode("Subject: x\r\n\r\nhalf a message")
    #expect(result.rest == nil)
}

@Test func eightBitOctetsAreContent() {
    let result = decode([0xC3, 0xA9, 0x0D, 0x0A, 0x2E, 0x0D, 0x0A])
    #expect(result.content == [0xC3, 0xA9, 0x0D, 0x0A])
    #expect(result.failure == nil)
}

@Test func nulOctetsAreRefused() {
    let result = decode([0x61, 0x00, 0x62, 0x0D, 0x0A, 0x2E, 0x0D, 0x0A])
    #expect(result.failure == .nulCharacter)
    #expect(result.content.isEmpty)
    #expect(result.rest == [])
}
