// SPDX-License-Identifier: Apache-2.0

/// Hands out one shared copy of strings seen recently, so equal texts held by many entries
/// (the same "connection refused" for every message to a dead MX) take their bytes once.
/// Bounded: when full it starts over, so a stream of distinct texts costs nothing lasting.
struct StringInterner: Sendable {
    private var seen: [String: String] = [:]
    let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    mutating func intern(_ text: String) -> String {
        if let shared = seen[text] { return shared }
        if seen.count >= capacity { seen.removeAll(keepingCapacity: true) }
        seen[text] = text
        return text
    }
}
