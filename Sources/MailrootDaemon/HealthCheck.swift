// SPDX-License-Identifier: Apache-2.0
import Delivery
import Foundation
import Glibc

/// What `/healthz` answers: 200 "ok" while the queue directory is writable and the delivery
/// scheduler's loop still ticks (it beats four times a second), else 503 with the reason, so a
/// supervisor or load balancer can restart or route around a daemon that is up but stuck.
struct HealthCheck: Sendable {
    let queueDirectory: String
    let heartbeat: DeliveryHeartbeat
    /// A tick older than this means the scheduler's loop is stuck (its tick is 250 ms).
    var staleAfter: TimeInterval = 10

    struct Verdict: Equatable {
        var healthy: Bool
        var text: String
    }

    func check(now: Date = Date()) -> Verdict {
        // access(2) reports EROFS for a read-only file system and EACCES for lost permissions,
        // the two ways a queue stops taking messages without the process noticing.
        if access(queueDirectory, W_OK) != 0 {
            return Verdict(healthy: false, text: "queue directory \(queueDirectory) is not writable: \(String(cString: strerror(errno)))\n")
        }
        guard let beat = heartbeat.lastBeat else {
            return Verdict(healthy: false, text: "delivery scheduler has not started\n")
        }
        let age = now.timeIntervalSince(beat)
        if age > staleAfter {
            return Verdict(healthy: false, text: "delivery scheduler last ticked \(Int(age)) s ago\n")
        }
        return Verdict(healthy: true, text: "ok\n")
    }
}
