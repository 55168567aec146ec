// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailrootTestSupport
import NIOCore
@testable import SMTPServer
import Synchronization
import Testing

/// The client's reverse name in `Received:`, and that a slow lookup never holds up the dialogue.
@Suite struct ReverseNameTests {
    final class Calls: Sendable {
        let addresses = Mutex<[String]>([])
    }

    /// Sends one message with smtplib and prints the seconds to the greeting and to the end.
    static let sendTimed = """
    import smtplib, sys, time
    start = time.monotonic()
    s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example")
    print("GREETING %.3f" % (time.monotonic() - start))
    s.sendmail("alice@example.org", ["bob@local.test"], "Subject: hi\\r\\n\\r\\nbody\\r\\n")
    s.quit()
    print("SENT %.3f" % (time.monotonic() - start))
    """

    static func seconds(_ label: String, in output: String) -> Double? {
        output.split(separator: "\n").first { $0.hasPrefix(label + " ") }.flatMap { Double($0.dropFirst(label.count + 1)) }
    }

    static func receivedLine(_ receiver: InMemoryReceiver) async throws -> String {
        let messages = await receiver.messages
        try #require(messages.count == 1)
        let text = String(decoding: messages[0].content, as: UTF8.self).replacingOccurrences(of: "\r\n ", with: " ")
        return String(text.prefix { $0 != "\r" })
    }

    @Test func receivedFieldCarriesTheLookedUpNameBeforeTheAddress() async throws {
        let calls = Calls()
        let configuration = testConfiguration {
            $0.reverseLookup = { address in
                calls.addresses.withLock { $0.append(address.ipAddress ?? "?") }
                return "Client.Test."
            }
        }
        let receiver = InMemoryReceiver()
        let (status, output) = try await withServer(configuration, receiver: receiver) { port, _ in
            try await python(Self.sendTimed, port: port)
        }
        #expect(status == 0, "\(output)")
        #expect(try await Self.receivedLine(receiver).hasPrefix("Received: from client.example (client.test [127.0.0.1])"))
        #expect(calls.addresses.withLock { $0 } == ["127.0.0.1"])
    }

    @Test func slowLookupDelaysNeitherTheGreetingNorTheMessageBeyondTheBound() async throws {
        let configuration = testConfiguration {
            $0.reverseLookupTimeout = .milliseconds(500)
            $0.reverseLookup = { _ in
                try? await Task.sleep(for: .seconds(10))
                return "late.test"
            }
        }
        let receiver = InMemoryReceiver()
        let (status, output) = try await withServer(configuration, receiver: receiver) { port, _ in
            try await python(Self.sendTimed, port: port)
        }
        #expect(status == 0, "\(output)")
        let greeting = try #require(Self.seconds("GREETING", in: output), "\(output)")
        let sent = try #require(Self.seconds("SENT", in: output), "\(output)")
        #expect(greeting < 0.5, "greeting after \(greeting) s")
        #expect(sent < 3, "message done after \(sent) s")
        #expect(try await Self.receivedLine(receiver).hasPrefix("Received: from client.example ([127.0.0.1])"))
    }

    @Test func nameThatCouldForgeTheTraceFieldIsLeftOut() async throws {
        let configuration = testConfiguration { $0.reverseLookup = { _ in "x.test) by forged.example (" } }
        let receiver = InMemoryReceiver()
        let (status, output) = try await withServer(configuration, receiver: receiver) { port, _ in
            try await python(Self.sendTimed, port: port)
        }
        #expect(status == 0, "\(output)")
        #expect(try await Self.receivedLine(receiver).hasPrefix("Received: from client.example ([127.0.0.1])"))
    }

    @Test func onlyPlainHostnamesAreAccepted() {
        #expect(ReceivedField.verifiedName("Mail-1.Example.ORG.") == "mail-1.example.org")
        for bad in ["", ".", "a..b", "a b.test", "a\r\nb.test", "ex\u{e4}mple.test", "a\\032b.test",
                    String(repeating: "a", count: 64) + ".test", String(repeating: "abc.", count: 64) + "test"] {
            #expect(ReceivedField.verifiedName(bad) == nil, "\(bad)")
        }
    }

    @Test func boundedLookupGivesUpOnAnOperationThatIgnoresCancellation() async {
        let clock = ContinuousClock()
        let start = clock.now
        let name = await ClientNameLookup.bounded(.milliseconds(100)) {
            // Sleeps in a detached task, so cancelling the lookup does not end it early.
            await Task.detached { try? await Task.sleep(for: .seconds(3)) }.value
            return "late.test"
        }
        #expect(name == nil)
        #expect(clock.now - start < .seconds(2))
    }
}
