// SPDX-License-Identifier: Apache-2.0
import MailMessage

/// What the listener must do after the state machine read a command line or a message.
public enum ServerAction: Sendable, Hashable {
    case reply(SMTPReply)
    /// Send the reply, then close the connection (QUIT, too many errors, a bare line ending).
    case replyAndClose(SMTPReply)
    /// Send `220`, drop every byte already read (CVE-2011-0411) and start the TLS handshake.
    /// The session has already been reset to "waiting for EHLO".
    case startTLS(SMTPReply)
    /// Send `354`, then feed the following bytes to a `ServerDataDecoder` with this size limit.
    case beginData(SMTPReply, maximumSize: Int)
    /// Check these credentials (slowly, off the event loop), then call
    /// `authenticationFinished(_:)` and perform the action it returns. Nothing is sent yet.
    case authenticate(ServerCredentials)
}

/// What to do when DATA content has been read.
public enum ServerDataAction: Sendable, Hashable {
    /// Hand the transaction to the receiver; reply `250` only once it has stored it durably.
    case deliver(ServerMailTransaction)
    case reply(SMTPReply)
}

/// The server side of one SMTP session (RFC 5321 §4.1.4), as a pure state machine: it is fed
/// command lines and decoded DATA content and answers with actions; the listener does the I/O.
///
/// States only move forward through one transaction, as in Postfix's smtpd:
///
///     greeted ──EHLO/HELO──▶ ready ──MAIL──▶ mail ──RCPT──▶ recipients ──DATA──▶ data
///        ▲                     ▲                                                  │
///        │                     └──────────── content decoded (any outcome) ───────┘
///        └── STARTTLS (from any state but data): everything is forgotten (RFC 3207 §4.2)
///
/// AUTH (from `ready` only) passes through `authenticating` (334 challenges; lines are base64
/// responses, not commands) and `verifying` (the listener checks the password) back to `ready`.
///
/// EHLO/HELO and RSET from any command state abort the transaction and return to `ready`
/// (or stay `greeted` for RSET before a greeting). QUIT closes from anywhere.
public struct ServerSessionStateMachine: Sendable {
    enum State: Sendable, Hashable {
        case greeted
        case ready
        case mail(MailParameters)
        case recipients(MailParameters, [EnvelopeRecipient])
        case data(MailParameters, [EnvelopeRecipient])
        /// AUTH sent a `334` challenge; the next line is a base64 response, not a command.
        case authenticating(ServerSASL.Step)
        /// The listener is checking the credentials.
        case verifying
        case closed
    }

    struct MailParameters: Sendable, Hashable {
        var sender: MailAddress?
        var bodyType: ServerMailTransaction.BodyType
        var smtpUTF8: Bool
    }

    public let configuration: ServerSessionConfiguration
    var state = State.greeted
    /// The HELO/EHLO argument; nil before the client said hello.
    public internal(set) var heloName: String?
    public internal(set) var usedEHLO = false
    public internal(set) var isTLSActive = false
    public internal(set) var isAuthenticated = false
    /// The name the client authenticated as, for a `Received:` that discloses it when configured.
    public internal(set) var authenticatedUser: String?
    /// The name whose credentials the listener is checking.
    var userBeingVerified: String?
    public internal(set) var errorCount = 0
    public internal(set) var authenticationFailures = 0
    var junkCount = 0
    /// RCPT commands in this transaction, accepted or not: bounds the work a client can cause.
    var recipientCommands = 0

    public init(configuration: ServerSessionConfiguration, tlsActive: Bool = false) {
        self.configuration = configuration
        self.isTLSActive = tlsActive
    }

    public var greeting: SMTPReply { ServerReplies.greeting(hostname: configuration.hostname) }

    /// RFC 3848 name for `Received: ... with`.
    public var protocolName: String {
        guard usedEHLO else { return "SMTP" }
        return "ESMTP" + (isTLSActive ? "S" : "") + (isAuthenticated ? "A" : "")
    }

