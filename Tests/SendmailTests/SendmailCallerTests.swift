// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailMessage
import MailrootTestSupport
import Pickup
import Testing

/// `mailroot sendmail` driven the way real programs call /usr/sbin/sendmail; each file it leaves
/// in pickup/ is read back with the daemon's own pickup parser.
@Suite struct SendmailCallerTests {
    @Test func phpMailStyleTakesRecipientsFromHeadersAndAddsFromDateMessageID() async throws {
        let harness = try SendmailHarness()
        // PHP's mail() runs `sendmail -t -i` and writes To:, Subject:, its extra headers, then LF-ended text.
        let input = "To: alice@example.org, Bob <bob@example.org>\nCc: carol@example.org\nBcc: hidden@example.org\n"
            + "Subject: Your order\nX-Mailer: PHP/8.3\n\nThanks for ordering.\n.\nThe line above is a lone dot.\n"
        let result = try await harness.run(["-t", "-i"], input: input)
        #expect(result.status == 0, "\(result.output)")

        let parsed = try harness.parsedPickupFile()
        #expect(parsed.envelope.sender == SendmailHarness.userAddress)
        #expect(addresses(parsed.envelope) == ["alice@example.org", "bob@example.org", "carol@example.org", "hidden@example.org"])
        let fields = try headerFields(parsed.message)
        #expect(!fields.contains { $0.name == "bcc" }, "Bcc must not reach the recipients")
        #expect(fields.first { $0.name == "subject" }?.value == "Your order")
        #expect(fields.first { $0.name == "from" }?.value.hasSuffix("<\(SendmailHarness.userAddress)>") == true)
        #expect(fields.filter { $0.name == "date" }.count == 1)
        let messageID = try #require(fields.first { $0.name == "message-id" }?.value)
        #expect(messageID.hasSuffix("@\(SendmailHarness.hostname)>"))
        #expect(try body(parsed.message) == "Thanks for ordering.\r\n.\r\nThe line above is a lone dot.\r\n")
    }

    @Test func cronStyleQualifiesTheBareRecipientAndUsesTheFullName() async throws {
        let harness = try SendmailHarness()
        // cronie and Debian cron: MAILCMD "%s -FCronDaemon -i -B8BITMIME -oem %s" with the MAILTO user.
        let input = "From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@box> run-parts /etc/cron.daily\n"
            + "MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n"
            + "Auto-Submitted: auto-generated\nPrecedence: bulk\n\nrun-parts: /etc/cron.daily/logrotate exited with return code 1\n"
        let result = try await harness.run(["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"], input: input)
        #expect(result.status == 0, "\(result.output)")
        let parsed = try harness.parsedPickupFile()
        #expect(addresses(parsed.envelope) == ["root@\(SendmailHarness.hostname)"])
        #expect(parsed.envelope.sender == SendmailHarness.userAddress)
        let fields = try headerFields(parsed.message)
        // The message has its own From:, so -F changes nothing in it.
        #expect(fields.filter { $0.name == "from" }.map(\.value) == ["root (Cron Daemon)"])
        #expect(fields.contains { $0.name == "auto-submitted" })
    }

    @Test func fullNameGoesIntoTheAddedFromField() async throws {
        let harness = try SendmailHarness()
        let result = try await harness.run(["-F", "Backup \"Nightly\" Job", "ops@example.org"], input: "Subject: done\n\nok\n")
        #expect(result.status == 0, "\(result.output)")
        let fields = try headerFields(harness.onlyPickupFile())
        #expect(fields.first { $0.name == "from" }?.value == "\"Backup \\\"Nightly\\\" Job\" <\(SendmailHarness.userAddress)>")

        let utf8 = try SendmailHarness()
        #expect(try await utf8.run(["-FJürgen Müller", "ops@example.org"], input: "Subject: x\n\nok\n").status == 0)
        let from = try #require(try headerFields(utf8.onlyPickupFile()).first { $0.name == "from" }?.value)
        #expect(from == "=?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <\(SendmailHarness.userAddress)>")
    }

    @Test func recipientArgumentsAcceptListsAndNamesAndAreAddedToHeaderRecipients() async throws {
        let harness = try SendmailHarness()
        let result = try await harness.run(["-t", "--", "ann@example.org, Ben <ben@example.net>", "admin", "to@example.org"],
                                           input: "To: to@example.org\nSubject: s\n\nb\n")
        #expect(result.status == 0, "\(result.output)")
        let parsed = try harness.parsedPickupFile()
        // Postfix order: command-line recipients, then those from the headers; duplicates once.
        #expect(addresses(parsed.envelope) == ["ann@example.org", "ben@example.net", "admin@\(SendmailHarness.hostname)", "to@example.org"])
    }

    @Test func dashFSetsTheEnvelopeSenderAndTheAddedFrom() async throws {
        let harness = try SendmailHarness()
        #expect(try await harness.run(["-f", "bounces@example.org", "-N", "failure,delay", "you@example.net"], input: "Subject: s\n\nb\n").status == 0)
        let parsed = try harness.parsedPickupFile()
        #expect(parsed.envelope.sender == MailAddress("bounces@example.org"))
        #expect(parsed.envelope.recipients.first?.notify == "FAILURE,DELAY")
        // Postfix builds the missing From: from the envelope sender, not from the login name.
        #expect(try headerFields(parsed.message).first { $0.name == "from" }?.value.hasSuffix("<bounces@example.org>") == true)

        for nullSender in ["<>", ""] {
            let null = try SendmailHarness()
            let result = try await null.run(["-f", nullSender, "you@example.net"], input: "From: me@example.org\n\nb\n")
            #expect(result.status == 0, "\(result.output)")
            #expect(try null.parsedPickupFile().envelope.sender == nil, "-f '\(nullSender)' is the null sender")
        }
        let attached = try SendmailHarness()
        #expect(try await attached.run(["-fme@example.org", "-ti"], input: "To: x@example.net\n\nb\n").status == 0)
        #expect(try attached.parsedPickupFile().envelope.sender == MailAddress("me@example.org"))
    }

