// swift-tools-version:6.1
// mailroot: a mail relay for Linux. Each target is one noun a mail administrator would recognise;
// imports only point down the rows described in docs/architecture.md.
import PackageDescription

let nio = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
let nioSSL = Target.Dependency.product(name: "NIOSSL", package: "swift-nio-ssl")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let lifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let collections = Target.Dependency.product(name: "Collections", package: "swift-collections")
let metrics = Target.Dependency.product(name: "Metrics", package: "swift-metrics")

let package = Package(
    name: "mailroot",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mailroot", targets: ["mailroot"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // Row 0: vocabulary and crash-safe files.
        .target(name: "MailMessage"),
        // renameat2(RENAME_NOREPLACE), which Swift's Glibc module does not import (_GNU_SOURCE only).
        .target(name: "CLinuxShims"),
        .target(name: "SafeIO", dependencies: ["CLinuxShims"]),
        // Row 1: protocols on paper.
        .target(name: "SMTPProtocol", dependencies: ["MailMessage", nio]),
        .target(name: "DNSResolver", dependencies: [nio, nioPosix, metrics]),
        .target(name: "DKIM", dependencies: ["MailMessage", .product(name: "Crypto", package: "swift-crypto"),
                                             .product(name: "_CryptoExtras", package: "swift-crypto")]),
        // Row 2: the queue, one SMTP conversation, delivery reports.
        .target(name: "MailQueue", dependencies: ["MailMessage", "SafeIO", logging, nio, nioPosix]),
        .target(name: "SMTPClient", dependencies: ["SMTPProtocol", "MailMessage", nio, nioPosix, nioSSL, logging]),
        .target(name: "Bounce", dependencies: ["MailMessage"]),
        // Row 3: the jobs.
        .target(name: "Pickup", dependencies: ["MailQueue", "MailMessage", "SafeIO", logging, lifecycle, nio, nioPosix, metrics]),
        .target(name: "SMTPServer", dependencies: ["SMTPProtocol", "MailMessage", nio, nioPosix, nioSSL, logging, lifecycle, metrics,
                                                  .product(name: "Crypto", package: "swift-crypto"),
                                                  .product(name: "_CryptoExtras", package: "swift-crypto")]),
        .target(name: "Delivery", dependencies: [
            "MailQueue", "SMTPClient", "DNSResolver", "Bounce", "SMTPProtocol", "MailMessage", "SafeIO", "DKIM",
            logging, lifecycle, collections, nio, nioPosix, metrics,
        ]),
        // Row 4: the daemon assembled from a config file.
        .target(name: "MailrootDaemon", dependencies: [
            "Pickup", "Delivery", "MailQueue", "DNSResolver", "SMTPClient", "SMTPServer", "MailMessage", "SafeIO", "DKIM",
            "CLinuxShims", logging, lifecycle, nio, nioPosix, .product(name: "TOMLKit", package: "TOMLKit"),
            metrics, .product(name: "Prometheus", package: "swift-prometheus"), .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),
        // Row 5: commands; top: the executable.
        .target(name: "MailrootCommands", dependencies: [
            "MailrootDaemon", "MailQueue", "Pickup", "MailMessage", "SafeIO", "DNSResolver", "DKIM", logging, lifecycle, nio,
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "mailroot", dependencies: ["MailrootCommands"]),

        // Test support: launchers for the real peers (dnsmasq, aiosmtpd, postfix) and temp roots.
        .target(name: "MailrootTestSupport", dependencies: ["MailMessage", nio, nioPosix], path: "Tests/MailrootTestSupport"),
        .testTarget(name: "MailMessageTests", dependencies: ["MailMessage"]),
        .testTarget(name: "SafeIOTests", dependencies: ["SafeIO"]),
        .testTarget(name: "SMTPProtocolTests", dependencies: ["SMTPProtocol", "MailMessage", nio]),
        .testTarget(name: "DNSResolverTests", dependencies: ["DNSResolver", "MailrootTestSupport", nio, nioPosix]),
        .testTarget(name: "MailQueueTests", dependencies: ["MailQueue", "MailMessage", "SafeIO", logging]),
        .testTarget(name: "SMTPClientTests", dependencies: ["SMTPClient", "SMTPProtocol", "MailMessage", "MailrootTestSupport", nio, nioPosix, logging]),
        .testTarget(name: "SMTPServerTests", dependencies: ["SMTPServer", "SMTPProtocol", "MailMessage", "MailrootTestSupport", nio, nioPosix, logging, lifecycle]),
        .testTarget(name: "BounceTests", dependencies: ["Bounce", "MailMessage"]),
        .testTarget(name: "DKIMTests", dependencies: ["DKIM", "MailMessage", "MailrootTestSupport",
                                                      .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "PickupTests", dependencies: ["Pickup", "MailQueue", "MailMessage", "SafeIO", logging]),
        .testTarget(name: "DeliveryTests", dependencies: ["Delivery", "MailQueue", "MailMessage", "SMTPProtocol", "DNSResolver", "MailrootTestSupport", logging, nio, nioPosix]),
        .testTarget(name: "MailrootDaemonTests", dependencies: ["MailrootDaemon", "MailrootTestSupport", nio]),
        .testTarget(name: "ScenarioTests", dependencies: ["MailrootTestSupport", "MailMessage", "DKIM"]),
        .testTarget(name: "SendmailTests", dependencies: ["MailrootCommands", "MailrootTestSupport", "MailMessage", "Pickup"]),
        .testTarget(name: "QueueCommandTests", dependencies: ["MailrootCommands", "MailQueue", "MailMessage", "MailrootTestSupport", logging]),
    ]
)
