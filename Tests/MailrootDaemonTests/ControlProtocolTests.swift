// SPDX-License-Identifier: Apache-2.0
import MailMessage
import NIOCore
@testable import MailrootDaemon
import Testing

@Suite struct ControlProtocolTests {
    let id = QueueID("K1CBGVZ6Z0628W69")!

    @Test func everyRequestSurvivesItsOwnWireForm() {
        for request in [ControlRequest.flush(nil), .flush(id), .hold(id), .release(id), .delete(id), .bounce(id)] {
            #expect(ControlRequest(line: request.description) == request)
        }
    }

    @Test(arguments: ["", "hold", "hold ../../etc/passwd", "hold K1CBGVZ6Z0628W69 extra", "HOLD K1CBGVZ6Z0628W69",
                      "hold  K1CBGVZ6Z0628W69", "delete K1CBGVZ6Z0628W6", "shutdown", "flush K1CBGVZ6Z0628W69\r"])
    func anythingButAnExactRequestIsRefused(line: String) {
        #expect(ControlRequest(line: line) == nil)
    }

    @Test func repliesCarryTheExitStatusAndStayOnOneLine() {
        let failure = ControlReply(status: 75, text: "queue I/O error:\nline two")
        #expect(failure.line == "error 75 queue I/O error: line two\n")
        #expect(ControlReply(line: String(failure.line.dropLast())) == ControlReply(status: 75, text: "queue I/O error: line two"))
        #expect(ControlReply(line: "ok done") == .ok("done"))
        #expect(ControlReply(line: "error 0 not an error") == nil)
        #expect(ControlReply(line: "garbage") == nil)
    }
}

@Suite struct ControlLineTests {
    static func read(_ chunks: [String], limit: Int = 256) async throws -> ControlLine.Read {
        let stream = AsyncStream<ByteBuffer> { continuation in
            for chunk in chunks { continuation.yield(ByteBuffer(string: chunk)) }
            continuation.finish()
        }
        return try await ControlLine.read(from: stream, limit: limit)
    }

    @Test func aLineSplitOverReadsEndsAtItsLFWithoutTheCR() async throws {
        #expect(try await Self.read(["ho", "ld K1CBGVZ6Z0628W69\r", "\nnext"]) == .line("hold K1CBGVZ6Z0628W69"))
    }

    @Test func anOverlongLineAndAnEndedConnectionAreToldApart() async throws {
        #expect(try await Self.read([String(repeating: "x", count: 300)]) == .tooLong)
        #expect(try await Self.read(["ok half"]) == .ended("ok half"))
    }
}
