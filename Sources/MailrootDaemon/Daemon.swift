// SPDX-License-Identifier: Apache-2.0
//
// SUMMARY
//   Assembles the running daemon from a configuration: folders, sockets, the switch to an
//   unprivileged user, queue recovery, resolver, delivery, pickup and the SMTP listener, as one
//   ServiceGroup.
//
// DESCRIPTION
//   `buildDaemon(configuration:logger:)` is what `mailroot serve` runs. Start-up happens in this
//   order: (1) `user` and `pickup_group` are looked up; (2) the folders are created and, as root,
//   given to the user (pickup/ to the pickup group); (3) the TLS files are read and every SMTP
//   and metrics socket is bound; (4) privileges are dropped; (5) the queue is recovered and the
//   services are built. Services are listed in dependency order: delivery first, then pickup,
//   the SMTP listener last (the metrics endpoint, when on, before all of them, and the disk
//   thread pool of `disk_threads` before that, so it is the last to stop). ServiceGroup
//   stops them in reverse order, so on SIGTERM the listener closes its sockets (open sessions
//   get 421 4.3.2) and pickup stops taking files before delivery stops, which lets deliveries
//   in progress finish for up to `shutdown_grace`. Both doors feed the same queue and hand each
//   new entry to delivery.
//
// SAFETY
//   Nothing that reads the queue or a message runs as root when `user` is set: ports and the
//   TLS key are the only things touched before the switch (PrivilegeDrop.swift). The queue is
//   recovered (and every recovered message handed to delivery) before pickup and the listener
//   start, so no new message can overtake a recovery that is still running; the listener's
//   sockets are bound earlier, but no session starts before it runs, and until the queue is
//   connected a message would get 451 (DeferredMessageReceiver). A bad certificate or a listen
//   address that cannot be bound stops start-up. Delivery knows the listener's addresses, so
//   an MX pointing back at us is a loop (5.4.6), not a relay to ourselves.
//
// SEE ALSO
//   PrivilegeDrop.swift, FolderOwnership.swift, SMTPListener.swift, MetricsHTTPServer.swift,
//   docs/configuration.md, README "Running as the system's mail relay".
import CLinuxShims
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
import SMTPServer

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

