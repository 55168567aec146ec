// SPDX-License-Identifier: Apache-2.0
import Foundation

extension DeliveryScheduler {
    /// The settings a reload (SIGHUP) changes while mail keeps flowing: the retry schedule and
    /// expiry (from the next outcome on), the connection limits and the connection cache time (from the next worker started;
    /// running ones finish their item), the local domains, the shutdown grace and the DKIM signers
    /// (keys read again by the reload; from the next delivery on). The SMTP
    /// client's own settings (port, timeouts, TLS, recipients per transaction) stay as they were
    /// at start: its sessions hold them, so they need a restart.
    public func reconfigure(_ new: DeliveryConfiguration) {
        var updated = configuration
        updated.retrySchedule = new.retrySchedule
        updated.expire = new.expire
        updated.maxConnections = new.maxConnections
        updated.maxConnectionsPerDomain = new.maxConnectionsPerDomain
        updated.connectionCacheTime = new.connectionCacheTime
        updated.localDomains = new.localDomains
        updated.shutdownGrace = new.shutdownGrace
        updated.dkimSigners = new.dkimSigners
        dkimSigning?.replace(new.dkimSigners)
        configuration = updated
        outcomes = OutcomeRecorder(configuration: updated, queue: outcomes.queue, badmail: outcomes.badmail,
                                   threadPool: outcomes.threadPool, logger: outcomes.logger)
        // Raised limits take effect now for domains that were waiting for a slot.
        for domain in Array(pendingWork.keys) { startWorkersIfPossible(for: domain) }
    }

    /// Outcomes of the current configuration, for a worker about to record one.
    func currentOutcomes() -> OutcomeRecorder { outcomes }
}
