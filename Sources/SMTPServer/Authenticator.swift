// SPDX-License-Identifier: Apache-2.0
import NIOCore
import NIOPosix
import SMTPProtocol

/// Checks AUTH credentials against `[[smtp.users]]`. PBKDF2 takes tens of milliseconds by
/// design, so it runs on a thread pool: on the event loop it would stall every other session.
final class Authenticator: Sendable {
    private let users: [String: PasswordHash]
    let throttle: AuthenticationThrottle
    private let pool: NIOThreadPool
    /// Checked when the user does not exist, so a wrong name costs as long as a wrong password
    /// and timing does not tell which user names exist.
    private let decoy: PasswordHash?

    init(users: [String: PasswordHash], throttle: AuthenticationThrottle, pool: NIOThreadPool = .singleton) {
        self.users = users
        self.throttle = throttle
        self.pool = pool
        self.decoy = users.values.first
    }

    func authenticate(_ credentials: ServerCredentials, clientAddress: String) async -> ServerAuthenticationOutcome {
        if throttle.isBlocked(clientAddress) { return .throttled }
        let hash = users[credentials.username]
        let verified: Bool
        do {
            verified = try await pool.runIfActive { () -> Bool in
                guard let hash else {
                    _ = self.decoy?.verify(credentials.password)
                    return false
                }
                return hash.verify(credentials.password)
            }
        } catch {
            // The pool is shutting down: fail closed.
            verified = false
        }
        if verified { return .accepted }
        throttle.recordFailure(clientAddress)
        return .rejected
    }
}
