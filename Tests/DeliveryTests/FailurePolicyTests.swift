// SPDX-License-Identifier: Apache-2.0
import DNSResolver
import Foundation
import MailMessage
import MailQueue
import SMTPClient
import SMTPProtocol
import Testing
@testable import Delivery

private func configuration() -> DeliveryConfiguration {
    var configuration = DeliveryConfiguration(hostname: "relay.test", localDomains: ["localhost"], dropDirectory: "/nonexistent",
                                              smtp: SMTPClientConfiguration(heloName: "relay.test"))
    configuration.retrySchedule = [.seconds(60), .seconds(600)]
    configuration.expire = .seconds(3600)
    return configuration
}

private let pending = RecipientStatus(recipient: EnvelopeRecipient(MailAddress("bob@example.org")!), nextAttempt: Date())

@Suite("Failure policy")
struct FailurePolicyTests {
    @Test(arguments: [
        (250, "2.0.0", "delivered"), (251, nil, "delivered"),
        (421, "4.7.0", "transient"), (451, nil, "transient"),
        (550, "5.1.1", "permanent"), (554, nil, "permanent"),
    ] as [(Int, String?, String)])
    func replyClassDecidesTheResult(code: Int, status: String?, expected: String) {
        let reply = SMTPReply(code: code, enhancedStatus: status.flatMap { EnhancedStatusCode($0) }, lines: ["text"])
        switch FailurePolicy.result(for: reply) {
        case .delivered: #expect(expected == "delivered")
        case .transient: #expect(expected == "transient")
        case .permanent: #expect(expected == "permanent")
        }
    }

    @Test func enhancedCodeThatContradictsTheReplyCodeTakesTheReplyCodesClass() {
        let reply = SMTPReply(code: 550, enhancedStatus: EnhancedStatusCode("4.2.2"), lines: ["mailbox full"])
        #expect(FailurePolicy.result(for: reply) == .permanent(status: EnhancedStatusCode("5.2.2")!, reply: "550 4.2.2 mailbox full"))
    }

    @Test func transientFailureIsDeferredByTheRetryScheduleWhoseLastStepRepeats() {
        let now = Date(timeIntervalSince1970: 1_000_000)
        let result = RecipientResult.transient(status: .noAnswerFromHost, reply: "no answer")
        var status = pending
        let first = FailurePolicy.decide(result, status: status, arrival: now, now: now, configuration: configuration())
        #expect(first == .deferred(until: now.addingTimeInterval(60), status: .noAnswerFromHost, reply: "no answer"))
        status.attempts = 1
        let second = FailurePolicy.decide(result, status: status, arrival: now, now: now, configuration: configuration())
        #expect(second == .deferred(until: now.addingTimeInterval(600), status: .noAnswerFromHost, reply: "no answer"))
        status.attempts = 5
        let later = FailurePolicy.decide(result, status: status, arrival: now, now: now, configuration: configuration())
        #expect(later == .deferred(until: now.addingTimeInterval(600), status: .noAnswerFromHost, reply: "no answer"))
    }

    @Test func lastRetryIsAtTheExpiryDeadlineAndAfterItTheRecipientBounces() {
        let arrival = Date(timeIntervalSince1970: 1_000_000)
        let result = RecipientResult.transient(status: .noAnswerFromHost, reply: "no answer")
        var status = pending
        status.attempts = 3
        let nearDeadline = arrival.addingTimeInterval(3500)
        let deferred = FailurePolicy.decide(result, status: status, arrival: arrival, now: nearDeadline, configuration: configuration())
        #expect(deferred == .deferred(until: arrival.addingTimeInterval(3600), status: .noAnswerFromHost, reply: "no answer"))
        let atDeadline = arrival.addingTimeInterval(3600)
        guard case .bounced(let code, let reply) = FailurePolicy.decide(result, status: status, arrival: arrival, now: atDeadline,
                                                                       configuration: configuration()) else {
            Issue.record("expected a bounce after expiry")
            return
        }
        #expect(code == .deliveryTimeExpired)
        #expect(reply.contains("no answer"))
    }

