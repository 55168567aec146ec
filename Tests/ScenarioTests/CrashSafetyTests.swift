// SPDX-License-Identifier: Apache-2.0
//
// SUMMARY
//   The crash test: 1,000 messages flow through the real mailroot while it is killed with
//   SIGKILL several times at random moments; afterwards not one message may be missing.
//
// DESCRIPTION
//   Each message has two recipients, one at crash.test (delivered over SMTP to an aiosmtpd
//   server found through a dnsmasq MX record) and one at localhost (written to drop/), so both
//   couriers are interrupted mid-work. A SIGKILL can land anywhere: while a pickup file is being
//   queued, between the queue's fsync and the pickup file's removal, between a remote 250 and
//   the journal's fdatasync, or half-way through a drop file. The promise under test is
//   mailroot's first priority: a message may be delivered twice (a 250 whose journal line died
//   with the process), never zero times. Duplicates are counted and printed; a missing token
//   fails the test.
//
// SAFETY
//   Loopback only: the MX host is 127.0.9.1, which no other test uses, and DNS comes from the
//   dnsmasq started here. Every wait polls an observable effect with a deadline.
//
// SEE ALSO
//   docs/queue-format.md (commit order, journal), README.md "Pickup rules" (durability),
//   CorruptQueueTests.swift (what recovery does with files it cannot read).
import Foundation
import MailrootTestSupport
import Testing

@Suite("Crash safety", .serialized)
struct CrashSafetyTests {
    static let messageCount = 1_000
    static let killCount = 3
    static let mxAddress = "127.0.9.1"
    static let tokenHeader = "X-Crash-Token: "

    @Test("SIGKILL at random moments loses no message: every token reaches SMTP and drop/",
          .timeLimit(.minutes(3)))
    func repeatedKillsLoseNoMessage() async throws {
        let port = try freePort(host: Self.mxAddress)
        let server = try await SMTPTestServer(host: Self.mxAddress, port: port)
        let scenario = try await Scenario(port: port, records: [
            .mx("crash.test", host: "mx.crash.test", preference: 10),
            .host("mx.crash.test", addresses: [Self.mxAddress]),
        ], label: "crash")
        let mailroot = scenario.mailroot
        let started = ContinuousClock.now
        try await mailroot.start()

        let dropper = Task.detached { try Self.dropMessages(into: mailroot) }
        var kills: [KillRecord] = []
        for number in 1...Self.killCount {
            try await waitForKillMoment(number: number, server: server)
            mailroot.kill()
            kills.append(KillRecord(number: number, at: ContinuousClock.now - started,
                                    pickup: Self.visibleFiles(mailroot.pickup).count,
                                    queued: Self.visibleFiles("\(mailroot.queue)/msg").count,
                                    smtp: Self.recordCount(server)))
            try await mailroot.start()
        }
        try await dropper.value
        try await waitUntilEverythingDelivered(mailroot, server: server)
        mailroot.stop()

        for kill in kills { print("crash test: \(kill)") }
        // A kill after the work was done would prove nothing: the test must interrupt real work.
        #expect(kills.filter(\.interruptedWork).count == Self.killCount, "kills: \(kills)")
        try checkOutcome(mailroot, server: server, elapsed: ContinuousClock.now - started)
        checkPickupTakenOncePerRun(mailroot)
        withExtendedLifetime(scenario) {}
    }

    /// A pickup file may be queued twice only across a crash (queued, killed before its removal
    /// was durable). Twice within one run would be a double take with nobody killed: a bug.
    /// (Across runs the log cannot tell: a kill can land between the commit and its log line.)
    private func checkPickupTakenOncePerRun(_ mailroot: MailrootInstance) {
        for run in 1...(Self.killCount + 1) {
            let log = (try? String(contentsOfFile: mailroot.directory.file("mailroot-\(run).log"), encoding: .utf8)) ?? ""
            var names: [Substring: Int] = [:]
            for line in log.split(separator: "\n") {
                guard let range = line.range(of: ": pickup file=") else { continue }
                names[line[range.upperBound...].prefix { $0 != "," }, default: 0] += 1
            }
            let twice = names.filter { $0.value > 1 }.keys.sorted()
            #expect(twice.isEmpty, "run \(run) queued these pickup files more than once: \(twice.prefix(20))")
        }
    }

    /// Kill 1 lands a random 100–700 ms after start, while pickup files are still arriving; the
    /// later ones after a random number of further SMTP deliveries, so they hit busy couriers.
    private func waitForKillMoment(number: Int, server: SMTPTestServer) async throws {
        if number == 1 {
            try await Task.sleep(for: .milliseconds(Int.random(in: 100...700)))
            return
        }
        let target = Self.recordCount(server) + Int.random(in: 20...100)
        let deadline = ContinuousClock.now + .seconds(10)
        while Self.recordCount(server) < target, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        try await Task.sleep(for: .milliseconds(Int.random(in: 0...50)))
    }

    /// Writes every message the careful way (dot name, then rename) as fast as it can,
    /// whether or not mailroot is alive at that moment.
    private static func dropMessages(into mailroot: MailrootInstance) throws {
        for index in 0..<messageCount {
            let message = """
                From: Crash Sender <sender@localhost>
                To: remote\(index)@crash.test
                Cc: local\(index)@localhost
                Subject: crash test message \(index)
                Message-ID: <crash-\(index)@mailroot.test>
                \(tokenHeader)\(token(index))

                Message \(index) of \(messageCount).

                """
            try mailroot.dropIntoPickup(message, name: "crash-\(index).eml")
        }
    }

