// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailrootTestSupport
import Synchronization
import Testing

/// The SMTP listener inside the real daemon (README "The SMTP listener"): real clients (swaks,
/// Python's smtplib) talk to `mailroot serve`, and what they hand over is queued and delivered by
/// the same rules as the pickup's files. Protocol details and hostile clients are proven against
/// the listener alone in SMTPServerTests; these prove the assembly: config → listener → queue →
/// delivery or drop/.
@Suite struct ListenerScenarioTests {
    /// A scenario whose mailroot listens on 127.0.0.1:`listen`; `smtp` adds `[smtp]` keys.
    static func world(listen: Int, deliveryPort: Int = Scenario.mxPort, records: [Dnsmasq.Record] = [],
                      smtp: String = "") async throws -> Scenario {
        let scenario = try await Scenario(port: deliveryPort, records: records, settings: """

            [smtp]
            listen = ["127.0.0.1:\(listen)"]
            \(smtp)

            """, label: "listener")
        try await scenario.mailroot.start()
        try await scenario.mailroot.waitForLog(containing: "smtp: listening on 127.0.0.1:\(listen)")
        return scenario
    }

    @Test func swaksToALocalDomainLandsInDropWithAReceivedLineNamingTheClient() async throws {
        let port = try freePort()
        let scenario = try await Self.world(listen: port)
        let run = try await runClient("swaks", ["--server", "127.0.0.1:\(port)", "--ehlo", "client.example",
                                                "--from", "sender@example.com", "--to", "you@localhost",
                                                "--header", "Subject: via swaks"], in: scenario.mailroot.directory)
        #expect(run.status == 0, "\(run.output)")
        let reply = try #require(run.output.split(separator: "\n").first { $0.contains("250 2.0.0 Ok: queued as ") })
        let id = try #require(reply.split(separator: " ").last.map(String.init))

        let names = try await scenario.mailroot.waitForFiles(in: scenario.mailroot.drop, count: 1)
        #expect(names == ["\(id)-0.eml"])
        let fields = headerFields(of: try scenario.read(scenario.mailroot.drop, names[0]))
        #expect(fields.first { $0.name == "x-receiver" }?.value == "<you@localhost>")
        let received = try #require(fields.first { $0.name == "received" }?.value)
        #expect(received.hasPrefix("from client.example ([127.0.0.1]) by \(Scenario.hostname)"), "\(received)")
        #expect(received.contains("with ESMTP id \(id)"), "\(received)")
        #expect(fields.first { $0.name == "subject" }?.value == "via swaks")
        try await scenario.waitUntilRemoved(id)
        #expect(scenario.mailroot.log.contains("\(id): client=smtp:[127.0.0.1]"))
    }

    @Test func smtplibRelaysToARemoteDomainThroughItsMX() async throws {
        let port = try freePort()
        let mx = try await ListenerMX(name: "mx.remote.test")
        // Stopped explicitly: a ChildProcess is kept alive by its reaper thread, so its deinit
        // would not run and the peer would outlive the test holding port 25.
        defer { mx.server.stop() }
        let scenario = try await Self.world(listen: port, records: mx.records(for: "remote.test"))
        let result = try await smtplib(port: port, from: "sender@example.com", to: ["friend@remote.test"],
                                       in: scenario)
        #expect(result.rcpt.map(\.code) == [250])
        let data = try #require(result.data)
        #expect(data.code == 250, "\(data.text)")
        let id = try #require(data.text.split(separator: " ").last.map(String.init))

        let message = try await mx.server.waitForMessages(count: 1)[0]
        #expect(message.mailFrom == "sender@example.com")
        #expect(message.recipients == ["friend@remote.test"])
        #expect(message.helo == Scenario.hostname)
        let received = try #require(headerFields(of: message.data).first { $0.name == "received" }?.value)
        #expect(received.hasPrefix("from client.example ([127.0.0.1]) by \(Scenario.hostname)"), "\(received)")
        #expect(received.contains("id \(id)"))
        #expect(body(of: message.data) == "Hello over SMTP.\r\n")
        try await scenario.waitUntilRemoved(id)
        #expect(scenario.mailroot.log.contains("relay=mx.remote.test[\(mx.server.host)]:\(Scenario.mxPort)"))
    }

