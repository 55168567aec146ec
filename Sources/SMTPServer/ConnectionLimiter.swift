// SPDX-License-Identifier: Apache-2.0
import NIOCore
import Synchronization

/// Counts open sessions, in total and per client address, so one host (or a flood) cannot
/// take every slot: over either limit the connection gets `421 4.7.0` at greeting.
final class ConnectionLimiter: Sendable {
    private struct Counts {
        var total = 0
        var perAddress: [String: Int] = [:]
        var maximumTotal: Int
        var maximumPerAddress: Int
    }

    private let counts: Mutex<Counts>

    init(maximumTotal: Int, maximumPerAddress: Int) {
        counts = Mutex(Counts(maximumTotal: maximumTotal, maximumPerAddress: maximumPerAddress))
    }

    /// New limits (a reload) apply to the next connection; open ones are never cut, so lowering
    /// a limit below the current count only refuses newcomers until enough have left.
    func setLimits(maximumTotal: Int, maximumPerAddress: Int) {
        counts.withLock {
            $0.maximumTotal = maximumTotal
            $0.maximumPerAddress = maximumPerAddress
        }
    }

    /// Takes a slot for `address`; false when a limit is reached (nothing is taken then).
    func admit(_ address: String) -> Bool {
        counts.withLock { counts in
            guard counts.total < counts.maximumTotal,
                  counts.perAddress[address, default: 0] < counts.maximumPerAddress else { return false }
            counts.total += 1
            counts.perAddress[address, default: 0] += 1
            SMTPServerMetrics.active.record(counts.total)
            return true
        }
    }

    func release(_ address: String) {
        counts.withLock { counts in
            counts.total -= 1
            SMTPServerMetrics.active.record(counts.total)
            let left = counts.perAddress[address, default: 1] - 1
            counts.perAddress[address] = left > 0 ? left : nil
        }
    }

    var openConnections: Int { counts.withLock { $0.total } }
}

/// One admitted connection's slot, given back exactly once: when the session sends its closing
/// reply (a client that reconnects the moment it reads `221` must find its slot free), or at the
/// latest when the session ends.
final class ConnectionSlot: Sendable {
    private let limiter: ConnectionLimiter
    private let address: String
    private let released = Mutex(false)

    init(limiter: ConnectionLimiter, address: String) {
        self.limiter = limiter
        self.address = address
    }

    func release() {
        let first = released.withLock { released in
            defer { released = true }
            return !released
        }
        if first { limiter.release(address) }
    }
}
