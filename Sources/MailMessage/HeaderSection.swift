// SUMMARY: MailMessage — the shared vocabulary of mailroot and the pure RFC 5322 tools on it.
//
// DESCRIPTION: Queue IDs, enhanced status codes, envelope addresses and envelopes, plus the
// byte-level pieces every intake path needs: the header section splitter (`HeaderSection`),
// the address-list parser (`AddressListParser`), line-ending normalisation and 8-bit / NUL
// detection (`MessageBytes`), and the trace fields mailroot writes (`MailDate`, `TraceFields`).
//
// SAFETY: Every parser here takes untrusted bytes from pickup files or SMTP peers. They never
// trap on input, bound every line and nesting depth, and report a reason instead of guessing.
// Header bytes are kept exactly as received unless a caller asks to remove a field, so a
// signed (DKIM) header section survives relaying.
//
// SEE ALSO: RFC 5322 (message format), RFC 6532 (UTF-8 headers), RFC 5321 §4.4 (trace fields),
// RFC 3463 (status codes); modules Pickup, SMTPServer and Bounce build on this one.

/// One header field as it appears in the message.
public struct HeaderField: Hashable, Sendable {
    /// The field name exactly as written (`Subject`, `X-Mailer`).
    public let name: String
    /// Where the whole field lies in the parsed bytes, folding lines and line endings included.
    public let range: Range<Int>
    /// The field's bytes exactly as written, including continuation lines and the final line ending.
    public let raw: [UInt8]
    /// The value with folding removed (RFC 5322 §2.2.3: CRLF before WSP is deleted) and outer
    /// whitespace trimmed. Invalid UTF-8 is shown as U+FFFD; `raw` keeps the bytes.
    public let value: String

    /// True when the name matches, ignoring ASCII case (RFC 5322 §1.2.2).
    public func hasName(_ other: String) -> Bool {
        name.utf8.count == other.utf8.count && name.lowercased() == other.lowercased()
    }
}

/// Why a header section does not parse.
public struct HeaderSectionError: Error, Hashable, Sendable, CustomStringConvertible {
    public let reason: String
    /// 1-based line number where the problem was found.
    public let line: Int
    public var description: String { "header line \(line): \(reason)" }
}

/// The header section of a message (RFC 5322 §2.2): the fields before the first empty line and
/// the offset where the body starts. Lines may end in CRLF or a bare LF.
public struct HeaderSection: Sendable {
    /// RFC 5322 §2.1.1 limits a line to 998 octets, but real software (long `References:`,
    /// unfolded DKIM signatures) goes past it. We accept up to this many octets per physical line
    /// and refuse beyond, so a hostile file cannot make one field arbitrarily large.
    public static let defaultMaxLineLength = 64 * 1024

    /// The bytes the section was parsed from (the whole message).
    public let bytes: [UInt8]
    public let fields: [HeaderField]
    /// Index of the first body byte: just past the empty line, or `bytes.count` when there is
    /// no empty line (a message that is all header and no body).
    public let bodyOffset: Int
    /// Where the empty separator line starts (equal to `bodyOffset` when there is none).
    public let separatorOffset: Int

    public init(parsing bytes: [UInt8], maxLineLength: Int = HeaderSection.defaultMaxLineLength) throws(HeaderSectionError) {
        self.bytes = bytes
        var scanner = HeaderScanner(bytes: bytes, maxLineLength: maxLineLength)
        try scanner.run()
        self.fields = scanner.fields
        self.bodyOffset = scanner.bodyOffset
        self.separatorOffset = scanner.separatorOffset
    }

    /// Every field with this name, in order.
    public func fields(named name: String) -> [HeaderField] {
        fields.filter { $0.hasName(name) }
    }

    /// The first field with this name.
    public func first(named name: String) -> HeaderField? {
        fields.first { $0.hasName(name) }
    }

    public func contains(_ name: String) -> Bool { first(named: name) != nil }

    /// The whole message with every field of these names cut out; all other bytes stay exactly
    /// as they were (used to drop `Bcc:` and the pickup `x-sender:` lines).
    public func removingFields(named names: [String]) -> [UInt8] {
        removing(fields.filter { field in names.contains { field.hasName($0) } })
    }

    /// The whole message with these fields (taken from `fields`) cut out.
    public func removing(_ doomed: [HeaderField]) -> [UInt8] {
        guard !doomed.isEmpty else { return bytes }
        let ranges = doomed.map(\.range).sorted { $0.lowerBound < $1.lowerBound }
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var cursor = 0
        for range in ranges where range.lowerBound >= cursor {
            result.append(contentsOf: bytes[cursor..<range.lowerBound])
            cursor = range.upperBound
        }
        result.append(contentsOf: bytes[cursor...])
        return result
    }
}

