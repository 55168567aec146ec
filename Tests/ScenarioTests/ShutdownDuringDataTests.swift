// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailrootTestSupport
import Testing

/// SIGTERM while a client is in the middle of a large DATA: the client sees 421 (and nothing is
/// queued) or its message is complete — never half a message in the queue or in drop/.
@Suite struct ShutdownDuringDataTests {
    static let client = """
    import socket, sys, time
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    f = s.makefile("rb")
    def reply():
        while True:
            line = f.readline()
            if not line:
                return "EOF"
            if line[3:4] != b"-":
                return line.decode().strip()
    print("GREETING", reply(), flush=True)
    for command in [b"EHLO client.example\\r\\n", b"MAIL FROM:<a@example.test>\\r\\n", b"RCPT TO:<you@localhost>\\r\\n", b"DATA\\r\\n"]:
        s.sendall(command)
        print("REPLY", reply(), flush=True)
    s.sendall(b"From: a@example.test\\r\\nTo: you@localhost\\r\\nSubject: big\\r\\n\\r\\n")
    try:
        for chunk in range(80):
            s.sendall((b"x" * 998 + b"\\r\\n") * 64)
            print("SENT", chunk, flush=True)
            time.sleep(0.05)
        s.sendall(b".\\r\\n")
        print("END", reply(), flush=True)
    except OSError as error:
        print("ERROR", error, flush=True)
        s.settimeout(5)
        try:
            print("LAST", reply(), flush=True)
        except OSError as again:
            print("LAST", again, flush=True)
    """

    @Test func sigtermDuringALargeDataGives421OrACompleteMessageNeverHalf() async throws {
        let port = try freePort()
        let scenario = try await ListenerScenarioTests.world(listen: port)
        let directory = scenario.mailroot.directory
        let script = directory.file("big-data.py")
        try Self.client.write(toFile: script, atomically: true, encoding: .utf8)
        let client = try ChildProcess("python3", [script, String(port)], logPath: directory.file("big-data.log"))
        // Stop the daemon once a good part of the body is on its way.
        let deadline = ContinuousClock.now + .seconds(20)
        while !client.output.contains("SENT 10"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        try #require(client.output.contains("SENT 10"), "client never got going: \(client.output)")
        scenario.mailroot.stop()
        #expect(await scenario.mailroot.process?.waitForExit() == 0, "mailroot did not exit cleanly: \(scenario.mailroot.log)")
        _ = await client.waitForExit()
        let output = client.output
        let completed = output.contains("END 250")
        let refused = output.contains("421")
        #expect(completed != refused, "exactly one of: a 421, or a completed message — got:\n\(output)")
        let queued = scenario.mailroot.files(in: "\(scenario.mailroot.queue)/msg")
        let dropped = scenario.mailroot.files(in: scenario.mailroot.drop)
        if completed {
            #expect(queued.count + dropped.count == 1, "the accepted message is kept: \(queued) \(dropped)")
        } else {
            #expect(queued.isEmpty && dropped.isEmpty, "nothing of a refused message is kept: \(queued) \(dropped)")
            #expect(scenario.mailroot.files(in: "\(scenario.mailroot.queue)/tmp").isEmpty)
        }
    }
}
