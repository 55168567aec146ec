// SPDX-License-Identifier: Apache-2.0
import SMTPProtocol
import Testing

private func events(_ wire: String, chunkSize: Int = .max, maximum: Int = 512) -> [ServerCommandFramer.Event] {
    var framer = ServerCommandFramer(maximumLineLength: maximum)
    var result: [ServerCommandFramer.Event] = []
    let bytes = Array(wire.utf8)
    var start = 0
    while start < bytes.count {
        let end = min(bytes.count, start + chunkSize)
        framer.append(bytes[start..<end])
        while let event = framer.next() { result.append(event) }
        start = end
    }
    return result
}

private func line(_ text: String) -> ServerCommandFramer.Event { .line(Array(text.utf8)) }

@Test(arguments: [1, 2, 3, 7, 1000])
func linesEndOnlyAtCRLF(chunkSize: Int) {
    #expect(events("EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT", chunkSize: chunkSize) == [line("EHLO x"), line("MAIL FROM:<a@b>")])
    #expect(events("\r\nNOOP\r\n", chunkSize: chunkSize) == [line(""), line("NOOP")])
}

@Test(arguments: ["NOOP\nQUIT\r\n", "NOOP\rQUIT\r\n", "NOOP\r\rQUIT\r\n", "\nNOOP\r\n"])
func bareLineEndingsAreReportedNotFramed(wire: String) {
    for chunkSize in [1, 2, 100] {
        let result = events(wire, chunkSize: chunkSize)
        #expect(result.first == .bareLineEnding, "chunk \(chunkSize): got: \(result)")
        #expect(!result.contains(line("NOOP")) || result.firstIndex(of: .bareLineEnding)! < result.firstIndex(of: line("NOOP"))!)
    }
}

@Test func linesUpTo512OctetsWithCRLFAreAccepted() {
    let longest = String(repeating: "x", count: 510)
    #expect(events(longest + "\r\n") == [line(longest)])
    #expect(events(longest + "x\r\n") == [.lineTooLong])
}

@Test(arguments: [1, 13, 4096])
func overlongLinesAreReportedOnceAndFramingResumes(chunkSize: Int) {
    let wire = String(repeating: "A", count: 100_000) + "\r\nNOOP\r\n"
    #expect(events(wire, chunkSize: chunkSize) == [.lineTooLong, line("NOOP")])
}

@Test func overlongLinesDoNotGrowTheBuffer() {
    var framer = ServerCommandFramer()
    for _ in 0..<1000 {
        framer.append(Array(repeating: UInt8(ascii: "A"), count: 1000))
        #expect(framer.next() == nil)
        #expect(framer.bufferedByteCount <= 1000)
    }
}

@Test func bufferedBytesCanBeTakenForDataOrDiscardedForTLS() {
    var framer = ServerCommandFramer()
    framer.append(Array("DATA\r\nSubject: x\r\n".utf8))
    #expect(framer.next() == line("DATA"))
    #expect(framer.takeBuffered() == Array("Subject: x\r\n".utf8))
    #expect(framer.next() == nil)
    framer.append(Array("STARTTLS\r\nMAIL FROM:<a@b>\r\n".utf8))
    #expect(framer.next() == line("STARTTLS"))
    framer.discardBuffered()
    #expect(framer.next() == nil)
    #expect(framer.bufferedByteCount == 0)
}
