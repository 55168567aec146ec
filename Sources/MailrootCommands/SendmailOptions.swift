// SPDX-License-Identifier: Apache-2.0

/// The sendmail(1) command line as applications pass it, parsed the way Postfix's `sendmail`
/// does: getopt clusters (`-ti`, `-oi`, `-fuser`, `-f user`), options stop at the first
/// recipient or at `--` (Postfix forces POSIX getopt, so `sendmail root -i` makes `-i` a
/// recipient), legacy options that mean nothing here are accepted and ignored, and modes
/// mailroot does not offer fail loudly instead of pretending.
struct SendmailOptions: Equatable {
    enum Mode: Equatable {
        /// `-bm`, the default: read a message and queue it.
        case deliver
        /// `-bi`, `-I`, `newaliases`: mailroot has no alias database, so there is nothing to rebuild.
        case newAliases
        /// `-q<interval>`: a daemon option Postfix also accepts and ignores outside daemon mode.
        case ignoredQueueInterval
        /// `--help`.
        case help
    }

    var mode: Mode = .deliver
    /// `-t`: recipients also come from To/Cc/Bcc (or Resent-To/Cc/Bcc) in the message.
    var extractRecipients = false
    /// Without `-i` / `-oi`, a line holding only "." ends the input (classic sendmail).
    var dotEndsInput = true
    /// `-f` / `-r` exactly as given; nil means "the invoking user".
    var sender: String?
    /// `-F`: the display name for a From: field we add.
    var fullName: String?
    /// `-N`: RFC 3461 NOTIFY for every recipient, already upper-cased (`NEVER`, `SUCCESS,DELAY`…).
    var notify: String?
    /// `--config FILE` (ours, not sendmail's).
    var configPath: String?
    /// The arguments after the options, each an address list (`a@x, Name <b@y>`, or a bare `root`).
    var recipients: [String] = []

    /// Options that take a value, attached (`-fuser`) or as the next argument (`-f user`):
    /// Postfix's getopt string `A:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:r:q:tvx`.
    private static let takesValue = Set("ABCFLNORVXbefhopqr".utf8)
    /// Flags accepted and ignored for compatibility: -G gateway, -U initial submission,
    /// -c, -m, -n, -v, -x (mailx passes -v; Postfix prints nothing for a single -v either).
    private static let ignoredFlags = Set("GUcmnvx".utf8)

