// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailMessage
import MailrootTestSupport
import Testing

/// What `mailroot sendmail` refuses, with which sysexits.h code, and that a refusal writes nothing.
@Suite struct SendmailRefusalTests {
    @Test(arguments: [
        ["-f", "me@example.org\r\nBcc: victim@example.net", "you@example.net"],
        ["-f", "me@example.org\nx-receiver: victim@example.net", "you@example.net"],
        ["-F", "Name\r\nBcc: victim@example.net", "you@example.net"],
        ["-F", "Name\u{7}", "you@example.net"],
        ["you@example.net\r\nBcc: victim@example.net"],
        ["you@example.net\n"],
        ["-f", "not an address", "you@example.net"],
        ["-f", "a@example.org, b@example.org", "you@example.net"],
        ["you@@example.net"],
        ["\"unterminated@example.net"],
        ["you@example.net", "-i"],
        ["-f", "-oQ/tmp@example.org", "you@example.net"],
    ])
    func injectionOrInvalidAddressOnTheCommandLineIsAUsageError(arguments: [String]) async throws {
        let harness = try SendmailHarness()
        let result = try await harness.run(arguments, input: "Subject: s\n\nb\n")
        #expect(result.status == 64, "\(result.output)")
        #expect(result.output.contains("sendmail:"))
        #expect(harness.pickupEntries.isEmpty)
    }

    @Test func xSenderAndXReceiverInsideTheMessageNeverJoinTheEnvelope() async throws {
        let harness = try SendmailHarness()
        // A web form that lets a user start the message must not let them add recipients.
        let input = "x-receiver: victim@example.net\nx-sender: forged@example.org\nTo: you@example.net\nSubject: s\n\nb\n"
        #expect(try await harness.run(["-t", "-i"], input: input).status == 0)
        let parsed = try harness.parsedPickupFile()
        #expect(addresses(parsed.envelope) == ["you@example.net"])
        #expect(parsed.envelope.sender == SendmailHarness.userAddress)
        #expect(!String(decoding: parsed.message, as: UTF8.self).lowercased().contains("x-receiver"))
    }

    @Test func messageProblemsAreDataErrors() async throws {
        let nul = try SendmailHarness()
        #expect(try await nul.run(["you@example.net"], input: Array("Subject: s\n\nb\0ad\n".utf8)).status == 65)
        #expect(nul.pickupEntries.isEmpty)

        let noRecipients = try SendmailHarness()
        #expect(try await noRecipients.run(["-t", "-i"], input: "Subject: nobody\n\nb\n").status == 65)
        #expect(noRecipients.pickupEntries.isEmpty)

        let badTo = try SendmailHarness()
        #expect(try await badTo.run(["-t"], input: "To: <broken\nSubject: s\n\nb\n").status == 65)
        #expect(badTo.pickupEntries.isEmpty)

        let tooBig = try SendmailHarness(extraConfig: "max_message_size = 1024")
        let big = "Subject: big\n\n" + String(repeating: "0123456789abcdef\n", count: 200)
        #expect(try await tooBig.run(["-i", "you@example.net"], input: big).status == 65)
        #expect(tooBig.pickupEntries.isEmpty)
    }

    @Test func usageErrors() async throws {
        let harness = try SendmailHarness()
        for arguments in [[String](), ["-bp"], ["-bs"], ["-bd"], ["-q"], ["-Z", "you@example.net"], ["-B", "9BIT", "you@example.net"],
                          ["-N", "sometimes", "you@example.net"], ["-C", "/etc/postfix", "you@example.net"], ["-f"]] {
            let result = try await harness.run(arguments, input: "Subject: s\n\nb\n")
            #expect(result.status == 64, "\(arguments): \(result.output)")
        }
        #expect(harness.pickupEntries.isEmpty)
    }

    @Test func missingPickupDirectoryIsCantCreateAndABrokenConfigIsConfigError() async throws {
        let missing = try SendmailHarness(createPickup: false)
        let result = try await missing.run(["you@example.net"], input: "Subject: s\n\nb\n")
        #expect(result.status == 73, "\(result.output)")
        #expect(result.output.contains("pickup"))
        #expect(!FileManager.default.fileExists(atPath: missing.pickup), "sendmail must not invent a pickup directory nobody watches")

        let broken = try SendmailHarness()
        try "root = 42\n".write(toFile: broken.configPath, atomically: true, encoding: .utf8)
        #expect(try await broken.run(["you@example.net"], input: "Subject: s\n\nb\n").status == 78)
    }
}
