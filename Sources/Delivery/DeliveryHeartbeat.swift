// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization

/// The time of the delivery scheduler's last tick, for the daemon's `/healthz`: a scheduler whose
/// loop is stuck (a deadlocked actor, a tick that never returns) stops beating, and the health
/// check turns 503 although the process still answers HTTP.
public final class DeliveryHeartbeat: Sendable {
    private let last = Mutex<Date?>(nil)

    public init() {}

    public func beat(at now: Date = Date()) { last.withLock { $0 = now } }

    /// nil until the scheduler's first tick.
    public var lastBeat: Date? { last.withLock { $0 } }
}