    @Test func permanentFailureBouncesAtOnceWhateverTheHistory() {
        let now = Date()
        let decision = FailurePolicy.decide(.permanent(status: .badMailbox, reply: "550 5.1.1 no such user"), status: pending,
                                            arrival: now, now: now, configuration: configuration())
        #expect(decision == .bounced(status: .badMailbox, reply: "550 5.1.1 no such user"))
    }
}

@Suite("Exchanger failures")
struct ExchangerFailuresTests {
    @Test func greetingRefusalKeepsItsReplyClass() {
        let refusal = FailurePolicy.result(forGreeting: SMTPReply(code: 554, enhancedStatus: nil, lines: ["no service"]), host: "mx.test[192.0.2.1]:25")
        guard case .permanent(_, let reply) = refusal else {
            Issue.record("a 554 greeting is a permanent refusal by that host, got \(refusal)")
            return
        }
        #expect(reply.hasPrefix("host mx.test[192.0.2.1]:25 refused to talk to me: 554"))
        let busy = FailurePolicy.result(forGreeting: SMTPReply(code: 421, enhancedStatus: nil, lines: ["busy"]), host: "mx.test")
        #expect({ if case .transient = busy { return true } else { return false } }())
    }

    @Test func oneTemporaryFailureAmongPermanentOnesDefers() {
        var failures = ExchangerFailures()
        failures.record(.permanent(status: .badMailbox, reply: "host a refused"))
        failures.record(.transient(status: .noAnswerFromHost, reply: "host b down"))
        failures.record(.permanent(status: .badMailbox, reply: "host c refused"))
        #expect(failures.outcome(domain: "x.test") == .transient(status: .noAnswerFromHost, reply: "host b down"))
    }

    @Test func everyHostRefusingForGoodBounces() {
        var failures = ExchangerFailures()
        failures.record(.permanent(status: .badMailbox, reply: "host a refused"))
        #expect(failures.outcome(domain: "x.test") == .permanent(status: .badMailbox, reply: "host a refused"))
    }
}

@Suite("Route planning")
struct RoutePlannerTests {
    @Test func exchangersAreOrderedByPreference() throws {
        let records = [MXRecord(preference: 20, exchange: "b.test", ttl: 60), MXRecord(preference: 10, exchange: "a.test", ttl: 60),
                       MXRecord(preference: 30, exchange: "c.test", ttl: 60)]
        let hosts = try RoutePlanner.ordered(records, ourName: "relay.test").get()
        #expect(hosts.map(\.name) == ["a.test", "b.test", "c.test"])
    }

    @Test func equalPreferencesAreShuffled() throws {
        let records = (0..<8).map { MXRecord(preference: 10, exchange: "mx\($0).test", ttl: 60) }
        var firsts = Set<String>()
        for _ in 0..<200 { firsts.insert(try RoutePlanner.ordered(records, ourName: "relay.test").get()[0].name) }
        #expect(firsts.count > 1, "RFC 5321 §5.1: equal preferences must be randomised")
    }

    @Test func ourselvesAndLessPreferredExchangersAreDropped() throws {
        let records = [MXRecord(preference: 10, exchange: "a.test", ttl: 60), MXRecord(preference: 20, exchange: "relay.test", ttl: 60),
                       MXRecord(preference: 30, exchange: "c.test", ttl: 60)]
        let hosts = try RoutePlanner.ordered(records, ourName: "relay.test").get()
        #expect(hosts.map(\.name) == ["a.test"])
    }

    @Test func beingTheBestExchangerIsAMailLoop() {
        let records = [MXRecord(preference: 10, exchange: "relay.test", ttl: 60), MXRecord(preference: 20, exchange: "b.test", ttl: 60)]
        guard case .failure(let failure) = RoutePlanner.ordered(records, ourName: "relay.test") else {
            Issue.record("expected a loop")
            return
        }
        #expect(failure.status == .routingLoop)
    }

    @Test func nxdomainIsPermanentAndOtherDNSErrorsAreTransient() {
        #expect(RoutePlanner.failure(for: .nameDoesNotExist("x.test"), name: "x.test", type: "MX").status == .badDestinationSystem)
        #expect(RoutePlanner.failure(for: .serverFailure(name: "x.test", rcode: 2), name: "x.test", type: "MX").status.isTransient)
        #expect(RoutePlanner.failure(for: .timeout("x.test"), name: "x.test", type: "MX").status.isTransient)
    }
}
