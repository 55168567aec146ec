// SPDX-License-Identifier: Apache-2.0
import MailMessage

/// One command line as a server reads it: the verb (upper-cased) and the argument text.
public struct ServerCommand: Sendable, Hashable {
    public var verb: String
    public var argument: String

    /// Splits `VERB SP argument` (RFC 5321 §4.1.1). Returns nil for a line that is not
    /// printable US-ASCII plus UTF-8 (NUL and other controls are refused, never passed on).
    public init?(line: [UInt8]) {
        guard line.allSatisfy({ $0 >= 0x20 && $0 != 0x7F || $0 == UInt8(ascii: "\t") }),
              let text = String(validating: line, as: UTF8.self) else { return nil }
        let parts = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
        verb = parts[0].uppercased()
        argument = parts.count > 1 ? String(parts[1]).trimmingSpaces() : ""
    }
}

/// `MAIL FROM:<path> params` or `RCPT TO:<path> params`, parsed (RFC 5321 §4.1.2).
struct ServerPathArgument: Sendable {
    /// The path between the brackets, with any source route already removed; empty for `<>`.
    var path: String
    /// `KEY=value` parameters (keys upper-cased); a parameter with no `=` has a nil value.
    var parameters: [(key: String, value: String?)]

    /// Parses the argument of MAIL or RCPT given its keyword (`FROM:` or `TO:`). One space after
    /// the colon is tolerated, as most servers do; the angle brackets are required.
    init?(_ argument: String, keyword: String) {
        guard argument.uppercased().hasPrefix(keyword) else { return nil }
        var rest = Substring(argument.dropFirst(keyword.count))
        while rest.first == " " { rest = rest.dropFirst() }
        guard rest.first == "<", let close = Self.closingBracket(in: rest) else { return nil }
        var path = String(rest[rest.index(after: rest.startIndex)..<close])
        // RFC 5321 §4.1.2 / Appendix C: a source route `@a,@b:` is accepted and ignored; the
        // mailbox after the colon is judged on its own, so a route can never pick the relay.
        if path.hasPrefix("@") {
            guard let colon = path.firstIndex(of: ":") else { return nil }
            path = String(path[path.index(after: colon)...])
        }
        self.path = path
        var parameters: [(key: String, value: String?)] = []
        for word in rest[rest.index(after: close)...].split(separator: " ") {
            if let equals = word.firstIndex(of: "=") {
                parameters.append((String(word[..<equals]).uppercased(), String(word[word.index(after: equals)...])))
            } else {
                parameters.append((String(word).uppercased(), nil))
            }
        }
        self.parameters = parameters
    }

    /// The `>` that closes the path, skipping quoted strings so `<"a>b"@x>` is one path.
    private static func closingBracket(in text: Substring) -> Substring.Index? {
        var inQuotes = false
        var escaped = false
        for index in text.indices.dropFirst() {
            let character = text[index]
            if escaped { escaped = false; continue }
            if inQuotes {
                if character == "\\" { escaped = true } else if character == "\"" { inQuotes = false }
                continue
            }
            if character == "\"" { inQuotes = true } else if character == ">" { return index }
        }
        return nil
    }
}

extension String {
    func trimmingSpaces() -> String {
        var text = Substring(self)
        while text.first == " " || text.first == "\t" { text = text.dropFirst() }
        while text.last == " " || text.last == "\t" { text = text.dropLast() }
        return String(text)
    }
}
