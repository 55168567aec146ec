// SPDX-License-Identifier: Apache-2.0
import MailMessage
import NIOCore

/// One SMTP reply (RFC 5321 §4.2): a three-digit code, an optional RFC 2034 enhanced status code
/// and one or more lines of text. A multi-line reply keeps its lines; the enhanced code is
/// stored once, without the copies repeated on each line.
public struct SMTPReply: Sendable, Hashable, CustomStringConvertible {
    public var code: Int
    public var enhancedStatus: EnhancedStatusCode?
    /// The text of each line, after the code and the enhanced status code.
    public var lines: [String]

    public init(code: Int, enhancedStatus: EnhancedStatusCode? = nil, lines: [String]) {
        self.code = code
        self.enhancedStatus = enhancedStatus
        self.lines = lines
    }

    public init(code: Int, enhancedStatus: EnhancedStatusCode? = nil, _ text: String) {
        self.init(code: code, enhancedStatus: enhancedStatus, lines: [text])
    }

    /// 2xx and 3xx: the command was accepted (3xx asks for more, e.g. `354` after DATA).
    public var isPositive: Bool { (200..<400).contains(code) }
    /// 4xx: try again later.
    public var isTransient: Bool { (400..<500).contains(code) }
    /// 5xx: do not try again as is.
    public var isPermanent: Bool { (500..<600).contains(code) }

    /// The lines joined by a space: one line, fit for a log or a bounce's Diagnostic-Code.
    public var text: String { lines.joined(separator: " ") }

    /// `250 2.0.0 Ok`, on one line.
    public var description: String {
        var result = String(code)
        if let enhancedStatus { result += " \(enhancedStatus)" }
        let text = self.text
        if !text.isEmpty { result += " \(text)" }
        return result
    }

    /// The reply as a server puts it on the wire: `250-` on every line but the last, `250 ` on
    /// the last, the enhanced code repeated on each line (RFC 2034 §4). Lines must not contain
    /// CR or LF; the server builds them from its own constants.
    public func encode(into buffer: inout ByteBuffer) {
        let texts = lines.isEmpty ? [""] : lines
        for (index, line) in texts.enumerated() {
            buffer.writeString(String(code))
            buffer.writeInteger(UInt8(ascii: index == texts.count - 1 ? " " : "-"))
            if let enhancedStatus {
                buffer.writeString(enhancedStatus.description)
                if !line.isEmpty { buffer.writeInteger(UInt8(ascii: " ")) }
            }
            buffer.writeString(line)
            buffer.writeStaticString("\r\n")
        }
    }

    /// The wire bytes of `encode(into:)`.
    public func encoded() -> [UInt8] {
        var buffer = ByteBuffer()
        encode(into: &buffer)
        return Array(buffer.readableBytesView)
    }
}
