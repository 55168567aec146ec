// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailMessage

/// What the pickup parser needs to know about this installation.
public struct PickupParseOptions: Sendable {
    /// Our name, written in `Received:` and `Message-ID:`.
    public var hostname: String
    /// Largest file accepted, in octets (before line endings are converted).
    public var maxMessageSize: Int
    /// IIS `SmtpDotStuffPickupDirFiles`: files are already dot-stuffed as on the SMTP wire
    /// (.NET Framework wrote them so; .NET Core 3.0+ does not). See `unstuff`.
    public var dotStuffed: Bool
    /// Hop limit (RFC 5321 §6.3): a message that already has this many `Received:` fields is
    /// looping. The field we add would be one more.
    public var maxReceivedHeaders: Int

    public init(hostname: String, maxMessageSize: Int = 35 * 1024 * 1024, dotStuffed: Bool = false, maxReceivedHeaders: Int = 30) {
        self.hostname = hostname
        self.maxMessageSize = maxMessageSize
        self.dotStuffed = dotStuffed
        self.maxReceivedHeaders = maxReceivedHeaders
    }
}

public enum PickupParseResult: Sendable {
    case accepted(ParsedPickupMessage)
    case rejected(PickupRejection)
}

/// A pickup file turned into what the queue stores.
public struct ParsedPickupMessage: Sendable {
    public var envelope: Envelope
    /// The bytes to queue: CRLF line endings, x- lines removed, `Bcc:` removed when the
    /// recipients came from the headers, `Date:`/`Message-ID:` added when missing, and our
    /// `Received:` first.
    public var message: [UInt8]
    public var hasEightBitContent: Bool
    /// True when an envelope address is non-ASCII (RFC 6531).
    public var needsSMTPUTF8: Bool
}

/// Why a pickup file goes to badmail.
public struct PickupRejection: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    public var status: EnhancedStatusCode
    public init(reason: String, status: EnhancedStatusCode) {
        self.reason = reason
        self.status = status
    }
    public var description: String { "\(status) \(reason)" }
}

/// Parses one pickup file (any bytes an application dropped into `pickup/`). Pure: no I/O.
public func parsePickupFile(_ bytes: [UInt8], queueID: QueueID, options: PickupParseOptions, now: Date) -> PickupParseResult {
    do {
        return .accepted(try PickupFileParser(options: options, queueID: queueID, now: now).parse(bytes))
    } catch {
        return .rejected(error)
    }
}

struct PickupFileParser {
    let options: PickupParseOptions
    let queueID: QueueID
    let now: Date

    func parse(_ file: [UInt8]) throws(PickupRejection) -> ParsedPickupMessage {
        guard file.count <= options.maxMessageSize else {
            throw PickupRejection(reason: "the file is \(file.count) octets, larger than the limit of \(options.maxMessageSize)",
                                  status: .messageTooBig)
        }
        if let offset = MessageBytes.firstNUL(in: file) {
            throw PickupRejection(reason: "the file contains a NUL byte at offset \(offset) (RFC 5322 §2.3 forbids it)", status: .mediaError)
        }
        var text = MessageBytes.normalizingLineEndings(file)
        if options.dotStuffed { text = try PickupDotStuffing.unstuff(text) }
        let section: HeaderSection
        do {
            section = try HeaderSection(parsing: text)
        } catch {
            throw PickupRejection(reason: "the header section does not parse: \(error)", status: .mediaError)
        }
        guard section.contains("From") else {
            throw PickupRejection(reason: "the message has no From: field", status: .mediaError)
        }
        let received = section.fields(named: "Received").count
        guard received < options.maxReceivedHeaders else {
            throw PickupRejection(reason: "the message already has \(received) Received: fields; it is probably looping",
                                  status: .routingLoop)
        }
        let xLines = PickupFileEnvelope.leadingFields(of: section)
        let envelope = xLines.isEmpty ? try PickupHeaderEnvelope.envelope(from: section)
                                      : try PickupFileEnvelope.envelope(from: xLines)
        guard !envelope.recipients.isEmpty else {
            throw PickupRejection(reason: "the message has no recipients (no x-receiver:, To:, Cc: or Bcc: address)",
                                  status: .badAddressSyntax)
        }
        // Bcc is removed only when it was our source of recipients: with x- lines the sending
        // program chose the envelope, and .NET has already removed Bcc itself.
        let removed = xLines.isEmpty ? section.fields(named: "Bcc") : xLines
        let message = compose(section, removing: removed)
        let needsUTF8 = (envelope.sender?.needsSMTPUTF8 ?? false) || envelope.recipients.contains { $0.address.needsSMTPUTF8 }
        return ParsedPickupMessage(envelope: envelope, message: message,
                                   hasEightBitContent: MessageBytes.hasEightBitBytes(message), needsSMTPUTF8: needsUTF8)
    }

    /// Our `Received:` first (RFC 5321 §4.4: trace fields are prepended), then the remaining
    /// fields byte for byte, then `Date:`/`Message-ID:` when missing (RFC 5322 §3.6 requires
    /// Date; RFC 5321 §6.4 lets the submission server add both), then the body.
    private func compose(_ section: HeaderSection, removing removed: [HeaderField]) -> [UInt8] {
        var out = TraceFields.localReceived(hostname: options.hostname, queueID: queueID, date: now)
        out.reserveCapacity(section.bytes.count + 256)
        let separator = section.separatorOffset
        var cursor = 0
        for field in removed.sorted(by: { $0.range.lowerBound < $1.range.lowerBound }) {
            out.append(contentsOf: section.bytes[cursor..<field.range.lowerBound])
            cursor = field.range.upperBound
        }
        out.append(contentsOf: section.bytes[cursor..<separator])
        if !section.contains("Date") {
            out += TraceFields.field(name: "Date", value: MailDate.format(now))
        }
        if !section.contains("Message-ID") {
            out += TraceFields.field(name: "Message-ID", value: TraceFields.messageID(queueID: queueID, date: now, hostname: options.hostname))
        }
        out.append(contentsOf: section.bytes[separator...])
        return out
    }
}
