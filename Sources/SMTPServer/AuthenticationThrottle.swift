// SPDX-License-Identifier: Apache-2.0
import Synchronization

/// Failed AUTH attempts per client address, across sessions: a password guesser that opens a
/// new connection after each `421` still hits a wall. After `maximumFailures` failures within
/// `window`, every AUTH from that address gets `454 4.7.0` (without checking the password)
/// until the oldest of those failures is older than `window`.
///
/// The table is bounded (`maximumAddresses`): an attacker with many addresses (an IPv6 /64)
/// cannot grow it without limit; when full, the address with the oldest failure is forgotten.
/// The clock is injected so tests need not wait five minutes.
public final class AuthenticationThrottle: Sendable {
    public struct Policy: Sendable, Hashable {
        public var maximumFailures: Int
        public var window: Duration
        public var maximumAddresses: Int

        public init(maximumFailures: Int = 5, window: Duration = .seconds(300), maximumAddresses: Int = 10_000) {
            self.maximumFailures = maximumFailures
            self.window = window
            self.maximumAddresses = maximumAddresses
        }
    }

    public let policy: Policy
    private let now: @Sendable () -> ContinuousClock.Instant
    private let failures = Mutex<[String: [ContinuousClock.Instant]]>([:])

    public init(policy: Policy = Policy(), now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.policy = policy
        self.now = now
    }

    /// True when `address` has failed too often recently and must not try now.
    public func isBlocked(_ address: String) -> Bool {
        let now = now()
        return failures.withLock { table in
            let recent = Self.recent(table[address] ?? [], now: now, window: policy.window)
            table[address] = recent.isEmpty ? nil : recent
            return recent.count >= policy.maximumFailures
        }
    }

    public func recordFailure(_ address: String) {
        let now = now()
        failures.withLock { table in
            var recent = Self.recent(table[address] ?? [], now: now, window: policy.window)
            recent.append(now)
            // Only the last `maximumFailures` matter for the decision.
            table[address] = Array(recent.suffix(policy.maximumFailures))
            if table.count > policy.maximumAddresses,
               let oldest = table.min(by: { ($0.value.last ?? now) < ($1.value.last ?? now) })?.key {
                table[oldest] = nil
            }
        }
    }

    private static func recent(_ times: [ContinuousClock.Instant], now: ContinuousClock.Instant,
                               window: Duration) -> [ContinuousClock.Instant] {
        times.filter { now - $0 < window }
    }
}
