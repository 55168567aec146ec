// SPDX-License-Identifier: Apache-2.0

/// AUTH (RFC 4954) in `ServerSessionStateMachine`: the exchange of challenges and responses is
/// here; checking the password is slow and belongs to the listener (`.authenticate`), which
/// answers with `authenticationFinished(_:)`.
extension ServerSessionStateMachine {
    /// AUTH is offered only where the password cannot be sniffed: under TLS, or from loopback
    /// (RFC 4954 §4 leaves it to policy; RFC 8314 asks for TLS on submission).
    public var authenticationOffered: Bool {
        configuration.authenticationAvailable && (isTLSActive || configuration.clientIsLoopback)
    }

    mutating func handleAUTH(_ argument: String) -> ServerAction {
        guard configuration.authenticationAvailable else { return error(ServerReplies.notImplemented) }
        guard authenticationOffered else { return error(ServerReplies.authNeedsTLS) }
        guard usedEHLO else { return error(ServerReplies.badSequence("Send EHLO first")) }
        guard !isAuthenticated else { return error(ServerReplies.badSequence("Already authenticated")) }
        // RFC 4954 §4: AUTH is not permitted during a mail transaction.
        guard state == .ready else { return error(ServerReplies.badSequence("AUTH not permitted during a mail transaction")) }
        let words = argument.split(separator: " ", omittingEmptySubsequences: true)
        guard let mechanism = words.first?.uppercased(), words.count <= 2 else {
            return error(ServerReplies.syntax("Syntax: AUTH mechanism [initial-response]"))
        }
        let initial = words.count == 2 ? String(words[1]) : nil
        switch mechanism {
        case "PLAIN":
            guard let initial else { return challenge(.plain, "") }
            return respond(.plain, initial)
        case "LOGIN":
            guard let initial else { return challenge(.loginUsername, ServerSASL.usernamePrompt) }
            return respond(.loginUsername, initial)
        default:
            return error(ServerReplies.unknownMechanism)
        }
    }

    private mutating func challenge(_ step: ServerSASL.Step, _ text: String) -> ServerAction {
        state = .authenticating(step)
        return .reply(SMTPReply(code: 334, text))
    }

    /// A client response line while AUTH is in progress: base64, never a command.
    mutating func handleAuthResponse(_ line: [UInt8]) -> ServerAction {
        guard case .authenticating(let step) = state else {
            preconditionFailure("internal inconsistency: AUTH response in state \(state)")
        }
        guard let text = String(validating: line, as: UTF8.self) else {
            resetTransaction()
            return error(ServerReplies.badAuthResponse)
        }
        return respond(step, text.trimmingSpaces())
    }

    private mutating func respond(_ step: ServerSASL.Step, _ text: String) -> ServerAction {
        resetTransaction()
        let bytes: [UInt8]
        switch ServerSASL.decode(text) {
        case .cancel: return error(ServerReplies.authCancelled)
        case .malformed: return error(ServerReplies.badAuthResponse)
        case .bytes(let decoded): bytes = decoded
        }
        switch step {
        case .plain:
            if bytes.isEmpty { return challenge(.plain, "") }
            guard let credentials = ServerSASL.plainCredentials(bytes) else { return authenticationFailed() }
            return verify(credentials)
        case .loginUsername:
            guard let user = ServerSASL.text(bytes) else { return authenticationFailed() }
            return challenge(.loginPassword(user), ServerSASL.passwordPrompt)
        case .loginPassword(let user):
            guard !bytes.isEmpty, !bytes.contains(0) else { return authenticationFailed() }
            return verify(ServerCredentials(username: user, password: bytes))
        }
    }

    private mutating func verify(_ credentials: ServerCredentials) -> ServerAction {
        state = .verifying
        userBeingVerified = credentials.username
        return .authenticate(credentials)
    }

    /// The listener's verdict on the credentials of `.authenticate`.
    public mutating func authenticationFinished(_ outcome: ServerAuthenticationOutcome) -> ServerAction {
        guard state == .verifying else { preconditionFailure("internal inconsistency: AUTH result in state \(state)") }
        resetTransaction()
        switch outcome {
        case .accepted:
            isAuthenticated = true
            authenticatedUser = userBeingVerified
            return .reply(ServerReplies.authSucceeded)
        case .rejected:
            return authenticationFailed()
        case .throttled:
            return error(ServerReplies.authThrottled)
        }
    }

    /// `535 5.7.8`, or `421` once the client has guessed too often in this session.
    private mutating func authenticationFailed() -> ServerAction {
        authenticationFailures += 1
        if authenticationFailures >= configuration.maximumAuthenticationFailures {
            return close(ServerReplies.tooManyAuthFailures)
        }
        return error(ServerReplies.authFailed)
    }
}