    static func parse(_ arguments: [String]) throws(SendmailError) -> SendmailOptions {
        var options = SendmailOptions()
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" { index += 1; break }
            if argument.hasPrefix("--") {
                index += try options.applyLong(argument, next: index + 1 < arguments.count ? arguments[index + 1] : nil)
                continue
            }
            guard argument.hasPrefix("-"), argument.utf8.count > 1 else { break }
            switch argument {
            case "-q":
                throw .usage("-q (run the queue now) is not available in mailroot sendmail yet")
            case "-V":
                // VERP without delimiters; mailroot does not do VERP and the envelope stays as given.
                index += 1
                continue
            default:
                break
            }
            index += try options.applyCluster(argument, next: index + 1 < arguments.count ? arguments[index + 1] : nil)
        }
        options.recipients = Array(arguments[index...])
        return options
    }

    /// Applies `--config FILE`, `--config=FILE` or `--help`; returns how many arguments it used.
    private mutating func applyLong(_ argument: String, next: String?) throws(SendmailError) -> Int {
        if argument == "--help" { mode = .help; return 1 }
        if argument.hasPrefix("--config=") {
            configPath = String(argument.dropFirst("--config=".count))
            return 1
        }
        if argument == "--config" {
            guard let next else { throw .usage("--config needs a file name") }
            configPath = next
            return 2
        }
        throw .usage("unknown option \(Self.printable(argument))")
    }

    /// Applies one getopt cluster such as `-ti`, `-oi`, `-fuser` or `-f`; returns how many
    /// arguments it used (2 when the value was the next argument).
    private mutating func applyCluster(_ argument: String, next: String?) throws(SendmailError) -> Int {
        let letters = Array(argument.utf8.dropFirst())
        for (position, letter) in letters.enumerated() {
            if Self.takesValue.contains(letter) {
                let attached = letters[(position + 1)...]
                if !attached.isEmpty {
                    try applyValue(letter, String(decoding: attached, as: UTF8.self))
                    return 1
                }
                guard let next else { throw .usage("option -\(Character(Unicode.Scalar(letter))) needs a value") }
                try applyValue(letter, next)
                return 2
            }
            try applyFlag(letter)
        }
        return 1
    }

    private mutating func applyFlag(_ letter: UInt8) throws(SendmailError) {
        switch letter {
        case UInt8(ascii: "t"): extractRecipients = true
        case UInt8(ascii: "i"): dotEndsInput = false
        case UInt8(ascii: "I"): mode = .newAliases
        case let other where Self.ignoredFlags.contains(other): break
        default: throw .usage("unknown option -\(Self.printable(String(decoding: [letter], as: UTF8.self)))")
        }
    }

    private mutating func applyValue(_ letter: UInt8, _ value: String) throws(SendmailError) {
        switch letter {
        case UInt8(ascii: "f"), UInt8(ascii: "r"): sender = value
        case UInt8(ascii: "F"): fullName = value
        case UInt8(ascii: "N"): notify = try Self.parseNotify(value)
        case UInt8(ascii: "b"): try applyMode(value)
        case UInt8(ascii: "o"):
            // -oi is the only -o option with a meaning here; -oem, -odi, -om, -o7/-o8, -oA… are
            // Sendmail settings that mailroot takes from its own config, ignored as Postfix does.
            if value == "i" { dotEndsInput = false }
        case UInt8(ascii: "B"):
            // RFC 6152 body type: mailroot detects 8-bit content itself, but a wrong value is a
            // caller bug worth reporting (Postfix refuses it too).
            guard value == "8BITMIME" || value == "7BIT" else { throw .usage("-B needs 8BITMIME or 7BIT, not \(Self.printable(value))") }
        case UInt8(ascii: "C"):
            throw .usage("-C is Postfix's configuration directory; use --config FILE or the MAILROOT_CONFIG environment variable")
        case UInt8(ascii: "q"):
            guard let first = value.utf8.first, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
                throw .usage("-q\(Self.printable(value)) is not available in mailroot sendmail")
            }
            mode = .ignoredQueueInterval
        default:
            // -A, -L, -O, -R, -V, -X, -e, -h, -p: values for Sendmail features with no meaning here.
            break
        }
    }

    private mutating func applyMode(_ value: String) throws(SendmailError) {
        switch value {
        case "m": mode = .deliver
        case "i": mode = .newAliases
        case "p": throw .init(status: .usage, message: "-bp (list the queue, mailq) is not available in mailroot sendmail yet")
        case "s": throw .init(status: .usage, message: "-bs (SMTP on standard input) is not available in mailroot sendmail")
        case "d": throw .init(status: .usage, message: "-bd (daemon mode) is not how mailroot starts; run `mailroot serve`")
        default: throw .usage("unsupported mode -b\(Self.printable(value))")
        }
    }

    /// RFC 3461 §4.1 NOTIFY in sendmail's `-N` spelling: `never` or a list of success, failure, delay.
    static func parseNotify(_ value: String) throws(SendmailError) -> String {
        let items = value.uppercased().split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingSpaces() }
        if items == ["NEVER"] { return "NEVER" }
        guard !items.isEmpty, items.allSatisfy({ ["SUCCESS", "FAILURE", "DELAY"].contains($0) }) else {
            throw .usage("-N needs never, or a comma-separated list of success, failure, delay; not \(printable(value))")
        }
        return items.joined(separator: ",")
    }

    /// An argument echoed in an error message, with control characters made visible so a
    /// hostile argument cannot forge lines in the caller's log.
    static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\x" + String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 2)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return "\"" + out + "\""
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }

    fileprivate func trimmingSpaces() -> String {
        var text = Substring(self)
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}
