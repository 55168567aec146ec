// SPDX-License-Identifier: Apache-2.0
import SMTPServer
import Synchronization

/// The SMTP listener is built and bound while the daemon is still root, before the queue
/// exists (the queue is recovered only after the switch to `user`, so that every file it
/// creates is the user's). This receiver stands in until the queue is connected; sessions start
/// only when the listener runs, which is after that, so the fallback reply is a safety net.
final class DeferredMessageReceiver: MessageReceiver, Sendable {
    private let target = Mutex<(any MessageReceiver)?>(nil)

    func connect(_ receiver: any MessageReceiver) {
        target.withLock { $0 = receiver }
    }

    func receive(_ message: ReceivedMessage) async throws -> ReceiptOutcome {
        // A message must never be acknowledged without a queue behind it: 451, and the client retries.
        guard let receiver = target.withLock({ $0 }) else { throw ReceiptRefusal.localError }
        return try await receiver.receive(message)
    }
}
