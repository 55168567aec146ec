// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A worker waiting, connection open, for its domain's next message.
struct ParkedWorker {
    let domain: String
    let since: Date
    let continuation: CheckedContinuation<DeliveryWork?, Never>
}

/// The connection cache. A worker that finds its domain's queue empty does not hang up at once:
/// it waits up to `connectionCacheTime` for more work, as Postfix's `smtp_connection_cache_on_demand`
/// does (2 s by default there too). Without it, a steady trickle to many domains — a backlog being
/// picked up, a newsletter — opens one connection per message: TCP handshake, greeting, EHLO and
/// STARTTLS each time, for us and for the receiving server. A parked worker keeps its slot
/// under `max_connections` only while no other domain needs one.
extension DeliveryScheduler {
    func keepsConnectionsOpen(to domain: String) -> Bool {
        configuration.connectionCacheTime > .zero && !configuration.localDomains.contains(domain)
    }

    /// Waits for the next work item of `domain`, or nil when the connection should close.
    func park(domain: String) async -> DeliveryWork? {
        await withCheckedContinuation { continuation in
            let ticket = nextParkingTicket
            nextParkingTicket += 1
            parkedWorkers[ticket] = ParkedWorker(domain: domain, since: Date(), continuation: continuation)
        }
    }

    /// Work that arrives for a domain goes first to its parked workers (the most recent first:
    /// its connection is the least likely to have been closed by the server meanwhile). At most
    /// `max_connections` are parked, so a pass over them costs less than an index kept in step.
    func handPendingWorkToParkedWorkers(of domain: String) {
        while pendingWork[domain]?.isEmpty == false, let ticket = newestParkedWorker(of: domain) {
            unpark(ticket, with: pendingWork[domain]?.popFirst())
        }
    }

    private func newestParkedWorker(of domain: String) -> Int? {
        var newest: Int?
        for (ticket, parked) in parkedWorkers where parked.domain == domain && ticket > (newest ?? .min) { newest = ticket }
        return newest
    }

    func closeOldestParkedConnection() {
        guard let oldest = parkedWorkers.keys.min() else { return }
        unpark(oldest, with: nil)
    }

    func closeExpiredConnections() {
        let deadline = Date().addingTimeInterval(-configuration.connectionCacheTime.timeInterval)
        for (ticket, parked) in parkedWorkers where parked.since <= deadline { unpark(ticket, with: nil) }
    }

    func unparkAll() {
        for ticket in Array(parkedWorkers.keys) { unpark(ticket, with: nil) }
    }

    private func unpark(_ ticket: Int, with work: DeliveryWork?) {
        parkedWorkers.removeValue(forKey: ticket)?.continuation.resume(returning: work)
    }
}
