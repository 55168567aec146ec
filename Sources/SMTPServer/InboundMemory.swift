// SPDX-License-Identifier: Apache-2.0
import Synchronization

/// Bytes of DATA content held in memory by all sessions together. Each message is kept whole
/// until the queue has it, bounded per session by the size limit; without a bound across
/// sessions, 100 clients each sending a message just under a 25 MB limit would make the daemon
/// hold 2.5 GB. A session that would go over the bound stops storing its message, reads it to
/// the end and answers `452 4.3.1` (insufficient system storage, RFC 5321 §4.2.3): the client
/// keeps the message and tries again later, as it would with a full disk.
final class InboundMemory: Sendable {
    private struct State {
        var capacity: Int
        var inUse = 0
    }

    private let state: Mutex<State>

    /// The bound for a size limit: room for several messages at the limit, and never less than
    /// 256 MiB, so that ordinary traffic never meets it.
    static func capacity(forMaximumMessageSize size: Int) -> Int {
        max(256 * 1024 * 1024, 4 * size)
    }

    init(capacity: Int) {
        state = Mutex(State(capacity: capacity))
    }

    func setCapacity(_ capacity: Int) {
        state.withLock { $0.capacity = capacity }
    }

    /// Takes `bytes` if they fit; false (and nothing taken) if not.
    func take(_ bytes: Int) -> Bool {
        state.withLock { state in
            guard state.inUse + bytes <= state.capacity else { return false }
            state.inUse += bytes
            return true
        }
    }

    func give(_ bytes: Int) {
        state.withLock { $0.inUse -= bytes }
    }

    var inUse: Int { state.withLock { $0.inUse } }
}
