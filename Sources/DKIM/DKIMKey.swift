// SPDX-License-Identifier: Apache-2.0
import Crypto
import _CryptoExtras
import Foundation

/// Why a DKIM key cannot be used or a message cannot be signed.
public enum DKIMError: Error, Hashable, Sendable, CustomStringConvertible {
    case unreadableKey(String)
    case unsupportedKey(String)
    case unsignable(String)
    case signingFailed(String)

    public var description: String {
        switch self {
        case .unreadableKey(let reason): "DKIM key unreadable: \(reason)"
        case .unsupportedKey(let reason): "DKIM key not supported: \(reason)"
        case .unsignable(let reason): "message cannot be signed: \(reason)"
        case .signingFailed(let reason): "DKIM signing failed: \(reason)"
        }
    }
}

/// A private key for DKIM signing, read from PEM: RSA of at least 2048 bits (PKCS #1 or PKCS #8),
/// as RFC 8301 wants 2048 for signers, or Ed25519 (PKCS #8, what `openssl genpkey -algorithm
/// ed25519` writes; RFC 8463).
public struct DKIMKey: Sendable {
    public enum Algorithm: String, Sendable {
        case rsaSHA256 = "rsa-sha256"
        case ed25519SHA256 = "ed25519-sha256"
    }

    private enum Backing: Sendable {
        case rsa(_RSA.Signing.PrivateKey)
        /// The 32 private bytes: swift-crypto's Ed25519 key type is not `Sendable` on Linux, so
        /// the key is made from them when it is used.
        case ed25519([UInt8])
    }

    private let backing: Backing

    public var algorithm: Algorithm {
        switch backing {
        case .rsa: .rsaSHA256
        case .ed25519: .ed25519SHA256
        }
    }

    /// PKCS #8 `PrivateKeyInfo` of an Ed25519 key up to the 32 key bytes (RFC 8410 §7).
    private static let ed25519PKCS8Prefix: [UInt8] = [
        0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ]

    public init(pemRepresentation pem: String) throws(DKIMError) {
        backing = try Self.backing(fromPEM: pem)
    }

    /// Reads and parses a PEM file.
    public init(contentsOfFile path: String) throws(DKIMError) {
        let pem: String
        do {
            pem = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadableKey("\(path): \(error.localizedDescription)")
        }
        do {
            backing = try Self.backing(fromPEM: pem)
        } catch {
            switch error {
            case .unreadableKey(let reason): throw .unreadableKey("\(path): \(reason)")
            case .unsupportedKey(let reason): throw .unsupportedKey("\(path): \(reason)")
            default: throw error
            }
        }
    }

    private static func backing(fromPEM pem: String) throws(DKIMError) -> Backing {
        if let der = pkcs8DER(pem), der.count == ed25519PKCS8Prefix.count + 32,
           Array(der.prefix(ed25519PKCS8Prefix.count)) == ed25519PKCS8Prefix {
            do {
                let raw = Array(der.suffix(32))
                _ = try Curve25519.Signing.PrivateKey(rawRepresentation: raw)
                return .ed25519(raw)
            } catch {
                throw .unreadableKey("Ed25519 key: \(error)")
            }
        }
        do {
            return .rsa(try _RSA.Signing.PrivateKey(pemRepresentation: pem))
        } catch CryptoKitError.incorrectParameterSize {
            throw .unsupportedKey("RSA keys must have at least 2048 bits")
        } catch {
            throw .unreadableKey("not a PEM RSA or Ed25519 private key (\(error))")
        }
    }

    /// The DER bytes of a `-----BEGIN PRIVATE KEY-----` block, or nil.
    private static func pkcs8DER(_ pem: String) -> [UInt8]? {
        let lines = pem.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let begin = lines.firstIndex(of: "-----BEGIN PRIVATE KEY-----"),
              let end = lines[begin...].firstIndex(of: "-----END PRIVATE KEY-----") else { return nil }
        return Data(base64Encoded: lines[(begin + 1)..<end].joined()).map { Array($0) }
    }

    /// The `p=` value of the selector's DNS record: the public key, base64 (for RSA the DER
    /// SubjectPublicKeyInfo, for Ed25519 the 32 raw bytes, RFC 8463 §4.2).
    public var publicKeyBase64: String {
        switch backing {
        case .rsa(let key): key.publicKey.derRepresentation.base64EncodedString()
        case .ed25519(let raw):
            // Checked when the key was read, so this cannot fail.
            ((try? Curve25519.Signing.PrivateKey(rawRepresentation: raw))?.publicKey.rawRepresentation ?? Data()).base64EncodedString()
        }
    }

    /// The TXT record to publish at `<selector>._domainkey.<domain>`.
    public var dnsRecord: String {
        "v=DKIM1; k=\(algorithm == .rsaSHA256 ? "rsa" : "ed25519"); p=\(publicKeyBase64)"
    }

    /// Signs the canonicalized header data: RSASSA-PKCS1-v1_5 over its SHA-256 for RSA; for
    /// Ed25519, PureEdDSA over the SHA-256 digest's bytes (RFC 8463 §3).
    func sign(_ data: [UInt8]) throws(DKIMError) -> [UInt8] {
        let digest = SHA256.hash(data: data)
        do {
            switch backing {
            case .rsa(let key):
                return Array(try key.signature(for: digest, padding: .insecurePKCS1v1_5).rawRepresentation)
            case .ed25519(let raw):
                return Array(try Curve25519.Signing.PrivateKey(rawRepresentation: raw).signature(for: Array(digest)))
            }
        } catch {
            throw .signingFailed("\(error)")
        }
    }
}
