// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailrootTestSupport
import Testing

/// `ln -s mailroot mailq` lists the queue, reading the config from MAILROOT_CONFIG as sendmail does.
@Suite struct MailqTests {
    @Test func linkNamedMailqListsTheQueueLikeQueueList() async throws {
        let queue = try await QueueCommandTests.DeferredQueue()
        let expected = try await queue.run(["queue", "list"])
        let link = queue.mailroot.directory.file("mailq")
        #expect(symlink(MailrootInstance.binaryPath, link) == 0)
        let out = queue.mailroot.directory.file("mailq.out")
        let process = try ChildProcess("/bin/sh", ["-c", "exec \"$0\" >\"$OUT\"", link],
                                       logPath: queue.mailroot.directory.file("mailq.log"),
                                       environment: ["OUT": out, "MAILROOT_CONFIG": queue.mailroot.configPath])
        #expect(await process.waitForExit() == 0, "\(process.output)")
        let listed = try String(contentsOfFile: out, encoding: .utf8)
        #expect(listed.hasPrefix(queue.id), "\(listed)")
        #expect(listed.contains("bob@down.test") && listed.contains("deferred"))
        // Ages move on between the two runs; the lines are otherwise the same.
        #expect(listed.split(separator: "\n").count == expected.stdout.split(separator: "\n").count)
    }
}
