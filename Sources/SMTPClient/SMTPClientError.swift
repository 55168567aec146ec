// SPDX-License-Identifier: Apache-2.0
import MailMessage
import SMTPProtocol

/// Where in the conversation something happened, for errors and logs.
public enum SMTPStage: String, Sendable, Hashable, CustomStringConvertible {
    case connect, greeting, ehlo, helo
    case startTLS = "starttls"
    case tlsHandshake = "tls-handshake"
    case mail, rcpt, data
    /// Writing the message content after `354`.
    case body
    /// Waiting for the reply to the final `.`.
    case dot
    case rset, quit

    public var description: String { rawValue }
}

/// Why a conversation could not go on. A reply the server gave to MAIL, RCPT or DATA is not an
/// error: it is in the `TransactionResult`. After any of these errors the connection is closed
/// (or unusable) and the caller decides whether to try another host or later.
public enum SMTPClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// TCP connect failed (refused, unreachable).
    case connectionFailed(String)
    /// No answer within the configured deadline for `stage`.
    case timeout(stage: SMTPStage)
    /// The server closed the connection while we waited during `stage`.
    case connectionClosed(stage: SMTPStage)
    /// A socket error other than a close.
    case networkError(stage: SMTPStage, String)
    /// Unparseable or oversized replies, or plaintext injected after STARTTLS's `220`.
    case protocolViolation(stage: SMTPStage, String)
    /// The greeting was not `220` (e.g. `554` "no service here", RFC 5321 §3.1).
    case greetingRejected(SMTPReply)
    /// Neither EHLO nor HELO was accepted.
    case heloRejected(SMTPReply)
    /// The TLS handshake after STARTTLS failed. The connection is gone; a caller using
    /// opportunistic TLS reconnects with `opportunisticTLS = false` to deliver in plaintext.
    case tlsHandshakeFailed(String)
    /// A reply we could not go on from, outside a transaction (e.g. RSET refused).
    case unexpectedReply(stage: SMTPStage, SMTPReply)
    /// The queue file could not be read; if this happens in the middle of DATA the connection
    /// is closed so that no truncated message is ever completed with a final dot.
    case messageUnreadable(String)
    /// The transaction cannot be sent as asked: no or too many recipients, or a field that
    /// would inject a command (CR, LF, NUL).
    case invalidTransaction(String)
    /// A previous error broke this connection, or it is already busy with another transaction.
    case connectionUnusable

    public var stage: SMTPStage? {
        switch self {
        case .connectionFailed: return .connect
        case .timeout(let stage), .connectionClosed(let stage), .networkError(let stage, _),
             .protocolViolation(let stage, _), .unexpectedReply(let stage, _): return stage
        case .greetingRejected: return .greeting
        case .heloRejected: return .ehlo
        case .tlsHandshakeFailed: return .tlsHandshake
        case .messageUnreadable: return .body
        case .invalidTransaction, .connectionUnusable: return nil
        }
    }

    /// The RFC 3463 code a delivery report should carry for this failure.
    public var enhancedStatusCode: EnhancedStatusCode {
        switch self {
        case .connectionFailed: return .noAnswerFromHost
        case .timeout(let stage): return stage == .connect || stage == .greeting ? .noAnswerFromHost : .badConnection
        case .connectionClosed, .networkError, .connectionUnusable: return .badConnection
        case .protocolViolation: return EnhancedStatusCode(.persistentTransientFailure, 5, 0)
        case .greetingRejected(let reply), .heloRejected(let reply), .unexpectedReply(_, let reply):
            return reply.enhancedStatus ?? EnhancedStatusCode(reply.isPermanent ? .permanentFailure : .persistentTransientFailure, 0, 0)
        case .tlsHandshakeFailed: return EnhancedStatusCode(.persistentTransientFailure, 7, 5)
        case .messageUnreadable: return EnhancedStatusCode(.persistentTransientFailure, 3, 0)
        case .invalidTransaction: return EnhancedStatusCode(.permanentFailure, 5, 4)
        }
    }

    public var description: String {
        switch self {
        case .connectionFailed(let text): return "connect failed: \(text)"
        case .timeout(let stage): return "timeout during \(stage)"
        case .connectionClosed(let stage): return "connection closed by server during \(stage)"
        case .networkError(let stage, let text): return "network error during \(stage): \(text)"
        case .protocolViolation(let stage, let text): return "protocol violation during \(stage): \(text)"
        case .greetingRejected(let reply): return "greeting rejected: \(reply)"
        case .heloRejected(let reply): return "EHLO/HELO rejected: \(reply)"
        case .tlsHandshakeFailed(let text): return "TLS handshake failed: \(text)"
        case .unexpectedReply(let stage, let reply): return "unexpected reply during \(stage): \(reply)"
        case .messageUnreadable(let text): return "message unreadable: \(text)"
        case .invalidTransaction(let text): return "invalid transaction: \(text)"
        case .connectionUnusable: return "connection unusable after an earlier error or busy"
        }
    }
}
