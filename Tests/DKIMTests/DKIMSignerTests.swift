// SPDX-License-Identifier: Apache-2.0
import DKIM
import Foundation
import MailMessage
import MailrootTestSupport
import Testing

/// Signatures made here, checked by dkimpy (an independent implementation) with keys made by openssl.
@Suite struct DKIMSignerTests {
    static let message = Array("""
        From: Alice Example <alice@example.com>\r
        To: bob@example.net\r
        Subject:   A  signed\r
        \tmessage\r
        Date: Sun, 29 Nov 2026 07:00:00 +0000\r
        Message-ID: <signed.1@example.com>\r
        MIME-Version: 1.0\r
        Content-Type: text/plain; charset=utf-8\r
        X-Not-Signed: anything\r
        \r
        Hello Bob,  \r
        \r
        .a line that starts with a dot\r
        \r
        \r

        """.utf8)

    /// The message with its signature field in front, as delivery sends it.
    static func signed(_ message: [UInt8], with signer: DKIMSigner) throws -> [UInt8] {
        var digest = DKIMMessageDigest()
        digest.update(message)
        let (header, bodyHash) = try digest.finish()
        return try signer.signatureField(header: header, bodyHash: bodyHash) + message
    }

    static func replacing(_ old: String, with new: String, in bytes: [UInt8]) -> [UInt8] {
        Array(String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: old, with: new).utf8)
    }

    @Test(arguments: [DKIMPeer.KeyKind.rsa2048, .ed25519, .rsa2048Traditional])
    func dkimpyVerifiesTheSignature(kind: DKIMPeer.KeyKind) async throws {
        let directory = try TemporaryDirectory("dkim-sign")
        let key = try DKIMKey(contentsOfFile: try await DKIMPeer.makeKey(kind, in: directory))
        #expect(key.algorithm == (kind == .ed25519 ? .ed25519SHA256 : .rsaSHA256))
        let signer = DKIMSigner(domain: "Example.COM", selector: "mail2026", key: key)
        let signed = try Self.signed(Self.message, with: signer)
        let verdict = try await DKIMPeer.verify(signed, recordName: signer.recordName, record: key.dnsRecord, in: directory)
        #expect(verdict.passed, "\(verdict.output)")
        let text = String(decoding: signed, as: UTF8.self)
        #expect(text.hasPrefix("DKIM-Signature: v=1; a=\(key.algorithm.rawValue); c=relaxed/relaxed; d=example.com; s=mail2026;"))
        #expect(text.contains("h=from:from:subject:subject:date:date:message-id:message-id:to:to:mime-version:content-type;"))
    }

    @Test func dkimpyRejectsTheSignatureWhenTheMessageIsChanged() async throws {
        let directory = try TemporaryDirectory("dkim-tamper")
        let key = try DKIMKey(contentsOfFile: try await DKIMPeer.makeKey(.rsa2048, in: directory))
        let signer = DKIMSigner(domain: "example.com", selector: "s1", key: key)
        let signed = try Self.signed(Self.message, with: signer)
        let tampered = [
            Self.replacing("Hello Bob", with: "Hello Eve", in: signed),                       // body
            Self.replacing("To: bob@example.net", with: "To: eve@example.net", in: signed),   // signed field
            Self.replacing("X-Not-Signed: anything\r\n", with: "X-Not-Signed: anything\r\nFrom: mallory@example.org\r\n",
                           in: signed),                                                     // an added From (oversigned)
        ]
        for message in tampered {
            let verdict = try await DKIMPeer.verify(message, recordName: signer.recordName, record: key.dnsRecord, in: directory)
            #expect(verdict.exitCode == 1, "\(verdict.output)")
        }
        // A change to a field that is not signed leaves the signature valid.
        let harmless = Self.replacing("X-Not-Signed: anything", with: "X-Not-Signed: changed", in: signed)
        let verdict = try await DKIMPeer.verify(harmless, recordName: signer.recordName, record: key.dnsRecord, in: directory)
        #expect(verdict.passed, "\(verdict.output)")
    }

    @Test func whitespaceChangesInTransitDoNotBreakARelaxedSignature() async throws {
        let directory = try TemporaryDirectory("dkim-relaxed")
        let key = try DKIMKey(contentsOfFile: try await DKIMPeer.makeKey(.ed25519, in: directory))
        let signer = DKIMSigner(domain: "example.com", selector: "s1", key: key)
        let signed = try Self.signed(Self.message, with: signer)
        let rewrapped = Self.replacing("Subject:   A  signed\r\n\tmessage", with: "Subject: A signed message",
                                       in: Self.replacing("Hello Bob,  \r\n", with: "Hello Bob,\r\n", in: signed))
        let verdict = try await DKIMPeer.verify(rewrapped, recordName: signer.recordName, record: key.dnsRecord, in: directory)
        #expect(verdict.passed, "\(verdict.output)")
    }

    @Test func shortRSAKeysAndGarbageAreRefused() async throws {
        let directory = try TemporaryDirectory("dkim-keys")
        let short = try await DKIMPeer.makeKey(.rsa1024, in: directory)
        let error = #expect(throws: DKIMError.self) { try DKIMKey(contentsOfFile: short) }
        guard case .unsupportedKey(let reason)? = error else {
            Issue.record("a 1024-bit key gave \(String(describing: error))")
            return
        }
        #expect(reason.contains("2048"))
        #expect(throws: DKIMError.self) { try DKIMKey(pemRepresentation: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n") }
        #expect(throws: DKIMError.self) { try DKIMKey(contentsOfFile: directory.file("missing.pem")) }
    }

    @Test func messageWithoutFromIsNotSigned() async throws {
        let directory = try TemporaryDirectory("dkim-nofrom")
        let key = try DKIMKey(contentsOfFile: try await DKIMPeer.makeKey(.ed25519, in: directory))
        let signer = DKIMSigner(domain: "example.com", selector: "s1", key: key)
        #expect(throws: DKIMError.self) { try Self.signed(Array("Subject: no author\r\n\r\nbody\r\n".utf8), with: signer) }
    }

    @Test func authorDomainIsTheFirstFromMailboxInLowerCase() throws {
        let header = try HeaderSection(parsing: Array("From: \"A, B\" <a@Mail.Example.COM>, c@other.example\r\n\r\n".utf8))
        #expect(DKIMSigner.authorDomain(of: header) == "mail.example.com")
        #expect(DKIMSigner.authorDomain(of: try HeaderSection(parsing: Array("Subject: x\r\n\r\n".utf8))) == nil)
    }
}
