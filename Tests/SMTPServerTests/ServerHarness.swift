// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging
import MailMessage
import MailrootTestSupport
import NIOCore
@testable import SMTPServer
import SMTPProtocol
import Testing

/// Keeps every message it is given, as the queue would after its fsync.
actor InMemoryReceiver: MessageReceiver {
    private(set) var messages: [ReceivedMessage] = []
    var refusal: ReceiptRefusal?
    /// How long storing takes (a slow fsync).
    var delay: Duration?

    init(refusal: ReceiptRefusal? = nil, delay: Duration? = nil) {
        self.refusal = refusal
        self.delay = delay
    }

    func receive(_ message: ReceivedMessage) async throws -> ReceiptOutcome {
        if let delay { try await Task.sleep(for: delay) }
        if let refusal { throw refusal }
        messages.append(message)
        return .queued(message.queueID)
    }
}

func testConfiguration(_ change: (inout SMTPServerConfiguration) -> Void = { _ in }) -> SMTPServerConfiguration {
    var configuration = SMTPServerConfiguration(
        listen: [.init(host: "127.0.0.1", port: 0)], hostname: "mx.local.test", maximumMessageSize: 100_000,
        relayNetworks: [NetworkRange("127.0.0.1/32")!], localDomains: ["local.test"])
    change(&configuration)
    return configuration
}

/// Runs a server for the duration of `body`, which gets its port.
func withServer<Result: Sendable>(_ configuration: SMTPServerConfiguration = testConfiguration(),
                                  receiver: InMemoryReceiver = InMemoryReceiver(),
                                  _ body: (Int, SMTPServer) async throws -> Result) async throws -> Result {
    var logger = Logger(label: "smtp-server-test")
    logger.logLevel = .critical
    let server = try SMTPServer(configuration: configuration, receiver: receiver, logger: logger)
    let task = Task { try await server.run() }
    defer { task.cancel() }
    let port = try #require(try await server.listeningAddresses().first?.port)
    return try await body(port, server)
}

/// One step of a raw-socket dialogue run by `dialogue.py`.
enum Step {
    case send(String)
    case sendInBackground(String)
    case read(Int)
    case readUntilClose
    case startTLS
    case close

    var json: [String: Any] {
        switch self {
        case .send(let text): return ["send": text]
        case .sendInBackground(let text): return ["sendInBackground": text]
        case .read(let count): return ["read": count]
        case .readUntilClose: return ["readUntilClose": true]
        case .startTLS: return ["starttls": true]
        case .close: return ["close": true]
        }
    }
}

/// Runs a raw-socket dialogue from `source` (a 127.0.0.0/8 address) and returns the replies,
/// each as its lines; `["EOF"]` marks the server closing the connection.
func dialogue(port: Int, source: String? = nil, _ steps: [Step]) async throws -> [[String]] {
    try requirePeer("python3")
    let directory = try TemporaryDirectory("smtp-dialogue")
    var script: [String: Any] = ["port": port, "steps": steps.map(\.json)]
    if let source { script["source"] = source }
    let scriptPath = directory.file("script.json")
    try JSONSerialization.data(withJSONObject: script).write(to: URL(fileURLWithPath: scriptPath))
    let helper = directory.file("dialogue.py")
    try dialogueScript.write(toFile: helper, atomically: true, encoding: .utf8)
    let child = try ChildProcess("python3", [helper, scriptPath], logPath: directory.file("log"))
    let status = await child.waitForExit()
    let output = child.output
    guard status == 0, let line = output.split(separator: "\n").last(where: { $0.hasPrefix("REPLIES ") }) else {
        Issue.record("dialogue.py failed (\(status)): \(output)")
        return []
    }
    let data = Data(line.dropFirst("REPLIES ".count).utf8)
    return try JSONDecoder().decode([[String]].self, from: data)
}

/// Runs a Python snippet (given `sys.argv[1]` = port) and returns its exit status and output.
func python(_ code: String, port: Int, _ arguments: [String] = []) async throws -> (Int32, String) {
    try requirePeer("python3")
    let directory = try TemporaryDirectory("smtp-python")
    let child = try ChildProcess("python3", ["-c", code, String(port)] + arguments, logPath: directory.file("log"))
    let status = await child.waitForExit()
    return (status, child.output)
}

func codes(_ replies: [[String]]) -> [Int] {
    replies.map { Int($0.last?.prefix(3) ?? "") ?? 0 }
}

/// A self-signed certificate for localhost, made with the real openssl.
func selfSignedCertificate(in directory: TemporaryDirectory) async throws -> SMTPServerConfiguration.TLSFiles {
    try requirePeer("openssl")
    let certificate = directory.file("cert.pem"), key = directory.file("key.pem")
    let child = try ChildProcess("openssl", [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "2",
        "-keyout", key, "-out", certificate,
    ], logPath: directory.file("openssl.log"))
    let status = await child.waitForExit()
    #expect(status == 0, "openssl: \(child.output)")
    return .init(certificateChainPath: certificate, privateKeyPath: key)
}

/// Waits until the server has no open session (a dropped client's session has been torn down).
func waitForIdle(_ server: SMTPServer) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while server.openConnections > 0 {
        guard ContinuousClock.now < deadline else { Issue.record("sessions still open"); return }
        try await Task.sleep(for: .milliseconds(10))
    }
}
