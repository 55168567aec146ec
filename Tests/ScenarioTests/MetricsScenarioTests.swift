// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailrootTestSupport
import Testing

/// `metrics_listen` seen from outside: a known run of the real binary, then a plain HTTP scrape.
@Suite struct MetricsScenarioTests {
    @Test func scrapeAfterAKnownRunCountsEachMessageAndBadFileExactlyOnce() async throws {
        let metricsPort = try freePort()
        let scenario = try await Scenario(port: Scenario.mxPort, records: [],
                                          settings: "metrics_listen = \"127.0.0.1:\(metricsPort)\"")
        try await scenario.mailroot.start()
        // Services start after "mailroot: serving" is logged; the endpoint says when it is bound.
        try await scenario.mailroot.waitForLog(containing: "metrics: serving")
        for index in 1...3 {
            try scenario.mailroot.dropIntoPickup(mail(from: "me@example.test", to: ["you@localhost"], subject: "m\(index)"))
        }
        try scenario.mailroot.dropIntoPickup("From: me@example.test\nSubject: no recipient\n\nnobody\n")
        try await scenario.mailroot.waitForFiles(in: scenario.mailroot.drop, count: 3)
        try await scenario.mailroot.waitForFiles(in: scenario.mailroot.badmail, count: 2)

        // The counters are bumped just after the files appear; wait for the queue gauge's next
        // update (once a second) to see the queue empty, which also covers those few instructions.
        let samples = try await scrape(port: metricsPort, until: { $0["mailroot_queue_messages"] == 0 && $0["mailroot_delivered_total"] == 3 })
        #expect(samples["mailroot_pickup_messages_total"] == 3)
        #expect(samples["mailroot_delivered_total"] == 3)
        #expect(samples["mailroot_badmail_total{reason_class=\"5.1\"}"] == 1)
        #expect(samples.filter { $0.key.hasPrefix("mailroot_badmail_total") }.values.reduce(0, +) == 1)
        #expect(!samples.keys.contains { $0.hasPrefix("mailroot_deferred_total") || $0.hasPrefix("mailroot_bounced_total") })
        #expect(samples["mailroot_queue_oldest_seconds"] == 0)
        #expect(samples["mailroot_delivery_active_connections"] == 0)

        let health = try await httpGet(port: metricsPort, path: "/healthz")
        #expect(health.status == 200)
        #expect(health.body == "ok\n")
        #expect(try await httpGet(port: metricsPort, path: "/nothing").status == 404)
    }

    @Test func messageReceivedOverSMTPAndRelayedIsCountedWithItsLatency() async throws {
        let mx = try await SMTPTestServer(host: Loopback.next(), port: Scenario.mxPort)
        defer { mx.stop() }
        let (metricsPort, smtpPort) = (try freePort(), try freePort())
        let scenario = try await Scenario(
            port: Scenario.mxPort,
            records: [.mx("remote.test", host: "mx.remote.test", preference: 10), .host("mx.remote.test", addresses: [mx.host])],
            settings: """
                metrics_listen = "127.0.0.1:\(metricsPort)"

                [smtp]
                listen = ["127.0.0.1:\(smtpPort)"]
                max_connections_per_ip = 2

                """, label: "metrics-smtp")
        try await scenario.mailroot.start()
        try await scenario.mailroot.waitForLog(containing: "metrics: serving")
        try await scenario.mailroot.waitForLog(containing: "smtp: listening on")
        let run = try await runClient("swaks", ["--server", "127.0.0.1:\(smtpPort)", "--from", "me@origin.test",
                                                "--to", "friend@remote.test", "--silent", "2"], in: scenario.mailroot.directory)
        try #require(run.status == 0, "\(run.output)\n--- mailroot log ---\n\(scenario.mailroot.log)")
        _ = try await mx.waitForMessages(count: 1)

        let samples = try await scrape(port: metricsPort, until: { $0["mailroot_delivery_latency_seconds_count"] == 1 })
        #expect(samples["mailroot_smtp_received_total"] == 1)
        #expect(samples["mailroot_pickup_messages_total"] == 0)
        #expect(samples["mailroot_delivered_total"] == 1)
        #expect(samples["mailroot_delivery_latency_seconds_count"] == 1)
        #expect(samples["mailroot_delivery_latency_seconds_bucket{le=\"+Inf\"}"] == 1)
        #expect((samples["mailroot_delivery_latency_seconds_sum"] ?? -1) >= 0)
        // One MX question for remote.test (cached afterwards), at least one address question.
        #expect(samples["mailroot_dns_lookup_seconds_count{type=\"MX\"}"] == 1)
        #expect((samples["mailroot_dns_lookup_seconds_count{type=\"A\"}"] ?? 0) >= 1)

        // Two sessions held open use up max_connections_per_ip; a third is refused with 421.
        let held = try [smtpGreeting(port: smtpPort), smtpGreeting(port: smtpPort)]
        defer { for connection in held { close(connection.fd) } }
        #expect(held.allSatisfy { $0.greeting.hasPrefix("220") }, "\(held.map(\.greeting))")
        let third = try smtpGreeting(port: smtpPort)
        close(third.fd)
        #expect(third.greeting.hasPrefix("421"), "\(third.greeting)")
        let connections = try await scrape(port: metricsPort, until: { $0["mailroot_smtp_connections_refused_total"] == 1 })
        #expect(connections["mailroot_smtp_connections_total"] == 3, "swaks and the two held sessions")
        #expect(connections["mailroot_smtp_connections_active"] == 2)
        #expect(connections["mailroot_smtp_connections_refused_total"] == 1)
    }

