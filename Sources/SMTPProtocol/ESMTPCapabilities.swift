// SPDX-License-Identifier: Apache-2.0

/// The service extensions a server announced in its EHLO reply (RFC 5321 §4.1.1.1): each line
/// after the first is `keyword [params]`, keywords case-insensitive. Unknown keywords are kept in
/// `keywords` for logs; the ones mailroot acts on have their own properties.
public struct ESMTPCapabilities: Sendable, Hashable {
    /// Every announced keyword, upper-cased, with its parameters as written.
    public var keywords: [String: [String]]

    /// What a server that only answered HELO offers: nothing.
    public static let none = ESMTPCapabilities(keywords: [:])

    public init(keywords: [String: [String]]) {
        self.keywords = keywords
    }

    /// Reads a `250` EHLO reply. The first line is the server's greeting name, not a keyword.
    public init(ehloReply: SMTPReply) {
        var keywords: [String: [String]] = [:]
        for line in ehloReply.lines.dropFirst() {
            var words = line.split(separator: " ").map(String.init)
            guard !words.isEmpty else { continue }
            var keyword = words.removeFirst().uppercased()
            // Pre-RFC 2554 servers announce `AUTH=LOGIN PLAIN`.
            if keyword.hasPrefix("AUTH=") {
                words.insert(String(keyword.dropFirst(5)), at: 0)
                keyword = "AUTH"
            }
            guard !keyword.isEmpty else { continue }
            keywords[keyword, default: []].append(contentsOf: words)
        }
        self.init(keywords: keywords)
    }

    public func supports(_ keyword: String) -> Bool { keywords[keyword.uppercased()] != nil }

    /// RFC 2920: commands may be sent in groups without waiting for each reply.
    public var pipelining: Bool { supports("PIPELINING") }
    /// RFC 1870: `SIZE=` may be sent on MAIL.
    public var size: Bool { supports("SIZE") }
    /// RFC 1870: the largest message accepted, nil when no limit was announced (`SIZE` or `SIZE 0`).
    public var sizeLimit: Int64? {
        guard let value = keywords["SIZE"]?.first, let limit = Int64(value), limit > 0 else { return nil }
        return limit
    }
    /// RFC 6152: `BODY=8BITMIME`.
    public var eightBitMIME: Bool { supports("8BITMIME") }
    /// RFC 6531: UTF-8 addresses and headers.
    public var smtpUTF8: Bool { supports("SMTPUTF8") }
    /// RFC 3207.
    public var startTLS: Bool { supports("STARTTLS") }
    /// RFC 2034.
    public var enhancedStatusCodes: Bool { supports("ENHANCEDSTATUSCODES") }
    /// RFC 3030 `BDAT`.
    public var chunking: Bool { supports("CHUNKING") }
    /// RFC 3461: `NOTIFY=`, `ORCPT=`, `RET=`, `ENVID=` may be sent.
    public var dsn: Bool { supports("DSN") }
    /// RFC 4954 SASL mechanisms, upper-cased.
    public var authMechanisms: Set<String> { Set((keywords["AUTH"] ?? []).map { $0.uppercased() }) }
}
