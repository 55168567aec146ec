// SPDX-License-Identifier: Apache-2.0
import DKIM
import MailMessage
import SMTPClient
import Synchronization

/// The DKIM signers by author domain (`[[dkim]]` in the config), replaced whole by a reload so
/// that a new key is used from the next delivery on, and the reading of a queued message that a
/// signature needs. Signing happens at delivery, once per attempt and destination domain: only
/// mail that leaves over SMTP is signed (not what goes into drop/), with the key in force then.
final class DKIMSigning: Sendable {
    private let signers: Mutex<[String: DKIMSigner]>

    init(_ list: [DKIMSigner]) {
        signers = Mutex(Self.byDomain(list))
    }

    func replace(_ list: [DKIMSigner]) {
        let table = Self.byDomain(list)
        signers.withLock { $0 = table }
    }

    private static func byDomain(_ list: [DKIMSigner]) -> [String: DKIMSigner] {
        Dictionary(list.map { ($0.domain, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The `DKIM-Signature:` field for `message`, or nil when no signer has its author's domain
    /// (the first `From:` mailbox; subdomains need their own entry). Reads the header first and
    /// stops there when the message is not ours to sign. Throws when it should be signed but
    /// cannot be: the caller then sends it unsigned and says so.
    func signatureField(for message: StoredMessage) async throws -> (field: [UInt8], signer: DKIMSigner)? {
        let table = signers.withLock { $0 }
        guard !table.isEmpty else { return nil }
        let reader = try await MessageBodyReader.open(message)
        var digest = DKIMMessageDigest()
        var signed: (header: HeaderSection, signer: DKIMSigner)?
        var position: Int64 = 0
        while position < message.length {
            let chunk = try await reader.read(at: position)
            position += Int64(chunk.readableBytes)
            chunk.withUnsafeReadableBytes { digest.update($0) }
            if signed == nil, digest.headerComplete {
                guard let header = try? digest.headerSection(), let signer = Self.signer(in: table, for: header) else { return nil }
                signed = (header, signer)
            }
        }
        let bodyHash = try digest.finishBody()
        // A message with no empty line is all header: its author is known only now.
        let header = try signed?.header ?? digest.headerSection()
        guard let signer = signed?.signer ?? Self.signer(in: table, for: header) else { return nil }
        return (try signer.signatureField(header: header, bodyHash: bodyHash), signer)
    }

    private static func signer(in table: [String: DKIMSigner], for header: HeaderSection) -> DKIMSigner? {
        DKIMSigner.authorDomain(of: header).flatMap { table[$0] }
    }
}
