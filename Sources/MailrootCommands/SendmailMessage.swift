// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailMessage

/// Turns what an application piped into sendmail into a pickup file: `x-sender:` and
/// `x-receiver:` lines, then the message with CRLF line endings, without Bcc, and with the
/// From:, Date: and Message-ID: fields it lacked.
///
/// Decision (-t): the recipients are computed here and written as `x-receiver:` lines rather
/// than left for the pickup parser to take from the headers, because `-f`, `-N` and recipient
/// arguments (which Postfix adds to the -t list) can only travel in the envelope lines. As in
/// Postfix, when the message has any Resent- field the Resent-To/Cc/Bcc fields are used instead
/// of To/Cc/Bcc (RFC 5322 §3.6.6: a resent message goes to the resent recipients).
///
/// `Bcc:` and `Resent-Bcc:` are always removed (with x- lines the pickup keeps every field as
/// given), and so are `x-sender:` / `x-receiver:` fields inside the message: written right after
/// ours they would join the envelope, letting a message add recipients or a sender of its own.
struct SendmailMessage {
    struct Context {
        /// The domain for bare names (`root`) and for the user's own address.
        var hostname: String
        /// `login@hostname`: the default envelope sender and the From: when there is no sender.
        var userAddress: MailAddress
        var fullName: String?
        var now: Date
        var queueID: QueueID
    }

    var sender: MailAddress?
    var recipients: [MailAddress]
    /// The complete pickup file.
    var file: [UInt8]

    static func compose(input: [UInt8], options: SendmailOptions, sender: MailAddress?,
                        arguments: [MailAddress], context: Context) throws(SendmailError) -> SendmailMessage {
        if let offset = MessageBytes.firstNUL(in: input) {
            throw .dataError("the message contains a NUL byte at offset \(offset) (RFC 5322 §2.3 forbids it)")
        }
        let text = MessageBytes.normalizingLineEndings(Array(withoutFromLines(input)))
        let (headerEnd, bodyStart) = splitHeader(text)
        let section: HeaderSection?
        do {
            section = headerEnd > 0 ? try HeaderSection(parsing: Array(text[..<headerEnd])) : nil
        } catch {
            throw .dataError("the header section does not parse: \(error)")
        }
        var recipients = arguments
        if options.extractRecipients, let section {
            recipients += try headerRecipients(section, hostname: context.hostname)
        }
        recipients = unique(recipients)
        guard !recipients.isEmpty else {
            throw .dataError("no recipients: the message has no To:, Cc: or Bcc: address and none was given as an argument")
        }

        var file: [UInt8] = []
        file.reserveCapacity(text.count + 1024)
        file += TraceFields.field(name: "x-sender", value: "<\(sender.map(\.description) ?? "")>")
        for recipient in recipients {
            file += TraceFields.field(name: "x-receiver", value: "<\(recipient)>" + (options.notify.map { " NOTIFY=\($0)" } ?? ""))
        }
        if let section {
            let doomed = section.fields.filter { field in ["Bcc", "Resent-Bcc", "x-sender", "x-receiver"].contains { field.hasName($0) } }
            file += section.removing(doomed)
        }
        file += missingFields(section, sender: sender, context: context, fullName: options.fullName ?? context.fullName)
        file += [0x0D, 0x0A]
        file += text[bodyStart...]
        return SendmailMessage(sender: sender, recipients: recipients, file: file)
    }

    /// From: (the envelope sender, or the user when it is null), Date: and Message-ID: when
    /// absent. RFC 5322 §3.6 requires From and Date; RFC 5321 §6.4 lets a submission agent add them.
    private static func missingFields(_ section: HeaderSection?, sender: MailAddress?, context: Context, fullName: String?) -> [UInt8] {
        var out: [UInt8] = []
        if section?.contains("From") != true {
            out += TraceFields.field(name: "From", value: SendmailAddresses.mailbox(sender ?? context.userAddress, displayName: fullName))
        }
        if section?.contains("Date") != true {
            out += TraceFields.field(name: "Date", value: MailDate.format(context.now))
        }
        if section?.contains("Message-ID") != true {
            out += TraceFields.field(name: "Message-ID", value: TraceFields.messageID(queueID: context.queueID, date: context.now, hostname: context.hostname))
        }
        return out
    }

    private static func headerRecipients(_ section: HeaderSection, hostname: String) throws(SendmailError) -> [MailAddress] {
        let resent = section.fields.contains { $0.name.lowercased().hasPrefix("resent-") }
        let names = resent ? ["Resent-To", "Resent-Cc", "Resent-Bcc"] : ["To", "Cc", "Bcc"]
        var result: [MailAddress] = []
        for field in section.fields where names.contains(where: { field.hasName($0) }) {
            do {
                result += try SendmailAddresses.addressList(field.value, qualifyingWith: hostname)
            } catch {
                throw .dataError("\(field.name): \(error)")
            }
        }
        return result
    }

    private static func unique(_ addresses: [MailAddress]) -> [MailAddress] {
        var seen = Set<MailAddress>()
        return addresses.filter { seen.insert($0).inserted }
    }

    /// Drops leading mbox `From ` lines (and UUCP `>From `), as Postfix's sendmail does: they
    /// are a mailbox separator, not a header field, and would otherwise start the body.
    static func withoutFromLines(_ input: [UInt8]) -> ArraySlice<UInt8> {
        var start = 0
        while true {
            var index = start
            while index < input.count, input[index] == UInt8(ascii: ">") { index += 1 }
            guard input[index...].starts(with: Array("From ".utf8)) else { break }
            guard let newline = input[index...].firstIndex(of: 0x0A) else { return [] }
            start = newline + 1
        }
        return input[start...]
    }

    /// Where the header section ends and the body starts in CRLF text. Like Postfix, the first
    /// line that is neither a field nor a continuation ends the header section and begins the
    /// body (so `echo hello | sendmail root` sends "hello" as the body, not as a broken header).
    static func splitHeader(_ text: [UInt8]) -> (headerEnd: Int, bodyStart: Int) {
        var position = 0
        var inField = false
        while position < text.count {
            var lineEnd = position
            while lineEnd + 1 < text.count, !(text[lineEnd] == 0x0D && text[lineEnd + 1] == 0x0A) { lineEnd += 1 }
            if lineEnd + 1 >= text.count { lineEnd = text.count }
            let next = min(text.count, lineEnd + 2)
            if lineEnd == position { return (position, next) }
            let first = text[position]
            if first == 0x20 || first == 0x09 {
                guard inField else { return (position, position) }
            } else {
                guard isFieldStart(text[position..<lineEnd]) else { return (position, position) }
                inField = true
            }
            position = next
        }
        return (text.count, text.count)
    }

    /// RFC 5322 §3.6.8 `field-name ":"`, with the obsolete whitespace before the colon (§4.5.3).
    private static func isFieldStart(_ line: ArraySlice<UInt8>) -> Bool {
        var index = line.startIndex
        while index < line.endIndex, line[index] >= 33, line[index] <= 126, line[index] != UInt8(ascii: ":") { index += 1 }
        guard index > line.startIndex else { return false }
        while index < line.endIndex, line[index] == 0x20 || line[index] == 0x09 { index += 1 }
        return index < line.endIndex && line[index] == UInt8(ascii: ":")
    }
}
