// SPDX-License-Identifier: Apache-2.0
//
// SUMMARY
//   Start-up over a damaged queue: unreadable message files are set aside in queue/corrupt/
//   with a warning, the daemon keeps running, and the good message next to them is delivered.
//
// DESCRIPTION
//   The files are planted before mailroot starts, as a disk fault, an administrator's stray copy
//   or an attacker with write access to the spool could leave them: a message file cut off in
//   its body (with its journal), a zero-byte file, random bytes under a valid queue ID name, a
//   well-formed file whose `id` is not its name, and a file whose name is not a queue ID. One
//   bad file must never stop delivery of the others (Haraka and OpenSMTPD once died on one).
//   The valid message is written in the documented format (docs/queue-format.md) with one
//   local and one remote recipient, so recovery must hand it to both couriers.
//
// SAFETY
//   Loopback only (the MX is 127.0.9.2, used by no other test); DNS from our own dnsmasq.
//
// SEE ALSO
//   docs/queue-format.md, Sources/MailQueue/QueueRecovery.swift, CrashSafetyTests.swift.
import Foundation
import MailMessage
import MailrootTestSupport
import Testing

@Suite("Corrupt queue files at start-up")
struct CorruptQueueTests {
    static let mxAddress = "127.0.9.2"

    @Test("bad queue files go to corrupt/ with a warning, tmp/ is emptied, the valid message is delivered",
          .timeLimit(.minutes(2)))
    func badFilesAreSetAsideAndTheGoodOneDelivered() async throws {
        let port = try freePort(host: Self.mxAddress)
        let server = try await SMTPTestServer(host: Self.mxAddress, port: port)
        let scenario = try await Scenario(port: port, records: [
            .mx("corrupt.test", host: "mx.corrupt.test", preference: 10),
            .host("mx.corrupt.test", addresses: [Self.mxAddress]),
        ], label: "corrupt-queue")
        let mailroot = scenario.mailroot
        let queue = QueueFolders(root: mailroot.queue)
        try queue.create()

        let valid = QueueID.generate()
        try queue.write(Self.queueFile(id: valid, token: "VALID-MESSAGE"), as: valid.description)

        let truncated = QueueID.generate()
        let whole = Self.queueFile(id: truncated, token: "TRUNCATED")
        try queue.write(Array(whole.prefix(whole.count - 40)), as: truncated.description)
        try queue.write(Array("delivered 0 1712345679000000 1 - bob@localhost 250 ok\n".utf8),
                        as: truncated.description, in: "state")
        let empty = QueueID.generate()
        try queue.write([], as: empty.description)
        let garbage = QueueID.generate()
        try queue.write((0..<4096).map { _ in UInt8.random(in: 0...255) }, as: garbage.description)
        let misnamed = QueueID.generate()
        try queue.write(Self.queueFile(id: QueueID.generate(), token: "MISNAMED"), as: misnamed.description)
        let notAnID = "not-a-queue-id"
        try queue.write(Array("hello\n".utf8), as: notAnID)
        let bad = [truncated.description, empty.description, garbage.description, misnamed.description, notAnID]
        try queue.write(Array("half a message\n".utf8), as: "0000000000LEFTOV", in: "tmp")

        try await mailroot.start()

        // Recovery finishes before "serving" is logged, so its effects are visible now.
        // (The valid message may already be delivered, its file kept as `tmp/spare-N` for reuse.)
        #expect(queue.files(in: "tmp").allSatisfy { $0.hasPrefix("spare-") }, "tmp/ must be emptied at start: \(queue.files(in: "tmp"))")
        for name in bad {
            #expect(queue.files(in: "corrupt").contains(name), "\(name) not in corrupt/: \(queue.files(in: "corrupt"))")
            #expect(!queue.files(in: "msg").contains(name), "\(name) still in msg/")
            let warned = mailroot.log.split(separator: "\n").contains { $0.contains("warning") && $0.contains(name) && $0.contains("corrupt") }
            #expect(warned, "no warning naming \(name)\n\(mailroot.log)")
        }
        // The journal of a message set aside goes with it, so it is never replayed onto anything.
        #expect(queue.files(in: "corrupt").contains("\(truncated).journal"), "journal not set aside: \(queue.files(in: "corrupt"))")
        #expect(!queue.files(in: "state").contains(truncated.description))

        // The valid message goes out on both paths, and the daemon is still alive afterwards.
        let dropCopy = try await mailroot.waitForFiles(in: mailroot.drop, count: 1)
        #expect(dropCopy == ["\(valid)-0.eml"])
        let dropped = try String(contentsOfFile: "\(mailroot.drop)/\(valid)-0.eml", encoding: .utf8)
        #expect(dropped.hasPrefix("x-sender: <alice@example.org>\r\nx-receiver: <bob@localhost>\r\n"))
        #expect(dropped.contains("Subject: VALID-MESSAGE\r\n"))
        let received = try await server.waitForMessages(count: 1)
        #expect(received.count == 1)
        #expect(received.first?.mailFrom == "alice@example.org")
        #expect(received.first?.recipients == ["carol@corrupt.test"])
        #expect(received.first?.text.contains("Subject: VALID-MESSAGE\r\n") == true)
        try await mailroot.waitForLog(containing: "\(valid): removed")
        #expect(mailroot.process?.isRunning == true, "mailroot died:\n\(mailroot.log)")
        #expect(queue.files(in: "msg").isEmpty, "msg/ after delivery: \(queue.files(in: "msg"))")
        // Nothing from the bad files was delivered anywhere.
        #expect(mailroot.files(in: mailroot.drop).count == 1)
        #expect(mailroot.files(in: mailroot.badmail).isEmpty)
        withExtendedLifetime(scenario) {}
    }

    /// A queue file exactly as docs/queue-format.md describes it, for bob@localhost (recipient 0,
    /// so the drop name is `<ID>-0.eml`) and carol@corrupt.test.
    static func queueFile(id: QueueID, token: String) -> [UInt8] {
        let message = Array("""
            From: alice@example.org\r
            To: bob@localhost, carol@corrupt.test\r
            Subject: \(token)\r
            Message-ID: <\(id)@mailroot.test>\r
            \r
            Planted before start.\r

            """.utf8)
        let arrival = Int64(Date().timeIntervalSince1970 * 1_000_000)
        let header = """
            MAILROOT-QUEUE 1
            id \(id)
            arrival \(arrival)
            sender alice@example.org
            source test:corrupt-queue
            rcpt bob@localhost
            rcpt carol@corrupt.test
            body \(message.count)


            """
        return Array(header.utf8) + message + Array("\nEND \(message.count)\n".utf8)
    }
}

/// The queue's folders, written before mailroot runs (while it runs, only mailroot writes them).
private struct QueueFolders {
    let root: String

    func create() throws {
        for folder in ["msg", "state", "tmp", "corrupt"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(folder)", withIntermediateDirectories: true)
        }
    }

    func write(_ bytes: [UInt8], as name: String, in folder: String = "msg") throws {
        try Data(bytes).write(to: URL(fileURLWithPath: "\(root)/\(folder)/\(name)"))
    }

    func files(in folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "\(root)/\(folder)")) ?? []).sorted()
    }
}
