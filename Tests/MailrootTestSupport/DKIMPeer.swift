// SPDX-License-Identifier: Apache-2.0
import Foundation

/// The real peers for DKIM tests: openssl makes the keys, dkimpy (Tests/peers/dkim_verify.py)
/// verifies the signatures, with the selector's record handed to it instead of looked up in DNS.
public enum DKIMPeer {
    public static var scriptPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("peers/dkim_verify.py").path
    }

    public enum KeyKind: String, Sendable, CaseIterable {
        case rsa2048, rsa1024, ed25519, rsa2048Traditional
    }

    /// A new private key, PEM, made by openssl; returns its path. `rsa2048Traditional` is the
    /// PKCS #1 form (`BEGIN RSA PRIVATE KEY`), the others PKCS #8.
    public static func makeKey(_ kind: KeyKind, in directory: TemporaryDirectory) async throws -> String {
        try requirePeer("openssl")
        let path = directory.file("\(kind.rawValue).pem")
        switch kind {
        case .rsa2048, .rsa1024:
            try await run("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt",
                                      "rsa_keygen_bits:\(kind == .rsa1024 ? 1024 : 2048)", "-out", path], in: directory)
        case .ed25519:
            try await run("openssl", ["genpkey", "-algorithm", "ed25519", "-out", path], in: directory)
        case .rsa2048Traditional:
            let pkcs8 = directory.file("pkcs8-for-traditional.pem")
            try await run("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", pkcs8], in: directory)
            try await run("openssl", ["pkey", "-in", pkcs8, "-traditional", "-out", path], in: directory)
        }
        return path
    }

    public struct Verdict: Sendable {
        /// 0: every signature verifies; 1: one does not; 2: no signature at all (3, the script
        /// failing, is thrown as an error).
        public let exitCode: Int32
        public let output: String
        public var passed: Bool { exitCode == 0 }
    }

    /// dkimpy's verdict on `message` (the bytes as received), with `record` served for `recordName`.
    public static func verify(_ message: [UInt8], recordName: String, record: String,
                              in directory: TemporaryDirectory) async throws -> Verdict {
        try requirePeer("python3")
        let messagePath = directory.file("verify-\(UUID().uuidString).eml")
        try Data(message).write(to: URL(fileURLWithPath: messagePath))
        let log = messagePath + ".log"
        let process = try ChildProcess("python3", [scriptPath, messagePath, "--name", recordName, "--record", record],
                                       logPath: log)
        let code = await process.waitForExit()
        let output = process.output
        guard code == 0 || code == 1 || code == 2 else {
            throw PeerError.exitedEarly(name: "dkim_verify.py", output: output)  // dkimpy itself failed
        }
        return Verdict(exitCode: code, output: output)
    }

    private static func run(_ executable: String, _ arguments: [String], in directory: TemporaryDirectory) async throws {
        let process = try ChildProcess(executable, arguments, logPath: directory.file("\(executable)-\(UUID().uuidString).log"))
        guard await process.waitForExit() == 0 else {
            throw PeerError.exitedEarly(name: executable, output: process.output)
        }
    }
}