    /// Reads one command line (without its CRLF).
    public mutating func receivedCommandLine(_ line: [UInt8]) -> ServerAction {
        guard state != .closed else { preconditionFailure("internal inconsistency: command after close") }
        if case .data = state { preconditionFailure("internal inconsistency: command line while reading DATA") }
        if case .authenticating = state { return handleAuthResponse(line) }
        guard let command = ServerCommand(line: line) else { return error(ServerReplies.badCharacters) }
        switch command.verb {
        case "EHLO", "HELO": return handleHello(command)
        case "MAIL": return handleMAIL(command.argument)
        case "RCPT": return handleRCPT(command.argument)
        case "DATA": return handleDATA(command.argument)
        case "RSET": return handleRSET(command.argument)
        case "NOOP": return junk(ServerReplies.ok)
        case "QUIT":
            state = .closed
            return .replyAndClose(ServerReplies.bye)
        case "VRFY": return junk(ServerReplies.cannotVerify)
        case "HELP": return junk(ServerReplies.help)
        case "STARTTLS": return handleSTARTTLS(command.argument)
        case "AUTH": return handleAUTH(command.argument)
        case "EXPN", "TURN", "ETRN", "BDAT": return error(ServerReplies.notImplemented)
        case "GET", "POST", "PUT", "HEAD", "CONNECT", "OPTIONS":
            // A browser or proxy probe (cross-protocol attacks): nothing useful can follow.
            return close(ServerReplies.httpRefused)
        default:
            if command.verb.hasSuffix(":") { return close(ServerReplies.httpRefused) }
            return error(ServerReplies.unrecognized)
        }
    }

    /// One event of `ServerCommandFramer`: a line, or a framing error.
    public mutating func receivedFramerEvent(_ event: ServerCommandFramer.Event) -> ServerAction {
        switch event {
        case .line(let line): return receivedCommandLine(line)
        case .lineTooLong:
            // An overlong AUTH response ends the exchange: the next line must be a command again.
            if case .authenticating = state { resetTransaction() }
            return error(ServerReplies.lineTooLong)
        case .bareLineEnding: return close(ServerReplies.bareLineEnding)
        }
    }

    /// Reads the end of DATA: the decoder's content or its failure. The transaction is over
    /// either way (RFC 5321 §4.1.1.4), so the session returns to `ready`.
    public mutating func receivedData(_ decoder: ServerDataDecoder) -> ServerDataAction {
        guard case .data(let parameters, let recipients) = state, decoder.isFinished else {
            preconditionFailure("internal inconsistency: DATA content outside the data state")
        }
        resetTransaction()
        switch decoder.failure {
        case .bareLineEnding: return countedError(ServerReplies.bareLineEnding)
        case .lineTooLong: return countedError(ServerReplies.dataLineTooLong)
        case .messageTooLarge: return countedError(ServerReplies.messageTooBig)
        case .nulCharacter: return countedError(ServerReplies.nulInContent)
        // Our shortage, not the client's error: not counted against it.
        case .insufficientStorage: return .reply(ServerReplies.insufficientStorage)
        case nil: break
        }
        let envelope = Envelope(sender: parameters.sender, recipients: recipients)
        return .deliver(ServerMailTransaction(
            envelope: envelope, content: decoder.content, bodyType: parameters.bodyType,
            smtpUTF8: parameters.smtpUTF8, heloName: heloName ?? "", protocolName: protocolName,
            authenticatedUser: authenticatedUser))
    }

    private mutating func countedError(_ reply: SMTPReply) -> ServerDataAction {
        errorCount += 1
        return .reply(reply)
    }

    mutating func resetTransaction() {
        recipientCommands = 0
        state = heloName == nil ? .greeted : .ready
    }

    /// A 5xx (or refused) reply that counts against `maximumErrors`.
    mutating func error(_ reply: SMTPReply) -> ServerAction {
        errorCount += 1
        if errorCount >= configuration.maximumErrors { return close(ServerReplies.tooManyErrors) }
        return .reply(reply)
    }

    /// A command that costs nothing: allowed a number of times, then counted as an error.
    mutating func junk(_ reply: SMTPReply) -> ServerAction {
        junkCount += 1
        return junkCount > configuration.maximumJunkCommands ? error(reply) : .reply(reply)
    }

    mutating func close(_ reply: SMTPReply) -> ServerAction {
        state = .closed
        return .replyAndClose(reply)
    }
}
