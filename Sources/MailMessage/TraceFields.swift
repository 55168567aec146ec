// SPDX-License-Identifier: Apache-2.0
import Foundation

/// The header fields mailroot writes itself: `Received:` (RFC 5321 §4.4), `Message-ID:` and
/// `Date:` (RFC 5322 §3.6.1, §3.6.4), folded to 78 columns where whitespace allows (§2.1.1).
public enum TraceFields {
    /// The clauses of one `Received:` field. The pickup uses `by`, `with: "local"` and `id`; the
    /// SMTP listener fills `from` (`HELO (rdns [ip])`), `with: "ESMTPS"`, `withDetail` (TLS
    /// version and cipher) and `for`.
    public struct Received: Sendable, Hashable {
        public var from: String?
        public var by: String
        public var byComment: String?
        public var with: String?
        public var withDetail: String?
        public var id: String
        public var forRecipient: MailAddress?
        public var date: Date

        public init(from: String? = nil, by: String, byComment: String? = "mailroot", with: String? = nil,
                    withDetail: String? = nil, id: String, forRecipient: MailAddress? = nil, date: Date) {
            self.from = from
            self.by = by
            self.byComment = byComment
            self.with = with
            self.withDetail = withDetail
            self.id = id
            self.forRecipient = forRecipient
            self.date = date
        }

        /// The field value before folding, e.g. `by mx.example.org (mailroot) with local id X; Sun, …`.
        public var value: String { clauses + "; " + MailDate.format(date) }

        private var clauses: String {
            var clauses: [String] = []
            if let from { clauses.append("from \(from)") }
            clauses.append("by \(by)" + (byComment.map { " (\($0))" } ?? ""))
            if let with { clauses.append("with \(with)" + (withDetail.map { " (\($0))" } ?? "")) }
            clauses.append("id \(id)")
            if let forRecipient { clauses.append("for <\(forRecipient)>") }
            return clauses.joined(separator: " ")
        }

        /// The complete folded field with its CRLF. The date goes on its own line when it does
        /// not fit, as Postfix and Sendmail write it, rather than being split mid-date.
        public var field: [UInt8] {
            let head = TraceFields.fold("Received: " + clauses + ";")
            let date = MailDate.format(date)
            let lastLine = head.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).last?.count ?? 0
            let text = lastLine + 1 + date.utf8.count <= 78 ? head + " " + date : head + "\r\n " + date
            return Array(text.utf8) + [0x0D, 0x0A]
        }
    }

    /// `Received: by HOST (mailroot) with local id QUEUEID; DATE` for a message taken from pickup/.
    public static func localReceived(hostname: String, queueID: QueueID, date: Date) -> [UInt8] {
        Received(by: hostname, with: "local", id: queueID.rawValue, date: date).field
    }

    /// `<QUEUEID.UNIXTIME@hostname>`: unique because queue IDs are, and greppable in logs.
    public static func messageID(queueID: QueueID, date: Date, hostname: String) -> String {
        "<\(queueID.rawValue).\(Int64(date.timeIntervalSince1970.rounded(.down)))@\(hostname)>"
    }

    /// `Name: value` + CRLF, folded before whitespace so no line passes 78 octets when the
    /// value allows it. A word longer than the limit stays whole (folding may only insert
    /// CRLF before existing whitespace, RFC 5322 §2.2.3), so lines can then be longer.
    public static func field(name: String, value: String) -> [UInt8] {
        Array(fold(name + ": " + value).utf8) + [0x0D, 0x0A]
    }

    /// Breaks an unfolded field line into lines of at most `width` octets at whitespace.
    public static func fold(_ line: String, width: Int = 78) -> String {
        let bytes = Array(line.utf8)
        guard bytes.count > width else { return line }
        var out: [UInt8] = []
        var lineStart = 0
        var lastSpace: Int?
        var index = 0
        while index < bytes.count {
            if bytes[index] == 0x20 || bytes[index] == 0x09, index > lineStart {
                lastSpace = index
            }
            if index - lineStart >= width, let space = lastSpace, space > lineStart {
                out.append(contentsOf: bytes[lineStart..<space])
                out.append(contentsOf: [0x0D, 0x0A])
                lineStart = space
                lastSpace = nil
                index = space + 1
                continue
            }
            index += 1
        }
        out.append(contentsOf: bytes[lineStart...])
        return String(decoding: out, as: UTF8.self)
    }
}
