// SPDX-License-Identifier: Apache-2.0
import MailMessage

/// The command handlers of `ServerSessionStateMachine`, one per verb (RFC 5321 §4.1.1).
extension ServerSessionStateMachine {
    mutating func handleHello(_ command: ServerCommand) -> ServerAction {
        let name = command.argument
        guard !name.isEmpty, !name.contains(" ") else {
            return error(ServerReplies.syntax("Syntax: \(command.verb) hostname"))
        }
        heloName = name
        usedEHLO = command.verb == "EHLO"
        resetTransaction()
        guard usedEHLO else { return .reply(SMTPReply(code: 250, configuration.hostname)) }
        return .reply(SMTPReply(code: 250, lines: ["\(configuration.hostname) Hello \(name)"] + capabilities))
    }

    var capabilities: [String] {
        var lines = ["PIPELINING", "SIZE \(configuration.maximumMessageSize)", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES"]
        if configuration.tlsAvailable && !isTLSActive { lines.append("STARTTLS") }
        if authenticationOffered && !isAuthenticated { lines.append("AUTH PLAIN LOGIN") }
        return lines
    }

    mutating func handleRSET(_ argument: String) -> ServerAction {
        guard argument.isEmpty else { return error(ServerReplies.syntax("Syntax: RSET")) }
        resetTransaction()
        return junk(ServerReplies.ok)
    }

    mutating func handleSTARTTLS(_ argument: String) -> ServerAction {
        guard argument.isEmpty else { return error(ServerReplies.syntax("Syntax: STARTTLS")) }
        guard !isTLSActive else { return error(ServerReplies.tlsAlreadyActive) }
        guard configuration.tlsAvailable else { return error(ServerReplies.tlsUnavailable) }
        // RFC 3207 §4.2: the client must start over with EHLO; nothing said before counts.
        isTLSActive = true
        isAuthenticated = false
        heloName = nil
        usedEHLO = false
        resetTransaction()
        return .startTLS(ServerReplies.startTLS)
    }

    mutating func handleMAIL(_ argument: String) -> ServerAction {
        switch state {
        case .greeted: return error(ServerReplies.badSequence("Send HELO/EHLO first"))
        case .mail, .recipients: return error(ServerReplies.badSequence("Nested MAIL command"))
        case .ready: break
        case .data, .closed, .authenticating, .verifying: preconditionFailure("internal inconsistency: MAIL in state \(state)")
        }
        // Submission (RFC 6409 §4.3, RFC 4954 §6): nothing is accepted from an unknown sender.
        if configuration.authenticationRequired && !isAuthenticated { return error(ServerReplies.authRequired) }
        guard let path = ServerPathArgument(argument, keyword: "FROM:") else {
            return error(ServerReplies.syntax("Syntax: MAIL FROM:<address> [parameters]"))
        }
        var parameters = MailParameters(sender: nil, bodyType: .sevenBit, smtpUTF8: false)
        for (key, value) in path.parameters {
            switch (key, value) {
            case ("SIZE", let value?):
                guard let size = Int(value), size >= 0 else { return error(ServerReplies.syntax("Bad SIZE parameter")) }
                // RFC 1870 §6.1: a declared size over the limit is refused at MAIL, before any data.
                if size > configuration.maximumMessageSize { return error(ServerReplies.messageTooBig) }
            case ("BODY", let value?):
                guard let body = ServerMailTransaction.BodyType(rawValue: value.uppercased()) else {
                    return error(ServerReplies.syntax("Bad BODY parameter, use 7BIT or 8BITMIME"))
                }
                parameters.bodyType = body
            case ("SMTPUTF8", nil):
                parameters.smtpUTF8 = true
            default:
                return error(ServerReplies.unsupportedParameter)
            }
        }
        if !path.path.isEmpty {
            guard let sender = MailAddress(path.path) else { return error(ServerReplies.badSenderAddress) }
            if sender.needsSMTPUTF8 && !parameters.smtpUTF8 { return error(ServerReplies.smtpUTF8Required) }
            parameters.sender = sender
        }
        state = .mail(parameters)
        return .reply(ServerReplies.senderOk)
    }

    mutating func handleRCPT(_ argument: String) -> ServerAction {
        let parameters: MailParameters
        var recipients: [EnvelopeRecipient]
        switch state {
        case .greeted, .ready: return error(ServerReplies.badSequence("Need MAIL command"))
        case .mail(let mail): (parameters, recipients) = (mail, [])
        case .recipients(let mail, let list): (parameters, recipients) = (mail, list)
        case .data, .closed, .authenticating, .verifying: preconditionFailure("internal inconsistency: RCPT in state \(state)")
        }
        recipientCommands += 1
        guard recipients.count < configuration.maximumRecipients else {
            // RFC 5321 §4.5.3.1.10: 452 and the client sends the rest in another transaction.
            return recipientCommands > configuration.maximumRecipients + configuration.maximumJunkCommands
                ? error(ServerReplies.tooManyRecipients) : .reply(ServerReplies.tooManyRecipients)
        }
        guard let path = ServerPathArgument(argument, keyword: "TO:") else {
            return error(ServerReplies.syntax("Syntax: RCPT TO:<address> [parameters]"))
        }
        guard path.parameters.isEmpty else { return error(ServerReplies.unsupportedParameter) }
        guard let recipient = recipientAddress(path.path) else { return error(ServerReplies.badRecipientAddress) }
        if recipient.needsSMTPUTF8 && !parameters.smtpUTF8 { return error(ServerReplies.smtpUTF8Required) }
        guard case .accept = configuration.relayPolicy.decide(recipient, authenticated: isAuthenticated) else {
            return error(ServerReplies.relayDenied)
        }
        recipients.append(EnvelopeRecipient(recipient))
        state = .recipients(parameters, recipients)
        return .reply(ServerReplies.recipientOk)
    }

    /// RFC 5321 §4.1.1.3: `RCPT TO:<Postmaster>` without a domain must be accepted; it means
    /// the postmaster of this host.
    private func recipientAddress(_ path: String) -> MailAddress? {
        if path.lowercased() == "postmaster" {
            let domain = configuration.relayPolicy.localDomains.sorted().first ?? configuration.hostname
            return MailAddress(localPart: "postmaster", domain: domain)
        }
        return MailAddress(path)
    }

    mutating func handleDATA(_ argument: String) -> ServerAction {
        guard argument.isEmpty else { return error(ServerReplies.syntax("Syntax: DATA")) }
        switch state {
        case .greeted, .ready: return error(ServerReplies.badSequence("Need MAIL command"))
        case .mail: return error(ServerReplies.badSequence("Need RCPT command"))
        case .recipients(let parameters, let recipients):
            state = .data(parameters, recipients)
            return .beginData(ServerReplies.startData, maximumSize: configuration.maximumMessageSize)
        case .data, .closed, .authenticating, .verifying: preconditionFailure("internal inconsistency: DATA in state \(state)")
        }
    }
}
