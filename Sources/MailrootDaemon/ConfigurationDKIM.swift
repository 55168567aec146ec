// SPDX-License-Identifier: Apache-2.0
import DKIM

extension MailrootConfiguration {
    /// One `[[dkim]]` entry: mail whose author (`From:`) is in `domain` leaves signed with this key.
    public struct DKIMDomain: Sendable, Equatable {
        /// `d=`, lower case; also the author domain it signs for.
        public var domain: String
        /// `s=`: the public key is published at `<selector>._domainkey.<domain>`.
        public var selector: String
        /// `private_key`, made absolute.
        public var privateKeyPath: String
        /// Read at load and at each reload, so a broken key is refused like any bad value and a
        /// replaced key file is taken on by SIGHUP.
        public var key: DKIMKey

        public var signer: DKIMSigner { DKIMSigner(domain: domain, selector: selector, key: key) }
        public var recordName: String { signer.recordName }

        /// Equal when they would sign alike: a new key in the same file is a change.
        public static func == (a: Self, b: Self) -> Bool {
            a.domain == b.domain && a.selector == b.selector && a.privateKeyPath == b.privateKeyPath
                && a.key.publicKeyBase64 == b.key.publicKeyBase64
        }
    }

    static func readDKIM(_ value: ConfigurationValue, workingDirectory: String) throws(ConfigurationError) -> [DKIMDomain] {
        var entries: [DKIMDomain] = []
        for element in try value.array() {
            let table = try element.table()
            try table.rejectUnknownKeys(ConfigurationSchema.keys(inTable: "dkim"))
            guard let domainValue = table["domain"] else {
                throw element.failure("needs a domain (the author domain to sign for, e.g. domain = \"example.com\")")
            }
            guard let selectorValue = table["selector"] else {
                throw element.failure("needs a selector (the public key is published at SELECTOR._domainkey.DOMAIN)")
            }
            guard let keyValue = table["private_key"] else {
                throw element.failure("needs a private_key (a PEM file: RSA of 2048 bits or more, or Ed25519)")
            }
            let domainText = try domainValue.string()
            let domain = try domainValue.checked { () throws(ConfigurationProblem) in try ConfigurationDomainName.normalized(domainText) }
            guard !entries.contains(where: { $0.domain == domain }) else {
                throw domainValue.failure("\(ConfigurationError.quoted(domain)) is listed twice (one [[dkim]] entry per domain)")
            }
            let selectorText = try selectorValue.string()
            let selector = try selectorValue.checked { () throws(ConfigurationProblem) in try Self.selector(selectorText) }
            let pathText = try keyValue.string()
            guard !pathText.isEmpty else { throw keyValue.failure("must name a PEM file") }
            let path = ConfigurationSystem.absolutePath(pathText, relativeTo: workingDirectory)
            let key: DKIMKey
            do {
                key = try DKIMKey(contentsOfFile: path)
            } catch {
                throw keyValue.failure(error.description)  // names the file and the reason, never key bytes
            }
            entries.append(DKIMDomain(domain: domain, selector: selector, privateKeyPath: path, key: key))
        }
        return entries
    }

    /// A selector is one or more DNS labels (RFC 6376 §3.1): letters, digits and hyphens.
    private static func selector(_ text: String) throws(ConfigurationProblem) -> String {
        let labels = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        let valid = !text.isEmpty && text.utf8.count <= 63 * 4 && labels.allSatisfy { label in
            (1...63).contains(label.count) && label.first != UInt8(ascii: "-") && label.last != UInt8(ascii: "-")
                && label.allSatisfy { byte in
                    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                        || byte == UInt8(ascii: "-")
                }
        }
        guard valid else {
            throw ConfigurationProblem("\(ConfigurationError.quoted(text)) is not a selector (DNS labels of letters, digits and hyphens, e.g. \"mail2026\")")
        }
        return text.lowercased()
    }
}
