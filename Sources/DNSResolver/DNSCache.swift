// SPDX-License-Identifier: Apache-2.0
import NIOCore
import Synchronization

/// Final answers (after CNAME chasing) kept for their TTL, so a queue of many messages to one
/// domain costs one lookup. Bounded: a flood of distinct names (e.g. spam to random domains)
/// first evicts expired entries and then arbitrary ones, never grows past `capacity`.
final class DNSCache: Sendable {
    enum Answer: Sendable, Hashable {
        case records([DNSMessage.ResourceRecord])
        case noData
        case nameDoesNotExist
    }

    struct Key: Hashable, Sendable {
        var name: String
        var type: DNSRecordType
    }

    /// A day: long enough to matter, short enough that a mistaken huge TTL cannot pin an answer.
    static let maximumPositiveTTL: UInt32 = 86_400
    /// RFC 2308 §5 allows hours; a relay that just saw a domain appear should not bounce for long.
    static let maximumNegativeTTL: UInt32 = 300

    private struct Entry {
        var answer: Answer
        var expires: NIODeadline
    }

    private let capacity: Int
    private let entries = Mutex<[Key: Entry]>([:])

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// The cached answer, with record TTLs lowered to the time that is left.
    func lookup(_ key: Key, now: NIODeadline = .now()) -> Answer? {
        entries.withLock { entries -> Answer? in
            guard let entry = entries[key] else { return nil }
            guard entry.expires > now else {
                entries[key] = nil
                return nil
            }
            guard case .records(var records) = entry.answer else { return entry.answer }
            let left = UInt32(clamping: (entry.expires - now).nanoseconds / 1_000_000_000)
            for index in records.indices { records[index].ttl = min(records[index].ttl, left) }
            return .records(records)
        }
    }

    /// Stores `answer` for `ttl` seconds (already capped by the caller's rules); a TTL of 0 means
    /// "do not cache" (RFC 1035 §3.2.1).
    func store(_ answer: Answer, for key: Key, ttl: UInt32, now: NIODeadline = .now()) {
        guard ttl > 0 else { return }
        let entry = Entry(answer: answer, expires: now + .seconds(Int64(ttl)))
        entries.withLock { entries in
            if entries.count >= capacity && entries[key] == nil {
                entries = entries.filter { $0.value.expires > now }
                while entries.count >= capacity { entries.remove(at: entries.startIndex) }
            }
            entries[key] = entry
        }
    }

    var count: Int { entries.withLock { $0.count } }
}
