// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailMessage

/// Writes the `DKIM-Signature:` field for one signing domain and selector (RFC 6376 §3.5):
/// relaxed/relaxed canonicalization, SHA-256, the fields of `signedFields` that the message has,
/// and the fields a forger would add to change what a reader sees (`From`, `To`, `Cc`, `Subject`,
/// `Date`, `Reply-To`, `Message-ID`) signed once more than they occur, so that adding one breaks
/// the signature ("oversigning", RFC 6376 §8.15).
public struct DKIMSigner: Sendable {
    /// `d=`, lower case.
    public let domain: String
    /// `s=`.
    public let selector: String
    public let key: DKIMKey
    /// Lower-case names, in the order they go into `h=`.
    public let signedFields: [String]

    public static let defaultSignedFields = [
        "from", "sender", "reply-to", "subject", "date", "message-id", "to", "cc",
        "mime-version", "content-type", "content-transfer-encoding", "content-disposition",
        "in-reply-to", "references", "list-id", "list-unsubscribe", "list-unsubscribe-post",
    ]

    static let oversignedFields: Set<String> = ["from", "to", "cc", "subject", "date", "reply-to", "message-id"]

    public init(domain: String, selector: String, key: DKIMKey, signedFields: [String] = DKIMSigner.defaultSignedFields) {
        self.domain = domain.lowercased()
        self.selector = selector
        self.key = key
        self.signedFields = signedFields.map { $0.lowercased() }
    }

    /// The DNS name whose TXT record holds the public key.
    public var recordName: String { "\(selector)._domainkey.\(domain)" }

    /// The signature field to send before the message's first byte, CRLF-terminated and folded.
    /// `bodyHash` is the SHA-256 of the relaxed canonical body (`DKIMMessageDigest`).
    public func signatureField(header: HeaderSection, bodyHash: [UInt8], time: Date = Date()) throws(DKIMError) -> [UInt8] {
        guard header.contains("From") else { throw .unsignable("no From: field") }
        var names: [String] = []
        for name in signedFields {
            let count = header.fields(named: name).count
            let times = count + (Self.oversignedFields.contains(name) && count > 0 ? 1 : 0)
            names.append(contentsOf: repeatElement(name, count: times))
        }
        let tags = [
            "v=1; a=\(key.algorithm.rawValue); c=relaxed/relaxed; d=\(domain); s=\(selector);",
            "t=\(Int(time.timeIntervalSince1970)); h=\(names.joined(separator: ":"));",
            "bh=\(Data(bodyHash).base64EncodedString());",
            "b=",
        ]
        let unsigned = Array("DKIM-Signature: \(tags.joined(separator: "\r\n\t"))".utf8)

        var input: [UInt8] = []
        var unused = Dictionary(grouping: header.fields, by: { $0.name.lowercased() })
        for name in names {
            // RFC 6376 §5.4.2: the last instance not yet used; none left adds nothing.
            guard let field = unused[name]?.popLast() else { continue }
            input.append(contentsOf: relaxedHeaderField(field.raw))
        }
        input.append(contentsOf: relaxedHeaderField(unsigned).dropLast(2))  // without its CRLF (§3.7)

        let signature = Data(try key.sign(input)).base64EncodedString()
        var field = unsigned
        var index = signature.startIndex
        while index < signature.endIndex {
            let end = signature.index(index, offsetBy: 72, limitedBy: signature.endIndex) ?? signature.endIndex
            if index != signature.startIndex { field.append(contentsOf: Array("\r\n\t ".utf8)) }
            field.append(contentsOf: Array(signature[index..<end].utf8))
            index = end
        }
        field.append(contentsOf: [0x0D, 0x0A])
        return field
    }

    /// The domain of the message's author (the first `From:` mailbox), lower case, or nil.
    public static func authorDomain(of header: HeaderSection) -> String? {
        guard let from = header.first(named: "From"),
              let mailbox = try? AddressListParser.parse(from.value).first else { return nil }
        return mailbox.domain.lowercased()
    }
}
