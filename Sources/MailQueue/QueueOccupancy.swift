// SPDX-License-Identifier: Apache-2.0
import Foundation

/// How full the queue is, for the `mailroot_queue_messages` and `mailroot_queue_oldest_seconds`
/// gauges: one pass over the in-memory index, no disk access, no sorting.
public struct QueueOccupancy: Sendable, Equatable {
    public var count: Int
    /// The arrival of the oldest message still queued; nil when the queue is empty.
    public var oldestArrival: Date?
}

extension Queue {
    public func occupancy() -> QueueOccupancy {
        var oldest: Date?
        for entry in entries.values where oldest == nil || entry.arrival < oldest! {
            oldest = entry.arrival
        }
        return QueueOccupancy(count: entries.count, oldestArrival: oldest)
    }
}
