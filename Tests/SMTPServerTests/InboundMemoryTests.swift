// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailrootTestSupport
@testable import SMTPServer
import Testing

/// DATA content held in memory by all sessions together is bounded (InboundMemory).
@Suite("Inbound memory bound")
struct InboundMemoryTests {
    private static let line = String(repeating: "x", count: 98) + "\r\n"

    @Test func aMessageThatDoesNotFitGets452AndTheSessionGoesOn() async throws {
        let receiver = InMemoryReceiver()
        let configuration = testConfiguration {
            $0.maximumMessageSize = 1_000_000
            $0.inboundMemory = 64 * 1024
        }
        let (replies, inUse) = try await withServer(configuration, receiver: receiver) { port, server in
            let replies = try await dialogue(port: port, [
                .read(1), .send("EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<bob@local.test>\r\nDATA\r\n"), .read(4),
                .send(String(repeating: Self.line, count: 1_000) + ".\r\n"), .read(1),
                .send("MAIL FROM:<a@example.org>\r\nRCPT TO:<bob@local.test>\r\nDATA\r\n"), .read(3),
                .send(String(repeating: Self.line, count: 100) + ".\r\nQUIT\r\n"), .read(2),
            ])
            try await waitForIdle(server)
            return (replies, server.inboundMemory.inUse)
        }
        #expect(replies[5] == ["452 4.3.1 Insufficient system storage, try again later"])
        #expect(replies[9].last?.hasPrefix("250 ") == true, "\(replies)")
        #expect(await receiver.messages.count == 1)
        #expect(inUse == 0, "bytes still counted after the sessions ended")
    }

    /// One session holds 40 KiB of an unfinished message; a second one cannot add 40 KiB more
    /// under a 64 KiB bound, and the first still completes.
    @Test func theBoundIsSharedBySessions() async throws {
        let receiver = InMemoryReceiver()
        let configuration = testConfiguration {
            $0.maximumMessageSize = 1_000_000
            $0.inboundMemory = 64 * 1024
        }
        let directory = try TemporaryDirectory("inbound-memory")
        let go = directory.file("go")
        let output = try await withServer(configuration, receiver: receiver) { port, server in
            let client = try ChildProcess("python3", ["-c", Self.twoSessions, String(port), go, Self.line],
                                          logPath: directory.file("log"))
            let deadline = ContinuousClock.now + .seconds(20)
            while server.inboundMemory.inUse < 40_000 {
                try #require(ContinuousClock.now < deadline, "the first session's content never arrived: \(client.output)")
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(FileManager.default.createFile(atPath: go, contents: nil))
            let status = await client.waitForExit()
            #expect(status == 0, "\(client.output)")
            return client.output
        }
        #expect(output.contains("second: 452 4.3.1"), "\(output)")
        #expect(output.contains("first: 250 "), "\(output)")
        #expect(await receiver.messages.count == 1)
    }

    private static let twoSessions = #"""
import os, smtplib, sys, time
port, go, line = int(sys.argv[1]), sys.argv[2], sys.argv[3].encode()
first = smtplib.SMTP("127.0.0.1", port)
first.ehlo("first")
first.mail("a@example.org"); first.rcpt("bob@local.test")
first.putcmd("DATA"); assert first.getreply()[0] == 354
first.send(line * 400)
while not os.path.exists(go):
    time.sleep(0.01)
second = smtplib.SMTP("127.0.0.1", port)
second.ehlo("second")
second.mail("a@example.org"); second.rcpt("bob@local.test")
second.putcmd("DATA"); assert second.getreply()[0] == 354
second.send(line * 400 + b".\r\n")
code, text = second.getreply()
print("second:", code, text.decode())
first.send(b".\r\n")
code, text = first.getreply()
print("first:", code, text.decode())
first.quit(); second.quit()
"""#
}
