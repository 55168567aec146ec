// SPDX-License-Identifier: Apache-2.0
import Delivery
import Foundation
import MailMessage
import MailQueue

/// Carries out a `ControlRequest` on a queue and its scheduler: inside the running daemon (for
/// the control socket), or inside the command itself when no daemon runs (it then holds the
/// queue's lock, so the two can never act on the same files at once).
public struct QueueAdministrator: Sendable {
    let queue: Queue
    let scheduler: DeliveryScheduler
    /// False when the command acts on the files with no daemon: a flush can only bring due times
    /// forward then (the daemon, once started, tries them), so it writes them to the journal.
    let daemonRunning: Bool

    public func perform(_ request: ControlRequest) async -> ControlReply {
        do {
            switch request {
            case .flush(nil):
                return .ok(try await flushAll())
            case .flush(let id?):
                return .ok(try await flush(id))
            case .hold(let id):
                let entry = try await scheduler.hold(id)
                return .ok("\(id): held (\(entry.pendingIndices.count) recipient(s) kept until released)")
            case .release(let id):
                _ = try await scheduler.release(id)
                return .ok(daemonRunning ? "\(id): released; delivery starts now" : "\(id): released; tried when the daemon starts")
            case .delete(let id):
                try await scheduler.delete(id)
                return .ok("\(id): deleted, no bounce sent")
            case .bounce(let id):
                let bounce = try await scheduler.bounce(id)
                let notice = bounce.map { "non-delivery report \($0.id) queued for the sender" }
                    ?? "null sender, so no report: the message was copied to badmail/"
                return .ok("\(id): returned to sender; \(notice)")
            }
        } catch let error as AdministrationError {
            return ControlReply(status: Self.exitStatus(error), text: error.description)
        } catch {
            return ControlReply(status: 75, text: "\(error)")
        }
    }

    private func flushAll() async throws -> String {
        guard !daemonRunning else {
            let count = await scheduler.flushAll()
            return "\(count) waiting message(s) made due now"
        }
        var count = 0
        for entry in await queue.allEntries() where !entry.isHeld {
            _ = try await queue.makeDue(entry.id)
            count += 1
        }
        return "\(count) message(s) made due now; they are tried when the daemon starts"
    }

    private func flush(_ id: QueueID) async throws -> String {
        guard !daemonRunning else {
            let started = try await scheduler.flush(id)
            return started ? "\(id): delivery attempt started" : "\(id): a delivery attempt is already in progress"
        }
        guard let entry = await queue.entry(id) else { throw AdministrationError.notQueued(id) }
        guard !entry.isHeld else { throw AdministrationError.held(id) }
        _ = try await queue.makeDue(id)
        return "\(id): made due now; tried when the daemon starts"
    }

    static func exitStatus(_ error: AdministrationError) -> Int32 {
        switch error {
        case .notQueued, .held: 1
        case .shuttingDown, .queue: 75
        }
    }
}