    @Test func aClientOutsideRelayNetworksMayNotRelayButLocalMailIsAccepted() async throws {
        let port = try freePort()
        let mx = try await ListenerMX(name: "mx.remote.test")
        // Stopped explicitly: a ChildProcess is kept alive by its reaper thread, so its deinit
        // would not run and the peer would outlive the test holding port 25.
        defer { mx.server.stop() }
        let scenario = try await Self.world(listen: port, records: mx.records(for: "remote.test"),
                                            smtp: "relay_networks = [\"127.0.0.1/32\"]")
        let result = try await smtplib(
            port: port, source: "127.0.0.5", from: "stranger@example.com",
            to: ["friend@remote.test", "friend%remote.test@localhost", "you@localhost"], in: scenario)
        #expect(result.rcpt[0].code == 554, "\(result.rcpt)")
        #expect(result.rcpt[0].text.hasPrefix("5.7.1"), "\(result.rcpt)")
        #expect(result.rcpt[1].code >= 500, "a %-hack never opens the relay: \(result.rcpt)")
        #expect(result.rcpt[2].code == 250, "\(result.rcpt)")
        let data = try #require(result.data)
        #expect(data.code == 250, "\(data.text)")
        let id = try #require(data.text.split(separator: " ").last.map(String.init))

        try await scenario.waitUntilRemoved(id)
        #expect(scenario.mailroot.files(in: scenario.mailroot.drop) == ["\(id)-0.eml"])
        let fields = headerFields(of: try scenario.read(scenario.mailroot.drop, "\(id)-0.eml"))
        #expect(fields.filter { $0.name == "x-receiver" }.map(\.value) == ["<you@localhost>"])
        #expect(fields.first { $0.name == "received" }?.value.contains("[127.0.0.5]") == true)
        #expect(try mx.server.receivedMessages().isEmpty)
    }

    @Test func starttlsWithTheConfiguredCertificateCarriesTheMessage() async throws {
        let port = try freePort()
        let directory = try TemporaryDirectory("listener-tls")
        let certificate = directory.file("cert.pem"), key = directory.file("key.pem")
        let openssl = try await runClient("openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate,
            "-days", "2", "-subj", "/CN=\(Scenario.hostname)",
        ], in: directory)
        try #require(openssl.status == 0, "\(openssl.output)")
        let scenario = try await Self.world(listen: port, smtp: """
            tls_certificate = "\(certificate)"
            tls_key = "\(key)"
            """)
        #expect(scenario.mailroot.log.contains("STARTTLS offered"))
        let result = try await smtplib(port: port, starttls: true, from: "sender@example.com", to: ["you@localhost"],
                                       in: scenario)
        #expect(result.starttls == 220)
        #expect(["TLSv1.2", "TLSv1.3"].contains(result.tlsVersion ?? ""), "\(result.tlsVersion ?? "no TLS")")
        #expect(result.ehloBeforeTLS.contains("STARTTLS"))
        let data = try #require(result.data)
        #expect(data.code == 250, "\(data.text)")
        let id = try #require(data.text.split(separator: " ").last.map(String.init))