    static func token(_ index: Int) -> String { "T\(index)" }

    /// Polls cheap directory counts until pickup/ and queue/msg/ are empty, drop/ holds a copy per
    /// message and the SMTP server has recorded at least one message per token.
    private func waitUntilEverythingDelivered(_ mailroot: MailrootInstance, server: SMTPTestServer) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if Self.visibleFiles(mailroot.pickup).isEmpty, Self.visibleFiles("\(mailroot.queue)/msg").isEmpty,
               Self.visibleFiles(mailroot.drop).count >= Self.messageCount,
               Self.recordCount(server) >= Self.messageCount {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        // Not an error by itself: the checks below say exactly what is missing.
        print("crash test: gave up waiting; pickup=\(Self.visibleFiles(mailroot.pickup).count) "
              + "queue=\(Self.visibleFiles("\(mailroot.queue)/msg").count) drop=\(Self.visibleFiles(mailroot.drop).count) "
              + "smtp=\(Self.recordCount(server))")
    }

    private func checkOutcome(_ mailroot: MailrootInstance, server: SMTPTestServer, elapsed: Duration) throws {
        let expected = Set((0..<Self.messageCount).map(Self.token))

        let received = try server.receivedMessages()
        let smtpTokens = received.compactMap { Self.token(in: $0.text) }
        #expect(smtpTokens.count == received.count, "an SMTP message without its token")
        #expect(received.allSatisfy { $0.recipients.count == 1 && $0.recipients[0].hasSuffix("@crash.test") },
                "only the crash.test recipient may travel over SMTP")
        let missingSMTP = expected.subtracting(smtpTokens)
        #expect(missingSMTP.isEmpty, "lost over SMTP: \(missingSMTP.sorted().prefix(20)) (\(missingSMTP.count) in all)\n\(tail(mailroot.log))")

        let dropNames = Self.visibleFiles(mailroot.drop)
        let dropTokens = try dropNames.map { name in
            let text = try String(contentsOfFile: "\(mailroot.drop)/\(name)", encoding: .utf8)
            #expect(text.hasPrefix("x-sender: <sender@localhost>\r\nx-receiver: <local"), "\(name) is not a local copy: \(text.prefix(200))")
            return Self.token(in: text)
        }
        let missingDrop = expected.subtracting(dropTokens.compactMap { $0 })
        #expect(missingDrop.isEmpty, "lost in drop/: \(missingDrop.sorted().prefix(20)) (\(missingDrop.count) in all)\n\(tail(mailroot.log))")

        #expect(Self.visibleFiles(mailroot.badmail).isEmpty, "badmail: \(Self.visibleFiles(mailroot.badmail))")
        let corrupt = Self.visibleFiles("\(mailroot.queue)/corrupt")
        #expect(corrupt.isEmpty, "a killed queue must never leave corrupt files: \(corrupt)")
        #expect(Self.visibleFiles(mailroot.pickup).isEmpty, "pickup not emptied")
        for folder in ["msg", "state", "tmp"] {
            let left = Self.visibleFiles("\(mailroot.queue)/\(folder)")
            #expect(left.isEmpty, "queue/\(folder) not emptied: \(left.prefix(10))")
        }

        // Duplicates are allowed (a 250 or a queue commit whose bookkeeping died with the
        // process); they are printed so a regression in how many there are is visible.
        let smtpDuplicates = smtpTokens.count - Set(smtpTokens).count
        let dropDuplicates = dropTokens.count - Set(dropTokens).count
        let leftovers = ((try? FileManager.default.contentsOfDirectory(atPath: mailroot.drop)) ?? []).filter { $0.hasPrefix(".") }
        // A drop/ duplicate is a pickup file queued twice (under two queue IDs); an SMTP duplicate
        // beyond those is a 250 whose journal line died with the process.
        print("crash test: \(Self.messageCount) messages, \(Self.killCount) kills, \(elapsed): "
              + "SMTP received \(received.count) (\(smtpDuplicates) duplicates), drop/ \(dropNames.count) "
              + "(\(dropDuplicates) duplicates = pickup files queued twice), "
              + "leftover drop/ temporaries \(leftovers.count)")
    }

    static func token(in text: String) -> String? {
        guard let start = text.range(of: tokenHeader) else { return nil }
        return String(text[start.upperBound...].prefix { !$0.isNewline })
    }

    private func tail(_ log: String) -> String {
        "--- last mailroot log lines ---\n" + log.split(separator: "\n").suffix(40).joined(separator: "\n")
    }

    static func visibleFiles(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { !$0.hasPrefix(".") }
    }

    /// The server writes N.json last for each accepted message, so counting them is cheap and exact.
    static func recordCount(_ server: SMTPTestServer) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: server.recordDirectory)) ?? [])
            .filter { $0.hasSuffix(".json") }.count
    }
}

/// What was in flight when one SIGKILL landed.
private struct KillRecord: CustomStringConvertible {
    var number: Int
    var at: Duration
    var pickup: Int
    var queued: Int
    var smtp: Int

    var interruptedWork: Bool { pickup > 0 || queued > 0 }
    var description: String { "kill \(number) at \(at): \(pickup) in pickup, \(queued) queued, \(smtp) received by SMTP" }
}
