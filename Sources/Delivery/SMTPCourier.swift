// SPDX-License-Identifier: Apache-2.0
import DNSResolver
import Logging
import MailMessage
import MailQueue
import NIOCore
import NIOPosix
import SMTPClient
import SMTPProtocol

/// Delivers to remote domains over SMTP: MX lookup, each exchanger's addresses in turn until one
/// answers, STARTTLS when offered, all of a domain's recipients in one transaction (100 at most
/// per transaction), and the connection kept for the worker's next message to the same domain.
struct SMTPCourier: Courier {
    let configuration: DeliveryConfiguration
    let planner: RoutePlanner
    let resolver: MXResolver
    let eventLoopGroup: any EventLoopGroup
    let signing: DKIMSigning
    let logger: Logger

    func makeSession(domain: String) -> any CourierSession {
        SMTPDomainSession(domain: domain, courier: self)
    }
}

final class SMTPDomainSession: CourierSession {
    let domain: String
    let courier: SMTPCourier
    private var connection: SMTPConnection?
    private var relay = "none"

    init(domain: String, courier: SMTPCourier) {
        self.domain = domain
        self.courier = courier
    }

    func deliver(_ work: DeliveryWork) async -> CourierReport {
        let prefix = await signaturePrefix(for: work)
        if let connection {
            // Reuse: the previous transaction ended cleanly; a dead connection costs one RSET.
            do {
                try await connection.reset()
                if let report = await transact(work, prefix: prefix, on: connection) { return report }
            } catch {}
            await connection.quit()
            self.connection = nil
        }
        return await deliverOverNewConnection(work, prefix: prefix)
    }

    /// The DKIM signature to send in front of the message, if its author's domain signs. A
    /// message that should be signed but cannot be goes unsigned, with a warning: withholding
    /// it would not make it any more authentic.
    private func signaturePrefix(for work: DeliveryWork) async -> [UInt8] {
        do {
            guard let signed = try await courier.signing.signatureField(for: work.entry.message) else { return [] }
            courier.logger.info("\(work.entry.id): DKIM-Signature added (d=\(signed.signer.domain), s=\(signed.signer.selector))")
            return signed.field
        } catch {
            courier.logger.warning("\(work.entry.id): sent without a DKIM signature: \(error)")
            return []
        }
    }

    func close() async {
        if let connection { await connection.quit() }
        connection = nil
    }

    private func deliverOverNewConnection(_ work: DeliveryWork, prefix: [UInt8]) async -> CourierReport {
        let exchangers: [MailExchanger]
        switch await courier.planner.mailExchangers(for: domain) {
        case .success(let hosts): exchangers = hosts
        case .failure(let failure): return .all(work, failure.result)
        }
        var failures = ExchangerFailures()
        for exchanger in exchangers {
            let addresses: [SocketAddress]
            do {
                addresses = try await self.addresses(of: exchanger)
            } catch {
                let failure = RoutePlanner.failure(for: error, name: exchanger.name, type: "A/AAAA").result
                if exchangers.count == 1, exchanger.name == domain, case .nameDoesNotExist = error {
                    return .all(work, failure)  // implicit MX whose name does not exist at all
                }
                failures.record(failure)
                continue
            }
            if addresses.isEmpty {
                if exchangers.count == 1, exchanger.name == domain {
                    // Implicit MX with neither A nor AAAA: nowhere to deliver, ever (RFC 5321 §5.1).
                    return .all(work, .permanent(status: .badDestinationSystem,
                                                 reply: "domain \(domain) has no MX, A or AAAA record"))
                }
                // NODATA for an MX host is "unable to route" (X.4.4), as Postfix says; not a loop.
                failures.record(.permanent(status: EnhancedStatusCode(.permanentFailure, 4, 4),
                                           reply: "MX host \(exchanger.name) has no A or AAAA record"))
                continue
            }
            for address in addresses {
                if courier.configuration.selfAddresses.contains(address) {
                    failures.sawSelf = true
                    continue
                }
                let hostLabel = "\(exchanger.name)[\(address.ipAddress ?? "?")]:\(address.port ?? courier.configuration.port)"
                var failure = RecipientResult.transient(status: .noAnswerFromHost, reply: "no answer from \(hostLabel)")
                guard let connection = await connect(to: address, exchanger: exchanger, hostLabel: hostLabel, failure: &failure) else {
                    courier.logger.info("\(failure.reply)")  // each reply names the host it is about
                    failures.record(failure)
                    continue
                }
                relay = hostLabel
                if let report = await transact(work, prefix: prefix, on: connection) {
                    self.connection = connection
                    return report
                }
                await connection.quit()
                failures.record(.transient(status: .badConnection, reply: "lost connection with \(hostLabel) before the transaction"))
            }
        }
        return .all(work, failures.outcome(domain: domain))
    }