    @Test func withoutDashILoneDotEndsTheMessageAndWithItTheDotIsKept() async throws {
        let classic = try SendmailHarness()
        #expect(try await classic.run(["you@example.net"], input: "Subject: s\n\nfirst\n..not the end\n.\nnever sent\n").status == 0)
        #expect(try body(classic.parsedPickupFile().message) == "first\r\n..not the end\r\n")

        let crlf = try SendmailHarness()
        #expect(try await crlf.run(["you@example.net"], input: "Subject: s\r\n\r\nfirst\r\n.\r\nnever sent\r\n").status == 0)
        #expect(try body(crlf.parsedPickupFile().message) == "first\r\n")

        for flag in ["-i", "-oi"] {
            let keep = try SendmailHarness()
            #expect(try await keep.run([flag, "you@example.net"], input: "Subject: s\n\nfirst\n.\nsecond\n").status == 0)
            #expect(try body(keep.parsedPickupFile().message) == "first\r\n.\r\nsecond\r\n")
        }
    }

    @Test func withADotStuffedPickupDirectoryLeadingDotsSurvive() async throws {
        let harness = try SendmailHarness(extraConfig: "[pickup]\ndot_stuffed = true")
        #expect(try await harness.run(["-i", "you@example.net"], input: "Subject: s\n\n.hidden\n.\n..two\n").status == 0)
        #expect(try body(harness.parsedPickupFile(dotStuffed: true).message) == ".hidden\r\n.\r\n..two\r\n")
    }

    @Test func aMessageWithoutHeadersBecomesTheBody() async throws {
        let harness = try SendmailHarness()
        // `echo hello | sendmail root` and `mail`-less scripts: no header section at all.
        #expect(try await harness.run(["root"], input: "disk almost full: 97%\n").status == 0)
        let parsed = try harness.parsedPickupFile()
        #expect(try body(parsed.message) == "disk almost full: 97%\r\n")
        let names = try headerFields(parsed.message).map(\.name)
        #expect(names.contains("from") && names.contains("date") && names.contains("message-id"))
    }

    @Test func invokedThroughALinkNamedSendmailItReadsMailrootConfig() async throws {
        let harness = try SendmailHarness()
        let link = harness.directory.file("sendmail")
        #expect(symlink(MailrootInstance.binaryPath, link) == 0)
        let result = try await harness.run(["-t", "-i"], input: "To: linked@example.org\nSubject: via link\n\nb\n",
                                           executable: link, environment: ["MAILROOT_CONFIG": harness.configPath])
        #expect(result.status == 0, "\(result.output)")
        #expect(addresses(try harness.parsedPickupFile().envelope) == ["linked@example.org"])

        // Same environment variable, through the subcommand without --config.
        let second = try SendmailHarness()
        let viaSubcommand = try await second.run(["x@example.org"], input: "Subject: s\n\nb\n",
                                                 environment: ["MAILROOT_CONFIG": second.configPath], useConfigFlag: false)
        #expect(viaSubcommand.status == 0, "\(viaSubcommand.output)")
        #expect(second.pickupEntries.count == 1)
    }

    @Test func ignoredLegacyOptionsAndNewaliasesSucceed() async throws {
        let harness = try SendmailHarness()
        let result = try await harness.run(["-odi", "-oem", "-om", "-v", "-U", "-L", "label", "-h", "30", "-O", "x=y", "-R", "hdrs", "-Am", "you@example.net"],
                                           input: "Subject: s\n\nb\n")
        #expect(result.status == 0, "\(result.output)")
        #expect(harness.pickupEntries.count == 1)

        let aliases = try SendmailHarness()
        for arguments in [["-bi"], ["-I"], ["-q30m"]] {
            #expect(try await aliases.run(arguments, input: "").status == 0)
        }
        #expect(aliases.pickupEntries.isEmpty)
    }

    @Test func endToEndAMessageFromSendmailLandsInDropWithoutWaitingForAScan() async throws {
        // An hour between scans: only the watcher's event for the file can bring it in time.
        let instance = try MailrootInstance(config: """
            hostname = "\(SendmailHarness.hostname)"
            local_domains = ["localhost"]
            [pickup]
            scan_interval = "1h"
            """, label: "sendmail-e2e")
        try await instance.start()
        let harness = try SendmailHarness()
        let result = try await harness.run(["--config", instance.configPath, "-i", "you@localhost"], input: "Subject: e2e\n\nhello\n",
                                           useConfigFlag: false)
        #expect(result.status == 0, "\(result.output)")
        let drops = try await instance.waitForFiles(in: instance.drop, count: 1)
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: "\(instance.drop)/\(drops[0])")), as: UTF8.self)
        #expect(text.contains("x-receiver: <you@localhost>"))
        #expect(text.contains("Subject: e2e"))
    }
}
