// SPDX-License-Identifier: Apache-2.0

/// Why the configuration file was refused, phrased for the administrator who has to fix it.
///
/// Every error names the file and, where one is to blame, the dotted key (`delivery.retry[2]`),
/// so `mailroot serve` can stop at start-up with one line that points at the mistake instead of
/// running with a value the administrator did not mean.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The configuration file as the administrator named it (not resolved), or `(defaults)`.
    public var file: String
    /// Dotted path of the offending key, with `[n]` for array elements; empty for file-level errors.
    public var key: String
    /// What is wrong and, where possible, what would be right.
    public var message: String
    /// 1-based position of a TOML syntax error, when the parser reports one.
    public var line: Int?
    public var column: Int?

    public init(file: String, key: String = "", message: String, line: Int? = nil, column: Int? = nil) {
        self.file = file
        self.key = key
        self.message = message
        self.line = line
        self.column = column
    }

    /// `file[:line:column]: [key: ]message`, the shape compilers use so editors can jump to it.
    public var description: String {
        var location = file
        if let line {
            location += ":\(line)"
            if let column { location += ":\(column)" }
        }
        return key.isEmpty ? "\(location): \(message)" : "\(location): \(key): \(message)"
    }
}

extension ConfigurationError {
    /// Renders a value from the file for a message. Quoted and escaped so a control character or
    /// an ANSI escape sequence in a hostile file cannot rewrite the operator's terminal or log
    /// line; cut short so a megabyte string does not become a megabyte log entry.
    static func quoted(_ text: String) -> String {
        let limit = 80
        let shown = text.count > limit ? String(text.prefix(limit)) + "…" : text
        var result = "\""
        for scalar in shown.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case _ where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value):
                result += "\\u{\(String(scalar.value, radix: 16))}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
