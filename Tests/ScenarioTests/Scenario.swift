// SPDX-License-Identifier: Apache-2.0
//
// SUMMARY
//   End-to-end scenarios: the real `mailroot serve` binary against real peers on loopback
//   (dnsmasq for DNS, aiosmtpd servers as the remote MX hosts), one rule of the relay per test.
//
// DESCRIPTION
//   A `Scenario` is one test's world: port 25 on test-owned loopback addresses for every fake MX
//   (mailroot's `[delivery] port = 25`), a dnsmasq serving the test zone, and a mailroot instance configured
//   with `hostname = "mailroot.test"`, a one-second retry and scan interval. Fake MX hosts bind
//   their own loopback address (127.0.40.10 upwards, from a process-wide counter) so tests running
//   in parallel, and the resolver tests' 127.0.0.x records, never collide.
//
// SAFETY
//   Nothing leaves 127.0.0.0/8; DNS comes only from the dnsmasq the test started. Every wait
//   polls an observable effect (a file, a log line, a recorded message) with a deadline.
//
// SEE ALSO
//   Tests/MailrootTestSupport (MailrootInstance, Dnsmasq, SMTPTestServer), README.md "Delivery".
import Foundation
import MailrootTestSupport
import Synchronization
import Testing

/// Hands out loopback addresses no other test uses.
enum Loopback {
    private static let counter = Atomic<Int>(0)

    static func next() -> String {
        let n = counter.add(1, ordering: .relaxed).newValue
        return "127.0.\(40 + n / 200).\(10 + n % 200)"
    }
}

/// One test's mailroot, DNS and port.
final class Scenario: @unchecked Sendable {
    static let hostname = "mailroot.test"

    let port: Int
    /// The fake MX hosts listen on port 25 of their own loopback addresses, as real ones would
    /// (the suite runs as root); each test has its own addresses, so tests never collide.
    static let mxPort = 25
    let dns: Dnsmasq
    let mailroot: MailrootInstance

    /// `records` is the test zone; `settings` are extra top-level keys, `delivery` extra
    /// `[delivery]` keys (the defaults here: retry every second, expire after an hour).
    init(port: Int, records: [Dnsmasq.Record], settings: String = "", delivery: String = "",
         label: String = "scenario") async throws {
        self.port = port
        dns = try await Dnsmasq(records: records)
        let expire = delivery.contains("expire") ? "" : "expire = \"1h\"\n"
        let config = MailrootInstance.config(
            hostname: Self.hostname, dnsPort: dns.port, deliveryPort: port,
            settings: "local_domains = [\"localhost\"]\n\(settings)",
            delivery: "retry = [\"1s\"]\nconnect_timeout = \"5s\"\n\(expire)\(delivery)")
        mailroot = try MailrootInstance(config: config, label: label)
    }

    /// Waits for the `pickup file=NAME` line and returns the queue ID mailroot gave that file.
    func queueID(ofPickupFile name: String) async throws -> String {
        try await mailroot.queueID(ofPickupFile: name)
    }

    /// Waits until the queue has finished with message `id` (every recipient sent or bounced).
    func waitUntilRemoved(_ id: String, timeout: Duration = .seconds(30)) async throws {
        try await mailroot.waitForLog(containing: "\(id): removed", timeout: timeout)
    }

    func read(_ folder: String, _ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(name)")))
    }

    /// Lines of the log that mention `id`, for asserting on the order of delivery events.
    func logLines(of id: String) -> [String] {
        mailroot.log.split(separator: "\n").map(String.init).filter { $0.contains(id) }
    }
}

/// A fake MX host on its own loopback address at the scenario port, with its DNS records.
struct FakeMX {
    let name: String
    let server: SMTPTestServer

    init(name: String, port: Int, options: SMTPTestServer.Options = .init()) async throws {
        self.name = name
        server = try await SMTPTestServer(host: Loopback.next(), port: port, options: options)
    }

    /// MX record for `domain` plus this host's A record.
    func records(for domain: String, preference: Int = 10) -> [Dnsmasq.Record] {
        [.mx(domain, host: name, preference: preference), .host(name, addresses: [server.host])]
    }
}

/// A pickup file with LF line endings, as most programs write them.
func mail(from: String, to: [String], subject: String, headers: [String] = [], body: String = "Hello.\n") -> String {
    var text = "From: \(from)\n"
    if !to.isEmpty { text += "To: \(to.joined(separator: ", "))\n" }
    text += "Subject: \(subject)\n"
    for header in headers { text += header + "\n" }
    return text + "\n" + body
}

/// The header fields of a CRLF message, unfolded, in order, as (lower-cased name, value).
func headerFields(of bytes: [UInt8]) -> [(name: String, value: String)] {
    let text = String(decoding: bytes, as: UTF8.self)
    let head = text.components(separatedBy: "\r\n\r\n").first ?? text
    var fields: [(name: String, value: String)] = []
    for line in head.components(separatedBy: "\r\n") {
        if let first = line.first, first == " " || first == "\t", !fields.isEmpty {
            fields[fields.count - 1].value += " " + line.trimmingCharacters(in: .whitespaces)
        } else if let colon = line.firstIndex(of: ":") {
            fields.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
    }
    return fields
}

/// The message body after the first blank line.
func body(of bytes: [UInt8]) -> String {
    let text = String(decoding: bytes, as: UTF8.self)
    guard let range = text.range(of: "\r\n\r\n") else { return "" }
    return String(text[range.upperBound...])
}

/// True when every LF in `bytes` is preceded by CR and no CR stands alone.
func hasOnlyCRLF(_ bytes: [UInt8]) -> Bool {
    for (index, byte) in bytes.enumerated() {
        if byte == 10, index == 0 || bytes[index - 1] != 13 { return false }
        if byte == 13, index + 1 >= bytes.count || bytes[index + 1] != 10 { return false }
    }
    return true
}

/// A self-signed certificate and key made by openssl for `commonName`, as PEM files in `directory`.
func makeSelfSignedCertificate(commonName: String, in directory: TemporaryDirectory) async throws -> (certificate: String, key: String) {
    let key = directory.file("key.pem"), certificate = directory.file("cert.pem")
    let openssl = try ChildProcess("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                                               "-out", certificate, "-days", "2", "-subj", "/CN=\(commonName)"],
                                   logPath: directory.file("openssl.log"))
    let status = await openssl.waitForExit()
    try #require(status == 0, "openssl failed: \(openssl.output)")
    return (certificate, key)
}

extension Scenario {
    /// A scenario whose mailroot has an SMTP listener with TLS and one `[[smtp.users]]` user `app1`,
    /// and whose DNS sends `remote.test` to `mx`. `ports` is the `[smtp]` port lines (listen,
    /// submission, …) and `relayNetworks` the networks that may relay without AUTH.
    static func authenticatedListener(ports: String, relayNetworks: String, certificate: String, key: String,
                                      passwordHash: String, remoteMX mx: SMTPTestServer, label: String) async throws -> Scenario {
        try await Scenario(
            port: mxPort,
            records: [.mx("remote.test", host: "mx.remote.test", preference: 10), .host("mx.remote.test", addresses: [mx.host])],
            settings: """

                [smtp]
                \(ports)
                relay_networks = ["\(relayNetworks)"]
                tls_certificate = "\(certificate)"
                tls_key = "\(key)"

                [[smtp.users]]
                name = "app1"
                password_hash = "\(passwordHash)"

                """, label: label)
    }
}
