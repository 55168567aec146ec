// SPDX-License-Identifier: Apache-2.0
import Foundation
import NIOCore
import SMTPProtocol
import Testing

/// Feeds `input` to a fresh stuffer in the given chunks and returns the wire bytes.
private func stuff(_ chunks: [[UInt8]]) -> [UInt8] {
    var stuffer = DotStuffer()
    var output = ByteBuffer()
    for chunk in chunks { stuffer.encode(ByteBuffer(bytes: chunk), into: &output) }
    stuffer.finish(into: &output)
    return Array(output.readableBytesView)
}

private func stuff(_ text: String) -> String {
    String(decoding: stuff([Array(text.utf8)]), as: UTF8.self)
}

/// What the receiver does (RFC 5321 §4.5.2): split on CRLF, stop at the lone dot, drop one
/// leading dot. Returns the content lines and whatever followed the terminator.
private func unstuff(_ wire: [UInt8]) -> (content: [UInt8], afterTerminator: Int)? {
    var content: [UInt8] = []
    var start = 0
    while let end = (start..<max(start, wire.count - 1)).first(where: { wire[$0] == 13 && wire[$0 + 1] == 10 }) {
        var line = Array(wire[start..<end])
        start = end + 2
        if line == [UInt8(ascii: ".")] { return (content, wire.count - start) }
        if line.first == UInt8(ascii: ".") { line.removeFirst() }
        content += line + [13, 10]
    }
    return nil
}

private let trickyInputs: [String] = [
    "",
    ".",
    "..",
    ".\r\n",
    "a\r\n.\r\nb\r\n",
    "Subject: x\r\n\r\n.hidden\r\n..two\r\n...\r\n",
    "no final line break",
    "ends with cr\r",
    "bare\nlf\n.\n",
    "\n.\nMAIL FROM:<evil@example>\r\n",
    "\r.\rRCPT TO:<x@y>\r\n",
    "x\n.\r\ny",
    "x\r\n.\ny",
    "x\r\n.\r",
    "\r\r\n\n\r",
    ".\r.\n.",
    "caf\u{E9} \u{1F600}\r\n.\u{E9}\r\n",
]

@Test func doublesADotAtTheStartOfEveryLineAndEndsWithTheTerminator() {
    #expect(stuff("Subject: x\r\n\r\n.hidden\r\n..two\r\n") == "Subject: x\r\n\r\n..hidden\r\n...two\r\n.\r\n")
    #expect(stuff(".") == "..\r\n.\r\n")
    #expect(stuff("a.b\r\n") == "a.b\r\n.\r\n")
}

@Test func anEmptyMessageIsOnlyTheTerminator() {
    #expect(stuff("") == ".\r\n")
}

@Test func contentWithoutAFinalLineBreakGetsCRLFBeforeTheTerminator() {
    #expect(stuff("last line") == "last line\r\n.\r\n")
}

@Test func bareLineFeedsAndCarriageReturnsBecomeCRLF() {
    #expect(stuff("a\nb") == "a\r\nb\r\n.\r\n")
    #expect(stuff("a\rb") == "a\r\nb\r\n.\r\n")
    #expect(stuff("a\r") == "a\r\n.\r\n")
    #expect(stuff("\r\r\n") == "\r\n\r\n.\r\n")
}

@Test func smugglingVectorsCannotEndTheDataEarly() {
    for vector in ["\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r\n.\r", ".\n", ".\r"] {
        let input = "Subject: a\r\n\r\nbody" + vector + "MAIL FROM:<spoof@example>\r\n"
        let wire = stuff([Array(input.utf8)])
        let parsed = unstuff(wire)
        #expect(parsed?.afterTerminator == 0, "vector \(vector.debugDescription) ended DATA early")
        let text = String(decoding: parsed?.content ?? [], as: UTF8.self)
        #expect(text.contains("MAIL FROM:<spoof@example>"))
        #expect(!wire.indices.contains { index in
            (wire[index] == 10 && (index == 0 || wire[index - 1] != 13))
                || (wire[index] == 13 && (index + 1 == wire.count || wire[index + 1] != 10))
        }, "bare CR or LF on the wire for \(vector.debugDescription)")
    }
}

@Test func everySplitPositionGivesTheSameBytesAsOneChunk() {
    for text in trickyInputs {
        let bytes = Array(text.utf8)
        let whole = stuff([bytes])
        for cut in 0...bytes.count {
            #expect(stuff([Array(bytes[..<cut]), Array(bytes[cut...])]) == whole, "\(text.debugDescription) cut at \(cut)")
        }
        for first in 0...bytes.count {
            for second in first...bytes.count {
                let chunks = [Array(bytes[..<first]), Array(bytes[first..<second]), Array(bytes[second...])]
                #expect(stuff(chunks) == whole)
            }
        }
        #expect(stuff(bytes.map { [$0] }) == whole, "\(text.debugDescription) byte by byte")
    }
}

@Test func stuffedContentRoundTripsThroughAReceiverForCRLFInput() {
    for text in trickyInputs where !text.contains("\r\r") {
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n")
            .replacingOccurrences(of: "\r", with: "\n")
            .replacingOccurrences(of: "\n", with: "\r\n")
        var expected = Array(normalized.utf8)
        if !expected.isEmpty && expected.last != 10 { expected += [13, 10] }
        let parsed = unstuff(stuff([Array(text.utf8)]))
        #expect(parsed?.content == expected, "\(text.debugDescription)")
        #expect(parsed?.afterTerminator == 0)
    }
}

@Test func largeInputStreamsInChunksUnchangedWhenClean() {
    let line = Array("The quick brown fox jumps over the lazy dog 0123456789\r\n".utf8)
    var input: [UInt8] = []
    while input.count < 300_000 { input += line }
    var stuffer = DotStuffer()
    var output = ByteBuffer()
    var offset = 0
    while offset < input.count {
        let end = min(input.count, offset + 65_536)
        stuffer.encode(input[offset..<end], into: &output)
        offset = end
    }
    stuffer.finish(into: &output)
    #expect(Array(output.readableBytesView) == input + Array(".\r\n".utf8))
}

/// The rule, one byte at a time, written as plainly as possible: the stuffer's fast path (which
/// skips from one line break to the next) must give exactly these bytes.
private func referenceStuff(_ input: [UInt8]) -> [UInt8] {
    var output: [UInt8] = []
    var atLineStart = true
    var index = 0
    while index < input.count {
        let byte = input[index]
        if byte == 13 || byte == 10 {
            output += [13, 10]
            atLineStart = true
            index += (byte == 13 && index + 1 < input.count && input[index + 1] == 10) ? 2 : 1
            continue
        }
        if atLineStart && byte == UInt8(ascii: ".") { output.append(byte) }
        output.append(byte)
        atLineStart = false
        index += 1
    }
    if !atLineStart { output += [13, 10] }
    return output + Array(".\r\n".utf8)
}

@Test func randomContentInRandomChunksMatchesTheByteByByteRule() {
    var generator = SystemRandomNumberGenerator()
    let alphabet: [UInt8] = Array("a.\r\n".utf8) + [0x80, 0x00]
    for _ in 0..<2_000 {
        let bytes = (0..<Int.random(in: 0...200, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
        var chunks: [[UInt8]] = []
        var rest = bytes[...]
        while !rest.isEmpty {
            let size = Int.random(in: 1...max(1, rest.count), using: &generator)
            chunks.append(Array(rest.prefix(size)))
            rest = rest.dropFirst(size)
        }
        #expect(stuff(chunks) == referenceStuff(bytes), "input \(bytes), chunks \(chunks.map(\.count))")
    }
}