    @Test func aDeferredAttemptIsCountedByItsReasonClass() async throws {
        let metricsPort = try freePort()
        // Nothing listens on the MX's address: connection refused, 4.4.1.
        let scenario = try await Scenario(
            port: Scenario.mxPort,
            records: [.mx("down.test", host: "mx.down.test", preference: 10), .host("mx.down.test", addresses: [Loopback.next()])],
            settings: "metrics_listen = \"127.0.0.1:\(metricsPort)\"", delivery: "expire = \"1h\"", label: "metrics-deferred")
        try await scenario.mailroot.start()
        try await scenario.mailroot.waitForLog(containing: "metrics: serving")
        try scenario.mailroot.dropIntoPickup(mail(from: "me@example.test", to: ["you@down.test"], subject: "later"))
        try await scenario.mailroot.waitForLog(containing: "status=deferred")
        // The log line an administrator greps: the system's words, nothing of NIO's formatting.
        #expect(scenario.mailroot.log.contains(":25: connect failed: Connection refused)\n"), "\(scenario.mailroot.log)")
        let samples = try await scrape(port: metricsPort, until: { $0["mailroot_deferred_total{reason_class=\"4.4\"}"] != nil })
        #expect(samples["mailroot_deferred_total{reason_class=\"4.4\"}"] ?? 0 >= 1)
        #expect(samples["mailroot_delivered_total"] == 0)
    }

    @Test func aMessageRecoveredAtStartAndDeliveredIsCounted() async throws {
        // Recovery hands messages to delivery before the services start: the counters must
        // already report to Prometheus then, not to the no-op backend.
        let metricsPort = try freePort()
        let mxAddress = Loopback.next()
        let scenario = try await Scenario(
            port: Scenario.mxPort,
            records: [.mx("later.test", host: "mx.later.test", preference: 10), .host("mx.later.test", addresses: [mxAddress])],
            settings: "metrics_listen = \"127.0.0.1:\(metricsPort)\"", label: "metrics-recovered")
        try await scenario.mailroot.start()
        try scenario.mailroot.dropIntoPickup(mail(from: "me@example.test", to: ["you@later.test"], subject: "after a restart"))
        try await scenario.mailroot.waitForLog(containing: "status=deferred")
        scenario.mailroot.stop()
        // Due now (not a second after the deferral), so recovery itself dispatches it.
        let flush = try await runClient(MailrootInstance.binaryPath, ["queue", "flush", "--config", scenario.mailroot.configPath],
                                        in: scenario.mailroot.directory)
        try #require(flush.status == 0, "\(flush.output)")
        let mx = try await SMTPTestServer(host: mxAddress, port: Scenario.mxPort)
        defer { mx.stop() }
        try await scenario.mailroot.start()
        _ = try await mx.waitForMessages(count: 1)
        // The worker starts (gauge) and looks up the MX during recovery itself; its connection
        // stays open for the connection cache time (2 s), then the gauge returns to 0.
        let samples = try await scrape(port: metricsPort, until: {
            $0["mailroot_delivered_total"] == 1 && $0["mailroot_delivery_active_connections"] == 0
        })
        #expect(samples["mailroot_delivered_total"] == 1)
        #expect(samples["mailroot_delivery_active_connections"] == 0, "\(samples.keys.sorted())")
        #expect((samples["mailroot_dns_lookup_seconds_count{type=\"MX\"}"] ?? 0) >= 1, "\(samples.keys.sorted())")
    }

