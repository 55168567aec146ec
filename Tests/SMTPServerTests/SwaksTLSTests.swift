// SPDX-License-Identifier: Apache-2.0
import MailrootTestSupport
@testable import SMTPServer
import Testing

/// swaks, a real client written independently of us, over STARTTLS with AUTH, from an address
/// outside the relay networks: the session is encrypted, the login accepted, the relay allowed.
@Test(arguments: ["PLAIN", "LOGIN"])
func swaksLogsInOverSTARTTLSAndRelays(mechanism: String) async throws {
    try requirePeer("swaks")
    let directory = try TemporaryDirectory("swaks-tls")
    let files = try await selfSignedCertificate(in: directory)
    let receiver = InMemoryReceiver()
    let (status, output) = try await withAuthServer({ $0.tls = files }, receiver: receiver) { ports in
        let child = try ChildProcess("swaks", [
            "--server", "127.0.0.1:\(ports[0])", "--local-interface", "127.0.0.5", "--tls",
            "--to", "x@remote.example", "--from", "me@example.org", "--helo", "swaks.example",
            "--auth", mechanism, "--auth-user", "app1", "--auth-password", "s3cret",
        ], logPath: directory.file("swaks.log"))
        return (await child.waitForExit(), child.output)
    }
    #expect(status == 0, "\(output)")
    #expect(output.contains("TLS started"), "\(output)")
    #expect(output.contains("235 2.7.0 Authentication successful"), "\(output)")
    let messages = await receiver.messages
    #expect(messages.count == 1 && messages.first?.protocolName == "ESMTPSA")
}