/// `configurationPath` is the file `configuration` came from, read again on SIGHUP; nil when
/// running on the defaults.
/// `logLevelPinned`: the level came from `serve --log-level`, so a reload keeps it.
public func buildDaemon(configuration: MailrootConfiguration, configurationPath: String? = nil,
                        logLevelPinned: Bool = false, logger: Logger) async throws -> ServiceGroup {
    // 1. Who we will be, decided before anything exists, so a missing account stops start-up
    //    without a trace on disk.
    let privileges = try PrivilegePlan.resolve(configuration)
    // 2. The folders, and (as root) their ownership, so a queue from a run as root is usable.
    let folders = MailrootFolders(root: configuration.rootPath)
    do {
        try folders.create()
    } catch {
        throw DaemonError(description: "cannot create the mailroot folders under \(folders.root): \(error)")
    }
    try privileges.prepare(folders, logger: logger)

    let dnsServers = try configuration.dns.servers.map { server in
        do {
            return try SocketAddress(ipAddress: server.host, port: server.port)
        } catch {
            throw DaemonError(description: "dns.servers: \(server) is not an IP address")
        }
    }
    let resolver = MXResolver(configuration: DNSConfiguration(
        servers: dnsServers, timeout: .nanoseconds(Int64(configuration.dns.timeout.inSeconds * 1e9))))

    // 3. The sockets, still as root so ports below 1024 open; the TLS key is read now too, so
    //    it may stay readable by root only.
    let receiver = DeferredMessageReceiver()
    let listener = smtpServerConfiguration(configuration, resolver: resolver)
    var server: SMTPServer?
    if let listener {
        do {
            server = try SMTPServer(configuration: listener, receiver: receiver, logger: logger)
        } catch {
            throw DaemonError(description: "smtp.tls_certificate, smtp.tls_key: \(error)")
        }
        try await server?.bind()
    }
    var metricsSocket: NIOAsyncChannel<MetricsHTTPServer.Connection, Never>?
    if let address = configuration.metricsListen {
        metricsSocket = try await MetricsHTTPServer.bind(address)
        // The backend goes in before anything counts: recovery starts delivering (and counting)
        // before the services are assembled, and a metric made before the bootstrap stays a no-op.
        _ = DaemonMetrics.registry
    }

    // 4. Root is no longer needed: everything from here on runs as `user`.
    try privileges.drop(logger: logger)

    // 5. Recovery, then the services. Delivery starts on each batch of recovered messages as
    //    it is read (100,000 queued: the first delivery does not wait for the last file);
    //    pickup and the listener start only once recovery is complete.
    // The queue, pickup, drop and badmail wait on the disk in a pool of their own: NIO's shared
    // pool has one thread per core, and every fsync would hold one of them (BENCHMARKS.md, finding 14).
    let disk = NIOThreadPool(numberOfThreads: configuration.diskThreads)
    disk.start()
    let queue = Queue(configuration: QueueConfiguration(directory: folders.queue), logger: logger, threadPool: disk)
    try await queue.lock()
    // The queue lock is held and nothing is delivering yet, so no drop file is being written.
    if let removed = try? removeLeftoverDropFiles(in: folders.drop), removed > 0 {
        logger.info("drop: removed \(removed) temporary file(s) left by an interrupted delivery")
    }
    let badmail = Badmail(directory: folders.badmail)
    var outbound = deliveryConfiguration(configuration, folders: folders)
    outbound.selfAddresses = selfAddresses(of: listener.map { $0.listen + $0.submission + $0.submissions } ?? [])
    let delivery = DeliveryScheduler(configuration: outbound, queue: queue, badmail: badmail, resolver: resolver,
                                     threadPool: disk, logger: logger)
    let recovered = try await queue.recover { batch in
        for entry in batch { await delivery.submit(entry) }
    }
    PickupWatcher.reconcileClaimedFiles(in: folders.pickup, queued: Set(recovered.map(\.id)))

    var parseOptions = PickupParseOptions(hostname: configuration.hostname, maxMessageSize: configuration.maxMessageSize,
                                          dotStuffed: configuration.pickup.dotStuffed)
    parseOptions.maxReceivedHeaders = configuration.maxReceivedHeaders
    var pickupConfiguration = PickupConfiguration(directory: folders.pickup, parseOptions: parseOptions)
    pickupConfiguration.scanInterval = configuration.pickup.scanInterval
    pickupConfiguration.memoryBudget = configuration.pickup.memoryBudget
    let pickup = PickupWatcher(configuration: pickupConfiguration, queue: queue, badmail: badmail, logger: logger,
                               threadPool: disk, onQueued: { entry in await delivery.submit(entry) })

    // After delivery in the list, so it stops before delivery does (ControlServer.swift).
    let control = ControlServer(path: folders.controlSocket, logger: logger,
                                administrator: QueueAdministrator(queue: queue, scheduler: delivery, daemonRunning: true))
    try await control.bind()
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: delivery), .init(service: control),
                                                                      .init(service: pickup)]
    if let server {
        receiver.connect(QueueMessageReceiver(queue: queue, maxReceivedHeaders: configuration.maxReceivedHeaders, logger: logger,
                                              onQueued: { entry in await delivery.submit(entry) }))
        services.append(.init(service: SMTPListenerService(server: server, logger: logger)))
    } else {
        logger.info("smtp: listener off (listen = [])")
    }
    if let address = configuration.metricsListen, let metricsSocket {
        let health = HealthCheck(queueDirectory: folders.queue, heartbeat: delivery.heartbeat)
        // First in the list, so it is stopped last and still answers while the others drain.
        services.insert(.init(service: MetricsHTTPServer(address: address, registry: DaemonMetrics.registry,
                                                         health: health, logger: logger, bound: metricsSocket)), at: 0)
    }

    // First of all, so it is shut down only after every service that hands it work has stopped.
    services.insert(.init(service: DiskThreadPoolService(pool: disk)), at: 0)
    services.append(.init(service: ConfigurationReloader(path: configurationPath, started: configuration, folders: folders,
                                                         server: server, delivery: delivery, resolver: resolver, logger: logger,
                                                         logLevelPinned: logLevelPinned)))

    logger.info("mailroot: serving \(folders.root) as \(configuration.hostname); local domains: \(configuration.localDomains.joined(separator: ", "))")
    return ServiceGroup(configuration: .init(
        services: services,
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
    delivery.connectionCacheTime = configuration.delivery.connectionCacheTime
    delivery.maxRecipientsPerTransaction = configuration.delivery.maxRecipientsPerTransaction
    delivery.shutdownGrace = configuration.shutdownGrace
    delivery.dkimSigners = configuration.dkim.map(\.signer)
    return delivery
}

/// At most `count` glibc malloc arenas for the process (mallopt M_ARENA_MAX); call before the
/// threads start. See Serve.swift for why the daemon wants this.
public func limitMallocArenas(_ count: Int32) {
    _ = mailroot_limit_malloc_arenas(count)
}

/// The disk thread pool's lifetime as a service: it runs until the group shuts down, then stops
/// the pool's threads once the work already handed to them is done.
struct DiskThreadPoolService: Service {
    let pool: NIOThreadPool

    func run() async throws {
        try? await gracefulShutdown()
        try await pool.shutdownGracefully()
    }
}
