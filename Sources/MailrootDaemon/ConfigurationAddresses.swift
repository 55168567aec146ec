// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A reason a single value is wrong, before the reader attaches the file and key to it.
struct ConfigurationProblem: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

extension MailrootConfiguration.DNS.Server {
    /// Reads `IPv4`, `IPv4:port`, `IPv6`, `[IPv6]` or `[IPv6]:port`; the port defaults to 53.
    /// Only addresses: a resolver named by hostname would need a resolver to find it. Zone
    /// suffixes (`fe80::1%eth0`) are refused because the daemon's `SocketAddress` cannot carry one.
    init(parsing text: String) throws(ConfigurationProblem) {
        let hint = "is not a name server address (use an IP address with an optional port, e.g. \"127.0.0.1:5353\" or \"[::1]:53\")"
        var host = Substring(text)
        var portText: Substring?
        if host.first == "[" {
            guard let close = host.firstIndex(of: "]") else { throw ConfigurationProblem("\(ConfigurationError.quoted(text)) \(hint)") }
            let after = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !after.isEmpty {
                guard after.first == ":" else { throw ConfigurationProblem("\(ConfigurationError.quoted(text)) \(hint)") }
                portText = after.dropFirst()
            }
            guard Self.isIPv6(host) else { throw ConfigurationProblem("\(ConfigurationError.quoted(text)) \(hint)") }
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.firstIndex(of: ":") {
            portText = host[host.index(after: colon)...]
            host = host[..<colon]
            guard Self.isIPv4(host) else { throw ConfigurationProblem("\(ConfigurationError.quoted(text)) \(hint)") }
        } else {
            guard Self.isIPv4(host) || Self.isIPv6(host) else {
                throw ConfigurationProblem("\(ConfigurationError.quoted(text)) \(hint)")
            }
        }
        var port = 53
        if let portText {
            guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let value = Int(portText), (1...65535).contains(value) else {
                throw ConfigurationProblem("\(ConfigurationError.quoted(text)): port must be a number from 1 to 65535")
            }
            port = value
        }
        self.init(host: String(host), port: port)
    }

    static func isIPv4(_ text: Substring) -> Bool {
        var address = in_addr()
        return inet_pton(AF_INET, String(text), &address) == 1
    }

    static func isIPv6(_ text: Substring) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET6, String(text), &address) == 1
    }
}

enum ConfigurationDomainName {
    /// Lower-cases and checks a domain name for use on the wire (EHLO, local-domain matching):
    /// ASCII letters, digits and hyphens (RFC 1035 §2.3.1 as relaxed by RFC 1123 §2.1), labels of
    /// 1–63 octets without a leading or trailing hyphen, at most 253 octets. Internationalised
    /// names must be written as A-labels (`xn--…`). A trailing dot is dropped. An all-numeric
    /// top-level label is refused (RFC 3696 §2) so an IP address is not mistaken for a name.
    static func normalized(_ text: String) throws(ConfigurationProblem) -> String {
        var name = text
        if name.hasSuffix(".") { name.removeLast() }
        let bad = "\(ConfigurationError.quoted(text)) is not a valid domain name"
        guard !name.isEmpty, name.utf8.count <= 253 else { throw ConfigurationProblem(bad) }
        let labels = name.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        for label in labels {
            guard (1...63).contains(label.count), label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-"),
                  label.allSatisfy(isLetterDigitHyphen) else {
                if !name.utf8.allSatisfy({ $0 < 0x80 }) {
                    throw ConfigurationProblem("\(bad) (write internationalised names as A-labels, e.g. \"xn--bcher-kva.example\")")
                }
                throw ConfigurationProblem(bad)
            }
        }
        if let last = labels.last, last.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
            throw ConfigurationProblem("\(bad) (an IP address is not a domain name)")
        }
        return name.lowercased()
    }

    private static func isLetterDigitHyphen(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
    }
}
