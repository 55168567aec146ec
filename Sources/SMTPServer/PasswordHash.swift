// SPDX-License-Identifier: Apache-2.0
import Crypto
import Foundation
import _CryptoExtras

/// A salted slow password hash for `[[smtp.users]]`, written by `mailroot passwd`:
/// `$pbkdf2-sha256$i=210000$<base64 salt>$<base64 key>`.
///
/// PBKDF2-HMAC-SHA256 with at least 210,000 iterations (the floor swift-crypto enforces, from
/// the OWASP password storage cheat sheet) and a 16-byte random salt: a leaked config file
/// costs an attacker that much work per guess and per user. The config never holds a password.
public struct PasswordHash: Sendable, Hashable, CustomStringConvertible {
    public static let scheme = "pbkdf2-sha256"
    public static let minimumIterations = 210_000
    /// Verification runs on every AUTH; a hash with absurd work would make each attempt a denial of service.
    public static let maximumIterations = 10_000_000
    public static let saltLength = 16
    public static let keyLength = 32

    public let iterations: Int
    public let salt: [UInt8]
    public let key: [UInt8]

    /// Why a stored hash was refused, for the config error.
    public struct FormatError: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
    }

    /// Hashes `password` with a fresh random salt (`SystemRandomNumberGenerator` reads getrandom(2)).
    public init(hashing password: some DataProtocol, iterations: Int = minimumIterations) throws(FormatError) {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<Self.saltLength).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        try self.init(hashing: password, salt: salt, iterations: iterations)
    }

    init(hashing password: some DataProtocol, salt: [UInt8], iterations: Int) throws(FormatError) {
        guard (Self.minimumIterations...Self.maximumIterations).contains(iterations) else {
            throw FormatError(description: "iterations must be between \(Self.minimumIterations) and \(Self.maximumIterations)")
        }
        self.iterations = iterations
        self.salt = salt
        self.key = Self.derive(password, salt: salt, iterations: iterations)
    }

    /// Parses the stored form; refuses anything weaker than what `mailroot passwd` writes.
    public init(encoded text: String) throws(FormatError) {
        let hint = "is not a password hash made by `mailroot passwd` ($\(Self.scheme)$i=N$salt$key)"
        let parts = text.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].isEmpty, parts[1] == Self.scheme, parts[2].hasPrefix("i="),
              let iterations = Int(parts[2].dropFirst(2)),
              let salt = Data(base64Encoded: String(parts[3])), let key = Data(base64Encoded: String(parts[4])) else {
            throw FormatError(description: hint)
        }
        guard (Self.minimumIterations...Self.maximumIterations).contains(iterations) else {
            throw FormatError(description: "has \(iterations) iterations; use between \(Self.minimumIterations) and \(Self.maximumIterations)")
        }
        guard salt.count >= Self.saltLength else { throw FormatError(description: "has a salt shorter than \(Self.saltLength) bytes") }
        guard key.count == Self.keyLength else { throw FormatError(description: "has a key that is not \(Self.keyLength) bytes") }
        self.iterations = iterations
        self.salt = Array(salt)
        self.key = Array(key)
    }

    public var encoded: String {
        "$\(Self.scheme)$i=\(iterations)$\(Data(salt).base64EncodedString())$\(Data(key).base64EncodedString())"
    }

    /// Never the hash itself in logs.
    public var description: String { "PasswordHash(\(Self.scheme), \(iterations) iterations)" }

    /// Slow by design (tens to hundreds of milliseconds): call it off the event loop. The
    /// comparison does not stop at the first differing byte, so timing tells nothing about the key.
    public func verify(_ password: some DataProtocol) -> Bool {
        let candidate = Self.derive(password, salt: salt, iterations: iterations)
        guard candidate.count == key.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(candidate, key) { difference |= a ^ b }
        return difference == 0
    }

    private static func derive(_ password: some DataProtocol, salt: [UInt8], iterations: Int) -> [UInt8] {
        // Only throws for fewer than 210,000 rounds, which both initialisers already refuse.
        guard let key = try? KDF.Insecure.PBKDF2.deriveKey(from: password, salt: salt, using: .sha256,
                                                           outputByteCount: keyLength, rounds: iterations) else {
            preconditionFailure("internal inconsistency: PBKDF2 refused \(iterations) rounds")
        }
        return key.withUnsafeBytes { Array($0) }
    }
}