/// Walks physical lines once, grouping continuation lines with their field.
private struct HeaderScanner {
    let bytes: [UInt8]
    let maxLineLength: Int
    var fields: [HeaderField] = []
    var bodyOffset = 0
    var separatorOffset = 0

    private var fieldStart: Int?
    private var fieldNameEnd = 0
    private var lineNumber = 0

    init(bytes: [UInt8], maxLineLength: Int) {
        self.bytes = bytes
        self.maxLineLength = maxLineLength
    }

    mutating func run() throws(HeaderSectionError) {
        var position = 0
        while position < bytes.count {
            lineNumber += 1
            let (contentEnd, next) = try lineBounds(from: position)
            if contentEnd == position {
                // The empty line: RFC 5322 §2.1 separates header and body here.
                guard !fields.isEmpty || fieldStart != nil else { throw fail("the message starts with an empty line: no header section") }
                closeField(at: position)
                separatorOffset = position
                bodyOffset = next
                return
            }
            let first = bytes[position]
            if first == 0x20 || first == 0x09 {
                guard fieldStart != nil else { throw fail("a continuation line comes before any field") }
            } else {
                closeField(at: position)
                fieldNameEnd = try nameEnd(from: position, to: contentEnd)
                fieldStart = position
            }
            position = next
        }
        guard fieldStart != nil || !fields.isEmpty else { throw fail("the message is empty") }
        closeField(at: bytes.count)
        separatorOffset = bytes.count
        bodyOffset = bytes.count
    }

    /// End of the line's content (before CR LF or LF) and the start of the next line.
    private func lineBounds(from start: Int) throws(HeaderSectionError) -> (Int, Int) {
        var index = start
        let limit = min(bytes.count, start + maxLineLength + 2)
        while index < limit, bytes[index] != 0x0A { index += 1 }
        if index == limit, index < bytes.count { throw fail("line longer than \(maxLineLength) octets") }
        if index == bytes.count { return (index, index) }
        let contentEnd = index > start && bytes[index - 1] == 0x0D ? index - 1 : index
        guard contentEnd - start <= maxLineLength else { throw fail("line longer than \(maxLineLength) octets") }
        return (contentEnd, index + 1)
    }

    /// RFC 5322 §3.6.8: `field-name = 1*ftext` (printable US-ASCII except `:`), then `:`.
    /// Whitespace between name and colon is the obsolete form (§4.5.3) and is tolerated.
    private func nameEnd(from start: Int, to end: Int) throws(HeaderSectionError) -> Int {
        var index = start
        while index < end, bytes[index] >= 33, bytes[index] <= 126, bytes[index] != UInt8(ascii: ":") { index += 1 }
        let nameEnd = index
        while index < end, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
        guard nameEnd > start, index < end, bytes[index] == UInt8(ascii: ":") else {
            throw fail("not a header field (expected `name: value`)")
        }
        return nameEnd
    }

    private mutating func closeField(at end: Int) {
        guard let start = fieldStart else { return }
        fieldStart = nil
        let raw = Array(bytes[start..<end])
        let name = String(decoding: bytes[start..<fieldNameEnd], as: UTF8.self)
        let colon = bytes[fieldNameEnd..<end].firstIndex(of: UInt8(ascii: ":"))! + 1
        let value = Self.unfold(bytes[colon..<end])
        fields.append(HeaderField(name: name, range: start..<end, raw: raw, value: value))
    }

    /// RFC 5322 §2.2.3: unfolding removes each CRLF that is followed by WSP.
    static func unfold(_ slice: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(slice.count)
        for byte in slice where byte != 0x0D && byte != 0x0A { out.append(byte) }
        let text = String(decoding: out, as: UTF8.self)
        return text.trimmingASCIIWhitespace()
    }

    private func fail(_ reason: String) -> HeaderSectionError {
        HeaderSectionError(reason: reason, line: lineNumber)
    }
}

extension StringProtocol {
    /// Trims SP and HTAB only: header whitespace, not Unicode's idea of it.
    func trimmingASCIIWhitespace() -> String {
        let bytes = Array(utf8)
        guard let first = bytes.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }) else { return "" }
        let last = bytes.lastIndex(where: { $0 != 0x20 && $0 != 0x09 })!
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
