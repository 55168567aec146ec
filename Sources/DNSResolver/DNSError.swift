// SPDX-License-Identifier: Apache-2.0

/// Why a lookup produced no answer. The cases are kept apart because they mean different things
/// to a mail relay: `nameDoesNotExist` is the domain owner's authoritative word (a bounce), while
/// `serverFailure`, `timeout` and `network` say nothing about the domain (a deferral).
public enum DNSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// RCODE 3 (NXDOMAIN): the name does not exist (RFC 1035 §4.1.1, RFC 8020).
    case nameDoesNotExist(String)
    /// SERVFAIL, REFUSED, NOTIMP, FORMERR… from every server that answered.
    case serverFailure(name: String, rcode: Int)
    /// No server answered in time.
    case timeout(String)
    /// An answer matched our query but could not be parsed or made no sense (e.g. a CNAME loop).
    case malformedResponse(String)
    /// The query could not be sent (no route, socket error, connection refused over TCP…).
    case network(String)
    /// The name was refused before any query: empty label, label over 63 octets, name over 255
    /// octets, or characters outside letters, digits, `-` and `_` (RFC 1035 §2.3.4, RFC 952).
    case invalidName(String)

    public var description: String {
        switch self {
        case .nameDoesNotExist(let name): return "\(name): name does not exist (NXDOMAIN)"
        case .serverFailure(let name, let rcode):
            return "\(name): server failure (\(DNSError.rcodeName(rcode)))"
        case .timeout(let name): return "\(name): no DNS server answered in time"
        case .malformedResponse(let detail): return "malformed DNS response: \(detail)"
        case .network(let detail): return "DNS network error: \(detail)"
        case .invalidName(let name): return "invalid domain name: \(name)"
        }
    }

    /// Mnemonics from the IANA "DNS RCODEs" registry, for log lines an administrator can search.
    static func rcodeName(_ rcode: Int) -> String {
        switch rcode {
        case 0: return "NOERROR"
        case 1: return "FORMERR"
        case 2: return "SERVFAIL"
        case 3: return "NXDOMAIN"
        case 4: return "NOTIMP"
        case 5: return "REFUSED"
        case 16: return "BADVERS"
        default: return "RCODE \(rcode)"
        }
    }
}
