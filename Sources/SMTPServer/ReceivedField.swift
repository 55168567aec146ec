// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailMessage
import NIOCore
import SMTPProtocol

/// Our `Received:` trace field (RFC 5321 §4.4), e.g.
/// `Received: from client.example ([192.0.2.1]) by mx.example.org (mailroot) with ESMTPS
/// (TLSv1.3) id 0ABCDEFGH1234567 for <bob@example.org>; Sun, 29 Nov 2026 05:00:00 +0000`.
enum ReceivedField {
    /// With `disclosingUser`, an authenticated session adds `(Authenticated sender: NAME)` after
    /// the client, as Postfix's smtpd_sasl_authenticated_header does; off by default, because
    /// the header travels to every recipient and names an account on this server.
    static func make(transaction: ServerMailTransaction, clientAddress: SocketAddress?, clientName: String? = nil,
                     hostname: String,
                     tlsVersion: String?, queueID: QueueID, disclosingUser: Bool = false, date: Date = Date()) -> [UInt8] {
        let ip = clientAddress?.ipAddress.map(addressLiteral) ?? "[unknown]"
        // RFC 5321 §4.4 TCP-info: `name [address]` when the reverse name is known.
        let info = clientName.flatMap(verifiedName).map { "\($0) \(ip)" } ?? ip
        let recipients = transaction.envelope.recipients
        // `for` only with a single recipient: with several it would disclose the others (Postfix does the same).
        var from = "\(sanitized(transaction.heloName)) (\(info))"
        if disclosingUser, let user = transaction.authenticatedUser {
            from += " (Authenticated sender: \(sanitized(user, alsoAllowing: "@+")))"
        }
        let received = TraceFields.Received(
            from: from, by: hostname, with: transaction.protocolName,
            withDetail: tlsVersion, id: queueID.rawValue,
            forRecipient: recipients.count == 1 ? recipients[0].address : nil, date: date)
        return received.field
    }

    /// `[192.0.2.1]` or `[IPv6:2001:db8::1]` (RFC 5321 §4.1.3).
    static func addressLiteral(_ ip: String) -> String {
        ip.contains(":") ? "[IPv6:\(ip)]" : "[\(ip)]"
    }

    /// The reverse name comes from a DNS zone the client may control (or from an arbitrary hook):
    /// it is written only if it is a plain hostname (letters, digits, `-`, `_` in dot-separated
    /// labels of 1…63, at most 253 octets), else left out rather than altered into a name that
    /// looks verified.
    static func verifiedName(_ name: String) -> String? {
        var text = Substring(name)
        if text.hasSuffix(".") { text = text.dropLast() }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        guard !text.isEmpty, text.utf8.count <= 253, labels.allSatisfy({ label in
            (1...63).contains(label.utf8.count) && label.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            }
        }) else { return nil }
        return text.lowercased()
    }

    /// The HELO name is the client's word: anything that could end the clause or the comment
    /// (`(`, `)`, `;`, `\`, quotes) or is not printable ASCII is replaced, so a client cannot
    /// forge the rest of our trace field.
    static func sanitized(_ helo: String, alsoAllowing extra: String = "") -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]" + extra)
        let text = String(helo.prefix(255).map { allowed.contains($0) ? $0 : "?" })
        return text.isEmpty ? "unknown" : text
    }
}
