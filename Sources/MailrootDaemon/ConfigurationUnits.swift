// SPDX-License-Identifier: Apache-2.0

/// The two units an administrator writes in mailroot.toml: durations (`"15m"`, `"1h30m"`) and
/// sizes (`"35MB"`). Strict on purpose: a value that does not match exactly is refused at start-up
/// rather than guessed at, because a mis-read retry schedule or size limit fails silently for days.
public enum ConfigurationUnits {
    /// Milliseconds per unit, largest first; a duration lists its components in this order.
    private static let durationUnits: [(name: String, milliseconds: Int64)] = [
        ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1),
    ]

    /// Bytes per unit. 1024-based (KB = 1024 bytes), like Postfix and Exchange size limits;
    /// the IEC spellings are accepted so nobody has to wonder.
    private static let sizeUnits: [String: Int] = [
        "": 1, "b": 1,
        "kb": 1 << 10, "kib": 1 << 10,
        "mb": 1 << 20, "mib": 1 << 20,
        "gb": 1 << 30, "gib": 1 << 30,
    ]

    /// Parses `"1500ms"`, `"30s"`, `"15m"`, `"4h"`, `"2d"` and combinations with the larger unit
    /// first (`"1h30m"`, `"1d12h"`). No sign, spaces, fractions or bare numbers: `"30"` could mean
    /// seconds or minutes, and guessing wrong is the bug this refuses to have. `nil` when the text
    /// is not a duration or does not fit in 64-bit milliseconds.
    public static func parseDuration(_ text: String) -> Duration? {
        var total: Int64 = 0
        var lastUnitIndex = -1
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix(while: { $0.isASCII && $0.isNumber })
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix(while: { $0.isASCII && $0.isLetter })
            rest = rest.dropFirst(unit.count)
            guard !digits.isEmpty, let count = Int64(digits),
                  let unitIndex = durationUnits.firstIndex(where: { $0.name == unit }),
                  unitIndex > lastUnitIndex else { return nil }
            lastUnitIndex = unitIndex
            let (part, overflow) = count.multipliedReportingOverflow(by: durationUnits[unitIndex].milliseconds)
            guard !overflow else { return nil }
            let (sum, sumOverflow) = total.addingReportingOverflow(part)
            guard !sumOverflow else { return nil }
            total = sum
        }
        return .milliseconds(total)
    }

    /// Parses a byte count: `"35MB"`, `"512KB"`, `"1GB"`, `"100B"` or `"1048576"` (bytes).
    /// Units are case-insensitive and 1024-based. `nil` when malformed or too large for `Int`.
    public static func parseSize(_ text: String) -> Int? {
        let digits = text.prefix(while: { $0.isASCII && $0.isNumber })
        guard !digits.isEmpty, let count = Int(digits),
              let multiplier = sizeUnits[text.dropFirst(digits.count).lowercased()] else { return nil }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : bytes
    }

    /// The shortest spelling `parseDuration` reads back to the same value (`"1h30m"`, `"0s"`), so
    /// messages and logs show durations the way the administrator writes them.
    public static func format(_ duration: Duration) -> String {
        var remaining = duration.wholeMilliseconds
        guard remaining > 0 else { return remaining == 0 ? "0s" : "-" + format(.zero - duration) }
        var text = ""
        for unit in durationUnits where remaining >= unit.milliseconds {
            text += "\(remaining / unit.milliseconds)\(unit.name)"
            remaining %= unit.milliseconds
        }
        return text
    }
}

extension Duration {
    /// The duration in seconds, with the fraction: for APIs that take `TimeInterval`-style doubles.
    public var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// Whole seconds, rounded down: for settings that only have second granularity.
    public var wholeSeconds: Int64 { components.seconds }

    /// Whole milliseconds, rounded down: for NIO's `TimeAmount.milliseconds`.
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }
}
