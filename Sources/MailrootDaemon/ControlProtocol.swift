// SPDX-License-Identifier: Apache-2.0
//
// SUMMARY
//   The control channel's requests and replies: what `mailroot queue flush|hold|release|delete|
//   bounce` asks the running daemon, one line each way.
//
// DESCRIPTION
//   Request: `<verb>[ <queue ID>]\n`. Reply: `ok <text>\n` or `error <exit status> <text>\n`,
//   the exit status being what the command should exit with (sysexits.h where one fits). Text
//   lines, because an administrator can then drive the socket with `socat` when the command
//   itself is not at hand, and because there is nothing in it that needs more structure.
//
// SAFETY
//   A request line is at most `maximumLineLength` bytes and must parse completely; the ID must be
//   a queue ID (16 base-32 characters), so nothing from the socket ever becomes a path.
import MailMessage

public enum ControlRequest: Sendable, Equatable, CustomStringConvertible {
    /// Every waiting message, or one.
    case flush(QueueID?)
    case hold(QueueID)
    case release(QueueID)
    case delete(QueueID)
    case bounce(QueueID)

    static let maximumLineLength = 256

    public var description: String {
        switch self {
        case .flush(nil): "flush"
        case .flush(let id?): "flush \(id)"
        case .hold(let id): "hold \(id)"
        case .release(let id): "release \(id)"
        case .delete(let id): "delete \(id)"
        case .bounce(let id): "bounce \(id)"
        }
    }

    /// Parses one request line (without its LF); nil when it is not exactly one of the above.
    public init?(line: String) {
        let words = line.split(separator: " ", omittingEmptySubsequences: false)
        guard let verb = words.first, words.count <= 2 else { return nil }
        let id = words.count == 2 ? QueueID(String(words[1])) : nil
        if words.count == 2, id == nil { return nil }
        switch (verb, id) {
        case ("flush", let id): self = .flush(id)
        case ("hold", let id?): self = .hold(id)
        case ("release", let id?): self = .release(id)
        case ("delete", let id?): self = .delete(id)
        case ("bounce", let id?): self = .bounce(id)
        default: return nil
        }
    }
}

public struct ControlReply: Sendable, Equatable, CustomStringConvertible {
    /// 0 when the request was done; otherwise the exit status for the command.
    public var status: Int32
    public var text: String

    public init(status: Int32 = 0, text: String) {
        self.status = status
        self.text = text
    }

    public static func ok(_ text: String) -> ControlReply { ControlReply(text: text) }

    public var description: String { status == 0 ? text : "\(text) (exit \(status))" }

    /// The wire form, one line; line breaks in `text` become spaces.
    public var line: String {
        let oneLine = String(text.map { $0 == "\n" || $0 == "\r" ? " " : $0 })
        return status == 0 ? "ok \(oneLine)\n" : "error \(status) \(oneLine)\n"
    }

    /// Parses a reply line (without its LF).
    public init?(line: String) {
        if line.hasPrefix("ok ") {
            self.init(text: String(line.dropFirst(3)))
            return
        }
        let words = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard words.count == 3, words[0] == "error", let status = Int32(words[1]), status != 0 else { return nil }
        self.init(status: status, text: String(words[2]))
    }
}
