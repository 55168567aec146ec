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

/// Everything a decoder reports after `wire` is fed in chunks of the given sizes, through the
/// raw-buffer entry point the listener uses (`raw`; the array overloads take it too) or the
/// generic per-byte one.
private struct DecoderState: Equatable {
    var content: [UInt8]
    var failure: ServerDataDecoder.Failure?
    var isFinished: Bool
    var receivedByteCount: Int
    var consumed: Int
}

private func feed(_ wire: [UInt8], chunks: [Int], limit: Int, raw: Bool) -> DecoderState {
    var decoder = ServerDataDecoder(maximumSize: limit)
    var consumed = 0
    var start = 0
    for size in chunks + [wire.count] {
        let end = min(wire.count, start + size)
        let chunk = wire[start..<end]
        // `lazy.map` makes a collection only the generic, byte-by-byte overload takes.
        consumed += raw ? chunk.withUnsafeBytes { decoder.decode($0) } : decoder.decode(chunk.lazy.map { $0 })
        start = end
        if decoder.isFinished || start == wire.count { break }
    }
    return DecoderState(content: decoder.content, failure: decoder.failure, isFinished: decoder.isFinished,
                        receivedByteCount: decoder.receivedByteCount, consumed: consumed)
}

/// The listener's path takes runs of ordinary bytes in one step; it must agree with the per-byte
/// rules on everything: content, the first failure, where the terminator is, every count, also
/// when a run crosses the line-length or size limit.
@Test func theListenersFastPathAgreesWithTheByteByByteRules() {
    var generator = SystemRandomNumberGenerator()
    let pieces: [[UInt8]] = [[0x61], [0x2E], [0x0D], [0x0A], [0x0D, 0x0A], [0x0D, 0x0A, 0x2E], [0x00], [0xC3, 0xA9],
                             Array(repeating: 0x78, count: 300), Array(repeating: 0x79, count: 990)]
    for _ in 0..<3_000 {
        var wire: [UInt8] = []
        for _ in 0..<Int.random(in: 0...12, using: &generator) { wire += pieces.randomElement(using: &generator)! }
        if Bool.random(using: &generator) { wire += Array("\r\n.\r\nQUIT\r\n".utf8) }
        let limit = [50, 1_000, 100_000].randomElement(using: &generator)!
        let chunks = (0..<4).map { _ in Int.random(in: 1...400, using: &generator) }
        let fast = feed(wire, chunks: chunks, limit: limit, raw: true)
        let plain = feed(wire, chunks: chunks, limit: limit, raw: false)
        #expect(fast == plain, "wire \(wire.count) bytes, limit \(limit), chunks \(chunks)")
    }
}