    @Test func healthzTurns503WhenTheQueueDirectoryIsNotWritable() async throws {
        let metricsPort = try freePort()
        let scenario = try await Scenario(port: Scenario.mxPort, records: [],
                                          settings: "metrics_listen = \"127.0.0.1:\(metricsPort)\"")
        try await scenario.mailroot.start()
        // Services start after "mailroot: serving" is logged; the endpoint says when it is bound.
        try await scenario.mailroot.waitForLog(containing: "metrics: serving")
        #expect(try await httpGet(port: metricsPort, path: "/healthz").status == 200)
        // Root ignores mode bits, so the queue is made unreachable instead: renamed away.
        let moved = scenario.mailroot.queue + ".away"
        #expect(rename(scenario.mailroot.queue, moved) == 0)
        defer { _ = rename(moved, scenario.mailroot.queue) }
        let sick = try await httpGet(port: metricsPort, path: "/healthz")
        #expect(sick.status == 503)
        #expect(sick.body.contains("not writable"))
    }
}

/// Scrapes until `done` holds for the parsed samples (a test's event that another process
/// cannot signal), at most 10 s; returns the last scrape.
private func scrape(port: Int, until done: ([String: Double]) -> Bool) async throws -> [String: Double] {
    let deadline = ContinuousClock.now + .seconds(10)
    var samples: [String: Double] = [:]
    repeat {
        let response = try await httpGet(port: port, path: "/metrics")
        #expect(response.status == 200)
        samples = parseExposition(response.body)
        if done(samples) { return samples }
        try await Task.sleep(for: .milliseconds(100))
    } while ContinuousClock.now < deadline
    return samples
}

/// "name{labels} value" lines of the Prometheus text format; comments skipped.
private func parseExposition(_ text: String) -> [String: Double] {
    var samples: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
        samples[String(line[..<space])] = value
    }
    return samples
}

/// A plain HTTP/1.1 GET over a socket: the server answers with `Connection: close`, so the
/// response is everything read until EOF.
private func httpGet(port: Int, path: String) async throws -> (status: Int, body: String) {
    try await Task.detached {
        let fd = try connectToLoopback(port: port)
        defer { close(fd) }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        guard send(fd, request, request.count, 0) == request.count else { throw POSIXError(.EIO) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count >= 0 else { throw POSIXError(.ETIMEDOUT) }
            if count == 0 { break }
            response += buffer[..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw POSIXError(.EPROTO) }
        let statusLine = text[..<split.lowerBound].split(separator: "\r\n").first ?? ""
        let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
        return (status, String(text[split.upperBound...]))
    }.value
}

/// Connects to the listener on 127.0.0.1 and reads its first reply line; the caller closes `fd`.
private func smtpGreeting(port: Int) throws -> (fd: Int32, greeting: String) {
    let fd = try connectToLoopback(port: port)
    var line: [UInt8] = []
    var byte: UInt8 = 0
    while recv(fd, &byte, 1, 0) == 1, byte != 0x0A { line.append(byte) }
    return (fd, String(decoding: line, as: UTF8.self))
}

/// A blocking TCP socket connected to 127.0.0.1:`port`, reads timing out after 10 s.
private func connectToLoopback(port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else {
        close(fd)
        throw POSIXError(.ECONNREFUSED)
    }
    return fd
}
