// SPDX-License-Identifier: Apache-2.0
import MailMessage
import NIOCore

/// Turns the bytes a server sends into `SMTPReply` values, however the bytes were split across
/// reads. Feed it with `append(_:)`, then call `next()` until it returns nil.
///
/// The server is untrusted: a line is at most `maximumLineLength` bytes and a reply at most
/// `maximumLines` lines, so a hostile peer cannot make the client buffer without bound. Lines
/// may end in CRLF or, leniently, a bare LF (some servers do; RFC 5321 §4.1.1.4 asks for CRLF,
/// but a reply cannot smuggle anything to us the way DATA content can to a server).
public struct SMTPReplyDecoder: Sendable {
    /// Four times RFC 5321's 512-octet limit for a reply line (§4.5.3.1.5): real servers exceed it.
    public static let maximumLineLength = 2048
    /// EHLO replies are the longest legitimate ones, and run to a few dozen lines.
    public static let maximumLines = 200

    private var buffer = ByteBuffer()
    private var partialCode: Int?
    private var partialLines: [String] = []

    public init() {}

    /// True when bytes are held that do not yet form a complete reply. After the `220` to
    /// STARTTLS this must be false: anything else was sent in plaintext to be read as if it
    /// came over TLS (CVE-2011-0411, response injection).
    public var hasBufferedInput: Bool { buffer.readableBytes > 0 || partialCode != nil }

    public mutating func append(_ bytes: ByteBuffer) {
        var bytes = bytes
        if buffer.readerIndex > 65_536 { buffer.discardReadBytes() }
        buffer.writeBuffer(&bytes)
    }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        append(ByteBuffer(bytes: bytes))
    }

    /// The next complete reply, or nil until more bytes arrive. After a thrown error the decoder
    /// is unusable: the connection must be closed.
    public mutating func next() throws(SMTPProtocolError) -> SMTPReply? {
        while let line = try nextLine() {
            let (code, isLast, text) = try Self.parse(line)
            if let expected = partialCode, expected != code {
                throw .inconsistentReplyCode(expected: expected, found: code)
            }
            partialCode = code
            partialLines.append(text)
            guard partialLines.count <= Self.maximumLines else { throw .tooManyReplyLines }
            if isLast {
                let reply = Self.makeReply(code: code, texts: partialLines)
                partialCode = nil
                partialLines = []
                return reply
            }
        }
        return nil
    }

    /// Appends `bytes` and returns every reply now complete.
    public mutating func feed(_ bytes: ByteBuffer) throws(SMTPProtocolError) -> [SMTPReply] {
        append(bytes)
        var replies: [SMTPReply] = []
        while let reply = try next() { replies.append(reply) }
        return replies
    }

    private mutating func nextLine() throws(SMTPProtocolError) -> [UInt8]? {
        let view = buffer.readableBytesView
        guard let lf = view.firstIndex(of: UInt8(ascii: "\n")) else {
            // +1 leaves room for a CR whose LF has not arrived yet.
            if view.count > Self.maximumLineLength + 1 { throw .replyLineTooLong }
            return nil
        }
        var line = Array(view[view.startIndex..<lf])
        buffer.moveReaderIndex(forwardBy: lf - view.startIndex + 1)
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        guard line.count <= Self.maximumLineLength else { throw .replyLineTooLong }
        return line
    }

    /// `Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ] CRLF`
    /// (RFC 5321 §4.2). The first digit must be 2–5; a bare code ends the reply.
    private static func parse(_ line: [UInt8]) throws(SMTPProtocolError) -> (Int, Bool, String) {
        let digits = line.prefix(3)
        guard digits.count == 3, digits.allSatisfy({ (0x30...0x39).contains($0) }),
              (UInt8(ascii: "2")...UInt8(ascii: "5")).contains(line[0]) else {
            throw .malformedReplyLine(sanitize(line.prefix(80)))
        }
        let code = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        guard line.count > 3 else { return (code, true, "") }
        switch line[3] {
        case UInt8(ascii: " "): return (code, true, sanitize(line.dropFirst(4)))
        case UInt8(ascii: "-"): return (code, false, sanitize(line.dropFirst(4)))
        default: throw .malformedReplyLine(sanitize(line.prefix(80)))
        }
    }

    /// Reply text ends up in logs and bounces: control characters (a terminal escape, a stray CR)
    /// become `?`, tabs become spaces, invalid UTF-8 becomes U+FFFD.
    static func sanitize(_ bytes: some Collection<UInt8>) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x09: result.append(" ")
            case 0x00..<0x20, 0x7F..<0xA0: result.append("?")
            default: result.append(scalar)
            }
        }
        return String(result)
    }

    /// Splits off the RFC 2034 enhanced status code when the first line carries one whose class
    /// matches the reply code's first digit, and drops its copies from the following lines.
    static func makeReply(code: Int, texts: [String]) -> SMTPReply {
        guard let first = texts.first else { return SMTPReply(code: code, lines: []) }
        let token = first.prefix { $0 != " " }
        guard let status = EnhancedStatusCode(token), status.statusClass.rawValue == code / 100 else {
            return SMTPReply(code: code, lines: texts)
        }
        let lines = texts.map { line -> String in
            guard line.hasPrefix(token) else { return line }
            let rest = line.dropFirst(token.count)
            if rest.isEmpty { return "" }
            guard rest.first == " " else { return line }
            return String(rest.dropFirst())
        }
        return SMTPReply(code: code, enhancedStatus: status, lines: lines)
    }
}
