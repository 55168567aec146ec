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
        let (host, port) = try ConfigurationHostPort.parse(text, defaultPort: 53, hint: hint)
        self.init(host: host, port: port)
    }
}

/// `address:port` as written in mailroot.toml: `IPv4:port` or `[IPv6]:port`, and with a default
/// port also a bare `IPv4`, `IPv6` or `[IPv6]`. Addresses only, never host names, so the value
/// means the same thing whatever DNS says at start-up.
enum ConfigurationHostPort {
    /// `hint` follows the quoted text in the complaint ("is not a ... (use ...)").
    static func parse(_ text: String, defaultPort: Int?, hint: String) throws(ConfigurationProblem) -> (host: String, port: Int) {
        let malformed = ConfigurationProblem("\(ConfigurationError.quoted(text)) \(hint)")
        var host = Substring(text)
        var portText: Substring?
        if host.first == "[" {
            guard let close = host.firstIndex(of: "]") else { throw malformed }
            let after = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !after.isEmpty {
                guard after.first == ":" else { throw malformed }
                portText = after.dropFirst()
            }
            guard isIPv6(host) else { throw malformed }
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.firstIndex(of: ":") {
            portText = host[host.index(after: colon)...]
            host = host[..<colon]
            guard isIPv4(host) else { throw malformed }
        } else {
            // A bare IPv6 address cannot carry a port: "::1:25" is itself an address.
            guard isIPv4(host) || isIPv6(host) else { throw malformed }
        }
        guard let portText else {
            guard let defaultPort else {
                throw ConfigurationProblem("\(ConfigurationError.quoted(text)) has no port; \(hint.drop { $0 != "(" }.dropFirst().dropLast())")
            }
            return (String(host), defaultPort)
        }
        guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = Int(portText), (1...65535).contains(port) else {
            throw ConfigurationProblem("\(ConfigurationError.quoted(text)): port must be a number from 1 to 65535")
        }
        return (String(host), port)
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
