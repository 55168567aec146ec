// SPDX-License-Identifier: Apache-2.0

extension MailrootConfiguration {
    /// `user` and `pickup_group`: a name as useradd(8) and groupadd(8) accept it (letters, digits,
    /// `_`, `-`, `.`, a trailing `$`; at most 32 characters; not starting with `-`), or `""` for
    /// none. Whether the account exists is checked when `serve` starts (and by `mailroot check`),
    /// not here, so a config can be written and tested on a machine that lacks the account. A
    /// numeric name is refused because `getpwnam` would not treat it as a uid and the
    /// administrator probably meant one.
    static func readAccountName(_ value: ConfigurationValue, kind: String) throws(ConfigurationError) -> String? {
        let text = try value.string()
        guard !text.isEmpty else { return nil }
        let body = text.hasSuffix("$") ? String(text.dropLast()) : text
        guard !body.isEmpty, text.utf8.count <= 32, !text.hasPrefix("-"), isPlainName(body) else {
            throw value.failure("\(ConfigurationError.quoted(text)) is not a \(kind) name (letters, digits, \"_\", \"-\" and \".\", at most 32 characters), or \"\" for none")
        }
        guard !body.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            throw value.failure("\(ConfigurationError.quoted(text)) is a number; write the \(kind) name, e.g. \"mailroot\"")
        }
        return text
    }

    private static func isPlainName(_ text: String) -> Bool {
        text.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
        }
    }

    /// `shutdown_grace`: a positive duration of at most 10 minutes. Longer would outlast
    /// systemd's stop timeout (90 s by default) and any reasonable init system's patience, so the
    /// daemon would be killed mid-write instead of stopping cleanly.
    static func readShutdownGrace(_ value: ConfigurationValue) throws(ConfigurationError) -> Duration {
        let grace = try value.duration()
        guard grace <= .seconds(600) else {
            throw value.failure("\(ConfigurationUnits.format(grace)) is longer than 10m; an init system would kill mailroot before it ends")
        }
        return grace
    }
}
