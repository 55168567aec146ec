// SPDX-License-Identifier: Apache-2.0
import MailMessage

/// The replies a server sends, in one place so their codes are consistent (RFC 5321 §4.2.2,
/// enhanced codes from RFC 3463 / RFC 5248). The greeting, the EHLO/HELO reply and `354` carry
/// no enhanced code: RFC 2034 §3 exempts the first two, and RFC 3463 has no class 3.
public enum ServerReplies {
    static func code(_ statusClass: EnhancedStatusCode.StatusClass, _ subject: Int, _ detail: Int) -> EnhancedStatusCode {
        EnhancedStatusCode(statusClass, subject, detail)
    }

    public static func greeting(hostname: String) -> SMTPReply {
        SMTPReply(code: 220, "\(hostname) ESMTP mailroot")
    }

    /// Sent by the listener instead of the greeting when a connection limit is reached.
    public static let tooManyConnections = SMTPReply(code: 421, enhancedStatus: code(.persistentTransientFailure, 7, 0),
                                                     "Too many connections, try again later")
    public static let idleTimeout = SMTPReply(code: 421, enhancedStatus: code(.persistentTransientFailure, 4, 2),
                                              "Idle timeout, closing connection")
    public static let shuttingDown = SMTPReply(code: 421, enhancedStatus: code(.persistentTransientFailure, 3, 2),
                                               "Service shutting down")
    public static let tooManyErrors = SMTPReply(code: 421, enhancedStatus: code(.persistentTransientFailure, 7, 0),
                                                "Too many errors, closing connection")

    public static let ok = SMTPReply(code: 250, enhancedStatus: .ok, "Ok")
    public static let senderOk = SMTPReply(code: 250, enhancedStatus: code(.success, 1, 0), "Sender ok")
    public static let recipientOk = SMTPReply(code: 250, enhancedStatus: code(.success, 1, 5), "Recipient ok")
    public static let startData = SMTPReply(code: 354, "End data with <CR><LF>.<CR><LF>")
    public static let startTLS = SMTPReply(code: 220, enhancedStatus: .ok, "Ready to start TLS")
    public static let bye = SMTPReply(code: 221, enhancedStatus: .ok, "Bye")
    public static let help = SMTPReply(code: 214, enhancedStatus: .ok, "See RFC 5321; commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS AUTH")
    /// RFC 5321 §3.5.3: VRFY may answer 252 rather than disclose which mailboxes exist.
    public static let cannotVerify = SMTPReply(code: 252, enhancedStatus: code(.success, 5, 2),
                                               "Cannot VRFY user, but will accept message and attempt delivery")

    public static func accepted(queueID: String) -> SMTPReply {
        SMTPReply(code: 250, enhancedStatus: .ok, "Ok: queued as \(queueID)")
    }

    public static let lineTooLong = SMTPReply(code: 500, enhancedStatus: .syntaxError, "Line too long")
    public static let bareLineEnding = SMTPReply(code: 554, enhancedStatus: .syntaxError,
                                                 "Bare CR or LF not allowed, lines must end with CRLF")
    public static let unrecognized = SMTPReply(code: 500, enhancedStatus: .syntaxError, "Command unrecognized")
    public static let badCharacters = SMTPReply(code: 500, enhancedStatus: .syntaxError, "Command contains invalid characters")
    public static let notImplemented = SMTPReply(code: 502, enhancedStatus: code(.permanentFailure, 5, 1), "Command not implemented")
    public static let httpRefused = SMTPReply(code: 421, enhancedStatus: code(.persistentTransientFailure, 7, 0),
                                              "This is an SMTP server, not an HTTP proxy")

    public static func badSequence(_ text: String) -> SMTPReply {
        SMTPReply(code: 503, enhancedStatus: code(.permanentFailure, 5, 1), text)
    }

    public static func syntax(_ text: String, code replyCode: Int = 501) -> SMTPReply {
        SMTPReply(code: replyCode, enhancedStatus: .invalidParameters, text)
    }

    public static let badSenderAddress = SMTPReply(code: 553, enhancedStatus: .badSenderSyntax, "Bad sender address syntax")
    public static let badRecipientAddress = SMTPReply(code: 553, enhancedStatus: .badAddressSyntax, "Bad recipient address syntax")
    public static let smtpUTF8Required = SMTPReply(code: 553, enhancedStatus: .nonASCIIAddressNotPermitted,
                                                   "Non-ASCII address requires SMTPUTF8")
    public static let unsupportedParameter = SMTPReply(code: 555, enhancedStatus: .invalidParameters,
                                                       "Unsupported MAIL/RCPT parameter")
    public static let relayDenied = SMTPReply(code: 554, enhancedStatus: .notAuthorized, "Relay access denied")
    public static let tooManyRecipients = SMTPReply(code: 452, enhancedStatus: code(.persistentTransientFailure, 5, 3),
                                                    "Too many recipients")
    public static let messageTooBig = SMTPReply(code: 552, enhancedStatus: .messageTooBig, "Message size exceeds fixed limit")
    public static let dataLineTooLong = SMTPReply(code: 554, enhancedStatus: .mediaError,
                                                  "Message has a line longer than 1000 octets")
    public static let insufficientStorage = SMTPReply(code: 452, enhancedStatus: code(.persistentTransientFailure, 3, 1),
                                                      "Insufficient system storage, try again later")
    public static let nulInContent = SMTPReply(code: 554, enhancedStatus: .mediaError, "Message contains a NUL octet")
    public static let authSucceeded = SMTPReply(code: 235, enhancedStatus: code(.success, 7, 0), "Authentication successful")
    public static let authFailed = SMTPReply(code: 535, enhancedStatus: code(.permanentFailure, 7, 8), "Authentication credentials invalid")
    public static let authThrottled = SMTPReply(code: 454, enhancedStatus: code(.persistentTransientFailure, 7, 0),
                                                "Temporary authentication failure, try again later")
    public static let tooManyAuthFailures = SMTPReply(code: 421, enhancedStatus: code(.persistentTransientFailure, 7, 0),
                                                      "Too many authentication failures, closing connection")
    public static let authRequired = SMTPReply(code: 530, enhancedStatus: code(.permanentFailure, 7, 0), "Authentication required")
    /// RFC 4954 §6: 538 5.7.11 when the mechanism needs an encrypted connection first.
    public static let authNeedsTLS = SMTPReply(code: 538, enhancedStatus: code(.permanentFailure, 7, 11),
                                               "Encryption required for requested authentication mechanism")
    public static let unknownMechanism = SMTPReply(code: 504, enhancedStatus: code(.permanentFailure, 5, 4),
                                                   "Unrecognized authentication type")
    public static let authCancelled = SMTPReply(code: 501, enhancedStatus: code(.permanentFailure, 0, 0), "Authentication cancelled")
    public static let badAuthResponse = SMTPReply(code: 501, enhancedStatus: .syntaxError, "Cannot decode AUTH response")
    public static let tlsUnavailable = SMTPReply(code: 502, enhancedStatus: code(.permanentFailure, 5, 1), "STARTTLS not available")
    public static let tlsAlreadyActive = SMTPReply(code: 503, enhancedStatus: code(.permanentFailure, 5, 1), "TLS already active")
}
