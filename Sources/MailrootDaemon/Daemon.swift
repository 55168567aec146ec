// SPDX-License-Identifier: Apache-2.0
//
// SUMMARY
//   Assembles the running daemon from a configuration: folders, queue recovery, resolver,
//   delivery and pickup, as one ServiceGroup.
//
// DESCRIPTION
//   `buildDaemon(configuration:logger:)` is what `mailroot serve` runs and what the integration
//   tests call with a temporary root. Services are listed in dependency order: delivery first,
//   pickup last, so on SIGTERM pickup stops taking files before delivery stops.
//
// SAFETY
//   The queue is recovered (and every recovered message handed to delivery) before pickup starts,
//   so no new message can overtake a recovery that is still running.
import DNSResolver
import Delivery
import Logging
import MailMessage
import MailQueue
import NIOCore
import NIOPosix
import Pickup
import SafeIO
import ServiceLifecycle
import SMTPClient

/// The folders under the root; their names are part of the contract with applications.
public struct MailrootFolders: Sendable {
    public var root: String
    public var pickup: String { "\(root)/pickup" }
    public var queue: String { "\(root)/queue" }
    public var badmail: String { "\(root)/badmail" }
    public var drop: String { "\(root)/drop" }

    public init(root: String) { self.root = root }

    func create() throws(SafeIOError) {
        try createDirectories(root, mode: 0o755)
        try createDirectories(pickup, mode: 0o755)
        try createDirectories(queue, mode: 0o700)
        try createDirectories(badmail, mode: 0o750)
        try createDirectories(drop, mode: 0o755)
    }
}

public struct DaemonError: Error, CustomStringConvertible {
    public var description: String
}

public func buildDaemon(configuration: MailrootConfiguration, logger: Logger) async throws -> ServiceGroup {
    let folders = MailrootFolders(root: configuration.rootPath)
    do {
        try folders.create()
    } catch {
        throw DaemonError(description: "cannot create the mailroot folders under \(folders.root): \(error)")
    }

    let queue = Queue(configuration: QueueConfiguration(directory: folders.queue), logger: logger)
    let recovered = try await queue.recover()
    let badmail = Badmail(directory: folders.badmail)
    // The queue lock is held now, so no other instance is writing drop files.
    if let removed = try? removeLeftoverDropFiles(in: folders.drop), removed > 0 {
        logger.info("drop: removed \(removed) temporary file(s) left by an interrupted delivery")
    }

    let dnsServers = try configuration.dns.servers.map { server in
        do {
            return try SocketAddress(ipAddress: server.host, port: server.port)
        } catch {
            throw DaemonError(description: "dns.servers: \(server) is not an IP address")
        }
    }
    let resolver = MXResolver(configuration: DNSConfiguration(
        servers: dnsServers, timeout: .nanoseconds(Int64(configuration.dns.timeout.inSeconds * 1e9))))

    let delivery = DeliveryScheduler(configuration: deliveryConfiguration(configuration, folders: folders),
                                     queue: queue, badmail: badmail, resolver: resolver, logger: logger)
    PickupWatcher.reconcileClaimedFiles(in: folders.pickup, queued: Set(recovered.map(\.id)))
    for entry in recovered { await delivery.submit(entry) }

    var parseOptions = PickupParseOptions(hostname: configuration.hostname, maxMessageSize: configuration.maxMessageSize,
                                          dotStuffed: configuration.pickup.dotStuffed)
    parseOptions.maxReceivedHeaders = configuration.maxReceivedHeaders
    var pickupConfiguration = PickupConfiguration(directory: folders.pickup, parseOptions: parseOptions)
    pickupConfiguration.scanInterval = configuration.pickup.scanInterval
    let pickup = PickupWatcher(configuration: pickupConfiguration, queue: queue, badmail: badmail, logger: logger,
                               onQueued: { entry in await delivery.submit(entry) })

    logger.info("mailroot: serving \(folders.root) as \(configuration.hostname); local domains: \(configuration.localDomains.joined(separator: ", "))")
    return ServiceGroup(configuration: .init(
        services: [.init(service: delivery), .init(service: pickup)],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger))
}

func deliveryConfiguration(_ configuration: MailrootConfiguration, folders: MailrootFolders) -> DeliveryConfiguration {
    var timeouts = SMTPTimeouts()
    timeouts.connect = configuration.delivery.connectTimeout
    timeouts.greeting = configuration.delivery.greetingTimeout
    timeouts.ehlo = configuration.delivery.commandTimeout
    timeouts.startTLS = configuration.delivery.commandTimeout
    timeouts.mail = configuration.delivery.commandTimeout
    timeouts.rcpt = configuration.delivery.commandTimeout
    timeouts.dataBlock = configuration.delivery.commandTimeout
    timeouts.finalDot = configuration.delivery.dataTimeout
    let smtp = SMTPClientConfiguration(heloName: configuration.hostname,
                                       opportunisticTLS: configuration.delivery.opportunisticTLS, timeouts: timeouts)
    var delivery = DeliveryConfiguration(hostname: configuration.hostname, localDomains: Set(configuration.localDomains),
                                         dropDirectory: folders.drop, smtp: smtp)
    delivery.port = configuration.delivery.port
    delivery.retrySchedule = configuration.delivery.retry
    delivery.expire = configuration.delivery.expire
    delivery.maxConnections = configuration.delivery.maxConnections
    delivery.maxConnectionsPerDomain = configuration.delivery.maxConnectionsPerDomain
    delivery.maxRecipientsPerTransaction = configuration.delivery.maxRecipientsPerTransaction
    return delivery
}
