// SPDX-License-Identifier: Apache-2.0
import Foundation
import MailMessage
import NIOCore
import SMTPProtocol

/// Our `Received:` trace field (RFC 5321 §4.4), e.g.
/// `Received: from client.example ([192.0.2.1]) by mx.example.org (mailroot) with ESMTPS
/// (TLSv1.3) id 0ABCDEFGH1234567 for <bob@example.org>; Sun, 29 Nov 2026 05:00:00 +0000`.
enum ReceivedField {
    static func make(transaction: ServerMailTransaction, clientAddress: SocketAddress?, hostname: String,
                     tlsVersion: String?, queueID: QueueID, date: Date = Date()) -> [UInt8] {
        let ip = clientAddress?.ipAddress.map(addressLiteral) ?? "[unknown]"
        let recipients = transaction.envelope.recipients
        // `for` only with a single recipient: with several it would disclose the others (Postfix does the same).
        let received = TraceFields.Received(
            from: "\(sanitized(transaction.heloName)) (\(ip))", by: hostname, with: transaction.protocolName,
            withDetail: tlsVersion, id: queueID.rawValue,
            forRecipient: recipients.count == 1 ? recipients[0].address : nil, date: date)
        return received.field
    }

    /// `[192.0.2.1]` or `[IPv6:2001:db8::1]` (RFC 5321 §4.1.3).
    static func addressLiteral(_ ip: String) -> String {
        ip.contains(":") ? "[IPv6:\(ip)]" : "[\(ip)]"
    }

    /// The HELO name is the client's word: anything that could end the clause or the comment
    /// (`(`, `)`, `;`, `\`, quotes) or is not printable ASCII is replaced, so a client cannot
    /// forge the rest of our trace field.
    static func sanitized(_ helo: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]")
        let text = String(helo.prefix(255).map { allowed.contains($0) ? $0 : "?" })
        return text.isEmpty ? "unknown" : text
    }
}
