// SPDX-License-Identifier: Apache-2.0
import NIOCore

/// The resolution algorithm behind `MXResolver`: cache, server failover, and CNAME chasing.
extension MXResolver {
    /// RFC 1034 §3.6.2 allows chains; 8 hops is what common resolvers allow before giving up.
    static let maximumCNAMEHops = 8

    /// Records of `type` at the end of `name`'s CNAME chain; `[]` for NODATA.
    func resolve(_ name: String, type: DNSRecordType) async throws(DNSError) -> [DNSMessage.ResourceRecord] {
        let original = try DNSName.normalize(name)
        let key = DNSCache.Key(name: original, type: type)
        if let cached = cache?.lookup(key) { return try Self.unwrap(cached, name: original) }

        var current = original
        var visited: Set<String> = [original]
        var hops = 0
        var ttl = UInt32.max
        while true {
            let response = try await query(current, type: type)
            let step = try Self.followChain(in: response, from: current, type: type, hops: &hops, visited: &visited)
            ttl = min(ttl, step.ttl)
            switch step.outcome {
            case .final(let answer):
                cache?.store(answer, for: key, ttl: min(ttl, Self.ttlCap(for: answer)))
                return try Self.unwrap(answer, name: original)
            case .dangling(let target):
                // The server gave the CNAME but not the target's records (e.g. the target lives in
                // another zone of an authoritative-only server): ask for the target itself.
                guard let next = try? DNSName.normalize(target) else {
                    throw .malformedResponse("\(original): CNAME target is not a valid name")
                }
                current = next
            }
        }
    }

    private static func unwrap(_ answer: DNSCache.Answer, name: String) throws(DNSError) -> [DNSMessage.ResourceRecord] {
        switch answer {
        case .records(let records): return records
        case .noData: return []
        case .nameDoesNotExist: throw .nameDoesNotExist(name)
        }
    }

    private static func ttlCap(for answer: DNSCache.Answer) -> UInt32 {
        if case .records = answer { return DNSCache.maximumPositiveTTL }
        return DNSCache.maximumNegativeTTL
    }

    struct ChainStep {
        enum Outcome {
            case final(DNSCache.Answer)
            case dangling(String)
        }
        var outcome: Outcome
        /// 0 when the answer must not be cached (a negative answer without SOA, RFC 2308 §5).
        var ttl: UInt32
    }

    /// Walks the answer section from `start` through CNAMEs to records of `type`.
    static func followChain(in response: DNSMessage, from start: String, type: DNSRecordType,
                            hops: inout Int, visited: inout Set<String>) throws(DNSError) -> ChainStep {
        var name = start
        var ttl = UInt32.max
        while true {
            let matching = response.answers.filter {
                $0.type == type && $0.recordClass == DNSMessage.classIN && DNSName.equal($0.name, name)
            }
            if !matching.isEmpty {
                return ChainStep(outcome: .final(.records(matching)), ttl: min(ttl, matching.map(\.ttl).min()!))
            }
            guard let alias = response.answers.first(where: { $0.type == .cname && DNSName.equal($0.name, name) }),
                  case .cname(let target) = alias.data else { break }
            hops += 1
            guard hops <= maximumCNAMEHops else { throw .malformedResponse("\(start): more than \(maximumCNAMEHops) CNAME hops") }
            let next = DNSName.lowercased(target)
            guard visited.insert(next).inserted else { throw .malformedResponse("\(start): CNAME loop at \(next)") }
            ttl = min(ttl, alias.ttl)
            name = next
        }
        // RFC 2308 §5: a negative answer is cached for min(SOA TTL, SOA MINIMUM), and not at all
        // without an SOA in the authority section.
        let soa = response.authorities.lazy.compactMap { record -> UInt32? in
            guard case .soa(let soa) = record.data else { return nil }
            return min(record.ttl, soa.minimum)
        }.first
        if response.rcode == 3 {
            // RFC 6604 §3: after a CNAME, NXDOMAIN is about the last name of the chain.
            return ChainStep(outcome: .final(.nameDoesNotExist), ttl: min(ttl, soa ?? 0))
        }
        if name != start && soa == nil { return ChainStep(outcome: .dangling(name), ttl: ttl) }
        return ChainStep(outcome: .final(.noData), ttl: min(ttl, soa ?? 0))
    }

    /// One question, asked of each server in rounds until one gives NOERROR or NXDOMAIN.
    /// A server that answered with another RCODE, a malformed answer or a socket error is not
    /// asked again; one that timed out is, in the next round.
    func query(_ name: String, type: DNSRecordType) async throws(DNSError) -> DNSMessage {
        let started = ContinuousClock.now
        defer { DNSMetrics.lookupFinished(type, after: ContinuousClock.now - started) }
        let servers = configuration.servers
        guard !servers.isEmpty else { throw .network("no DNS servers configured") }
        var failedRcode: Int?
        var malformed: DNSError?
        var network: DNSError?
        var excluded = Set<Int>()
        for _ in 0..<configuration.attemptsPerServer {
            for (index, server) in servers.enumerated() where !excluded.contains(index) {
                // SystemRandomNumberGenerator is the kernel CSPRNG: the ID must not be predictable.
                let message = DNSMessage.query(id: UInt16.random(in: .min ... .max), name: name, type: type)
                do throws(DNSError) {
                    let response = try await transport.exchange(message, with: server, timeout: configuration.timeout)
                    if response.rcode == 0 || response.rcode == 3 { return response }
                    failedRcode = response.rcode
                    excluded.insert(index)
                } catch {
                    switch error {
                    case .timeout: break
                    case .malformedResponse: malformed = error; excluded.insert(index)
                    default: network = error; excluded.insert(index)
                    }
                }
                if Task.isCancelled { throw .timeout(name) }
            }
        }
        if let failedRcode { throw .serverFailure(name: name, rcode: failedRcode) }
        if let malformed { throw malformed }
        if excluded.count == servers.count, let network { throw network }
        throw .timeout(name)
    }
}
