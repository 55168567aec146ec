// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A user name and password a client sent with AUTH, for the listener to check. The password
/// never appears in a description, so it cannot leak into a log line.
public struct ServerCredentials: Sendable, Hashable, CustomStringConvertible {
    public var username: String
    public var password: [UInt8]

    public init(username: String, password: [UInt8]) {
        self.username = username
        self.password = password
    }

    public var description: String { "ServerCredentials(\(username), <password>)" }
}

/// What the listener found when it checked the credentials of `ServerAction.authenticate`.
public enum ServerAuthenticationOutcome: Sendable, Hashable {
    case accepted
    case rejected
    /// Too many recent failures from this client address: not even checked (`454 4.7.0`).
    case throttled
}

/// SASL PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login) as the server reads them
/// inside AUTH (RFC 4954).
enum ServerSASL {
    enum Step: Sendable, Hashable {
        case plain
        case loginUsername
        case loginPassword(String)
    }

    /// RFC 4954 §4: a response is base64; "=" is an empty initial response; "*" cancels.
    enum Response {
        case cancel
        case bytes([UInt8])
        case malformed
    }

    static func decode(_ text: String) -> Response {
        if text == "*" { return .cancel }
        if text == "=" { return .bytes([]) }
        // Foundation's decoder refuses anything outside the alphabet, so no stray byte slips through.
        guard !text.isEmpty, let data = Data(base64Encoded: text) else { return .malformed }
        return .bytes(Array(data))
    }

    /// `authzid NUL authcid NUL passwd` (RFC 4616 §2). An authorization identity other than
    /// the user itself would mean "act as someone else", which we never allow: refused.
    static func plainCredentials(_ bytes: [UInt8]) -> ServerCredentials? {
        let parts = bytes.split(separator: 0, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[1].isEmpty, !parts[2].isEmpty,
              let user = String(validating: parts[1], as: UTF8.self),
              let authorization = String(validating: parts[0], as: UTF8.self),
              authorization.isEmpty || authorization == user else { return nil }
        return ServerCredentials(username: user, password: Array(parts[2]))
    }

    static func text(_ bytes: [UInt8]) -> String? {
        guard !bytes.isEmpty, !bytes.contains(0) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    static let usernamePrompt = "VXNlcm5hbWU6" // base64("Username:")
    static let passwordPrompt = "UGFzc3dvcmQ6" // base64("Password:")
}
