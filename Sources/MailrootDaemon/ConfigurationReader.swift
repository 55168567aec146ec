// SPDX-License-Identifier: Apache-2.0
import TOMLKit

/// One table of the file: which keys it may hold and typed access to them.
struct ConfigurationTable {
    let file: String
    /// Dotted path of this table; empty for the top level.
    let path: String
    let table: TOMLTable

    /// The value at `key`, or `nil` when the key is absent (the caller keeps its default).
    subscript(key: String) -> ConfigurationValue? {
        guard let value = table[key] else { return nil }
        return ConfigurationValue(file: file, key: Self.join(path, key), value: value.tomlValue)
    }

    /// Refuses any key not in `known`, so a misspelt key fails loudly instead of leaving its
    /// setting at the default. Checked before any value so the first message is about the typo.
    func rejectUnknownKeys(_ known: [String]) throws(ConfigurationError) {
        for key in table.keys.sorted() where !known.contains(key) {
            var message = "unknown key \(ConfigurationError.quoted(key))"
            if let hint = ConfigurationSchema.suggestion(for: key, inTable: path) { message += " (\(hint))" }
            throw ConfigurationError(file: file, key: Self.join(path, key), message: message)
        }
    }

    /// Keys that are not bare TOML keys are shown quoted so the path stays unambiguous.
    static func join(_ path: String, _ key: String) -> String {
        let bare = !key.isEmpty && key.utf8.allSatisfy {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
        let shown = bare ? key : ConfigurationError.quoted(key)
        return path.isEmpty ? shown : "\(path).\(shown)"
    }
}

/// One value of the file with the key path it came from, converted to what mailroot needs.
/// Every conversion either returns a usable value or throws an error naming the key.
struct ConfigurationValue {
    let file: String
    let key: String
    let value: TOMLValue

    func failure(_ message: String) -> ConfigurationError {
        ConfigurationError(file: file, key: key, message: message)
    }

    func string() throws(ConfigurationError) -> String {
        guard let text = value.string else { throw mismatch(expected: "a string") }
        return text
    }

    func bool() throws(ConfigurationError) -> Bool {
        guard let flag = value.bool else { throw mismatch(expected: "a boolean (true or false)") }
        return flag
    }

    func integer(in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let number = value.int else { throw mismatch(expected: "an integer") }
        guard range.contains(number) else {
            if range.upperBound == Int.max { throw failure("must be at least \(range.lowerBound), not \(number)") }
            throw failure("must be from \(range.lowerBound) to \(range.upperBound), not \(number)")
        }
        return number
    }

    /// A positive duration string (`"15m"`); a bare number is refused because its unit would be
    /// a guess, and zero because every duration here is a timeout or an interval.
    func duration() throws(ConfigurationError) -> Duration {
        try duration(allowingZero: false)
    }

    /// A duration where `"0s"` turns a feature off, at most `limit`.
    func duration(allowingZeroUpTo limit: Duration) throws(ConfigurationError) -> Duration {
        let duration = try duration(allowingZero: true)
        guard duration <= limit else {
            throw failure("\(ConfigurationUnits.format(duration)) is longer than \(ConfigurationUnits.format(limit))")
        }
        return duration
    }

    private func duration(allowingZero: Bool) throws(ConfigurationError) -> Duration {
        let example = allowingZero ? "\"2s\"" : "\"15m\""
        guard let text = value.string else { throw mismatch(expected: "a duration string such as \(example)") }
        guard let duration = ConfigurationUnits.parseDuration(text) else {
            let off = allowingZero ? "; \"0s\" turns it off" : ""
            throw failure("\(ConfigurationError.quoted(text)) is not a duration (use ms, s, m, h or d, e.g. \(example)\(off))")
        }
        guard allowingZero || duration > .zero else {
            throw failure("\(ConfigurationError.quoted(text)) must be greater than zero")
        }
        return duration
    }

    /// A byte count: an integer, or a string with a 1024-based unit (`"35MB"`). Must be positive.
    func size() throws(ConfigurationError) -> Int {
        let bytes: Int
        if let number = value.int {
            bytes = number
        } else if let text = value.string {
            guard let parsed = ConfigurationUnits.parseSize(text) else {
                throw failure("\(ConfigurationError.quoted(text)) is not a size (use B, KB, MB or GB, e.g. \"35MB\", or a number of bytes)")
            }
            bytes = parsed
        } else {
            throw mismatch(expected: "a size such as \"35MB\" or a number of bytes")
        }
        guard bytes > 0 else { throw failure("must be greater than 0 bytes") }
        return bytes
    }

    /// The elements, each carrying its own `key[n]` path for messages.
    func array() throws(ConfigurationError) -> [ConfigurationValue] {
        guard let array = value.array else { throw mismatch(expected: "an array") }
        return array.enumerated().map { ConfigurationValue(file: file, key: "\(key)[\($0.offset)]", value: $0.element.tomlValue) }
    }

    func table() throws(ConfigurationError) -> ConfigurationTable {
        guard let table = value.table else { throw mismatch(expected: "a table") }
        return ConfigurationTable(file: file, path: key, table: table)
    }

    /// Runs a validator that knows the rule but not the key, and attaches the key to its complaint.
    func checked<T>(_ validate: () throws(ConfigurationProblem) -> T) throws(ConfigurationError) -> T {
        do { return try validate() } catch { throw failure(error.message) }
    }

    private func mismatch(expected: String) -> ConfigurationError {
        failure("expected \(expected), found \(Self.describe(value))")
    }

    static func describe(_ value: TOMLValue) -> String {
        switch value.type {
        case .string: return "string \(ConfigurationError.quoted(value.string ?? ""))"
        case .int: return "integer \(value.int ?? 0)"
        case .double: return "floating-point number \(value.double ?? 0)"
        case .bool: return "boolean \(value.bool ?? false)"
        case .array: return "an array"
        case .table: return "a table"
        case .date: return "a date"
        case .time: return "a time"
        case .dateTime: return "a date-time"
        }
    }
}