    private func addresses(of exchanger: MailExchanger) async throws(DNSError) -> [SocketAddress] {
        let port = courier.configuration.port
        if let literal = exchanger.literalAddress {
            return (try? SocketAddress(ipAddress: literal, port: port)).map { [$0] } ?? []
        }
        return try await courier.resolver.addresses(of: exchanger.name, port: port)
    }

    /// Connects with opportunistic TLS; if the TLS handshake fails, connects again in plain text,
    /// as Postfix does at `smtp_tls_security_level = may` (README: "STARTTLS").
    private func connect(to address: SocketAddress, exchanger: MailExchanger, hostLabel: String,
                         failure: inout RecipientResult) async -> SMTPConnection? {
        var configuration = courier.configuration.smtp
        for tryTLS in configuration.opportunisticTLS ? [true, false] : [false] {
            configuration.opportunisticTLS = tryTLS
            do {
                return try await SMTPConnection.connect(to: address, serverName: exchanger.name, configuration: configuration,
                                                        eventLoopGroup: courier.eventLoopGroup, logger: courier.logger)
            } catch {
                if case .greetingRejected(let reply) = error {
                    failure = FailurePolicy.result(forGreeting: reply, host: hostLabel)
                    return nil
                }
                if case .tlsHandshakeFailed = error, tryTLS {
                    courier.logger.warning("\(hostLabel): TLS handshake failed (\(error)); retrying without TLS")
                    continue
                }
                failure = FailurePolicy.result(for: error, host: hostLabel)
                return nil
            }
        }
        return nil
    }

    /// Runs the transactions for `work` (in chunks of at most maxRecipientsPerTransaction).
    /// Returns nil when a fresh connection broke before any reply, so the caller tries the next host.
    private func transact(_ work: DeliveryWork, prefix: [UInt8], on connection: SMTPConnection) async -> CourierReport? {
        var results: [Int: RecipientResult] = [:]
        let chunkSize = max(1, courier.configuration.maxRecipientsPerTransaction)
        let indices = work.recipientIndices
        for start in stride(from: 0, to: indices.count, by: chunkSize) {
            let chunk = Array(indices[start..<min(start + chunkSize, indices.count)])
            let transaction = OutgoingTransaction(
                sender: work.entry.envelope.sender,
                recipients: chunk.map { work.entry.recipients[$0].recipient },
                message: work.entry.message,
                envelopeID: work.entry.envelope.envelopeID,
                prefix: prefix)
            do {
                let outcome = try await connection.send(transaction)
                for (position, index) in chunk.enumerated() {
                    results[index] = Self.result(of: outcome, position: position)
                }
            } catch {
                if results.isEmpty && start == 0 { return nil }
                for index in indices[start...] {
                    results[index] = FailurePolicy.result(for: error, host: relay)
                }
                return CourierReport(results: results, relay: relay)
            }
        }
        return CourierReport(results: results, relay: relay)
    }

    static func result(of outcome: TransactionResult, position: Int) -> RecipientResult {
        if outcome.mailReply.code / 100 != 2 { return FailurePolicy.result(for: outcome.mailReply) }
        let rcptReply = outcome.recipientReplies[position]
        if rcptReply.code / 100 != 2 { return FailurePolicy.result(for: rcptReply) }
        guard let dataReply = outcome.dataReply else {
            return .transient(status: .badConnection, reply: "no reply to DATA")
        }
        return FailurePolicy.result(for: dataReply)
    }
}

/// What trying every exchanger of a domain came to. One temporary failure outweighs any number of
/// permanent ones: the host that was only down may take the message later (RFC 5321 §5.1), so
/// the recipient is deferred, not bounced, until every host has failed for good.
struct ExchangerFailures {
    private var transient: RecipientResult?
    private var permanent: RecipientResult?
    /// An address was skipped because it is ours.
    var sawSelf = false

    mutating func record(_ failure: RecipientResult) {
        switch failure {
        case .transient: transient = failure
        case .permanent: permanent = failure
        case .delivered: break
        }
    }

    func outcome(domain: String) -> RecipientResult {
        if let transient { return transient }
        if let permanent { return permanent }
        if sawSelf { return .permanent(status: .routingLoop, reply: "mail for \(domain) loops back to myself") }
        return .transient(status: .noAnswerFromHost, reply: "no mail exchanger of \(domain) answered")
    }
}

extension RecipientResult {
    var reply: String {
        switch self {
        case .delivered(let reply), .transient(_, let reply), .permanent(_, let reply): return reply
        }
    }

    func prefixed(_ context: String) -> RecipientResult {
        switch self {
        case .delivered: return self
        case .transient(let status, let reply): return .transient(status: status, reply: "\(context): \(reply)")
        case .permanent(let status, let reply): return .permanent(status: status, reply: "\(context): \(reply)")
        }
    }
}
