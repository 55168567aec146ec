// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A fake mail server for tests: Tests/peers/smtp_server.py (aiosmtpd) started on a loopback
/// address, recording every accepted message. Use one per fake MX host (e.g. 127.0.0.2:25).
public final class SMTPTestServer: @unchecked Sendable {
    public struct Options: Sendable {
        /// Offer STARTTLS with this certificate and key (PEM files).
        public var tlsCertificate: String?
        /// Offer STARTTLS but complete no handshake a modern client accepts (TLS 1.0 only).
        public var brokenTLS = false
        public var tlsKey: String?
        /// RCPT to these addresses gets `550 5.1.1`.
        public var rejectRecipients: [String] = []
        /// RCPT to these addresses gets `451 4.3.0`.
        public var deferRecipients: [String] = []
        /// The first N transactions' DATA get `451 4.3.0`, later ones are accepted.
        public var deferFirst: Int = 0
        /// Anything but 220 gives a server that only refuses (and answers QUIT).
        public var greetingCode: Int = 220
        public var eightBitMIME: Bool = true
        /// Announced SIZE limit; nil announces none.
        public var sizeLimit: Int?
        public var smtpUTF8: Bool = false
        /// Announce PIPELINING (aiosmtpd reads pipelined commands in order).
        public var pipelining: Bool = false
        /// Announce DSN (parameters are recorded in `mailOptions`/`recipientOptions`).
        public var dsn: Bool = false
        /// Hold every DATA reply until `releaseStalledData()`; `waitForStalledData` sees it start.
        public var stallData: Bool = false

        public init() {}

        var arguments: [String] {
            var result: [String] = []
            if let tlsCertificate, let tlsKey { result += ["--tls-cert", tlsCertificate, "--tls-key", tlsKey] }
            if brokenTLS { result.append("--tls-broken") }
            for address in rejectRecipients { result += ["--reject-rcpt", address] }
            for address in deferRecipients { result += ["--defer-rcpt", address] }
            if deferFirst > 0 { result += ["--defer-first", String(deferFirst)] }
            if greetingCode != 220 { result += ["--greeting-code", String(greetingCode)] }
            if !eightBitMIME { result.append("--no-8bitmime") }
            if let sizeLimit { result += ["--size", String(sizeLimit)] }
            if smtpUTF8 { result.append("--smtputf8") }
            if pipelining { result.append("--pipelining") }
            if dsn { result.append("--dsn") }
            if stallData { result.append("--stall-data") }
            return result
        }
    }

    /// One accepted message as the server saw it.
    public struct ReceivedMessage: Sendable {
        public var mailFrom: String
        public var recipients: [String]
        public var helo: String?
        public var tls: Bool
        public var mailOptions: [String]
        public var recipientOptions: [[String]]
        /// The DATA content byte-exact, after de-dot-stuffing, including the final CRLF.
        public var data: [UInt8]
        public var text: String { String(decoding: data, as: UTF8.self) }
    }

    public let host: String
    public let port: Int
    public let recordDirectory: String
    public let process: ChildProcess
    private let directory: TemporaryDirectory

    /// The peer script, found next to this file so tests work from any working directory.
    public static var scriptPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("peers/smtp_server.py").path
    }

    /// Starts the server on `host:port` (a free port when nil) and waits until it listens.
    public init(host: String = "127.0.0.1", port: Int? = nil, options: Options = Options()) async throws {
        try requirePeer("python3")
        let directory = try TemporaryDirectory("smtp-peer")
        let port = try port ?? freePort(host: host)
        let records = directory.file("records")
        self.host = host
        self.port = port
        self.recordDirectory = records
        self.directory = directory
        self.process = try ChildProcess("python3", ["-u", Self.scriptPath, "--host", host, "--port", String(port),
                                                     "--record-dir", records] + options.arguments,
                                        logPath: directory.file("server.log"))
        try await process.waitForOutput(containing: "READY")
    }

    public func stop() { process.stop() }

    /// Everything accepted so far, in order.
    public func receivedMessages() throws -> [ReceivedMessage] {
        var messages: [ReceivedMessage] = []
        var index = 1
        while FileManager.default.fileExists(atPath: "\(recordDirectory)/\(index).json") {
            messages.append(try Self.load("\(recordDirectory)/\(index)"))
            index += 1
        }
        return messages
    }

    /// Waits until at least `count` messages were accepted. Polls the record directory: the
    /// child's files are the only signal it gives.
    public func waitForMessages(count: Int, timeout: Duration = .seconds(20)) async throws -> [ReceivedMessage] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let messages = try receivedMessages()
            if messages.count >= count { return messages }
            guard ContinuousClock.now < deadline else {
                throw PeerError.notReady(name: "smtp_server.py", marker: "\(count) messages, got \(messages.count)", output: process.output)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// With `stallData`: waits until transaction `number` (from 1) is held in DATA.
    public func waitForStalledData(_ number: Int = 1, timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !FileManager.default.fileExists(atPath: "\(recordDirectory)/\(number).started") {
            guard ContinuousClock.now < deadline else {
                throw PeerError.notReady(name: "smtp_server.py", marker: "DATA \(number) started", output: process.output)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// With `stallData`: lets every held DATA reply go (and every later one pass at once).
    public func releaseStalledData() {
        _ = FileManager.default.createFile(atPath: "\(recordDirectory)/release", contents: nil)
    }

    private static func load(_ base: String) throws -> ReceivedMessage {
        let json = try Data(contentsOf: URL(fileURLWithPath: base + ".json"))
        guard let record = try JSONSerialization.jsonObject(with: json) as? [String: Any] else {
            throw PeerError.exitedEarly(name: "smtp_server.py", output: "bad record \(base).json")
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: base + ".eml"))
        return ReceivedMessage(
            mailFrom: record["mail_from"] as? String ?? "",
            recipients: record["rcpt_tos"] as? [String] ?? [],
            helo: record["helo"] as? String,
            tls: record["tls"] as? Bool ?? false,
            mailOptions: record["mail_options"] as? [String] ?? [],
            recipientOptions: record["rcpt_options"] as? [[String]] ?? [],
            data: Array(data))
    }
}
