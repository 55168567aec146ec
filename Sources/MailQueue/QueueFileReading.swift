// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import MailMessage
import SafeIO

extension QueueFile {
    /// Reads and checks `path`'s header and end record without reading the body. Any problem —
    /// not a regular file, short, wrong magic, unknown key, bad address, wrong end record — is a
    /// `FormatError` naming it; the caller sets the file aside. `bytesRead` counts what was read.
    /// `directory` is shared by every message read (see StoredMessage).
    static func read(directory: String, expectedID: QueueID, bytesRead: inout Int) throws -> (Header, StoredMessage) {
        let path = directory + "/" + expectedID.rawValue
        let (fd, size) = try openRegularFileNoFollow(path)
        defer { close(fd) }
        guard size > 0 else { throw FormatError("empty file") }
        let (header, headerLength) = try readHeader(fd: fd, path: path, bytesRead: &bytesRead)
        guard header.id == expectedID else { throw FormatError("id \(header.id) does not match the file name") }
        let end = trailer(bodyLength: header.bodyLength)
        let expectedSize = Int64(headerLength) + header.bodyLength + Int64(end.count)
        guard size == expectedSize else {
            throw FormatError("size \(size), header says \(expectedSize) (truncated or extended)")
        }
        let tail = try readAt(fd: fd, offset: size - Int64(end.count), count: end.count, path: path)
        bytesRead += tail.count
        guard tail == end else { throw FormatError("end record missing") }
        let stored = StoredMessage(directory: directory, name: header.id.rawValue, offset: Int64(headerLength),
                                   length: header.bodyLength, hasEightBitContent: header.hasEightBitContent)
        return (header, stored)
    }

    /// Reads chunk by chunk until the empty line that ends the header.
    private static func readHeader(fd: Int32, path: String, bytesRead: inout Int) throws -> (Header, Int) {
        var buffer: [UInt8] = []
        var searchFrom = 0
        while buffer.count < maximumHeaderLength {
            let chunk = try readAt(fd: fd, offset: Int64(buffer.count), count: headerReadChunk, path: path)
            bytesRead += chunk.count
            if chunk.isEmpty { break }
            buffer += chunk
            if let end = findHeaderEnd(buffer, from: searchFrom) {
                return (try decodeHeader(buffer[..<end]), end + 1)
            }
            searchFrom = max(0, buffer.count - 1)
        }
        throw FormatError("no end of header")
    }

    private static func findHeaderEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        var index = max(start, 1)
        while index < bytes.count {
            if bytes[index] == 0x0A && bytes[index - 1] == 0x0A { return index }
            index += 1
        }
        return nil
    }

    /// Decodes the header lines (everything before the empty line, which must end with `body`).
    static func decodeHeader(_ bytes: ArraySlice<UInt8>) throws -> Header {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw FormatError("header is not UTF-8") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        guard lines.first == "\(magic) \(version)" else { throw FormatError("not a version \(version) queue file") }
        var fields = HeaderFields()
        for line in lines.dropFirst() {
            let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            guard fields.bodyLength == nil else { throw FormatError("`body` is not the last header line") }
            try fields.take(key: parts[0], value: parts.count > 1 ? parts[1] : "")
        }
        return try fields.header()
    }
}

/// The header lines as they are parsed; `header()` checks that every required one was seen.
private struct HeaderFields {
    var id: QueueID?
    var arrival: Date?
    var sender: MailAddress??
    var envelopeID: String?
    var flags: Set<Substring>?
    var source: String?
    var recipients: [EnvelopeRecipient] = []
    var bodyLength: Int64?

    typealias FormatError = QueueFile.FormatError

    mutating func take(key: Substring, value: Substring) throws {
        switch key {
        case "id":
            guard id == nil, let parsed = QueueID(String(value)) else { throw FormatError("bad or repeated id") }
            id = parsed
        case "arrival":
            guard arrival == nil, let micros = Int64(value) else { throw FormatError("bad or repeated arrival") }
            arrival = QueueFile.date(microseconds: micros)
        case "sender":
            guard sender == nil else { throw FormatError("repeated sender") }
            sender = value == "<>" ? .some(nil) : .some(try address(value))
        case "envid":
            guard envelopeID == nil, let parsed = FieldEscaping.unescape(value) else { throw FormatError("bad envid") }
            envelopeID = parsed
        case "flags":
            guard flags == nil else { throw FormatError("repeated flags") }
            let words = Set(value.split(separator: " "))
            guard words.isSubset(of: ["8bit", "smtputf8"]) else { throw FormatError("unknown flag in \(value)") }
            flags = words
        case "source":
            guard source == nil, let parsed = FieldEscaping.unescape(value) else { throw FormatError("bad source") }
            source = parsed
        case "rcpt":
            recipients.append(try recipient(value))
        case "body":
            guard let length = Int64(value), length >= 0 else { throw FormatError("bad body length") }
            bodyLength = length
        default:
            throw FormatError("unknown header key \(key.prefix(40))")
        }
    }

    func header() throws -> QueueFile.Header {
        guard let id, let arrival, let sender, let source, let bodyLength else {
            throw FormatError("a required header line is missing")
        }
        guard !recipients.isEmpty else { throw FormatError("no recipients") }
        return QueueFile.Header(
            id: id, envelope: Envelope(sender: sender, recipients: recipients, envelopeID: envelopeID),
            arrival: arrival, source: source, hasEightBitContent: flags?.contains("8bit") ?? false,
            needsSMTPUTF8: flags?.contains("smtputf8") ?? false, bodyLength: bodyLength)
    }

    private func address(_ value: Substring) throws -> MailAddress {
        guard let text = FieldEscaping.unescape(value), let parsed = MailAddress(text) else {
            throw FormatError("bad address \(value.prefix(80))")
        }
        return parsed
    }

    private func recipient(_ value: Substring) throws -> EnvelopeRecipient {
        let words = value.split(separator: " ")
        guard let first = words.first else { throw FormatError("empty rcpt") }
        var result = EnvelopeRecipient(try address(first))
        for word in words.dropFirst() {
            let pair = word.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, let parsed = FieldEscaping.unescape(pair[1]) else { throw FormatError("bad rcpt parameter") }
            switch pair[0] {
            case "orcpt" where result.originalRecipient == nil: result.originalRecipient = parsed
            case "notify" where result.notify == nil: result.notify = parsed
            default: throw FormatError("unknown or repeated rcpt parameter \(pair[0].prefix(20))")
            }
        }
        return result
    }
}
