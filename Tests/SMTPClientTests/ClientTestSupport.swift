// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging
import MailMessage
import MailrootTestSupport
import NIOCore
import NIOPosix
import SMTPClient

/// Set MAILROOT_TEST_TRACE=1 to see the SMTP dialogue on stderr.
let testLogger: Logger = {
    guard ProcessInfo.processInfo.environment["MAILROOT_TEST_TRACE"] != nil else { return Logger(label: "smtp-client-test") }
    var logger = Logger(label: "smtp-client-test", factory: { label in StreamLogHandler.standardError(label: label) })
    logger.logLevel = .trace
    return logger
}()

func address(_ text: String) -> MailAddress { MailAddress(text)! }

func recipients(_ texts: String...) -> [EnvelopeRecipient] { texts.map { EnvelopeRecipient(address($0)) } }

/// Writes `bytes` after a junk prefix, as a queue file holds the envelope before the message,
/// so that every test also proves the byte range (not the whole file) is sent.
func storedMessage(_ bytes: [UInt8], in directory: TemporaryDirectory, name: String = "message") throws -> StoredMessage {
    let prefix = Array("ENVELOPE-JUNK\r\n.\r\nQUIT\r\n".utf8)
    let path = directory.file(name)
    try Data(prefix + bytes).write(to: URL(fileURLWithPath: path))
    return StoredMessage(path: path, offset: Int64(prefix.count), length: Int64(bytes.count),
                         hasEightBitContent: bytes.contains { $0 >= 0x80 })
}

func storedMessage(_ text: String, in directory: TemporaryDirectory, name: String = "message") throws -> StoredMessage {
    try storedMessage(Array(text.utf8), in: directory, name: name)
}

func configuration(timeout: Duration? = nil, tls: Bool = true) -> SMTPClientConfiguration {
    var configuration = SMTPClientConfiguration(heloName: "relay.mailroot.test", opportunisticTLS: tls)
    if let timeout { configuration.timeouts = .all(timeout) }
    return configuration
}

func connect(to server: SMTPTestServer, _ configuration: SMTPClientConfiguration = configuration()) async throws -> SMTPConnection {
    try await SMTPConnection.connect(to: SocketAddress(ipAddress: server.host, port: server.port), serverName: "mx.test",
                                     configuration: configuration, logger: testLogger)
}

let simpleMessage = "From: a@example.org\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nHello.\r\n"

/// A self-signed certificate for `mx.test`, made fresh by openssl for the test.
func makeCertificate(in directory: TemporaryDirectory) throws -> (certificate: String, key: String) {
    try requirePeer("openssl")
    let certificate = directory.file("cert.pem"), key = directory.file("key.pem")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    process.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=mx.test", "-days", "1",
                         "-keyout", key, "-out", certificate]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw PeerError.exitedEarly(name: "openssl", output: "req failed") }
    return (certificate, key)
}

/// A TCP listener that accepts and then says nothing: a server that never greets.
func silentListener() async throws -> (any Channel, Int) {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).get()
    return (channel, channel.localAddress?.port ?? 0)
}

/// Waits until something accepts TCP connections on `port` (for peers that print no ready line).
func waitForListener(port: Int, timeout: Duration = .seconds(10)) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port).get() {
            try? await channel.close()
            return
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw PeerError.notReady(name: "listener", marker: "port \(port)", output: "")
}