        let names = try await scenario.mailroot.waitForFiles(in: scenario.mailroot.drop, count: 1)
        #expect(names == ["\(id)-0.eml"])
        let received = try #require(headerFields(of: try scenario.read(scenario.mailroot.drop, names[0]))
            .first { $0.name == "received" }?.value)
        #expect(received.contains("with ESMTPS"), "\(received)")
    }

    @Test func anMXPointingAtOurOwnListenerIsAMailLoopNotARelayToOurselves() async throws {
        let port = try freePort()
        // Delivery uses the listener's port on every MX, and the MX resolves to the listener's
        // address: without the self check mailroot would relay the message to itself.
        let scenario = try await Self.world(listen: port, deliveryPort: port, records: [
            .mx("loop.test", host: "mx.loop.test", preference: 10), .host("mx.loop.test", addresses: ["127.0.0.1"]),
        ])
        let result = try await smtplib(port: port, from: "sender@localhost", to: ["user@loop.test"], in: scenario)
        let data = try #require(result.data)
        #expect(data.code == 250, "\(data.text)")
        let id = try #require(data.text.split(separator: " ").last.map(String.init))

        try await scenario.waitUntilRemoved(id)
        // The bounce goes to sender@localhost, so it lands in drop/.
        let names = try await scenario.mailroot.waitForFiles(in: scenario.mailroot.drop, count: 1)
        let report = try await DeliveryStatusReport.parse(try scenario.read(scenario.mailroot.drop, names[0]))
        let recipient = try report.checkedSingleFailure()
        #expect(recipient["final-recipient"] == "rfc822; user@loop.test")
        #expect(recipient["status"] == "5.4.6")
        #expect(scenario.mailroot.log.contains("loops back to myself"))
        // Exactly one message ever came in over SMTP: the original, never a relayed copy.
        let arrivals = scenario.mailroot.log.split(separator: "\n").filter { $0.contains(": client=smtp:") }
        #expect(arrivals.count == 1, "\(arrivals)")
    }

    @Test func sigtermWithAnIdleClientSends421AndExitsCleanly() async throws {
        let port = try freePort()
        let scenario = try await Self.world(listen: port)
        let process = try #require(scenario.mailroot.process)
        let client = try ChildProcess("python3", ["-u", "-c", Self.idleClient, String(port)],
                                      logPath: scenario.mailroot.directory.file("idle-client.log"))
        try await client.waitForOutput(containing: "greeted: 220")

        let started = ContinuousClock.now
        kill(process.pid, SIGTERM)
        let status = await process.waitForExit()
        #expect(status == 0, "\(scenario.mailroot.log)")
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(scenario.mailroot.log.contains("mailroot: stopped"))
        #expect(await client.waitForExit() == 0)
        #expect(client.output.contains("421 4.3.2"), "\(client.output)")
        // The socket is closed: nobody answers on the port any more.
        let probe = try await runClient("python3", ["-c", "import socket,sys; socket.create_connection(('127.0.0.1', \(port)), 2)"],
                                        in: scenario.mailroot.directory)
        #expect(probe.status != 0)
    }

    /// Reads the greeting, says EHLO, then prints every line until the server closes.
    static let idleClient = #"""
        import socket, sys
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
        f = s.makefile("rb")
        print("greeted:", f.readline().decode().strip(), flush=True)
        s.sendall(b"EHLO idle.example\r\n")
        s.settimeout(30)
        for line in f:
            print(line.decode().strip(), flush=True)
        """#
}

/// A fake MX on port 25 of an address in 127.0.60.0/24, which only these tests use (the other
/// scenarios take 127.0.40.x upwards from `Loopback`, possibly in another test process).
struct ListenerMX {
    private static let counter = Atomic<Int>(0)
    let name: String
    let server: SMTPTestServer

    init(name: String) async throws {
        self.name = name
        let n = Self.counter.add(1, ordering: .relaxed).newValue
        server = try await SMTPTestServer(host: "127.0.60.\(10 + n % 200)", port: Scenario.mxPort)
    }

    func records(for domain: String) -> [Dnsmasq.Record] {
        [.mx(domain, host: name, preference: 10), .host(name, addresses: [server.host])]
    }
}

/// What `smtplib` saw, one entry per command (Tests/peers style: the script prints JSON).
struct SMTPLibResult: Decodable {
    struct Reply: Decodable {
        var code: Int
        var text: String
    }
    var ehloBeforeTLS: String
    var starttls: Int?
    var tlsVersion: String?
    var mail: Reply
    var rcpt: [Reply]
    var data: Reply?
}

/// Sends one message with Python's smtplib from `source` (a loopback address) and reports every
/// reply; DATA is sent only if a recipient was accepted.
func smtplib(port: Int, source: String = "127.0.0.1", starttls: Bool = false, from: String, to: [String],
             in scenario: Scenario) async throws -> SMTPLibResult {
    let request: [String: Any] = ["port": port, "source": source, "starttls": starttls, "from": from, "to": to,
                                  "message": "From: <\(from)>\r\nTo: <\(to[0])>\r\nSubject: smtplib\r\n\r\nHello over SMTP.\r\n"]
    let json = String(decoding: try JSONSerialization.data(withJSONObject: request), as: UTF8.self)
    let run = try await runClient("python3", ["-c", smtplibScript, json], in: scenario.mailroot.directory)
    try #require(run.status == 0, "smtplib failed:\n\(run.output)\n--- mailroot log ---\n\(scenario.mailroot.log)")
    let line = try #require(run.output.split(separator: "\n").last { $0.hasPrefix("{") })
    return try JSONDecoder().decode(SMTPLibResult.self, from: Data(line.utf8))
}

private let smtplibScript = #"""
    import json, smtplib, ssl, sys
    args = json.loads(sys.argv[1])
    s = smtplib.SMTP("127.0.0.1", args["port"], local_hostname="client.example",
                     source_address=(args["source"], 0), timeout=30)
    reply = lambda r: {"code": r[0], "text": r[1].decode() if isinstance(r[1], bytes) else str(r[1])}
    out = {"ehloBeforeTLS": s.ehlo()[1].decode()}
    if args["starttls"]:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        out["starttls"] = s.starttls(context=context)[0]
        out["tlsVersion"] = s.sock.version()
        s.ehlo()
    out["mail"] = reply(s.mail(args["from"]))
    out["rcpt"] = [reply(s.rcpt(r)) for r in args["to"]]
    if any(r["code"] == 250 for r in out["rcpt"]):
        out["data"] = reply(s.data(args["message"].encode()))
    s.quit()
    print(json.dumps(out))
    """#

/// Runs a client program to completion and returns its exit status and output.
func runClient(_ executable: String, _ arguments: [String], in directory: TemporaryDirectory) async throws -> (status: Int32, output: String) {
    try requirePeer(executable)
    let log = directory.file("client-\(UUID().uuidString).log")
    let process = try ChildProcess(executable, arguments, logPath: log)
    let status = await process.waitForExit()
    return (status, process.output)
}
