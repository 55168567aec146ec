// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailMessage

/// Addresses and names from sendmail's command line and from the message's To/Cc/Bcc fields.
///
/// Everything from the command line ends up in a header-like line we write (`x-sender:`,
/// `x-receiver:`, `From:`), so CR, LF and NUL are refused outright: one of them in `-f`, `-F` or
/// a recipient would let a web form that passes user input to sendmail add header fields or
/// recipients (the classic PHP `mail()` injection). Every address must parse as an RFC 5321
/// mailbox; nothing is passed through on trust.
enum SendmailAddresses {
    /// Refuses C0 controls and DEL in a command-line value; `what` names it in the message.
    static func requirePrintable(_ value: String, what: String) throws(SendmailError) {
        if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw .usage("\(what) \(SendmailOptions.printable(value)) contains a control character (CR, LF, NUL…); refused to prevent header injection")
        }
    }

    /// An address list as Postfix reads a recipient argument or a To: field: `a@x`,
    /// `a@x, b@y`, `Name <a@x>`, groups; a bare local name (`root`, as cron passes it) gets
    /// `@domain` appended, as Postfix appends `@$myorigin`.
    ///
    /// A local part starting with "-" is refused, as Postfix does by default (`allow_min_user =
    /// no`): it is usually a misplaced option (`sendmail root -i`), and passed on to a program's
    /// command line it would be read as one.
    static func addressList(_ text: String, qualifyingWith domain: String) throws(Problem) -> [MailAddress] {
        let addresses: [MailAddress]
        do {
            addresses = try parseAddressList(text, qualifyingWith: domain)
        } catch {
            throw Problem(description: error.reason)
        }
        if let dashed = addresses.first(where: { $0.localPart.hasPrefix("-") }) {
            throw Problem(description: "\(dashed) starts with \"-\" (a misplaced option?)")
        }
        return addresses
    }

    /// Why an address list was refused.
    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    private static func parseAddressList(_ text: String, qualifyingWith domain: String) throws(AddressListError) -> [MailAddress] {
        do {
            return try AddressListParser.parse(text)
        } catch {
            var result: [MailAddress] = []
            for item in text.split(separator: ",") {
                let word = String(item).trimmingCharacters(in: .whitespaces)
                if word.isEmpty { continue }
                guard isBareLocalName(word), let address = MailAddress(localPart: word, domain: domain) else { throw error }
                result.append(address)
            }
            return result
        }
    }

    /// The envelope sender from `-f` / `-r`: nil for the null sender (`-f ''`, `-f '<>'`),
    /// otherwise one mailbox, bare local names qualified like recipients.
    static func sender(_ raw: String, qualifyingWith domain: String) throws(SendmailError) -> MailAddress? {
        try requirePrintable(raw, what: "-f")
        let text = raw.trimmingCharacters(in: .whitespaces)
        if text.isEmpty || text == "<>" { return nil }
        let addresses: [MailAddress]
        do {
            addresses = try addressList(text, qualifyingWith: domain)
        } catch {
            throw .usage("-f \(SendmailOptions.printable(raw)) is not a valid address: \(error)")
        }
        guard addresses.count == 1 else {
            throw .usage("-f \(SendmailOptions.printable(raw)) must name exactly one address")
        }
        return addresses[0]
    }

    /// Every recipient argument, in order, duplicates removed.
    static func recipients(_ arguments: [String], qualifyingWith domain: String) throws(SendmailError) -> [MailAddress] {
        var result: [MailAddress] = []
        for argument in arguments {
            try requirePrintable(argument, what: "recipient")
            let addresses: [MailAddress]
            do {
                addresses = try addressList(argument, qualifyingWith: domain)
            } catch {
                throw .usage("recipient \(SendmailOptions.printable(argument)) is not a valid address: \(error)")
            }
            result.append(contentsOf: addresses)
        }
        return result
    }

    /// RFC 5321 dot-atom local part without `@`: what a login name or alias looks like.
    private static func isBareLocalName(_ word: String) -> Bool {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~.".utf8)
        return !word.isEmpty && word.utf8.allSatisfy { allowed.contains($0) || $0 >= 0x80 }
    }

    /// `"Full Name" <user@host>` for a From: field we add. A name with only printable ASCII
    /// becomes an RFC 5322 quoted-string; a UTF-8 name becomes RFC 2047 encoded-words, which
    /// every receiver can read (raw UTF-8 in headers needs RFC 6532 end to end).
    static func mailbox(_ address: MailAddress, displayName: String?) -> String {
        guard let name = displayName?.trimmingCharacters(in: .whitespaces), !name.isEmpty else { return "<\(address)>" }
        return "\(encodedPhrase(name)) <\(address)>"
    }

    static func encodedPhrase(_ name: String) -> String {
        if name.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            var quoted = "\""
            for character in name {
                if character == "\"" || character == "\\" { quoted.append("\\") }
                quoted.append(character)
            }
            return quoted + "\""
        }
        // RFC 2047 §2: an encoded-word is at most 75 characters; 45 octets of UTF-8 become 60
        // base64 characters plus the 12 of `=?UTF-8?B?` and `?=`. Characters are never split.
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in name {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 45 {
                words.append(encodedWord(chunk))
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append(encodedWord(chunk)) }
        return words.joined(separator: " ")
    }

    private static func encodedWord(_ bytes: [UInt8]) -> String {
        "=?UTF-8?B?" + Data(bytes).base64EncodedString() + "?="
    }
}
