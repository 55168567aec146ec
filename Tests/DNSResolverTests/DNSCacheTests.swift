// SPDX-License-Identifier: Apache-2.0
@testable import DNSResolver
import NIOCore
import Testing

@Suite struct DNSCacheTests {
    static let mx = DNSMessage.ResourceRecord(name: "a.test", type: .mx, ttl: 100, data: .mx(preference: 1, exchange: "m.test"))

    @Test func entriesExpireAfterTheirTTLAndReportTheTimeLeft() {
        let cache = DNSCache(capacity: 10)
        let key = DNSCache.Key(name: "a.test", type: .mx)
        let now = NIODeadline.now()
        cache.store(.records([Self.mx]), for: key, ttl: 60, now: now)
        #expect(cache.lookup(key, now: now + .seconds(20)) == .records([{ var r = Self.mx; r.ttl = 40; return r }()]))
        #expect(cache.lookup(key, now: now + .seconds(61)) == nil)
    }

    @Test func zeroTTLIsNotCached() {
        let cache = DNSCache(capacity: 10)
        cache.store(.noData, for: .init(name: "a.test", type: .mx), ttl: 0)
        #expect(cache.count == 0)
    }

    @Test func cacheNeverGrowsPastItsCapacity() {
        let cache = DNSCache(capacity: 50)
        for index in 0..<1_000 {
            cache.store(.nameDoesNotExist, for: .init(name: "n\(index).test", type: .mx), ttl: 300)
        }
        #expect(cache.count == 50)
        #expect(cache.lookup(.init(name: "n999.test", type: .mx)) == .nameDoesNotExist)
    }
}
